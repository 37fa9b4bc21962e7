"""Measured scaling laws of the softmax scale and of the Johnson-Lindenstrauss dimension
(JL).

Chapters: *attention/entropy-invariant-softmax* (post 9034: is the entropy-keeping scale
``lambda* ~ log n`` or ``~ sqrt(log n)``, and ``~ 1/d`` or ``~ 1/sqrt(d)``?) and
*attention/jl-entropy-attention* (post 9588: the smallest dimension at which ``n``
random unit vectors have all ``|cos| < t``, against the union-bound prediction; the
weight on a retrieved key under several factor laws).

Every sweep reuses one draw across the swept size (nested keys across ``n``, nested
coordinates across ``d``), so differences between sizes are not drowned by redraws, and
repeats the sweep over independent seeds so that a fitted exponent has an error bar.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import special

from .._validate import check_int, check_positive, check_tensor
from .scale import solve_scale_for_entropy

__all__ = [
    "sphere_points",
    "entropy_scale_vs_n",
    "approx_scale_vs_n",
    "entropy_scale_vs_d",
    "fit_exponents",
    "max_abs_cos_by_dim",
    "first_passing_dim",
    "pair_exceed_prob",
    "predicted_dim_pmf",
    "predicted_dim_quantile",
    "predicted_max_abs_cos",
    "true_key_logits",
    "true_key_weight",
    "weight_keeping_factor",
    "annealed_factor",
]

_KEYS = ("sphere", "gaussian")


def _check_sizes(values, name: str, min_value: int) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{name} must be a sequence of ints, got {type(values).__name__}"
        )
    out = [
        check_int(v, f"{name}[{i}]", min_value=min_value) for i, v in enumerate(values)
    ]
    if not out or any(b <= a for a, b in zip(out, out[1:], strict=False)):
        raise ValueError(f"{name} must be non-empty and strictly increasing, got {out}")
    return out


def _check_seeds(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise TypeError("seeds must be a non-empty sequence of ints")
    return [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]


def sphere_points(
    m: int,
    d: int,
    *,
    radius: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``(m, d)`` float64 points uniform on the sphere of ``radius`` (``sqrt(d)``).

    The test bed of posts 8823/9034: queries and keys of norm ``sqrt(d)``.
    """
    m, d = check_int(m, "m", min_value=1), check_int(d, "d", min_value=1)
    r = math.sqrt(d) if radius is None else check_positive(radius, "radius")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError("generator must be a torch.Generator or None")
    x = torch.randn(m, d, generator=generator, dtype=torch.float64)
    return x / x.norm(dim=1, keepdim=True) * r


def entropy_scale_vs_n(
    ns: Sequence[int],
    d: int,
    *,
    target: float = 2.0,
    n_queries: int = 64,
    seeds: Sequence[int] = (0, 1, 2, 3),
    keys: str = "sphere",
    iters: int = 40,
) -> np.ndarray:
    """Mean over queries of the scale ``lambda*`` giving row entropy ``target``.

    Returns ``(len(seeds), len(ns))``. Per seed, ``n_queries`` queries on the
    radius-``sqrt(d)`` sphere and ``max(ns)`` keys (``keys="sphere"``: same sphere;
    ``"gaussian"``: ``N(0, I_d)``, the same second moment) are drawn
    once, and the row for ``n`` uses the first ``n`` keys (nested draws).
    """
    ns, d, target, n_queries = _check_sweep(ns, d, target, n_queries, keys)
    iters = check_int(iters, "iters", min_value=1)
    out = np.empty((len(_check_seeds(seeds)), len(ns)))
    for a, seed in enumerate(seeds):
        scores = _nested_scores(seed, n_queries, d, ns[-1], keys)
        for b, n in enumerate(ns):
            out[a, b] = float(_solve_in_chunks(scores[:, :n], target, iters).mean())
    return out


def _check_sweep(ns, d, target, n_queries, keys):
    """The arguments shared by :func:`entropy_scale_vs_n` and
    :func:`approx_scale_vs_n`, checked."""
    ns = _check_sizes(ns, "ns", 2)
    d = check_int(d, "d", min_value=1)
    target = check_positive(target, "target")
    if keys not in _KEYS:
        raise ValueError(f"keys must be one of {_KEYS}, got {keys!r}")
    return ns, d, target, check_int(n_queries, "n_queries", min_value=1)


def _nested_scores(seed: int, n_queries: int, d: int, n_max: int, keys: str):
    """One seed's draw of :func:`entropy_scale_vs_n`: scores ``(n_queries, n_max)``."""
    g = torch.Generator().manual_seed(seed)
    q = sphere_points(n_queries, d, generator=g)
    if keys == "sphere":
        k = sphere_points(n_max, d, generator=g)
    else:
        k = torch.randn(n_max, d, generator=g, dtype=torch.float64)
    return q @ k.T


def approx_scale_vs_n(
    ns: Sequence[int],
    d: int,
    *,
    target: float = 2.0,
    n_queries: int = 64,
    seeds: Sequence[int] = (0, 1, 2, 3),
    keys: str = "sphere",
) -> np.ndarray:
    """The post's approximation solved at a target: ``(log n - H)/(s_max - s_mean)``.

    Chapter *attention/entropy-invariant-softmax*, eq. ``eis-approx``
    ``H = log n - lambda (s_max - s_mean)`` solved for ``lambda`` at ``H = target`` with
    each row's measured gap, averaged over the queries. Same draws as
    :func:`entropy_scale_vs_n` (same arguments give the same queries and keys), so the
    two can be compared seed by seed; by eq. ``eis-bound`` every row's ``lambda*`` is at
    least this value. Returns ``(len(seeds), len(ns))``; ``target < log min(ns)``.
    """
    ns, d, target, n_queries = _check_sweep(ns, d, target, n_queries, keys)
    if target >= math.log(ns[0]):
        raise ValueError(
            f"target must be below log(ns[0]) = {math.log(ns[0]):.3f}, got {target}"
        )
    out = np.empty((len(_check_seeds(seeds)), len(ns)))
    for a, seed in enumerate(seeds):
        scores = _nested_scores(seed, n_queries, d, ns[-1], keys)
        for b, n in enumerate(ns):
            s = scores[:, :n]
            gap = s.amax(-1) - s.mean(-1)
            out[a, b] = float(((math.log(n) - target) / gap).mean())
    return out


def _solve_in_chunks(scores: torch.Tensor, target: float, iters: int) -> torch.Tensor:
    """``solve_scale_for_entropy`` on blocks of 16 rows: ``(m, n) -> (m,)``.

    Each row's bisection is independent of the others; blocks keep the working set in
    cache (about 25% less CPU for ``n = 16384``).
    """
    return torch.cat(
        [
            solve_scale_for_entropy(scores[i : i + 16], target, iters=iters)
            for i in range(0, scores.shape[0], 16)
        ]
    )


def entropy_scale_vs_d(
    ds: Sequence[int],
    n: int,
    *,
    target: float = 2.0,
    n_queries: int = 64,
    seeds: Sequence[int] = (0, 1, 2, 3),
    iters: int = 40,
) -> np.ndarray:
    """As :func:`entropy_scale_vs_n`, sweeping the head size: ``(len(seeds), len(ds))``.

    Per seed one Gaussian draw of ``max(ds)`` coordinates; the points for ``d`` are its
    first ``d`` coordinates, projected to the radius-``sqrt(d)`` sphere (nested draws).
    """
    ds = _check_sizes(ds, "ds", 1)
    n = check_int(n, "n", min_value=2)
    target = check_positive(target, "target")
    iters = check_int(iters, "iters", min_value=1)
    n_queries = check_int(n_queries, "n_queries", min_value=1)
    out = np.empty((len(_check_seeds(seeds)), len(ds)))
    for a, seed in enumerate(seeds):
        g = torch.Generator().manual_seed(seed)
        q = torch.randn(n_queries, ds[-1], generator=g, dtype=torch.float64)
        k = torch.randn(n, ds[-1], generator=g, dtype=torch.float64)
        for b, d in enumerate(ds):
            qd = q[:, :d] / q[:, :d].norm(dim=1, keepdim=True) * math.sqrt(d)
            kd = k[:, :d] / k[:, :d].norm(dim=1, keepdim=True) * math.sqrt(d)
            out[a, b] = float(_solve_in_chunks(qd @ kd.T, target, iters).mean())
    return out


def fit_exponents(x, y) -> np.ndarray:
    """Least-squares slope of ``log y`` against ``log x`` for each row of ``y (S, K)``.

    Returns ``(S,)``: one fitted exponent ``beta`` of ``y ~ x**beta`` per seed.
    """
    x = np.asarray(x, dtype=float)
    y = np.atleast_2d(np.asarray(y, dtype=float))
    if x.ndim != 1 or x.size < 2 or y.shape[-1] != x.size:
        raise ValueError(
            f"x must be 1-d with >= 2 entries and y (S, {x.size}); "
            f"got {x.shape}, {y.shape}"
        )
    if (x <= 0).any() or (y <= 0).any() or not np.isfinite(y).all():
        raise ValueError("x and y must be finite and > 0 (the fit is in log-log)")
    lx = np.log(x) - np.log(x).mean()
    ly = np.log(y)
    return (ly - ly.mean(-1, keepdims=True)) @ lx / (lx @ lx)


def _coordinates(n: int, d: int, seed) -> torch.Tensor:
    """``(n, d)`` Gaussian draw whose first ``k`` columns do not depend on ``d``."""
    g = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    return torch.randn(d, n, generator=g, dtype=torch.float64).T


def max_abs_cos_by_dim(n: int, ds: Sequence[int], *, seed: int = 0) -> np.ndarray:
    """Largest ``|cos|`` over the pairs of ``n`` random vectors, for each ``d`` in
    ``ds``.

    One Gaussian draw ``(n, max(ds))``; the vectors in dimension ``d`` are its first
    ``d`` coordinates (the same draw for every ``d``; the Gram matrix is updated one
    coordinate at a time). Returns ``(len(ds),)``.
    """
    n = check_int(n, "n", min_value=2)
    ds = _check_sizes(ds, "ds", 1)
    x = _coordinates(n, ds[-1], seed)
    gram = x[:, : ds[0]] @ x[:, : ds[0]].T
    out, done = [], ds[0]
    for d in ds:
        if d > done:
            gram += x[:, done:d] @ x[:, done:d].T
            done = d
        inv = gram.diagonal().rsqrt()
        cos = (gram * inv[:, None] * inv[None, :]).abs().fill_diagonal_(0)
        out.append(float(cos.max()))
    return np.array(out)


def first_passing_dim(
    n: int,
    *,
    threshold: float = 0.5,
    seed: int = 0,
    d_start: int = 1,
    d_max: int = 512,
) -> int:
    """Smallest ``d > d_start`` with every pair ``|cos| < threshold`` (linear scan up).

    One Gaussian draw for all ``d`` (the vectors in dimension ``d`` are the first ``d``
    coordinates). ``d_start`` must fail the criterion (a starting point that saves the
    scan from ``d = 1``); ``ValueError`` if it passes or if no ``d <= d_max`` passes.
    """
    n = check_int(n, "n", min_value=2)
    threshold = check_positive(threshold, "threshold")
    if threshold >= 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    d_start = check_int(d_start, "d_start", min_value=1)
    d_max = check_int(d_max, "d_max", min_value=d_start + 1)
    x = _coordinates(n, d_max, seed)
    gram = x[:, :d_start] @ x[:, :d_start].T
    norm2 = gram.diagonal().clone()
    limit = (threshold**2) * (norm2[:, None] * norm2[None, :])
    if not bool((gram.square() >= limit).fill_diagonal_(False).any()):
        raise ValueError(f"d_start={d_start} already passes; choose a smaller d_start")
    for d in range(d_start, d_max):
        col = x[:, d]
        gram.addr_(col, col)
        norm2 += col.square()
        limit = (threshold**2) * (norm2[:, None] * norm2[None, :])
        if not bool((gram.square() >= limit).fill_diagonal_(False).any()):
            return d + 1
    raise ValueError(f"no d <= d_max={d_max} passes; raise d_max")


def pair_exceed_prob(d, threshold: float = 0.5) -> np.ndarray:
    """``P(|cos| >= threshold)`` for two independent uniform directions in ``R^d``.

    ``cos^2 ~ Beta(1/2, (d-1)/2)``, so this is the regularised incomplete beta function.
    """
    d = np.asarray(d, dtype=float)
    if (d < 2).any():
        raise ValueError("d must be >= 2")
    threshold = check_positive(threshold, "threshold")
    return special.betaincc(0.5, (d - 1) / 2, threshold**2)


def predicted_dim_pmf(
    n: int, *, threshold: float = 0.5, d_max: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson prediction of the law of :func:`first_passing_dim`: ``(d, P(D = d))``.

    ``P(D <= d) = exp(-mu(d))`` with ``mu(d) = C(n, 2) P(|cos| >= threshold)`` (see
    :func:`predicted_dim_quantile`).
    """
    n = check_int(n, "n", min_value=2)
    d = np.arange(1, check_int(d_max, "d_max", min_value=2) + 1)
    mu = np.full(d.shape, np.inf)
    mu[1:] = n * (n - 1) / 2 * pair_exceed_prob(d[1:], threshold)
    cdf = np.exp(-mu)
    return d, np.diff(cdf, prepend=0.0)


def predicted_dim_quantile(
    n: int, q: float = 0.5, *, threshold: float = 0.5, d_max: int = 4096
) -> int:
    """Poisson prediction of the ``q``-quantile of :func:`first_passing_dim`.

    The ``C(n, 2)`` pair cosines are pairwise independent; treating the count of pairs
    with ``|cos| >= threshold`` as Poisson with mean ``mu(d) = C(n,2) P(|cos| >= t)``
    gives ``P(all pass at d) = exp(-mu(d))``; returns the smallest ``d`` where that is
    ``>= q``.
    The union bound ``mu(d) ~ (1 - t^2)^{d/2}`` gives the slope ``-4/ln(1 - t^2)`` per
    unit of ``ln n`` (``13.9`` for ``t = 1/2``).
    """
    n = check_int(n, "n", min_value=2)
    q = check_positive(q, "q")
    if q >= 1:
        raise ValueError(f"q must lie in (0, 1), got {q}")
    d = np.arange(2, check_int(d_max, "d_max", min_value=2) + 1)
    mu = n * (n - 1) / 2 * pair_exceed_prob(d, threshold)
    ok = np.flatnonzero(np.exp(-mu) >= q)
    if ok.size == 0:
        raise ValueError(f"no d <= d_max={d_max} reaches the quantile; raise d_max")
    return int(d[ok[0]])


def predicted_max_abs_cos(n: int, d: int) -> float:
    """Median of the largest ``|cos|`` over pairs of ``n`` random directions in ``R^d``.

    Poisson approximation as in :func:`predicted_dim_quantile`: the ``t`` with
    ``C(n, 2) P(|cos| >= t) = ln 2``.
    """
    n, d = check_int(n, "n", min_value=2), check_int(d, "d", min_value=2)
    tail = math.log(2) / (n * (n - 1) / 2)
    return float(np.sqrt(special.betainccinv(0.5, (d - 1) / 2, min(tail, 1.0))))


def true_key_logits(
    n: int,
    *,
    d: int = 32,
    n_queries: int = 200,
    noise: float = 0.5,
    seed: int = 0,
    rho: float = 1.0,
) -> torch.Tensor:
    """Logits ``<q, k_j>`` ``(n_queries, n)`` of a retrieval; key 0 is the query's own.

    Queries on the radius-``sqrt(d)`` sphere; key 0 is ``rho q + noise * N(0, I_d)``
    (alignment ``rho``, default 1), keys ``1..n-1`` are ``N(0, I_d)``. Given ``q``,
    these logits are independent with laws ``N(rho d, noise^2 d)`` and ``N(0, d)``, so
    they are drawn directly from those laws (exact, and ``d`` times cheaper than
    drawing the keys). The true key's lead, in units of the others' sd, is
    ``rho sqrt(d)`` (chapter attention/jl-entropy-attention, (jl-annealed)).
    """
    n, d = check_int(n, "n", min_value=2), check_int(d, "d", min_value=1)
    noise = check_positive(noise, "noise", allow_zero=True)
    n_queries = check_int(n_queries, "n_queries", min_value=1)
    rho = check_positive(rho, "rho")
    g = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    z = torch.randn(n_queries, n, generator=g, dtype=torch.float64) * math.sqrt(d)
    z[:, 0] = rho * d + noise * z[:, 0]
    return z


def true_key_weight(logits: torch.Tensor, factor: float, d: int) -> float:
    """Mean weight on key 0 of ``softmax(factor / sqrt(d) * logits)``; logits (m, n)."""
    logits = check_tensor(logits, "logits", ndim=2)
    factor = check_positive(factor, "factor")
    d = check_int(d, "d", min_value=1)
    return float(torch.softmax(logits * (factor / math.sqrt(d)), -1)[:, 0].mean())


def weight_keeping_factor(
    logits: torch.Tensor, weight: float, d: int, *, iters: int = 50
) -> float:
    """The factor ``gamma`` at which :func:`true_key_weight` is ``weight`` (bisection).

    The mean weight on key 0 increases with ``gamma`` while key 0 carries the largest
    logit of (almost) every row, the regime of the chapter's retrieval.
    """
    logits = check_tensor(logits, "logits", ndim=2)
    weight = check_positive(weight, "weight")
    if weight >= 1:
        raise ValueError(f"weight must lie in (0, 1), got {weight}")
    lo, hi = 0.0, 1.0
    while true_key_weight(logits, hi, d) < weight:
        hi *= 2
        if hi > 1e6:
            raise ValueError("weight is not reached by any factor <= 1e6")
    for _ in range(check_int(iters, "iters", min_value=1)):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if true_key_weight(logits, mid, d) < weight else (lo, mid)
    return (lo + hi) / 2


def annealed_factor(
    n, d: int, *, n0: int = 512, gamma0: float = 1.0, rho: float = 1.0
) -> float:
    """Factor ``gamma(n)`` that keeps the retrieved key's weight at its ``n0`` value.

    Annealed approximation: weight ``~ exp(gamma a) / (n E exp(gamma z))`` with
    ``z ~ N(0, 1)`` and lead ``a = rho sqrt(d)`` (true-key logit ``rho d``, see
    :func:`true_key_logits`), i.e. ``log w = gamma a - gamma^2/2 - ln n``; holding it
    fixed gives ``gamma (a - gamma/2) = ln(n/n0) + gamma0 (a - gamma0/2)``, chapter
    attention/jl-entropy-attention (jl-annealed). For small ``gamma`` and ``rho = 1``
    the scale ``lambda = gamma/sqrt(d)`` is ``~ (ln n + c)/d``: the ``1/d`` law of
    post 9034.
    """
    n = check_positive(n, "n")
    d = check_int(d, "d", min_value=1)
    n0 = check_int(n0, "n0", min_value=2)
    gamma0 = check_positive(gamma0, "gamma0")
    r = check_positive(rho, "rho") * math.sqrt(d)
    rhs = math.log(n / n0) + gamma0 * (r - gamma0 / 2)
    if 2 * rhs > r * r:
        raise ValueError(f"n={n} is beyond the annealed regime for d={d}, rho={rho}")
    return r - math.sqrt(r * r - 2 * rhs)
