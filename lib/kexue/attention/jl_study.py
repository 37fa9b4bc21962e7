"""Head-size sweep of the retrieval experiment of *attention/jl-entropy-attention*.

Post 9588 derives the factor ``log_512 n`` in the scale ``log_512 n / sqrt(d)``. The
chapter measures the factor ``gamma*`` that keeps the mean weight on a retrieved key at
its value at ``n0 = 512`` keys; this module repeats that measurement over head sizes
``d``, to compare ``gamma*(n)`` with the laws ``log_512 n``, ``sqrt(log_512 n)`` and the
closed form (jl-annealed), ``gamma (sqrt(d) - gamma/2) = ln(n/512) + sqrt(d) - 1/2``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from scipy import stats

from .. import plotting
from .._validate import check_int
from .scale import jl_min_dim, jl_scale_factor
from .scale_laws import (
    annealed_factor,
    predicted_max_abs_cos,
    sphere_points,
    true_key_logits,
    true_key_weight,
    weight_keeping_factor,
)

__all__ = [
    "factor_by_dim",
    "annealed_increment",
    "neglected_noise_shift",
    "cosine_figure",
]


def _int_list(values, name: str, min_value: int) -> list[int]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence of ints, got {type(values)!r}")
    if len(values) == 0:
        raise ValueError(f"{name} must be non-empty")
    return [
        check_int(v, f"{name}[{i}]", min_value=min_value) for i, v in enumerate(values)
    ]


def factor_by_dim(
    ds: Sequence[int],
    n: int,
    *,
    n0: int = 512,
    seeds: Sequence[int] = (0, 1),
    n_queries: int = 64,
    iters: int = 16,
    rho: float = 1.0,
) -> np.ndarray:
    """Weight-keeping factor ``gamma*(n)`` per head size and seed.

    Returns shape ``(len(ds), len(seeds))``. For each ``d`` and seed: draw the logits
    of ``n`` nested keys with :func:`~kexue.attention.scale_laws.true_key_logits`
    (noise 0.5, alignment ``rho``: the true key leads by ``rho sqrt(d)`` sds), take
    the mean weight on the true key at factor 1 over the first
    ``n0`` keys, and solve for the factor that gives that weight with all ``n`` keys
    (bisection, ``iters`` halvings).
    """
    ds = _int_list(ds, "ds", 1)
    n = check_int(n, "n", min_value=2)
    n0 = check_int(n0, "n0", min_value=2)
    if n0 > n:
        raise ValueError(f"n0 must be <= n={n}, got {n0}")
    seeds = _int_list(seeds, "seeds", 0)
    n_queries = check_int(n_queries, "n_queries", min_value=1)
    iters = check_int(iters, "iters", min_value=1)
    out = np.empty((len(ds), len(seeds)))
    for i, d in enumerate(ds):
        for j, s in enumerate(seeds):
            lg = true_key_logits(n, d=d, n_queries=n_queries, seed=s, rho=rho)
            w0 = true_key_weight(lg[:, :n0], 1.0, d)
            out[i, j] = weight_keeping_factor(lg, w0, d, iters=iters)
    return out


def annealed_increment(n: int, d: int, *, n0: int = 512) -> dict[str, float]:
    """Increments ``gamma(n) - 1`` of the laws, chapter (jl-annealed) linearised.

    Returns ``{"annealed": exact root of (jl-annealed) minus 1, "linear":
    ln(n/n0)/(sqrt(d) - 1), "log": ln(n/n0)/ln(n0), "sqrt": sqrt(log_n0 n) - 1}``.
    ``linear`` is (jl-annealed) to first order in ``gamma - 1``: the log law's
    denominator ``ln 512 = 6.24`` equals ``sqrt(d) - 1`` at ``d = 52``, the sqrt law's
    (about ``2 ln 512``) at ``d = 182``.
    """
    n = check_int(n, "n", min_value=2)
    d = check_int(d, "d", min_value=2)
    n0 = check_int(n0, "n0", min_value=2)
    r = math.log(n / n0)
    return {
        "annealed": annealed_factor(n, d, n0=n0) - 1.0,
        "linear": r / (math.sqrt(d) - 1.0),
        "log": r / math.log(n0),
        "sqrt": math.sqrt(math.log(n) / math.log(n0)) - 1.0,
    }


def neglected_noise_shift(gamma, d: int, *, noise: float = 0.5) -> np.ndarray:
    """Size of the shift of ``gamma`` that (jl-annealed) neglects, elementwise.

    The true key's scaled logit has spread ``noise * gamma``, which adds about
    ``(noise gamma)^2 / 2`` to ``log w``; ``noise^2 / 2`` of it is already in the
    weight at ``gamma = 1`` (``n = 512``). The rest, divided by the slope
    ``sqrt(d) - gamma`` of ``log w`` in ``gamma``, is the neglected shift of
    ``gamma``: the chapter's tolerance (shape of ``gamma``).
    """
    try:
        g = np.asarray(gamma, dtype=float)
    except (TypeError, ValueError) as e:
        raise TypeError(f"gamma must be an array of reals, got {type(gamma)!r}") from e
    if g.size == 0 or not np.all(np.isfinite(g)) or np.any(g <= 0):
        raise ValueError("gamma must be a non-empty array of finite reals > 0")
    d = check_int(d, "d", min_value=2)
    if not isinstance(noise, (int, float)) or isinstance(noise, bool):
        raise TypeError(f"noise must be a real number, got {type(noise)!r}")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite real >= 0, got {noise}")
    if np.any(g >= math.sqrt(d)):
        raise ValueError(f"gamma must be < sqrt(d)={math.sqrt(d):.3g}")
    return np.abs((noise * g) ** 2 - noise**2) / 2 / (math.sqrt(d) - g)


def cosine_figure(n: int, d: int, *, seed: int = 0):
    """Histogram of the pairwise cosines of ``n`` random unit vectors in ``d`` dims.

    The chapter's widget ("Try it"): the normal approximation ``N(0, 1/d)`` of one
    cosine (``scipy.stats.norm``), the largest ``|cos|`` (solid red), its Poisson
    prediction (dotted red) and the JL criterion ``+-1/2`` (dashed grey). The title
    gives ``8 ln n``, the bound (jl-bound) at ``eps = 1/2`` and ``log_512 n``. Returns
    the figure.
    """
    n = check_int(n, "n", min_value=2)
    d = check_int(d, "d", min_value=2)
    g = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    x = sphere_points(n, d, radius=1.0, generator=g)
    c = (x @ x.T)[torch.triu_indices(n, n, 1).unbind()].numpy()
    m, p, t = (
        float(np.abs(c).max()),
        predicted_max_abs_cos(n, d),
        np.linspace(-1, 1, 400),
    )
    fig, ax = plotting.figure(size=3.8)
    ax.hist(c, bins=60, range=(-1, 1), color="tab:blue", alpha=0.7)
    normal = len(c) * (2 / 60) * stats.norm.pdf(t, scale=1 / math.sqrt(d))
    ax.plot(t, normal, "k-", lw=1, label="$N(0, 1/d)$")
    for x0, style, label in ((m, "-", "max |cos|"), (p, ":", "Poisson prediction")):
        ax.vlines([-x0, x0], 0.5, len(c), color="tab:red", ls=style, label=label)
    ax.vlines([-0.5, 0.5], 0.5, len(c), color="0.4", ls="--", label=r"$\pm1/2$")
    ax.set(xlabel="cosine of a pair", ylabel="pairs", yscale="log", ylim=(0.5, len(c)))
    ax.set_title(
        f"max|cos| {m:.2f}; 8 ln n = {8 * math.log(n):.0f}, sklearn JL(1/2) = "
        f"{jl_min_dim(n, 0.5)}, log_512 n = {jl_scale_factor(n):.2f}",
        fontsize=9,
    )
    ax.legend(fontsize=7, loc="lower center")
    return fig
