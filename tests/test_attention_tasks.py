"""kexue.attention.tasks: the masks chapter's toy tasks."""

import pytest
import torch
import torch.nn.functional as F
from kexue import attention as ka
from kexue import nn


def test_seq2seq_layout_and_reverse_task():
    x = ka.seq2seq_pairs(5, 0, "reverse", length=4, vocab=10)
    assert (
        x.shape == (5, 11)
        and torch.all(x[:, 0] == 10)
        and torch.all(x[:, 5] == 11)
        and torch.all(x[:, -1] == 11)
    )
    assert torch.equal(x[:, 6:10], x[:, 1:5].flip(-1))
    assert ka.seq2seq_segments(4).tolist() == [0] * 6 + [1] * 5


def test_sort_task_is_the_sorted_source_and_shares_the_sources():
    x = ka.seq2seq_pairs(200, 3, "sort", length=5, vocab=7)
    src, tgt = x[:, 1:6], x[:, 7:12]
    # independent oracle: sorting by counting occurrences of each digit
    counts = F.one_hot(src, 7).sum(1)  # (200, 7)
    by_count = torch.cat([torch.arange(7).repeat_interleave(c) for c in counts])
    assert torch.equal(tgt.reshape(-1), by_count)
    assert torch.all(tgt[:, 1:] >= tgt[:, :-1]) and torch.all(x[:, 0] == 7)
    # the same seed gives the same sources whatever the task
    rev = ka.seq2seq_pairs(200, 3, "reverse", length=5, vocab=7)
    assert torch.equal(rev[:, :7], x[:, :7])


def test_target_ce_is_the_per_digit_loss_of_seq2seq_loss():
    S = 4
    mask = ka.prefix_lm_mask(ka.seq2seq_segments(S))
    torch.manual_seed(0)
    model = nn.Transformer(
        nn.TransformerConfig(
            vocab_size=12, d_model=16, n_heads=2, n_layers=1, max_len=11
        )
    )
    seqs = ka.seq2seq_pairs(6, 2, "sort", length=S)
    with torch.no_grad():
        ce = ka.seq2seq_target_ce(model, mask, seqs, S)
        whole = ka.seq2seq_loss(mask, S)(model, seqs)
        # independent: log-softmax of the output before digit t, read at that digit
        logp = model(seqs[:, :-1], mask=mask[:-1, :-1]).log_softmax(-1)
        t = 7  # the third target digit (index S + 2 + 2) is predicted by output 7
        direct = -logp[torch.arange(6), t, seqs[:, t + 1]]
    assert ce.shape == (6, S)
    torch.testing.assert_close(ce.mean(), whole)
    torch.testing.assert_close(ce[:, 2], direct)


def test_seq2seq_loss_counts_only_the_target_digits():
    S = 3
    mask = ka.prefix_lm_mask(ka.seq2seq_segments(S))
    batch = ka.seq2seq_pairs(4, 1, "random", length=S)
    loss = ka.seq2seq_loss(mask, S)

    class Fixed(
        torch.nn.Module
    ):  # predicts the true next token at target positions, uniform elsewhere
        def forward(self, x, mask=None):
            logits = torch.zeros(*x.shape, 12)
            nxt = batch[:, 1 : x.shape[1] + 1]
            logits[:, S + 1 : 2 * S + 1].scatter_(
                -1, nxt[:, S + 1 : 2 * S + 1, None], 50.0
            )
            return logits

    assert (
        float(loss(Fixed(), batch)) < 1e-6
    )  # wrong everywhere else, yet the loss is zero


def test_greedy_generate_shape_and_permutation_loss_is_finite():
    torch.manual_seed(0)
    m = nn.Transformer(
        nn.TransformerConfig(
            vocab_size=12, d_model=16, n_heads=2, n_layers=1, max_len=9
        )
    )
    seqs = ka.seq2seq_pairs(3, 0, "reverse", length=3)
    assert ka.greedy_generate(m, ka.causal_mask(9), seqs, 3).shape == (3, 3)
    p = ka.progressions(6, 0, 5)
    assert torch.equal((p[:, 1:] - p[:, :-1]) % 10, torch.ones(6, 4, dtype=p.dtype))
    pm = nn.Transformer(
        nn.TransformerConfig(
            vocab_size=11,
            d_model=16,
            n_heads=2,
            n_layers=1,
            max_len=6,
            n_out=10,
            target_positions=True,
        )
    )
    val = ka.permutation_lm_loss(with_target=True, bos_id=10, n_classes=10)(
        pm, p, torch.Generator().manual_seed(0)
    )
    assert torch.isfinite(val)


@pytest.mark.parametrize(
    "call",
    [
        lambda: ka.seq2seq_pairs(3, 0, "copy"),
        lambda: ka.seq2seq_pairs(0, 0, "reverse"),
        lambda: ka.progressions(0, 0),
    ],
)
def test_errors(call):
    with pytest.raises(ValueError):
        call()


class _Counter(torch.nn.Module):
    """Predicts (last token + 1) mod 10 at every position: greedy decoding must count
    up.
    """

    def forward(self, x, mask=None):
        return F.one_hot((x + 1) % 10, 12).to(torch.float32) * 5.0


def test_greedy_generate_decodes_exactly_what_the_model_predicts():
    seqs = ka.seq2seq_pairs(3, 0, "reverse", length=4)
    out = ka.greedy_generate(_Counter(), ka.causal_mask(11), seqs, 4)
    # after [CLS] src [SEP] (SEP = 11 -> 12 % 10 = 2), the digits count up from 2
    assert out.tolist() == [[2, 3, 4, 5]] * 3
    # the test can fail: a model that ignores the last token gives other digits
    const = ka.greedy_generate(
        lambda x, mask=None: _Counter()(x * 0), ka.causal_mask(11), seqs, 4
    )
    assert const.tolist() != out.tolist()


def test_permutation_lm_logits_feeds_the_reordered_inputs():
    seen = {}

    def model(inputs, positions=None, target_positions=None, is_causal=False):
        seen.update(
            inputs=inputs, positions=positions, tp=target_positions, causal=is_causal
        )
        return torch.zeros(*inputs.shape, 10)

    batch = torch.tensor([[5, 6, 7, 8]])
    order = torch.tensor([2, 0, 3, 1])
    logits, targets = ka.permutation_lm_logits(
        model, batch, order, with_target=True, bos_id=9
    )
    assert seen["inputs"].tolist() == [[9, 7, 5, 8]] and seen["causal"] is True
    assert seen["positions"].tolist() == [[4, 2, 0, 3]]
    assert seen["tp"].tolist() == [[2, 0, 3, 1]] and targets.tolist() == [[7, 5, 8, 6]]
    ka.permutation_lm_logits(model, batch, order, with_target=False, bos_id=9)
    assert seen["tp"] is None and logits.shape == (1, 4, 10)
