"""kexue.nn.Transformer (the attention part's small model): masks and positions behave
as documented.
"""

import kexue.attention as ka
import kexue.attention.probe as probe
import pytest
import torch
from kexue import nn


def model(position="learned", **kw):
    torch.manual_seed(0)
    return (
        nn.Transformer(
            nn.TransformerConfig(
                vocab_size=12,
                d_model=16,
                n_heads=2,
                n_layers=2,
                max_len=16,
                position=position,
                **kw,
            )
        )
        .double()
        .eval()
    )


@pytest.mark.parametrize("position", ["learned", "sinusoidal", "rope"])
def test_reordered_inputs_with_positions_equal_permutation_mask(position):
    m = model(position)
    x = torch.randint(0, 12, (2, 9), generator=torch.Generator().manual_seed(1))
    order = torch.randperm(9, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        direct = m(x, mask=ka.permutation_mask(order))
        reordered = m(x[:, order], positions=order, is_causal=True)
    restored = torch.empty_like(reordered)
    restored[:, order] = reordered
    torch.testing.assert_close(restored, direct, atol=1e-10, rtol=0)


@pytest.mark.parametrize("position", ["learned", "rope", "t5", "alibi", "none"])
def test_causal_model_does_not_leak(position):
    m = model(position)
    x = torch.randint(0, 12, (1, 10), generator=torch.Generator().manual_seed(3))
    y = x.clone()
    y[:, 6:] = (y[:, 6:] + 1) % 12
    with torch.no_grad():
        a, b = m(x, is_causal=True), m(y, is_causal=True)
    torch.testing.assert_close(a[:, :6], b[:, :6], atol=1e-12, rtol=0)
    assert not torch.allclose(a[:, 6:], b[:, 6:])


def test_rope_model_is_shift_invariant_and_learned_is_not():
    x = torch.randint(0, 12, (1, 8), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        r = model("rope")
        torch.testing.assert_close(
            r(x, positions=torch.arange(8) + 5), r(x), atol=1e-10, rtol=0
        )
        a = model("learned")
        assert not torch.allclose(a(x, positions=torch.arange(8) + 5), a(x))


@pytest.mark.parametrize(
    "kwargs,msg",
    [
        (dict(position="shaw"), "position"),
        (dict(normalization="l1"), "normalization"),
        (dict(n_heads=3), "divisible"),
    ],
)
def test_config_errors(kwargs, msg):
    base = dict(vocab_size=5, d_model=16, n_heads=2)
    base.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        nn.TransformerConfig(**base)


def test_too_long_input_and_t5_positions_raise():
    with pytest.raises(ValueError, match="max_len"):
        model()(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match="t5"):
        model("t5")(torch.zeros(1, 4, dtype=torch.long), positions=torch.arange(4))


def test_returned_weights_match_fast_forward_and_are_rows_of_probabilities():
    m = model("rope")
    x = torch.randint(0, 12, (2, 7), generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        logits, ws = m(x, is_causal=True, return_weights=True)
        torch.testing.assert_close(logits, m(x, is_causal=True), atol=1e-12, rtol=0)
    assert len(ws) == 2 and ws[0].shape == (2, 2, 7, 7)
    torch.testing.assert_close(ws[0].sum(-1), torch.ones(2, 2, 7, dtype=torch.float64))
    assert torch.all(ws[0].triu(1) == 0)


def test_target_position_embedding_is_required_exactly_when_configured():
    x = torch.zeros(1, 4, dtype=torch.long)
    with pytest.raises(ValueError, match="target_positions"):
        model()(x, target_positions=torch.arange(4))
    m = model(target_positions=True)
    with pytest.raises(ValueError, match="target_positions"):
        m(x)
    with torch.no_grad():
        assert not torch.allclose(
            m(x, target_positions=torch.arange(4)),
            m(x, target_positions=torch.arange(4).flip(0)),
        )


def test_toeplitz_gate_of_ones_is_plain_attention_and_gate_matrix_is_toeplitz():
    torch.manual_seed(0)
    plain = ka.MultiHeadAttention(16, 2).double()
    gated = ka.MultiHeadAttention(16, 2, toeplitz_gate=3).double()
    gated.load_state_dict(plain.state_dict(), strict=False)
    x = torch.randn(2, 7, 16, dtype=torch.float64)
    torch.testing.assert_close(
        gated(x, is_causal=True), plain(x, is_causal=True), atol=1e-12, rtol=0
    )
    with torch.no_grad():
        gated.gate.copy_(torch.arange(14, dtype=torch.float64).view(2, 7))
    c = gated.gate_matrix(7, 7)
    for i in range(7):
        for j in range(7):
            assert c[1, i, j] == gated.gate[1, max(-3, min(3, i - j)) + 3]
    # identical inputs no longer give identical outputs: the gated rows do not sum to
    # one
    same = torch.ones(1, 7, 16, dtype=torch.float64)
    out = gated(same)
    assert not torch.allclose(out[0, 0], out[0, 3])
    with pytest.raises(ValueError, match="toeplitz_gate"):
        ka.MultiHeadAttention(16, 2, toeplitz_gate=-1)


def test_probe_with_toeplitz_gate_passes():
    torch.set_num_threads(1)
    r = probe.run_position_probe(
        probe.ProbeConfig(n=8, position="rope", toeplitz_gate=8, steps=200),
        progress=False,
    )
    assert r.accuracy == 1.0 and not r.rows_identical
