"""Helpers for the test-functions chapter: 1-D densities on a grid against particles.

* :func:`sample_grid_density`, :func:`histogram_noise_floor` -- the L1 distance that
  samples drawn from the *exact* law already have to it (the floor for particle checks);
* :func:`density_l1` -- L1 distance of two densities on one grid;
* :func:`weak_form_gap`, :func:`weak_form_coefficient` -- the integrated weak form
  ``E phi(x_T) - E phi(x_0) = int E[f phi' + c g^2 phi''] dt`` on simulated paths,
  with the paired standard error, and the coefficient ``c`` it implies;
* :func:`pf_ode_particles_1d` -- particles of the probability-flow ODE
  ``dx/dt = f - (g^2 / 2) d/dx log p_t``, with ``p_t`` from a Fokker-Planck solution;
* :func:`fp_demo_frames`, :func:`draw_fp_demo` -- the chapter's demo.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from .._validate import (
    as_tensor,
    check_callable,
    check_int,
    check_positive,
    check_real,
)

__all__ = [
    "sample_grid_density",
    "histogram_noise_floor",
    "density_l1",
    "pf_ode_particles_1d",
    "weak_form_gap",
    "weak_form_coefficient",
    "fp_demo_frames",
    "draw_fp_demo",
]


def _grid_and_density(density, grid, name="density") -> tuple[np.ndarray, np.ndarray]:
    try:
        grid = np.asarray(grid, dtype=float)
        p = np.asarray(density, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} and grid must be 1-D arrays of numbers") from None
    if grid.ndim != 1 or p.shape != grid.shape or len(grid) < 2:
        raise ValueError(
            f"{name} and grid must be 1-D of one length >= 2, "
            f"got {p.shape}, {grid.shape}"
        )
    if not np.all(np.isfinite(grid)) or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be finite and increasing")
    if not np.all(np.isfinite(p)) or np.any(p < -1e-12):
        raise ValueError(f"{name} must be finite and >= 0")
    return grid, np.clip(p, 0, None)


def sample_grid_density(density, grid, n: int, seed: int = 0) -> np.ndarray:
    """``n`` draws from a density tabulated on ``grid`` (K,), by the inverse of its
    piecewise-linear CDF (trapezoid rule). Returns (n,)."""
    grid, p = _grid_and_density(density, grid)
    n = check_int(n, "n", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    cdf = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(grid))])
    u = np.random.default_rng(seed).uniform(0, cdf[-1], n)
    return np.interp(u, cdf, grid)


def histogram_noise_floor(
    density,
    grid,
    n: int,
    draws: int = 1000,
    seed: int = 0,
    *,
    bins: int = 60,
    value_range: tuple[float, float] = (-3.0, 3.0),
) -> np.ndarray:
    """L1 distances (draws,) of ``metrics.histogram_l1`` between ``n`` exact draws and
    the density: what a perfect simulation of ``n`` particles would score
    (test-functions chapter, the noise floor of the particle checks).

    The histogram of ``n`` draws from the tabulated law (piecewise-linear CDF, the law
    :func:`sample_grid_density` draws from) has multinomial bin counts, so each draw
    is one multinomial vector over the ``bins`` bins of ``value_range`` (and one
    category for the mass outside it): the same distribution as histogramming ``n``
    samples, at a cost independent of ``n``. Normalised like ``np.histogram(...,
    density=True)`` by the draws inside ``value_range``; a draw with none scores as
    an empty histogram.
    """
    grid, p = _grid_and_density(density, grid)
    n = check_int(n, "n", min_value=1)
    draws = check_int(draws, "draws", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    bins = check_int(bins, "bins", min_value=1)
    if not isinstance(value_range, tuple | list) or len(value_range) != 2:
        raise TypeError(f"value_range must be a pair (low, high), got {value_range!r}")
    lo = check_real(value_range[0], "value_range")
    hi = check_real(value_range[1], "value_range")
    if not lo < hi:
        raise ValueError(f"value_range must have low < high, got {value_range}")
    cdf = np.concatenate([[0.0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(grid))])
    if not cdf[-1] > 0:
        raise ValueError("density must have positive mass on grid")
    edges = np.linspace(lo, hi, bins + 1)
    F = np.interp(edges, grid, cdf) / cdf[-1]
    probs = np.clip(np.append(np.diff(F), F[0] + 1.0 - F[-1]), 0.0, None)
    counts = np.random.default_rng(seed).multinomial(n, probs / probs.sum(), draws)
    inside = counts[:, :bins].sum(1, keepdims=True)
    hist = counts[:, :bins] / (np.maximum(inside, 1) * np.diff(edges))
    ref = np.interp((edges[1:] + edges[:-1]) / 2, grid, p)
    return np.abs(hist - ref).sum(1) * (edges[1] - edges[0])


def density_l1(p, q, grid) -> float:
    """``int |p - q| dx`` (trapezoid rule) for two densities on one ``grid`` (K,)."""
    grid, p = _grid_and_density(p, grid, "p")
    _, q = _grid_and_density(q, grid, "q")
    return float(np.trapezoid(np.abs(p - q), grid))


def pf_ode_particles_1d(drift: Callable, g2: float, x0, grid, times, P) -> np.ndarray:
    """Particles of the probability-flow ODE ``dx/dt = f(x, t) - (g2 / 2) d/dx log
    p_t(x)`` (test-functions chapter, eq. test-functions-pf).

    ``P`` (len(times), K) is ``p_t`` on ``grid`` at ``times`` (e.g. from
    ``solve_fp_1d``); the score is the finite-difference ``d/dx log P``, linearly
    interpolated in ``x``, and Heun's method steps from one saved time to the next.
    ``x0`` (N,). Returns (len(times), N). With ``P`` the Fokker-Planck solution, the
    particles' law is ``p_t``: the Fokker-Planck equation is the continuity equation of
    this velocity.
    """
    drift = check_callable(drift, "drift")
    g2 = check_positive(g2, "g2", allow_zero=True)
    grid, _ = _grid_and_density(np.ones(np.shape(grid)), grid, "grid")
    try:
        P = np.asarray(P, dtype=float)
        times = np.asarray(times, dtype=float)
        x0 = np.asarray(x0, dtype=float)
    except (TypeError, ValueError):
        raise TypeError("P, times and x0 must be arrays of numbers") from None
    if times.ndim != 1 or len(times) < 2 or np.any(np.diff(times) <= 0):
        raise ValueError("times must be an increasing 1-D array of length >= 2")
    if x0.ndim != 1 or not np.all(np.isfinite(x0)):
        raise ValueError(f"x0 must be a finite 1-D array, got shape {x0.shape}")
    if P.shape != (len(times), len(grid)) or np.any(P < 0):
        raise ValueError(f"P must be (len(times), len(grid)) and >= 0, got {P.shape}")
    score = np.gradient(np.log(np.clip(P, 1e-300, None)), grid, axis=1)

    def velocity(x, k):
        return np.asarray(drift(x, times[k])) - g2 / 2 * np.interp(x, grid, score[k])

    x = x0.copy()
    out = [x.copy()]
    for k in range(len(times) - 1):
        h = times[k + 1] - times[k]
        v0 = velocity(x, k)
        x = x + h / 2 * (v0 + velocity(x + h * v0, k + 1))
        out.append(x.copy())
    return np.stack(out)


def _weak_form_parts(paths, dt_saved, drift, g2, phi):
    """Per particle (N,): ``phi(x_T) - phi(x_0)``, ``int f phi' dt`` and
    ``int g2 phi'' dt`` (trapezoid rule over the saved states)."""
    if isinstance(paths, torch.Tensor) and not paths.is_floating_point():
        raise TypeError(f"paths must be a floating tensor, got {paths.dtype}")
    paths = as_tensor(paths, "paths", finite=True)
    if paths.ndim != 2 or paths.shape[0] < 2 or paths.shape[1] < 2:
        raise ValueError(
            f"paths must be (S, N) with S >= 2 saved times and N >= 2 particles, "
            f"got {tuple(paths.shape)}"
        )
    dt_saved = check_positive(dt_saved, "dt_saved")
    drift = check_callable(drift, "drift")
    g2 = check_positive(g2, "g2", allow_zero=True)
    if not isinstance(phi, tuple | list) or len(phi) != 3:
        raise TypeError("phi must be a triple (phi, dphi, d2phi) of callables")
    phi0, d1, d2 = (check_callable(fn, "phi") for fn in phi)

    def values(fn, name):
        out = torch.broadcast_to(
            torch.as_tensor(fn(paths), dtype=paths.dtype), paths.shape
        )
        if not bool(torch.isfinite(out).all()):
            raise ValueError(f"{name} must be finite on the paths")
        return out

    f = torch.stack(
        [torch.as_tensor(drift(x, k * dt_saved)) for k, x in enumerate(paths)]
    )
    if f.shape != paths.shape:
        raise ValueError(
            f"drift(x, t) must return a tensor shaped like x, got {tuple(f.shape)}"
        )

    def trapezoid(v):
        return dt_saved * (v[1:] + v[:-1]).sum(0) / 2

    delta = phi0(paths[-1]) - phi0(paths[0])
    return delta, trapezoid(f * values(d1, "phi")), trapezoid(g2 * values(d2, "phi"))


def weak_form_gap(
    paths, dt_saved: float, drift: Callable, g2: float, phi, coef: float = 0.5
) -> tuple[float, float]:
    """Mean and standard error of the per-particle gap of the integrated weak form
    (test-functions chapter, eq. test-functions-weak):
    ``phi(x_T) - phi(x_0) - int_0^T (f phi' + coef * g2 * phi'')(x_t) dt``.

    ``paths`` (S, N): N particles at S saved times ``0, dt_saved, ...`` (e.g. from
    ``simulate_sde`` with ``save_every``); ``drift(x, t)`` on tensors; ``g2`` the
    constant ``g^2``; ``phi`` a triple ``(phi, dphi, d2phi)`` of callables on tensors.
    The time integral is the trapezoid rule over the saved states. Both sides of the
    weak form come from the same particles, so the standard error is that of the
    paired difference. With the right ``coef`` (1/2) the mean is 0 up to the
    scheme's and the quadrature's O(dt) error.
    """
    coef = check_real(coef, "coef")
    delta, drift_int, diff_int = _weak_form_parts(paths, dt_saved, drift, g2, phi)
    gap = delta - drift_int - coef * diff_int
    return float(gap.mean()), float(gap.std()) / len(gap) ** 0.5


def weak_form_coefficient(
    paths, dt_saved: float, drift: Callable, g2: float, phi
) -> tuple[float, float]:
    """The coefficient ``c`` of ``g2 * phi''`` that makes the mean gap of
    :func:`weak_form_gap` zero, and its standard error (test-functions chapter, eq.
    test-functions-weak predicts ``c = 1/2``).

    With per-particle ``a = phi(x_T) - phi(x_0) - int f phi' dt`` and ``b = int g2
    phi'' dt``: ``c = mean(a) / mean(b)``, with the delta-method standard error
    ``sd(a - c b) / (sqrt(N) |mean(b)|)``. Same arguments as :func:`weak_form_gap`.
    """
    delta, drift_int, diff_int = _weak_form_parts(paths, dt_saved, drift, g2, phi)
    a, b = delta - drift_int, diff_int
    b_mean = float(b.mean())
    if b_mean == 0.0:
        raise ValueError("g2 * phi'' averages to 0 on the paths: c is not identified")
    c = float(a.mean()) / b_mean
    return c, float((a - c * b).std()) / (len(a) ** 0.5 * abs(b_mean))


def fp_demo_frames(drifts: dict, gs, ts, x0, p0, grid, dt=2e-3, seed=4):
    """Precompute the demo: for each drift and ``g``, particles with and without
    noise and the Fokker-Planck solution at every time in ``ts``. Returns a dict keyed
    by ``(drift name, g)``: ``"sde"``, ``"ode"`` (len(ts), N), ``"fp"`` (len(ts), K)."""
    from .pde import simulate_sde, solve_fp_1d

    dt = check_positive(dt, "dt")
    seed = check_int(seed, "seed", min_value=0)
    if not isinstance(drifts, dict) or not drifts:
        raise TypeError("drifts must be a non-empty dict of name -> drift(x, t)")
    gs = [check_positive(g, "gs", allow_zero=True) for g in gs]
    ts = [check_positive(t, "ts") for t in ts]
    steps = [round(t / dt) for t in ts]
    kw = dict(dt=dt, steps=max(steps), save_every=1)
    out = {}
    for name, f in drifts.items():
        ode = simulate_sde(f, 0.0, x0, **kw)
        for g in gs:
            gen = torch.Generator().manual_seed(seed)
            sde = simulate_sde(f, g, x0, generator=gen, **kw)
            out[name, g] = {
                "sde": sde[steps, :, 0].numpy(),
                "ode": ode[steps, :, 0].numpy(),
                "fp": np.asarray(solve_fp_1d(f, g**2, p0, grid, list(ts))),
            }
    return out


def draw_fp_demo(frames: dict, ts, grid, drift_name: str, g: float, t: float):
    """One demo frame: particle histogram (grey), Fokker-Planck (blue), and where
    the noise-free particles are (red band: their law is a narrow spike)."""
    from .. import plotting

    if t not in list(ts):
        raise ValueError(f"t must be one of {list(ts)}, got {t!r}")
    if (drift_name, g) not in frames:
        raise ValueError(
            f"drift_name and g must be a precomputed pair, got {drift_name!r}, {g!r}"
        )
    k = list(ts).index(t)
    fr = frames[drift_name, g]
    fig, ax = plotting.figure(size=3.8)
    hist_kw = dict(bins=60, range=(-3, 3), density=True, color="0.75")
    ax.hist(fr["sde"][k], label="particles (SDE)", **hist_kw)
    ax.plot(grid, fr["fp"][k], "tab:blue", label="Fokker-Planck")
    lo, hi = np.quantile(fr["ode"][k], [0.01, 0.99])
    ax.axvspan(lo, hi, color="tab:red", alpha=0.35, label="98 % of noise-free")
    top = max(float(fr["fp"][k].max()), 0.5)
    ax.set(xlim=(-3, 3), ylim=(0, 1.25 * top), xlabel="x", ylabel="density")
    ax.set_title(f"{drift_name}, g = {g}, t = {t}")
    ax.legend(fontsize=7, loc="upper right")
    return fig
