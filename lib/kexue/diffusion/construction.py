"""Checks and demo helpers for the ode-construction chapter (scale-family kernels).

* :func:`empirical_log_prob_t` -- ``log p_t(x)`` of the empirical law of a data set
  under a scale-family kernel, differentiable in ``x`` and ``t`` (for
  ``continuity_residual``);
* :func:`radial_cdf`, :func:`radial_pdf` -- the exact law of ``|z|`` for each kernel;
* :func:`prior_tv` -- how far the exact ``p_T`` is from the centred prior (TV);
* :func:`landing_uniformity` -- do ODE samples land uniformly over the training points?
  (chi-square statistic with a Monte-Carlo p-value);
* :func:`landing_count` -- how many ODE samples end off the data, against the kernel's
  tail, with a binomial term and a measured solver term;
* :func:`lambda_flow_1d` -- the post's ``lambda_t`` term in 1-D: carry points along the
  field with it (it is a point sink/source, not a free choice);
* :func:`kernel_paths_1d`, :func:`draw_kernel_demo` -- the chapter's 1-D demo.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy import special, stats
from torchdiffeq import odeint

from .._validate import check_int, check_positive, check_prob, check_tensor
from .fields import (
    GaussianKernel,
    LogTimeField,
    PoissonKernel,
    RadialCDFKernel,
    ScaleKernel,
    prior_sample,
    scale_ode_sample,
)
from .ode import ode_solve

__all__ = [
    "empirical_log_prob_t",
    "landing_uniformity",
    "landing_count",
    "lambda_flow_1d",
    "radial_cdf",
    "radial_pdf",
    "prior_tv",
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


def _radius(r) -> np.ndarray:
    if isinstance(r, (str, bytes, dict)) or r is None:
        raise TypeError(f"r must be a number or array of radii, got {type(r).__name__}")
    try:
        r = np.asarray(r, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"r must be a number or array of radii ({err})") from None
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise ValueError("r must hold finite radii >= 0")
    return r


def _radial_kind(kernel) -> str:
    _kernel(kernel)
    if isinstance(kernel, GaussianKernel):
        return "gauss"
    if isinstance(kernel, PoissonKernel):
        return "poisson"
    if isinstance(kernel, RadialCDFKernel):
        return kernel.kind
    raise ValueError(f"kernel has no known radial law: {kernel!r}")


def radial_cdf(kernel: ScaleKernel, r, d: int) -> np.ndarray:
    """``psi(r) = P(|z| <= r)`` for the kernel's ``z`` in dimension ``d``; r (...,).

    ode-construction chapter, eq. ode-construction-reverse with ``t = 1``. Gaussian:
    the chi law, ``P(d/2, r^2/2)``; Poisson (multivariate Cauchy): ``|z|^2/d ~ F(d,
    1)``, i.e. ``I_{r^2/(1+r^2)}(d/2, 1/2)``; the reverse-construction kernels are
    built from their CDF (``1 - e^{-r}``, ``tanh r``) in every ``d``.
    """
    kind, r = _radial_kind(kernel), _radius(r)
    d = check_int(d, "d", min_value=1)
    if kind == "gauss":
        return special.gammainc(d / 2, r**2 / 2)
    if kind == "poisson":
        return special.betainc(d / 2, 0.5, r**2 / (1 + r**2))
    return -np.expm1(-r) if kind == "exp" else np.tanh(r)


def radial_pdf(kernel: ScaleKernel, r, d: int) -> np.ndarray:
    """The density of ``|z|``, ``psi'(r)``, in dimension ``d``; r (...,).

    The derivative of :func:`radial_cdf` in closed form (chi, scaled F, ``e^{-r}``,
    ``sech^2 r``); it integrates to 1 over ``[0, inf)``.
    """
    kind, r = _radial_kind(kernel), _radius(r)
    d = check_int(d, "d", min_value=1)
    if kind == "gauss":
        return stats.chi(d).pdf(r)
    if kind == "poisson":
        return stats.f(d, 1).pdf(r**2 / d) * 2 * r / d
    return np.exp(-r) if kind == "exp" else 1 / np.cosh(np.minimum(r, 300)) ** 2


def prior_tv(
    data: torch.Tensor,
    T: float,
    kernel: ScaleKernel,
    n: int = 4000,
    seed: int = 0,
) -> tuple[float, float]:
    """Total variation between the exact ``p_T`` and the centred prior ``q_T``.

    ``p_T = mean_i T^-d q((x - x_i)/T)`` for ``data`` (M, D) and ``q_T(x) = T^-d
    q(x/T)`` (what the post samples for large T, dropping ``x0``). Monte Carlo with
    ``n`` exact draws of ``p_T``: ``TV = E_p[(1 - q_T/p_T)_+]`` (ode-construction
    chapter, "Dropping x0"). The kernel's normalising constant cancels in the ratio.
    Returns ``(tv, se)``, ``se`` the standard error of the mean over the draws.
    """
    _kernel(kernel)
    check_tensor(data, "data", ndim=2)
    T = check_positive(T, "T")
    n = check_int(n, "n", min_value=2)
    gen = torch.Generator().manual_seed(check_int(seed, "seed", min_value=0))
    data = data.double()
    x = prior_sample(data, T, kernel, n, generator=gen)
    t = torch.full((n,), T, dtype=torch.float64)
    log_p = empirical_log_prob_t(x, t, data, kernel)
    log_q = kernel.log_q(x / T) - data.shape[1] * math.log(T)
    gap = (1 - torch.exp(log_q - log_p)).clamp(min=0)
    return float(gap.mean()), float(gap.std() / math.sqrt(n))


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


def landing_count(
    data: torch.Tensor,
    kernel: ScaleKernel,
    x_T: torch.Tensor,
    out: torch.Tensor,
    T: float,
    radius: float,
    *,
    t_min: float,
    n_check: int = 32,
    tol: float = 1e-7,
    alpha: float = 1e-4,
) -> dict:
    """Error model for "the exact field lands on the data" (ode-construction chapter,
    "Experiment: exact fields reach the data").

    ``out`` (N, D) are the solver's samples at ``t_min``, started from ``x_T`` (N, D)
    at ``T`` (:func:`~kexue.diffusion.fields.scale_ode_sample`). ``off`` counts those
    farther than ``radius`` from every point of ``data`` (M, D).

    * Model term: an exact sample is off only if it is off from its own source, so
      ``off`` is at most Binomial(N, 1 - psi(radius / t_min)); ``expected`` is its
      mean and ``binom`` the half-width of its exact two-sided ``alpha`` acceptance
      region (``scipy.stats.binom`` quantiles; no normal approximation, so it stays
      honest when the expected count is below one).
    * Solver term: ``flips``, how many of the ``n_check`` samples nearest the radius
      (on either side) change side when re-solved with ``rtol = atol = tol``: a lower
      bound on the solver's flips (a sample farther from the radius can cross it too),
      so the error model is complete only where the model term dominates or the
      samples near the radius are all the ones that cross it.

    Returns ``off``, ``expected``, ``binom``, ``flips`` and ``tol = binom + flips``
    (the allowed ``|off - expected|``), and ``off_refined``, the count with the
    re-solved samples' sides.
    """
    _kernel(kernel)
    check_tensor(data, "data", ndim=2, finite=True)
    check_tensor(x_T, "x_T", ndim=2, finite=True)
    check_tensor(out, "out", ndim=2, finite=True)
    if x_T.shape != out.shape or out.shape[1] != data.shape[1]:
        raise ValueError(
            f"x_T and out must both be (N, {data.shape[1]}), "
            f"got {tuple(x_T.shape)} and {tuple(out.shape)}"
        )
    radius = check_positive(radius, "radius")
    t_min = check_positive(t_min, "t_min")
    n_check = check_int(n_check, "n_check", min_value=1)
    tol = check_positive(tol, "tol")
    alpha = check_prob(alpha, "alpha", open_ends=True)
    n = out.shape[0]
    near = torch.cdist(out.double(), data.double()).min(dim=1).values
    p_off = float(1 - radial_cdf(kernel, radius / t_min, data.shape[1]))
    region = stats.binom(n, p_off).ppf([alpha / 2, 1 - alpha / 2])
    expected = n * p_off
    binom = float(max(region[1] - expected, expected - region[0]))
    idx = (near - radius).abs().argsort()[: min(n_check, n)]
    again, _ = scale_ode_sample(
        data, kernel, x_T[idx], T, t_min=t_min, rtol=tol, atol=tol
    )
    near_again = torch.cdist(again, data.double()).min(dim=1).values
    side, side_again = near[idx] >= radius, near_again >= radius
    off = int((near >= radius).sum())
    flips = int((side != side_again).sum())
    refined = off - int(side.sum()) + int(side_again.sum())
    return {
        "off": off,
        "expected": expected,
        "binom": binom,
        "flips": flips,
        "tol": binom + flips,
        "off_refined": refined,
    }


def lambda_flow_1d(
    x: torch.Tensor,
    lam_dot: float,
    t0: float = 1.0,
    t1: float = 2.0,
    steps: int = 400,
) -> torch.Tensor:
    """Carry 1-D points ``x`` (N,) from ``t0`` to ``t1`` along the field of one Gaussian
    source at 0 with the post's extra ``lambda_t`` (ode-construction chapter, eq.
    ode-construction-reverse with ``d = 1`` and ``psi_t(r) = erf(r / (sqrt2 t))``):

        f_t(x) = -(d_t psi_t(|x|) + lam_dot) sign(x) / psi_t'(|x|)
               = x / t - lam_dot sign(x) / psi_t'(|x|),

    where ``psi_t'(r) = 2 N(r; 0, t^2)`` is the density of ``|x|`` and ``lam_dot`` a
    constant ``d lambda_t / dt``. Fixed-step RK4 (torchdiffeq's ``rk4``, the 3/8
    rule) with ``steps`` steps. With ``lam_dot = 0`` the law ``N(0, t0^2)`` is
    carried to ``N(0, t1^2)``. With ``lam_dot > 0`` the
    stream function ``psi_t(|x|) + lambda_t`` is conserved along paths, so a share
    ``lam_dot (t1 - t0)`` of the mass runs into ``x = 0`` and stays there (a sink).
    Returns the points at ``t1`` (N,).
    """
    check_tensor(x, "x", ndim=1, finite=True)
    lam_dot = check_positive(lam_dot, "lam_dot", allow_zero=True)  # >= 0: a sink
    t0, t1 = check_positive(t0, "t0"), check_positive(t1, "t1")
    if not t0 < t1:
        raise ValueError(f"need t0 < t1, got t0={t0}, t1={t1}")
    steps = check_int(steps, "steps", min_value=1)
    c = math.sqrt(2 * math.pi) / 2

    def f(t, x_):
        inv_dpsi = c * t * torch.exp(x_**2 / (2 * t**2))  # 1 / psi_t'(|x|)
        return x_ / t - lam_dot * torch.sign(x_) * inv_dpsi

    ts = torch.tensor([t0, t1], dtype=torch.float64)
    opts = {"step_size": (t1 - t0) / steps}
    return odeint(f, x.double(), ts, method="rk4", options=opts)[-1]


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
    axes[0].set_title(
        f"{kernel}, d = 1\n{outside} of {xs.shape[1]} paths start outside the window",
        fontsize=8,
    )
    r = np.linspace(0.0, 8, 401)[1:]
    for name, k in kernels.items():
        axes[1].plot(
            r, radial_pdf(k, r, d), lw=2.5 if name == kernel else 1, label=name
        )
    axes[1].set(yscale="log", ylim=(1e-6, 2), xlabel="|z|")
    axes[1].set_ylabel("density of |z| (exact)", labelpad=1)
    axes[1].set_title(f"radial law of |z|, d = {d}", fontsize=8)
    axes[1].legend(fontsize=6, loc="upper right")
    fig.tight_layout()
    return fig
