"""Distances between sample sets: sliced Wasserstein and MMD (used to score generated
samples)."""

from __future__ import annotations

import numbers

import numpy as np
import torch

from ._validate import check_bool, check_int, check_positive, check_real

__all__ = [
    "sliced_wasserstein",
    "mmd2_rbf",
    "random_directions",
    "mode_stats",
    "histogram_l1",
    "paired_difference",
]


def _as_array(x, name: str) -> np.ndarray:
    """A float64 numpy copy of a float tensor or array-like; integer tensors are
    rejected."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            raise TypeError(f"{name} must be a float tensor, got {x.dtype}")
        return x.detach().cpu().double().numpy()
    if x is None or isinstance(x, str | bytes | dict):
        raise TypeError(
            f"{name} must be a tensor or an array of numbers, got {type(x).__name__}"
        )
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a tensor or an array of numbers") from err


def _as_2d(x, name: str) -> np.ndarray:
    a = _as_array(x, name)
    if a.ndim != 2 or a.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, D) with N >= 1, got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f"{name} contains NaN or inf ({int(np.sum(~np.isfinite(a)))} entries)"
        )
    return a


def _as_1d(x, name: str) -> np.ndarray:
    a = _as_array(x, name).ravel()
    if a.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(a)):
        raise ValueError(
            f"{name} contains NaN or inf ({int(np.sum(~np.isfinite(a)))} entries)"
        )
    return a


def random_directions(d: int, n_proj: int, seed: int = 0) -> np.ndarray:
    """``n_proj`` unit vectors in R^d, shape (d, n_proj), uniform on the sphere."""
    d = check_int(d, "d", min_value=1)
    n_proj = check_int(n_proj, "n_proj", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    g = np.random.default_rng(seed).standard_normal((d, n_proj))
    return g / np.linalg.norm(g, axis=0, keepdims=True)


def _quantiles(v: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Empirical quantile functions of the columns of v (N, P) at ``levels`` (M,) -> (M,
    P)."""
    # the step quantile function F^{-1}(q) = min{x : F(x) >= q} (numpy's
    # "inverted_cdf"), read off one sort: F^{-1}(q) is the ceil(qN)-th smallest value
    n = len(v)
    rank = np.clip(np.ceil(levels * n).astype(np.int64) - 1, 0, n - 1)
    return np.sort(v, axis=0)[rank]


def sliced_wasserstein(
    x, y, n_proj: int = 256, p: int = 2, seed: int = 0, projections=None
) -> float:
    """Sliced p-Wasserstein distance ``(mean_k W_p^p(x.theta_k, y.theta_k))^(1/p)``
    between (N, D) and (M, D).

    Sample sizes may differ (exact 1-D transport between empirical measures via their
    quantile functions on the merged grid). ``projections``: optional (D, P) unit
    directions; otherwise ``n_proj`` random directions from ``seed`` (fixed, so
    repeated calls compare like with like).
    """
    a, b = _as_2d(x, "x"), _as_2d(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension, got {a.shape[1]} and {b.shape[1]}"
        )
    p = check_int(p, "p", min_value=1)
    n_proj = check_int(n_proj, "n_proj", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    if projections is None:
        theta = random_directions(a.shape[1], n_proj, seed)
    else:
        theta = _as_array(projections, "projections")
        if theta.ndim != 2 or theta.shape[0] != a.shape[1] or theta.shape[1] < 1:
            raise ValueError(
                f"projections must have shape (D={a.shape[1]}, P), got {theta.shape}"
            )
        if not np.all(np.isfinite(theta)):
            raise ValueError("projections must be finite")
        if not np.allclose(np.linalg.norm(theta, axis=0), 1.0, rtol=0, atol=1e-6):
            raise ValueError("projections must have unit-norm columns (directions)")
    pa, pb = a @ theta, b @ theta
    # exact 1-D OT between two empirical measures: integrate |F^-1 - G^-1|^p over the
    # merged breakpoints
    n, m = len(pa), len(pb)
    cuts = np.union1d(np.arange(1, n) / n, np.arange(1, m) / m)
    edges = np.concatenate([[0.0], cuts, [1.0]])
    mids, widths = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    qa, qb = _quantiles(pa, mids), _quantiles(pb, mids)
    wpp = (widths[:, None] * np.abs(qa - qb) ** p).sum(0)  # (P,)
    return float(np.mean(wpp) ** (1.0 / p))


def mmd2_rbf(x, y, bandwidths=(0.1, 0.5, 1.0, 2.0), unbiased: bool = True) -> float:
    """Squared MMD with a sum of Gaussian kernels ``exp(-|u-v|^2 / (2 h^2))`` over
    ``bandwidths``."""
    a, b = _as_2d(x, "x"), _as_2d(y, "y")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"x and y must have the same dimension, got {a.shape[1]} and {b.shape[1]}"
        )
    check_bool(unbiased, "unbiased")
    if isinstance(bandwidths, numbers.Real) and not isinstance(bandwidths, bool):
        bandwidths = (bandwidths,)  # one bandwidth
    if not isinstance(bandwidths, tuple | list | np.ndarray):
        raise TypeError(
            f"bandwidths must be a number or a sequence of numbers, got "
            f"{type(bandwidths).__name__}"
        )
    hs = [check_positive(h, "bandwidths[k]") for h in bandwidths]
    if not hs:
        raise ValueError("bandwidths must not be empty")
    if unbiased and (len(a) < 2 or len(b) < 2):
        raise ValueError("the unbiased estimate needs at least 2 samples in each set")

    def k(u, v):
        d2 = (u**2).sum(1)[:, None] + (v**2).sum(1)[None] - 2 * u @ v.T
        d2 = np.maximum(d2, 0)
        return sum(np.exp(-d2 / (2 * h * h)) for h in hs)

    kxx, kyy, kxy = k(a, a), k(b, b), k(a, b)
    if unbiased:
        n, m = len(a), len(b)
        sxx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        syy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
    else:
        sxx, syy = kxx.mean(), kyy.mean()
    return float(sxx + syy - 2 * kxy.mean())


def mode_stats(samples, centers, std: float, outlier_k: float = 4.0) -> dict:
    """Per-mode summary for samples of a mixture with known, well-separated ``centers``
    (K, D).

    Each sample is assigned to its nearest centre; samples farther than ``outlier_k *
    std`` (times sqrt(D)) from it are outliers. Returns ``modes_covered`` (modes
    with >= 1 % of the inliers), ``tv`` (total variation between mode frequencies
    and uniform), ``std_ratio`` (pooled within-mode standard deviation of the
    inliers / ``std``) and ``outlier_frac``.
    """
    x, c = _as_2d(samples, "samples"), _as_2d(centers, "centers")
    if x.shape[1] != c.shape[1]:
        raise ValueError(
            f"samples and centers must have the same dimension, got {x.shape[1]} and "
            f"{c.shape[1]}"
        )
    std = check_positive(std, "std")
    outlier_k = check_positive(outlier_k, "outlier_k")
    d2 = ((x[:, None, :] - c[None]) ** 2).sum(-1)  # (N, K)
    k = d2.argmin(1)
    dist = np.sqrt(d2[np.arange(len(x)), k])
    inlier = dist <= outlier_k * std * np.sqrt(x.shape[1])
    counts = np.bincount(k[inlier], minlength=len(c))
    freq = counts / max(1, counts.sum())
    resid = x[inlier] - c[k[inlier]]
    std_ratio = (
        float(np.sqrt((resid**2).mean()) / std) if inlier.any() else float("nan")
    )
    return {
        "modes_covered": int((freq >= 0.01).sum()),
        "tv": float(0.5 * np.abs(freq - 1 / len(c)).sum()),
        "std_ratio": std_ratio,
        "outlier_frac": float(1 - inlier.mean()),
    }


def histogram_l1(
    samples,
    reference,
    *,
    grid=None,
    bins: int = 60,
    value_range: tuple[float, float] = (-3.0, 3.0),
) -> float:
    """L1 distance between the histogram density of 1-D ``samples`` and a reference law.

    ``reference`` is either a density evaluated on ``grid`` (interpolated to the bin
    centres) or, when ``grid`` is None, a second set of samples (histogrammed on the
    same bins). Used to compare particles with a PDE solution (test-functions
    chapter).
    """
    x = _as_1d(samples, "samples")
    bins = check_int(bins, "bins", min_value=1)
    if not isinstance(value_range, tuple | list) or len(value_range) != 2:
        raise TypeError(f"value_range must be a pair (low, high), got {value_range!r}")
    lo = check_real(value_range[0], "value_range")
    hi = check_real(value_range[1], "value_range")
    if not lo < hi:
        raise ValueError(
            f"value_range must be (low, high) with low < high, got {value_range}"
        )
    hist, edges = np.histogram(x, bins=bins, range=(lo, hi), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    ref = _as_1d(reference, "reference")
    if grid is None:
        other = np.histogram(ref, bins=bins, range=(lo, hi), density=True)[0]
    else:
        g = _as_1d(grid, "grid")
        if np.any(np.diff(g) <= 0):
            raise ValueError("grid must be strictly increasing")
        if g.shape != ref.shape:
            raise ValueError(
                f"grid and reference must have the same length, got {g.shape} and "
                f"{ref.shape}"
            )
        other = np.interp(centres, g, ref)
    return float(np.abs(hist - other).sum() * (edges[1] - edges[0]))


def paired_difference(a, b) -> tuple[float, float]:
    """Mean and standard error of ``a - b`` over paired runs (ddim chapter, "DDPM with
    1,000 steps against DDIM"; also sde, score-matching).

    ``a`` and ``b`` (n,), n >= 2: one value per shared seed or starting point, so the
    difference cancels what the two runs share. The standard error is
    ``sd(a - b, ddof=1) / sqrt(n)``; ``mean / se`` is the paired t statistic
    (``scipy.stats.ttest_rel``).
    """
    x, y = _as_1d(a, "a"), _as_1d(b, "b")
    if x.shape != y.shape:
        raise ValueError(
            f"a and b must pair up (the same length), got {x.size} and {y.size}"
        )
    if x.size < 2:
        raise ValueError(f"a and b need at least 2 pairs for a spread, got {x.size}")
    d = x - y
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))
