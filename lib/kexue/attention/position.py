"""Position encodings (sinusoidal, RoPE, a T5-style relative bias) and the position probe of post 9105.

Chapter: *attention/relative-position-flaw*. The probe feeds ``n`` identical tokens and asks for their
positions ``0..n-1``. A relative encoding that only changes the logits leaves each softmax row a
probability vector, so identical values give identical outputs (eq. ``rpf-identical``) and the probe
is impossible; the remedies (other normalisations, marker tokens) are options of :class:`ProbeConfig`.
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from .._validate import check_int, check_positive
from .core import NORMALIZATIONS

__all__ = [
    "sinusoidal_position_embedding",
    "rope_angles",
    "apply_rotary",
    "RotaryEmbedding",
    "t5_relative_bucket",
    "RelativePositionBias",
    "alibi_slopes",
    "alibi_bias",
    "ProbeConfig",
    "ProbeResult",
    "position_probe_batch",
    "run_position_probe",
    "POSITIONS",
]

POSITIONS = (
    "learned",
    "sinusoidal",
    "rope",
    "t5",
    "alibi",
    "none",
)  # as kexue.nn.transformer.POSITIONS


def sinusoidal_position_embedding(
    n: int, d: int, *, base: float = 10000.0
) -> torch.Tensor:
    """``(n, d)`` table with ``PE[p, 2i] = sin(p / base^(2i/d))``, ``PE[p, 2i+1] = cos(...)`` (Vaswani et al.)."""
    n, d = check_int(n, "n", min_value=1), check_int(d, "d", min_value=2)
    if d % 2:
        raise ValueError(f"d must be even, got {d}")
    p = torch.arange(n, dtype=torch.float64)[:, None]
    inv = base ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)  # (d/2,)
    pe = torch.empty(n, d, dtype=torch.float64)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(p * inv), torch.cos(p * inv)
    return pe.to(torch.get_default_dtype())


def rope_angles(
    positions: torch.Tensor, d: int, *, base: float = 10000.0
) -> torch.Tensor:
    """Angles ``m * theta_i`` with ``theta_i = base^(-2i/d)``, shape ``(..., L, d/2)``."""
    theta = base ** (
        -torch.arange(0, d, 2, dtype=torch.float64, device=positions.device) / d
    )
    return positions.to(torch.float64)[..., None] * theta


def apply_rotary(
    x: torch.Tensor, positions: torch.Tensor | None = None, *, base: float = 10000.0
) -> torch.Tensor:
    """RoPE on ``x (..., L, d)``: rotate each interleaved pair ``(x_2i, x_2i+1)`` by ``m * theta_i`` (RoFormer).

    ``<apply_rotary(q, m), apply_rotary(k, n)>`` depends on ``m - n`` only.
    """
    d = x.shape[-1]
    if d % 2:
        raise ValueError(f"the feature dim of x must be even for RoPE, got {d}")
    if positions is None:
        positions = torch.arange(x.shape[-2], device=x.device)
    ang = rope_angles(positions, d, base=base)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)  # (..., L, d/2)
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out


class RotaryEmbedding(nn.Module):
    """Module form of :func:`apply_rotary` (no parameters), for :class:`MultiHeadAttention`'s ``rotary``."""

    def __init__(self, base: float = 10000.0):
        super().__init__()
        self.base = check_positive(base, "base")

    def forward(self, x, positions=None):
        return apply_rotary(x, positions, base=self.base)


def t5_relative_bucket(
    relative_position: torch.Tensor,
    *,
    bidirectional: bool = True,
    num_buckets: int = 32,
    max_distance: int = 128,
) -> torch.Tensor:
    """T5's bucket of ``key_pos - query_pos``: exact for small distances, log-spaced up to ``max_distance``."""
    rel = relative_position
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rel > 0).long() * num_buckets
        rel = rel.abs()
    else:
        rel = -torch.clamp(rel, max=0)
    exact = num_buckets // 2
    is_small = rel < exact
    large = (
        exact
        + (
            torch.log(rel.float().clamp(min=1) / exact)
            / math.log(max_distance / exact)
            * (num_buckets - exact)
        ).long()
    )
    large = torch.clamp(large, max=num_buckets - 1)
    return buckets + torch.where(is_small, rel, large)


class RelativePositionBias(nn.Module):
    """A learned scalar per head and relative-distance bucket, ``forward(n_q, n_k) -> (H, n_q, n_k)`` (T5)."""

    def __init__(
        self,
        n_heads: int,
        *,
        bidirectional: bool = True,
        num_buckets: int = 32,
        max_distance: int = 128,
    ):
        super().__init__()
        self.bidirectional, self.num_buckets, self.max_distance = (
            bidirectional,
            num_buckets,
            max_distance,
        )
        self.table = nn.Embedding(num_buckets, n_heads)

    def forward(self, n_q: int, n_k: int | None = None):
        n_k = n_q if n_k is None else n_k
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
    """ALiBi's head slopes (Press et al.): ``2^(-8k/H)``, ``k = 1..H`` when ``H`` is a power of two; otherwise
    the slopes of the nearest lower power of two ``m`` followed by every other slope of ``2m``."""
    n_heads = check_int(n_heads, "n_heads", min_value=1)

    def power_of_two(h):
        return [2.0 ** (-8.0 * k / h) for k in range(1, h + 1)]

    m = 2 ** int(math.floor(math.log2(n_heads)))
    slopes = power_of_two(m) + power_of_two(2 * m)[0::2][: n_heads - m]
    return torch.tensor(slopes, dtype=torch.get_default_dtype())


def alibi_bias(
    n_heads: int, n_q: int, n_k: int | None = None, *, bidirectional: bool = False
) -> torch.Tensor:
    """Additive ALiBi bias ``(H, n_q, n_k)``: ``-slope_h * (i' - j)`` with ``i' = i + n_k - n_q`` (bottom-right
    aligned, as :func:`kexue.attention.masks.causal_mask`). Causal form: 0 above the diagonal (those keys are
    masked anyway); ``bidirectional=True``: ``-slope_h * |i' - j|`` everywhere."""
    n_q = check_int(n_q, "n_q", min_value=1)
    n_k = n_q if n_k is None else check_int(n_k, "n_k", min_value=1)
    dist = (torch.arange(n_q)[:, None] + (n_k - n_q)) - torch.arange(n_k)[
        None, :
    ]  # i' - j
    dist = dist.abs() if bidirectional else dist.clamp(min=0)
    return -alibi_slopes(n_heads)[:, None, None] * dist.to(torch.get_default_dtype())


# ----------------------------------------------------------------------------------------------
# the position probe (post 9105)
@dataclasses.dataclass
class ProbeConfig:
    """Sizes and switches of the probe; ``position`` in :data:`POSITIONS`, ``normalization`` in ``NORMALIZATIONS``."""

    n: int = 16
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    position: str = "rope"
    normalization: str = "softmax"
    markers: bool = False
    causal: bool = False
    toeplitz_gate: int | None = None
    steps: int = 300
    lr: float = 3e-3
    seed: int = 0

    def __post_init__(self):
        if self.position not in POSITIONS:
            raise ValueError(
                f"position must be one of {POSITIONS}, got {self.position!r}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}"
            )
        check_int(self.n, "n", min_value=2)


@dataclasses.dataclass
class ProbeResult:
    loss: float
    accuracy: float
    rows_identical: bool
    predictions: torch.Tensor
    history: list
    model: torch.nn.Module = dataclasses.field(repr=False, default=None)
    tokens: torch.Tensor = dataclasses.field(repr=False, default=None)


def position_probe_batch(
    n: int, *, markers: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokens ``(1, L)`` — ``[0]*n``, or ``[CLS] 0 ... 0 [SEP]`` with ids 1, 2 — and targets ``(n,)`` = ``0..n-1``."""
    n = check_int(n, "n", min_value=1)
    zeros = torch.zeros(n, dtype=torch.long)
    tokens = (
        torch.cat([torch.tensor([1]), zeros, torch.tensor([2])]) if markers else zeros
    )
    return tokens[None], torch.arange(n)


def run_position_probe(
    config: ProbeConfig, *, progress: bool = True, device=None
) -> ProbeResult:
    """Train a small :class:`kexue.nn.Transformer` on the probe (full batch, Adam via :func:`kexue.nn.train`) and evaluate it.

    ``device``: where the model and tokens live (default CPU); ``predictions`` come
    back on the CPU.
    """
    from ..nn import Transformer, TransformerConfig, train

    dev = torch.device("cpu" if device is None else device)
    torch.manual_seed(config.seed)
    model = Transformer(
        TransformerConfig(
            vocab_size=3,
            d_model=config.d_model,
            n_heads=config.n_heads,
            n_layers=config.n_layers,
            max_len=config.n + 2,
            position=config.position,
            normalization=config.normalization,
            n_out=config.n,
            toeplitz_gate=config.toeplitz_gate,
        )
    ).to(dev)
    tokens, targets = position_probe_batch(config.n, markers=config.markers)
    tokens, targets = tokens.to(dev), targets.to(dev)
    sl = slice(1, -1) if config.markers else slice(None)

    def loss_fn(m, batch, gen):
        logits = m(batch, is_causal=config.causal)[:, sl]  # (1, n, n)
        return nn.functional.cross_entropy(logits.reshape(-1, config.n), targets)

    hist = train(
        model,
        loss_fn,
        tokens,
        steps=config.steps,
        batch_size=1,
        lr=config.lr,
        seed=config.seed,
        progress=progress,
        desc=f"{config.position}/{config.normalization}/markers={config.markers}"
        + (f"/gate={config.toeplitz_gate}" if config.toeplitz_gate is not None else ""),
    )
    with torch.no_grad():
        logits = model(tokens, is_causal=config.causal)[0, sl]  # (n, n)
        loss = float(nn.functional.cross_entropy(logits, targets))
        pred = logits.argmax(-1).cpu()
        identical = bool((logits - logits[:1]).abs().max() < 1e-5)
    return ProbeResult(
        loss,
        float((pred == targets.cpu()).float().mean()),
        identical,
        pred,
        hist,
        model,
        tokens,
    )
