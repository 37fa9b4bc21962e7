"""Attention masks in one convention: boolean, ``True`` means *query i may attend to key
j*.

This is the convention of :func:`torch.nn.functional.scaled_dot_product_attention`. A
mask has shape ``(..., Lq, Lk)`` and broadcasts against the logits.
``torch.nn.MultiheadAttention`` uses the opposite boolean convention (``True`` =
blocked); :func:`to_torch_mha_mask` is the only place that flips it.

Chapter: *attention/masks* (post 6933): left-to-right LM, bidirectional (MLM),
prefix/UniLM and permutation-LM masks are all instances of this one object.
"""

from __future__ import annotations

import torch

from ._checks import (
    check_bool,
    check_bool_mask,
    check_choice,
    check_int,
)

__all__ = [
    "causal_mask",
    "full_mask",
    "padding_mask",
    "prefix_lm_mask",
    "prefix_lm_mask_from_lengths",
    "permutation_mask",
    "permutation_lm_inputs",
    "combine_masks",
    "mask_to_bias",
    "to_torch_mha_mask",
    "visible_keys",
]

_ALIGN = ("bottom_right", "top_left")


def _check_device(device):
    if device is None or isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        try:
            return torch.device(device)
        except RuntimeError as err:
            raise ValueError(
                f"device must name a torch device, got {device!r}"
            ) from err
    raise TypeError(
        f"device must be None, a str or a torch.device, got {type(device).__name__}"
    )


def _int_ids(x, name, device=None):
    """An integer tensor from a list/array/tensor of ints (bool and float rejected)."""
    if isinstance(x, torch.Tensor):
        t = x if device is None else x.to(device)
    else:
        if x is None or isinstance(x, (str, bytes, dict)):
            raise TypeError(
                f"{name} must be a sequence of ints, got {type(x).__name__}"
            )
        try:
            t = torch.as_tensor(x, device=device)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a sequence of ints, got {type(x).__name__}"
            ) from err
    return t


def causal_mask(
    n_q: int, n_k: int | None = None, *, align: str = "bottom_right", device=None
) -> torch.Tensor:
    """Causal mask ``(n_q, n_k)``.

    ``align="bottom_right"`` (the default, what decoding with a KV cache needs): query
    row ``i`` is token ``i + n_k - n_q`` of the key sequence and sees keys
    ``j <= i + n_k - n_q``; the last query sees every key. ``align="top_left"``: row
    ``i`` sees keys ``j <= i``; this is what
    ``scaled_dot_product_attention(..., is_causal=True)`` does when ``n_q != n_k``. The
    two agree when ``n_q == n_k``. With ``bottom_right`` and ``n_q > n_k`` the first
    ``n_q - n_k`` rows see nothing.
    """
    n_q = check_int(n_q, "n_q", min_value=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", min_value=1)
    check_choice(align, "align", _ALIGN)
    device = _check_device(device)
    offset = n_k - n_q if align == "bottom_right" else 0
    i = torch.arange(n_q, device=device)[:, None]
    j = torch.arange(n_k, device=device)[None, :]
    return j <= i + offset  # (n_q, n_k)


def full_mask(n_q: int, n_k: int | None = None, *, device=None) -> torch.Tensor:
    """All ``True`` ``(n_q, n_k)``: bidirectional attention (BERT's MLM)."""
    n_q = check_int(n_q, "n_q", min_value=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", min_value=1)
    device = _check_device(device)
    return torch.ones(n_q, n_k, dtype=torch.bool, device=device)


def padding_mask(lengths, n: int, *, device=None) -> torch.Tensor:
    """Key-padding mask ``(B, 1, 1, n)`` for logits ``(B, H, Lq, n)``: key ``j`` is
    visible iff ``j < lengths[b]``.
    """
    n = check_int(n, "n", min_value=1)
    lengths = _int_ids(lengths, "lengths", _check_device(device))
    if (
        lengths.ndim != 1
        or lengths.dtype.is_floating_point
        or lengths.dtype == torch.bool
    ):
        raise TypeError(
            "lengths must be a 1-D integer sequence, got dtype "
            f"{lengths.dtype} shape {tuple(lengths.shape)}"
        )
    if (lengths < 0).any() or (lengths > n).any():
        raise ValueError(f"lengths must lie in [0, n={n}], got {lengths.tolist()}")
    keep = torch.arange(n, device=lengths.device)[None, :] < lengths[:, None]  # (B, n)
    return keep[:, None, None, :]


def prefix_lm_mask(segment_ids) -> torch.Tensor:
    """UniLM / prefix-LM mask ``(..., n, n)`` from 0/1 segment ids ``(..., n)`` (eq.
    ``masks-unilm``).

    With ``c = cumsum(segment_ids)``, ``M[i, j] = c[j] <= c[i]``: source tokens (id 0)
    see the whole source, target tokens (id 1) see the source and the target tokens up
    to themselves.
    """
    s = _int_ids(segment_ids, "segment_ids")
    if s.dtype.is_floating_point or s.is_complex():
        raise TypeError(f"segment_ids must be integers or bool, got {s.dtype}")
    if s.ndim < 1:
        raise ValueError("segment_ids must have at least one dimension (..., n)")
    if not ((s == 0) | (s == 1)).all():
        raise ValueError("segment_ids must contain only 0 (source) and 1 (target)")
    c = torch.cumsum(s.long(), dim=-1)
    return c[..., None, :] <= c[..., :, None]


def prefix_lm_mask_from_lengths(
    n_prefix: int, n_total: int, *, device=None
) -> torch.Tensor:
    """The same mask as :func:`prefix_lm_mask` for a source of ``n_prefix`` tokens in
    ``n_total``.
    """
    n_total = check_int(n_total, "n_total", min_value=1)
    n_prefix = check_int(n_prefix, "n_prefix", min_value=0, max_value=n_total)
    s = torch.zeros(n_total, dtype=torch.long, device=_check_device(device))
    s[n_prefix:] = 1
    return prefix_lm_mask(s)


def permutation_mask(order, *, include_self: bool = True) -> torch.Tensor:
    """Permutation-LM (XLNet) mask ``(n, n)`` for the factorisation order ``order`` (a
    permutation of 0..n-1).

    With ``rank[order[t]] = t``: ``M[i, j] = rank[j] <= rank[i]`` (``include_self``, the
    content stream) or ``rank[j] < rank[i]`` (the query stream, which must not see the
    token it predicts).
    """
    include_self = check_bool(include_self, "include_self")
    z = _int_ids(order, "order")
    if z.dtype.is_floating_point or z.dtype == torch.bool or z.ndim != 1:
        raise TypeError(
            "order must be a 1-D integer permutation, got dtype "
            f"{z.dtype} shape {tuple(z.shape)}"
        )
    n = z.numel()
    if n == 0 or not torch.equal(
        torch.sort(z).values, torch.arange(n, device=z.device)
    ):
        raise ValueError(f"order must be a permutation of 0..n-1, got {z.tolist()}")
    rank = torch.empty_like(z)
    rank[z] = torch.arange(n, device=z.device)
    return (
        rank[None, :] <= rank[:, None]
        if include_self
        else rank[None, :] < rank[:, None]
    )


def permutation_lm_inputs(tokens, order, *, bos_id: int) -> dict:
    """Permutation-LM training data by reordering (chapter *attention/masks*, eq.
    ``masks-ptlp``).

    ``tokens (B, n)`` integer, ``order (n,)`` or ``(B, n)`` a permutation per row.
    Returns a dict of ``(B, n)`` tensors for a causal model: ``inputs`` =
    ``[bos, x_{z_1}, ..., x_{z_{n-1}}]``, ``positions`` = the original position of each
    input (``n`` for the ``bos`` slot, so a model needs ``max_len >= n + 1``),
    ``target_positions`` = ``z`` (where the token to predict sits) and ``targets`` =
    ``x_z``.
    """
    tokens = _int_ids(tokens, "tokens")
    bos_id = check_int(bos_id, "bos_id", min_value=0)
    if tokens.ndim != 2 or tokens.dtype.is_floating_point or tokens.dtype == torch.bool:
        raise TypeError(
            "tokens must be a (B, n) integer tensor, got "
            f"{tokens.dtype} {tuple(tokens.shape)}"
        )
    b, n = tokens.shape
    z = _int_ids(order, "order", tokens.device)
    if z.dtype.is_floating_point or z.dtype == torch.bool:
        raise TypeError(f"order must be an integer permutation, got {z.dtype}")
    z = z.expand(b, n) if z.ndim == 1 and z.numel() == n else z
    if z.shape != (b, n) or not torch.equal(
        z.sort(dim=1).values, torch.arange(n, device=z.device).expand(b, n)
    ):
        raise ValueError(
            f"order must be a permutation of 0..{n - 1} (or one per row), got "
            f"shape {tuple(z.shape)}"
        )
    xz = tokens.gather(1, z)  # (B, n) tokens in the new order
    bos = torch.full((b, 1), bos_id, dtype=tokens.dtype, device=tokens.device)
    start = torch.full((b, 1), n, dtype=z.dtype, device=z.device)
    return {
        "inputs": torch.cat([bos, xz[:, :-1]], 1),
        "positions": torch.cat([start, z[:, :-1]], 1),
        "target_positions": z,
        "targets": xz,
    }


def combine_masks(*masks) -> torch.Tensor | None:
    """Logical AND of the given bool masks (``None`` entries ignored; broadcasting)."""
    out = None
    for i, m in enumerate(masks):
        if m is None:
            continue
        if not isinstance(m, torch.Tensor) or m.dtype != torch.bool:
            raise TypeError(
                f"masks[{i}] must be a bool tensor (True = may attend), got "
                f"{getattr(m, 'dtype', type(m).__name__)}"
            )
        out = m if out is None else out & m
    return out


def mask_to_bias(mask: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """Additive form of a mask: 0 where allowed, ``-inf`` where blocked."""
    check_bool_mask(mask, "mask")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, float("-inf")
    )


def to_torch_mha_mask(mask: torch.Tensor) -> torch.Tensor:
    """Flip to ``torch.nn.MultiheadAttention``'s convention (``True`` = blocked)."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor (True = may attend)")
    return ~mask


def visible_keys(mask: torch.Tensor) -> torch.Tensor:
    """Number of keys each query may see, ``(..., Lq, 1)`` float (the ``n`` of the
    entropy-invariant scale).
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor (True = may attend)")
    return mask.sum(-1, keepdim=True).to(torch.get_default_dtype())
