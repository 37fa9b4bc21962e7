"""Toy tasks of the masks chapter: a seq2seq task in one sequence (UniLM) and
permutation language modelling.

Sequences are token tensors (N, L). ``seq2seq_pairs`` lays out
``[CLS] source [SEP] target [SEP]`` with ``CLS = vocab`` and ``SEP = vocab + 1``; the
loss is taken on the target digits only. The loss functions have the signature
``loss(model, batch, generator)`` of :func:`kexue.nn.train`; models are
``kexue.nn.Transformer``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ._checks import (
    check_bool,
    check_bool_mask,
    check_callable,
    check_choice,
    check_int,
    check_int_tensor,
)
from .masks import permutation_lm_inputs

__all__ = [
    "seq2seq_pairs",
    "seq2seq_segments",
    "seq2seq_loss",
    "seq2seq_target_ce",
    "greedy_generate",
    "progressions",
    "permutation_lm_logits",
    "permutation_lm_loss",
]


def seq2seq_segments(length: int) -> torch.Tensor:
    """Segment ids (2 length + 3,): 0 for ``[CLS] source [SEP]``, 1 for ``target [SEP]``
    (masks chapter).
    """
    length = check_int(length, "length", min_value=1)
    return torch.tensor([0] * (length + 2) + [1] * (length + 1))


def seq2seq_pairs(
    n: int, seed: int, task: str, *, length: int = 6, vocab: int = 10
) -> torch.Tensor:
    """(n, 2 length + 3) sequences ``[CLS] source [SEP] target [SEP]`` (masks
    chapter). ``task="reverse"``: the target is the source reversed; ``"sort"``: the
    source sorted in ascending order (its first digit needs the whole source);
    ``"random"``: drawn independently of the source.
    """
    check_choice(task, "task", ("reverse", "sort", "random"))
    seed = check_int(seed, "seed", min_value=0)
    n, length, vocab = (
        check_int(n, "n", min_value=1),
        check_int(length, "length", min_value=1),
        check_int(vocab, "vocab", min_value=2),
    )
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(0, vocab, (n, length), generator=g)
    if task == "reverse":
        tgt = src.flip(-1)
    elif task == "sort":
        tgt = src.sort(dim=-1).values
    else:
        tgt = torch.randint(0, vocab, (n, length), generator=g)
    cls, sep = torch.full((n, 1), vocab), torch.full((n, 1), vocab + 1)
    return torch.cat([cls, src, sep, tgt, sep], dim=1)


def seq2seq_loss(mask: torch.Tensor, length: int):
    """Next-token cross-entropy under ``mask`` (L, L), averaged over the ``length``
    target digits only.
    """
    weights = seq2seq_segments(length)[1:].float()
    check_bool_mask(mask, "mask")
    n_seq = 2 * length + 3
    if tuple(mask.shape) != (n_seq, n_seq):
        raise ValueError(
            f"mask must have shape ({n_seq}, {n_seq}) for length={length}, got "
            f"{tuple(mask.shape)}"
        )
    weights[-1] = 0  # the final [SEP] is not a target digit

    def loss(model, batch, generator=None):  # output t predicts token t + 1
        logits = model(batch[:, :-1], mask=mask[:-1, :-1])  # (N, L-1, vocab)
        ce = F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            batch[:, 1:].reshape(-1),
            reduction="none",
        )
        w = weights.to(batch.device)
        return (ce.view(len(batch), -1) * w).sum() / (w.sum() * len(batch))

    return loss


@torch.no_grad()
def seq2seq_target_ce(
    model, mask: torch.Tensor, seqs: torch.Tensor, length: int
) -> torch.Tensor:
    """Teacher-forced cross-entropy (N, length) of each target digit under ``mask``
    (L, L), L = 2 length + 3 (masks chapter: the held-out loss and its standard
    error); its mean is :func:`seq2seq_loss` on ``seqs``.
    """
    check_callable(model, "model")
    check_bool_mask(mask, "mask")
    length = check_int(length, "length", min_value=1)
    check_int_tensor(seqs, "seqs")
    n_seq = 2 * length + 3
    if tuple(mask.shape) != (n_seq, n_seq):
        raise ValueError(
            f"mask must have shape ({n_seq}, {n_seq}) for length={length}, got "
            f"{tuple(mask.shape)}"
        )
    if seqs.ndim != 2 or seqs.shape[1] != n_seq or len(seqs) < 1:
        raise ValueError(
            f"seqs must have shape (N, 2 length + 3 = {n_seq}), got {tuple(seqs.shape)}"
        )
    logits = model(seqs[:, :-1], mask=mask[:-1, :-1])  # output t predicts token t + 1
    digits = slice(length + 1, 2 * length + 1)  # outputs at [SEP] and target 1..L-1
    return F.cross_entropy(
        logits[:, digits].transpose(1, 2),
        seqs[:, length + 2 : n_seq - 1],
        reduction="none",
    )


@torch.no_grad()
def greedy_generate(
    model, mask: torch.Tensor, seqs: torch.Tensor, length: int
) -> torch.Tensor:
    """Greedy decoding of the ``length`` target digits from ``[CLS] source [SEP]``;
    returns (N, length).
    """
    check_callable(model, "model")
    check_bool_mask(mask, "mask")
    length = check_int(length, "length", min_value=1)
    check_int_tensor(seqs, "seqs")
    if seqs.ndim != 2 or seqs.shape[1] < length + 2 or len(seqs) < 1:
        raise ValueError(
            f"seqs must have shape (N, >= length + 2 = {length + 2}), got "
            f"{tuple(seqs.shape)}"
        )
    if mask.ndim != 2 or min(mask.shape) < 2 * length + 2:
        raise ValueError(
            f"mask must be (L, L) with L >= 2 length + 2 = {2 * length + 2}, got "
            f"{tuple(mask.shape)}"
        )
    out = seqs[:, : length + 2]
    for _ in range(length):
        k = out.shape[1]
        out = torch.cat([out, model(out, mask=mask[:k, :k]).argmax(-1)[:, -1:]], dim=1)
    return out[:, length + 2 :]


def progressions(count: int, seed: int, n: int = 8, base: int = 10) -> torch.Tensor:
    """(count, n) arithmetic progressions ``a, a+1, ...`` mod ``base``: predictable in
    any order once one digit is seen.
    """
    seed = check_int(seed, "seed", min_value=0)
    base = check_int(base, "base", min_value=2)
    a = torch.randint(
        0,
        base,
        (check_int(count, "count", min_value=1), 1),
        generator=torch.Generator().manual_seed(seed),
    )
    return (a + torch.arange(check_int(n, "n", min_value=1))) % base


def permutation_lm_logits(
    model, batch: torch.Tensor, order: torch.Tensor, *, with_target: bool, bos_id: int
):
    """Logits and targets of a permutation LM trained by reordering
    (:func:`permutation_lm_inputs`), causal mask.
    """
    check_callable(model, "model")
    with_target = check_bool(with_target, "with_target")
    check_int_tensor(batch, "batch")
    if batch.ndim != 2:
        raise ValueError(f"batch must have shape (B, n), got {tuple(batch.shape)}")
    bos_id = check_int(bos_id, "bos_id", min_value=0)
    vocab = getattr(getattr(model, "cfg", None), "vocab_size", None)
    if vocab is not None and bos_id >= vocab:
        raise ValueError(
            f"bos_id must be < the model's vocab_size {vocab}, got {bos_id}"
        )
    d = permutation_lm_inputs(batch, order, bos_id=bos_id)
    tp = d["target_positions"] if with_target else None
    return model(
        d["inputs"], positions=d["positions"], target_positions=tp, is_causal=True
    ), d["targets"]


def permutation_lm_loss(*, with_target: bool, bos_id: int, n_classes: int):
    """Cross-entropy with a fresh random order per sequence, drawn from the training
    ``generator``.
    """
    with_target = check_bool(with_target, "with_target")
    bos_id = check_int(bos_id, "bos_id", min_value=0)
    n_classes = check_int(n_classes, "n_classes", min_value=1)

    def loss(model, batch, generator=None):
        order = torch.argsort(torch.rand(batch.shape, generator=generator), dim=1).to(
            batch.device
        )
        logits, targets = permutation_lm_logits(
            model, batch, order, with_target=with_target, bos_id=bos_id
        )
        if logits.shape[-1] != n_classes:
            raise ValueError(
                f"n_classes ({n_classes}) must equal the model's output size "
                f"{logits.shape[-1]}"
            )
        return F.cross_entropy(logits.reshape(-1, n_classes), targets.reshape(-1))

    return loss
