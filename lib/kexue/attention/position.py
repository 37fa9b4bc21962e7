"""Position encodings: sinusoidal, RoPE, a T5-style relative bias and ALiBi (pure
functions and one small module); the position probe of post 9105 that uses them is
:mod:`kexue.attention.probe`.

Chapter: *attention/relative-position-flaw*. :data:`POSITIONS` names the schemes
:class:`kexue.nn.TransformerConfig` offers (defined here, once).

These run inside training loops: NaN/inf in a float input propagates as in torch (not
checked).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import (
    check_bool,
    check_float_tensor,
    check_int,
    check_int_tensor,
    check_positive,
)

__all__ = [
    "POSITIONS",
    "sinusoidal_position_embedding",
    "rope_angles",
    "apply_rotary",
    "t5_relative_bucket",
    "RelativePositionBias",
    "alibi_slopes",
    "alibi_bias",
]

# : position schemes of :class:`kexue.nn.TransformerConfig` and
# :class:`~kexue.attention.probe.ProbeConfig`
POSITIONS = ("learned", "sinusoidal", "rope", "t5", "alibi", "none")


def sinusoidal_position_embedding(
    n: int, d: int, *, base: float = 10000.0
) -> torch.Tensor:
    """``(n, d)`` table, ``PE[p, 2i] = sin(p / base^(2i/d))``,
    ``PE[p, 2i+1] = cos(...)`` (Vaswani et al.), in the default dtype."""
    n, d = check_int(n, "n", min_value=1), check_int(d, "d", min_value=2)
    if d % 2:
        raise ValueError(f"d must be even, got {d}")
    base = check_positive(base, "base")
    p = torch.arange(n, dtype=torch.float64)[:, None]
    inv = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    pe = torch.empty(n, d, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(p * inv), torch.cos(p * inv)
    return pe.to(torch.get_default_dtype())


def _check_positions(positions, name: str = "positions") -> torch.Tensor:
    check_int_tensor(positions, name)
    return positions


def rope_angles(
    positions: torch.Tensor, d: int, *, base: float = 10000.0
) -> torch.Tensor:
    """Angles ``m * theta_i``, ``theta_i = base^(-2i/d)``: integer positions
    ``(..., L)`` -> float64 ``(..., L, d/2)`` (RoFormer eq. 34)."""
    _check_positions(positions)
    d = check_int(d, "d", min_value=2)
    if d % 2:
        raise ValueError(f"d must be even for RoPE, got {d}")
    base = check_positive(base, "base")
    theta = base ** (
        -torch.arange(0, d, 2, dtype=torch.float64, device=positions.device) / d
    )
    return positions.to(torch.float64)[..., None] * theta


def apply_rotary(
    x: torch.Tensor, positions: torch.Tensor | None = None, *, base: float = 10000.0
) -> torch.Tensor:
    """RoPE on ``x (..., L, d)``: rotate each interleaved pair ``(x_2i, x_2i+1)`` by
    ``m * theta_i`` (RoFormer); ``positions`` integer ``(L,)`` or broadcastable to
    ``x.shape[:-1]`` (default ``0..L-1``). ``<apply_rotary(q, m), apply_rotary(k, n)>``
    depends on ``m - n`` only. The angles are computed in float64, the rotation in x's
    dtype.
    """
    check_float_tensor(x, "x", min_ndim=2)
    d = x.shape[-1]
    if d % 2:
        raise ValueError(f"the feature dim of x must be even for RoPE, got {d}")
    if positions is None:
        positions = torch.arange(x.shape[-2], device=x.device)
    _check_positions(positions)
    try:
        ok = torch.broadcast_shapes(positions.shape, x.shape[:-1]) == x.shape[:-1]
    except RuntimeError:
        ok = False
    if positions.ndim < 1 or not ok or positions.shape[-1] != x.shape[-2]:
        raise ValueError(
            f"positions must have shape (L={x.shape[-2]},) or broadcast to "
            f"{tuple(x.shape[:-1])}, got {tuple(positions.shape)}"
        )
    ang = rope_angles(positions.to(x.device), d, base=base)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)  # (..., L, d/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out


def t5_relative_bucket(
    relative_position: torch.Tensor,
    *,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
) -> torch.Tensor:
    """T5's bucket of ``key_pos - query_pos`` (integer tensor, any shape): exact for
    small distances, log-spaced up to ``max_distance``. Needs ``max_distance`` above the
    exact range (``num_buckets // 4`` bidirectional, ``num_buckets // 2`` otherwise)."""
    rel = check_int_tensor(relative_position, "relative_position")
    bidirectional = check_bool(bidirectional, "bidirectional")
    num_buckets = check_int(num_buckets, "num_buckets", min_value=4)
    max_distance = check_int(max_distance, "max_distance", min_value=1)
    half = num_buckets // 2 if bidirectional else num_buckets
    exact = half // 2
    if max_distance <= exact:
        raise ValueError(
            f"max_distance must be > {exact} (the exact range for num_buckets="
            f"{num_buckets}), got {max_distance}"
        )
    rel = rel.long()
    buckets = torch.zeros_like(rel)
    if bidirectional:
        buckets = buckets + (rel > 0).long() * half
        rel = rel.abs()
    else:
        rel = -torch.clamp(rel, max=0)
    is_small = rel < exact
    large = (
        exact
        + (
            torch.log(rel.float().clamp(min=1) / exact)
            / math.log(max_distance / exact)
            * (half - exact)
        ).long()
    )
    large = torch.clamp(large, max=half - 1)
    return buckets + torch.where(is_small, rel, large)


class RelativePositionBias(nn.Module):
    """A learned scalar per head and relative-distance bucket (T5),
    ``forward(n_q, n_k=None) -> (H, n_q, n_k)``."""

    def __init__(
        self,
        n_heads: int,
        *,
        bidirectional: bool = True,
        num_buckets: int = 32,
        max_distance: int = 128,
    ):
        super().__init__()
        n_heads = check_int(n_heads, "n_heads", min_value=1)
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        self.num_buckets = check_int(num_buckets, "num_buckets", min_value=4)
        self.max_distance = check_int(max_distance, "max_distance", min_value=1)
        t5_relative_bucket(  # validates max_distance against num_buckets now
            torch.zeros(1, dtype=torch.long),
            bidirectional=self.bidirectional,
            num_buckets=self.num_buckets,
            max_distance=self.max_distance,
        )
        self.table = nn.Embedding(num_buckets, n_heads)

    def forward(self, n_q: int, n_k: int | None = None) -> torch.Tensor:
        n_q = check_int(n_q, "n_q", min_value=1)
        n_k = n_q if n_k is None else check_int(n_k, "n_k", min_value=1)
        dev = self.table.weight.device
        rel = (
            torch.arange(n_k, device=dev)[None, :]
            - torch.arange(n_q, device=dev)[:, None]
        )
        b = t5_relative_bucket(
            rel,
            bidirectional=self.bidirectional,
            num_buckets=self.num_buckets,
            max_distance=self.max_distance,
        )
        return self.table(b).permute(2, 0, 1)  # (H, n_q, n_k)


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """ALiBi's head slopes ``(H,)`` (Press et al.): ``2^(-8k/H)``, ``k = 1..H`` when
    ``H`` is a power of two; otherwise the slopes of the nearest lower power of two
    ``m`` followed by every other slope of ``2m``."""
    n_heads = check_int(n_heads, "n_heads", min_value=1)

    def power_of_two(h):
        return [2.0 ** (-8.0 * k / h) for k in range(1, h + 1)]

    m = 2 ** int(math.floor(math.log2(n_heads)))
    slopes = power_of_two(m) + power_of_two(2 * m)[0::2][: n_heads - m]
    return torch.tensor(slopes, dtype=torch.get_default_dtype())


def alibi_bias(
    n_heads: int, n_q: int, n_k: int | None = None, *, bidirectional: bool = False
) -> torch.Tensor:
    """Additive ALiBi bias ``(H, n_q, n_k)``: ``-slope_h * (i' - j)`` with
    ``i' = i + n_k - n_q`` (bottom-right aligned, as
    :func:`kexue.attention.masks.causal_mask`). Causal form: 0 above the diagonal
    (those keys are masked anyway); ``bidirectional=True``: ``-slope_h * |i' - j|``
    everywhere."""
    n_q = check_int(n_q, "n_q", min_value=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", min_value=1)
    bidirectional = check_bool(bidirectional, "bidirectional")
    dist = (torch.arange(n_q)[:, None] + (n_k - n_q)) - torch.arange(n_k)[None, :]
    dist = dist.abs() if bidirectional else dist.clamp(min=0)  # i' - j
    return -alibi_slopes(n_heads)[:, None, None] * dist.to(torch.get_default_dtype())
