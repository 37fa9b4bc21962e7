"""Checks and demo helpers for the ode-construction chapter (scale-family kernels).

* :func:`empirical_log_prob_t` -- ``log p_t(x)`` of the empirical law of a data set
under
  a scale-family kernel, differentiable in ``x`` and ``t`` (for
  ``continuity_residual``);
* :func:`landing_uniformity` -- do ODE samples land uniformly over the training points?
  (chi-square statistic with a Monte-Carlo p-value);
* :func:`kernel_paths_1d`, :func:`draw_kernel_demo` -- the chapter's 1-D demo.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import check_int, check_positive, check_tensor
from .fields import LogTimeField, ScaleKernel, prior_sample
from .ode import ode_solve

__all__ = [
    "empirical_log_prob_t",
    "landing_uniformity",
    "kernel_paths_1d",
    "draw_kernel_demo",
]


def _kernel(kernel):
    if not isinstance(kernel, ScaleKernel):
        raise TypeError(f"kernel must be a ScaleKernel, got {type(kernel).__name__}")
    return kernel


def empirical_log_prob_t(
    x: torch.Tensor, t: torch.Tensor, data: torch.Tensor, kernel: ScaleKernel
) -> torch.Tensor:
    """``log p_t(x) = log mean_i t^-d q((x - x_i) / t)`` + const; x (N, D), t (N,).

    ``data`` (M, D). Differentiable in ``x`` and ``t`` (ode-construction chapter, eq.
    ode-construction-green with a scale-family kernel). The kernel's normalising
    constant does not depend on ``t``, so every derivative of the result is exact.
    """
    _kernel(kernel)
    check_tensor(x, "x", ndim=2)
    check_tensor(t, "t", ndim=1)
    check_tensor(data, "data", ndim=2)
    if x.shape[1] != data.shape[1] or t.shape[0] != x.shape[0]:
        raise ValueError(
            f"x must be (N, {data.shape[1]}) and t (N,), "
            f"got {tuple(x.shape)} and {tuple(t.shape)}"
        )
    z = (x[:, None, :] - data[None].to(x.dtype)) / t[:, None, None]  # (N, M, D)
    log_q = kernel.log_q(z)  # (N, M)
    d = x.shape[1]
    return torch.logsumexp(log_q, dim=1) - d * torch.log(t) - math.log(data.shape[0])


def landing_uniformity(
    samples: torch.Tensor, data: torch.Tensor, n_sim: int = 2000, seed: int = 0
) -> dict:
    """Chi-square test that ``samples`` (N, D) pick the ``data`` (M, D) uniformly.

    Each sample is assigned to its nearest data point; the statistic is ``sum (count -
    N/M)^2 / (N/M)``. With about 3 samples per point the chi-square law is a poor
    approximation, so the p-value is Monte-Carlo: the share of ``n_sim`` uniform
    multinomial draws with a statistic at least as large. Returns ``stat``, ``p``,
    ``counts`` (M,).
    """
    check_tensor(samples, "samples", ndim=2)
    check_tensor(data, "data", ndim=2)
    n_sim = check_int(n_sim, "n_sim", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    nearest = torch.cdist(samples.double(), data.double()).argmin(dim=1)
    m, n = data.shape[0], samples.shape[0]
    counts = torch.bincount(nearest, minlength=m).double()
    expected = n / m

    def stat(c):
        return ((c - expected) ** 2 / expected).sum(-1)

    gen = torch.Generator().manual_seed(seed)
    sims = torch.multinomial(
        torch.full((m,), 1.0 / m, dtype=torch.float64),
        n * n_sim,
        replacement=True,
        generator=gen,
    ).view(n_sim, n)
    sim_counts = torch.zeros(n_sim, m, dtype=torch.float64)
    sim_counts.scatter_add_(1, sims, torch.ones(n_sim, n, dtype=torch.float64))
    s_obs = float(stat(counts))
    p = float((1 + (stat(sim_counts) >= s_obs).sum()) / (1 + n_sim))
    return {"stat": s_obs, "p": p, "counts": counts}


def kernel_paths_1d(
    points: torch.Tensor,
    kernel: ScaleKernel,
    T: float = 5.0,
    n_paths: int = 40,
    steps: int = 120,
    seed: int = 3,
) -> tuple[np.ndarray, torch.Tensor]:
    """Paths of the exact field of 1-D ``points`` (M, 1) from the exact prior at ``T``.

    Heun in ``tau = log t`` from ``log T`` to ``log 1e-3`` with ``steps`` steps; no
    clipping of the prior (heavy-tailed kernels start far outside any window). Returns
    ``t`` (steps + 1,) and ``paths`` (steps + 1, n_paths).
    """
    _kernel(kernel)
    check_tensor(points, "points", ndim=2)
    T = check_positive(T, "T")
    steps = check_int(steps, "steps", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    x = prior_sample(
        points,
        T,
        kernel,
        check_int(n_paths, "n_paths", min_value=1),
        generator=torch.Generator().manual_seed(seed),
    )
    tau = np.linspace(math.log(T), math.log(1e-3), steps + 1)
    xs = [x]
    ode_solve(
        LogTimeField(points.double(), kernel),
        x,
        tau[0],
        tau[-1],
        method="heun",
        n_steps=steps,
        callback=lambda _tau, x_: xs.append(x_),
    )
    return np.exp(tau), torch.stack(xs)[..., 0]


def draw_kernel_demo(kernels: dict, paths: dict, kernel: str, d: int, window=6.0):
    """The ode-construction demo: paths of ``kernel`` (left), radial laws (right).

    ``kernels`` maps names to :class:`ScaleKernel`; ``paths[name] = (t, paths)`` from
    :func:`kernel_paths_1d`. The left panel shows ``|x| <= window`` and says how many
    paths start outside it. Returns the figure.
    """
    from .. import plotting

    if not isinstance(kernels, dict) or not isinstance(paths, dict):
        raise TypeError("kernels and paths must be dicts keyed by kernel name")
    if kernel not in kernels or kernel not in paths:
        raise ValueError(f"kernel must be one of {sorted(kernels)}, got {kernel!r}")
    d = check_int(d, "d", min_value=1)
    window = check_positive(window, "window")
    t, xs = paths[kernel]
    outside = int((xs[0].abs() > window).sum())
    fig, axes = plotting.figure(ncols=2, size=3.4)
    axes[0].plot(t, xs.numpy(), color="tab:blue", lw=0.6)
    axes[0].set(xscale="log", xlabel="t", ylabel="x_t", ylim=(-window, window))
    axes[0].set_title(f"{kernel}\n{outside} of {xs.shape[1]} paths start off-axis")
    r = np.linspace(0.01, 8, 400)
    for name, k in kernels.items():
        z = torch.zeros(len(r), d, dtype=torch.float64)
        z[:, 0] = torch.as_tensor(r)
        dens = np.exp(k.log_q(z).numpy() + (d - 1) * np.log(r))
        axes[1].plot(
            r,
            dens / (dens.sum() * (r[1] - r[0])),
            lw=2.5 if name == kernel else 1,
            label=name,
        )
    axes[1].set(yscale="log", ylim=(1e-6, 2), xlabel="|z|", ylabel="density of |z|")
    axes[1].set_title(f"radial law of |z|, d = {d}")
    axes[1].legend(fontsize=6, loc="upper right")
    return fig
