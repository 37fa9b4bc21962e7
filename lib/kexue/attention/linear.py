"""Linear attention and the feature maps that approximate ``exp(q . k)``.

Chapter: *attention/linear-attention-infinite* (post 8601). Softmax attention is kernel attention with
``kappa(q, k) = exp(q . k)``; a feature map ``phi`` with ``phi(q) . phi(k) ~ exp(q . k)`` turns it into
linear attention, computed in ``O(n)`` by associativity. The constructions here: Performer's positive
random features (eq. ``lai-performer``), the truncated Taylor series (``lai-taylor``, plain and
symmetric), and the limit ``(1 + q.k/n)^n`` (``lai-limit``). To emulate ``softmax(q k^T / sqrt(d))`` feed
``q / d**0.25`` and ``k / d**0.25`` to the feature maps.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch

from .._validate import check_int

__all__ = [
    "linear_attention",
    "kernel_attention",
    "exp_kernel",
    "elu_plus_one",
    "draw_gaussian_projection",
    "positive_random_features",
    "PerformerFeatures",
    "taylor_features",
    "exp_limit_features",
    "feature_dim",
    "numerical_rank",
]


def _check(q, k, v):
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor) or not t.is_floating_point():
            raise TypeError(f"{name} must be a floating torch.Tensor")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same feature dim, got {tuple(q.shape)} and {tuple(k.shape)}"
        )
    if k.shape[:-1] != v.shape[:-1]:
        raise ValueError(
            f"k and v must agree except in the last dim, got {tuple(k.shape)} and {tuple(v.shape)}"
        )


def exp_kernel(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``exp(q @ k^T)``, ``(..., Lq, Lk)``: the kernel softmax attention uses."""
    return torch.exp(q @ k.transpose(-2, -1))


def kernel_attention(q, k, v, kernel: Callable, *, mask=None) -> torch.Tensor:
    """Quadratic reference ``a_ij = kappa(q_i, k_j) / sum_j kappa(q_i, k_j)``; the oracle for :func:`linear_attention`."""
    _check(q, k, v)
    a = kernel(q, k)  # (..., Lq, Lk)
    if mask is not None:
        a = a.masked_fill(~mask, 0.0)
    return (a / a.sum(-1, keepdim=True)) @ v


def linear_attention(
    q,
    k,
    v,
    feature_map: Callable,
    *,
    causal: bool = False,
    eps: float = 0.0,
    chunk_size: int = 64,
) -> torch.Tensor:
    """``O(n)`` attention with ``a_ij ∝ phi(q_i) . phi(k_j)``; ``(..., L, d) -> (..., L, dv)``.

    Bidirectional: ``phi(Q) (phi(K)^T V) / (phi(Q) phi(K)^T 1)``. Causal (top-left, ``Lq == Lk``): chunks of
    ``chunk_size`` rows, quadratic inside a chunk and a running state ``sum phi(k) v^T`` between chunks.
    ``eps`` is added to the denominators (0 by default: exact; use a small value with positive maps).
    """
    _check(q, k, v)
    fq, fk = feature_map(q), feature_map(k)  # (..., Lq, m), (..., Lk, m)
    if not causal:
        kv = fk.transpose(-2, -1) @ v  # (..., m, dv)
        z = fk.sum(-2)  # (..., m)
        return (fq @ kv) / ((fq @ z[..., None]) + eps)
    if q.shape[-2] != k.shape[-2]:
        raise ValueError("causal linear attention needs Lq == Lk")
    chunk_size = check_int(chunk_size, "chunk_size", min_value=1)
    n = q.shape[-2]
    state = fk.new_zeros(fk.shape[:-2] + (fk.shape[-1], v.shape[-1]))  # (..., m, dv)
    zsum = fk.new_zeros(fk.shape[:-2] + (fk.shape[-1],))  # (..., m)
    outs = []
    for s in range(0, n, chunk_size):
        e = min(s + chunk_size, n)
        qc, kc, vc = fq[..., s:e, :], fk[..., s:e, :], v[..., s:e, :]
        a = torch.tril(qc @ kc.transpose(-2, -1))  # (..., c, c) inside the chunk
        num = a @ vc + qc @ state
        den = a.sum(-1, keepdim=True) + qc @ zsum[..., None] + eps
        outs.append(num / den)
        state = state + kc.transpose(-2, -1) @ vc
        zsum = zsum + kc.sum(-2)
    return torch.cat(outs, dim=-2)


def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    """``elu(x) + 1`` (Katharopoulos et al.), a positive feature map of dimension ``d``."""
    return torch.nn.functional.elu(x) + 1


def draw_gaussian_projection(
    d: int, m: int, *, orthogonal: bool = True, generator=None, dtype=torch.float64
) -> torch.Tensor:
    """``(m, d)`` matrix of Gaussian directions ``omega``.

    ``orthogonal=True``: blocks of ``d`` mutually orthogonal rows (QR of a Gaussian matrix) with row norms
    drawn from the chi distribution with ``d`` degrees of freedom, so each row is still marginally
    ``N(0, I_d)`` (Performer's orthogonal random features).
    """
    d, m = check_int(d, "d", min_value=1), check_int(m, "m", min_value=1)
    if not orthogonal:
        return torch.randn(m, d, generator=generator, dtype=dtype)
    blocks = []
    for _ in range(math.ceil(m / d)):
        g = torch.randn(d, d, generator=generator, dtype=dtype)
        qm, r = torch.linalg.qr(g)
        qm = qm * torch.sign(torch.diagonal(r))[None, :]  # unique, Haar-distributed
        norms = torch.randn(d, d, generator=generator, dtype=dtype).norm(dim=1)  # chi_d
        blocks.append(qm.T * norms[:, None])
    return torch.cat(blocks)[:m]


def positive_random_features(x: torch.Tensor, omega: torch.Tensor) -> torch.Tensor:
    """Performer's ``phi(x) = exp(omega x - |x|^2/2) / sqrt(m)``, ``(..., d) -> (..., m)``; ``E[phi(q).phi(k)] = exp(q.k)``."""
    if omega.ndim != 2 or omega.shape[1] != x.shape[-1]:
        raise ValueError(
            f"omega must have shape (m, d={x.shape[-1]}), got {tuple(omega.shape)}"
        )
    m = omega.shape[0]
    proj = x @ omega.to(x.dtype).T  # (..., m)
    return torch.exp(proj - x.square().sum(-1, keepdim=True) / 2) / math.sqrt(m)


class PerformerFeatures(torch.nn.Module):
    """A fixed draw of positive random features, usable as ``feature_map``; :meth:`redraw` draws anew."""

    def __init__(self, d: int, m: int, *, orthogonal: bool = True, seed: int = 0):
        super().__init__()
        self.d, self.m, self.orthogonal = d, m, orthogonal
        self.register_buffer(
            "omega",
            draw_gaussian_projection(
                d,
                m,
                orthogonal=orthogonal,
                generator=torch.Generator().manual_seed(seed),
            ),
        )

    def redraw(self, generator=None):
        self.omega = draw_gaussian_projection(
            self.d, self.m, orthogonal=self.orthogonal, generator=generator
        )

    def forward(self, x):
        return positive_random_features(x, self.omega)


def _kron_power(y: torch.Tensor, n: int) -> torch.Tensor:
    out = y
    for _ in range(n - 1):
        out = (out[..., :, None] * y[..., None, :]).flatten(-2)  # (..., D*d)
    return out


def taylor_features(
    x: torch.Tensor, order: int, *, symmetric: bool = False
) -> torch.Tensor:
    """``[1, x, x⊗x/sqrt(2!), ..., ⊗^order x/sqrt(order!)]`` so that ``phi(q).phi(k) = sum_m (q.k)^m / m!``.

    ``symmetric=True`` keeps one entry per monomial, weighted by ``sqrt(m!/alpha!)`` (same inner product,
    ``C(d+order, order)`` entries instead of ``sum_m d^m``).
    """
    order = check_int(order, "order", min_value=0)
    d = x.shape[-1]
    parts = [torch.ones_like(x[..., :1])]
    for m in range(1, order + 1):
        if symmetric:
            combos = list(itertools.combinations_with_replacement(range(d), m))
            idx = torch.tensor(combos, device=x.device)  # (C, m)
            w = torch.tensor(
                [
                    math.sqrt(
                        1.0 / math.prod(math.factorial(c.count(i)) for i in set(c))
                    )
                    for c in combos
                ],
                dtype=x.dtype,
                device=x.device,
            )
            parts.append(x[..., idx].prod(-1) * w)  # (..., C)
        else:
            parts.append(_kron_power(x, m) / math.sqrt(math.factorial(m)))
    return torch.cat(parts, dim=-1)


def exp_limit_features(x: torch.Tensor, n: int) -> torch.Tensor:
    """``⊗^n [1, x/sqrt(n)]`` so that ``phi(q).phi(k) = (1 + q.k/n)^n``; dimension ``(d+1)^n``."""
    n = check_int(n, "n", min_value=1)
    y = torch.cat([torch.ones_like(x[..., :1]), x / math.sqrt(n)], dim=-1)
    return _kron_power(y, n)


def feature_dim(d: int, method: str, param: int) -> int:
    """Output dimension: ``'taylor'`` sum d^m (m<=param), ``'taylor_symmetric'`` C(d+param, param),
    ``'limit'`` (d+1)^param, ``'performer'`` param, ``'elu'`` d."""
    d, param = check_int(d, "d", min_value=1), check_int(param, "param", min_value=0)
    table = {
        "taylor": lambda: sum(d**m for m in range(param + 1)),
        "taylor_symmetric": lambda: math.comb(d + param, param),
        "limit": lambda: (d + 1) ** param,
        "performer": lambda: param,
        "elu": lambda: d,
    }
    if method not in table:
        raise ValueError(f"method must be one of {sorted(table)}, got {method!r}")
    return table[method]()


def numerical_rank(a: torch.Tensor, *, rtol: float = 1e-10) -> int:
    """Number of singular values above ``rtol`` times the largest."""
    s = torch.linalg.svdvals(a)
    return int((s > rtol * s.max()).sum())
