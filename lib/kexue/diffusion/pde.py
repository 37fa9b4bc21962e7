"""How densities move under an ODE or SDE: particles, the Fokker–Planck equation, and
its residual (test-functions chapter, eqs. test-functions-continuity and
test-functions-fp).

For ``dx = f_t(x) dt + g_t dw`` with a scalar, x-independent ``g_t`` the density solves

    d_t p = -div(p f) + (g^2 / 2) lap p            (Fokker–Planck; g = 0 gives the
    continuity equation)

* :func:`simulate_sde` — Euler–Maruyama particles for a generic drift;
* :func:`solve_fp_1d` — the 1-D equation by the method of lines in conservative (flux)
  form with zero-flux walls, integrated by scipy's BDF: mass is conserved to
  round-off;
* :func:`divergence`, :func:`fokker_planck_residual`, :func:`continuity_residual` —
  autograd checks that a given ``log p(x, t)`` solves the equation.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
import torch

from .._validate import (
    check_callable,
    check_generator,
    check_int,
    check_positive,
    check_tensor,
    randn_for,
)
from ._core import euler_maruyama_step

__all__ = [
    "simulate_sde",
    "solve_fp_1d",
    "divergence",
    "fokker_planck_residual",
    "continuity_residual",
    "log_density_along_ode",
]


def _check_real(v, name: str) -> float:
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        v = float(v)
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    return float(v)


def _g_of(g, t: float, name: str = "g") -> float:
    try:
        val = float(g(t)) if callable(g) else float(g)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a number or a callable {name}(t)") from err
    if not math.isfinite(val) or val < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {val} at t={t:g}")
    return val


def _check_g(g, name: str):
    if callable(g):
        return g
    return check_positive(g, name, allow_zero=True)


def _array(v, name: str) -> np.ndarray:
    if v is None or isinstance(v, str | bytes):
        raise TypeError(f"{name} must be an array of numbers, got {type(v).__name__}")
    try:
        a = np.asarray(v.detach().cpu() if isinstance(v, torch.Tensor) else v, float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers") from err
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


@torch.no_grad()
def simulate_sde(
    drift: Callable,
    g,
    x0: torch.Tensor,
    *,
    dt: float,
    steps: int,
    t0: float = 0.0,
    generator: torch.Generator | None = None,
    save_every: int | None = None,
) -> torch.Tensor:
    """Euler–Maruyama ``x += f(x, t) dt + g(t) sqrt(dt) z`` (sde chapter, eq. sde-em)
    for a generic drift.

    ``drift(x, t)``: x (N, D) and a float t -> (N, D); ``g``: a number or ``g(t)``. x0
    (N, D). Returns the final state (N, D), or with ``save_every=k`` the states at
    steps 0, k, 2k, ... stacked, (S, N, D).
    """
    check_callable(drift, "drift")
    g = _check_g(g, "g")
    check_tensor(x0, "x0", ndim=2, finite=True)
    check_generator(generator)
    dt = check_positive(dt, "dt")
    steps = check_int(steps, "steps", min_value=1)
    t0 = _check_real(t0, "t0")
    if save_every is not None:
        save_every = check_int(save_every, "save_every", min_value=1)
    x, saved = x0, [x0]
    for k in range(steps):
        t = t0 + k * dt
        f = drift(x, t)
        if not isinstance(f, torch.Tensor) or f.shape != x.shape:
            raise ValueError(
                f"drift(x, t) must return a tensor shaped like x {tuple(x.shape)}"
            )
        x = euler_maruyama_step(x, f, _g_of(g, t), dt, randn_for(x, generator))
        if save_every is not None and (k + 1) % save_every == 0:
            saved.append(x)
    return torch.stack(saved) if save_every is not None else x


def solve_fp_1d(
    drift: Callable, g2, p0, grid, t_eval, *, rtol: float = 1e-8, atol: float = 1e-11
) -> np.ndarray:
    """Solve ``d_t p = -d_x(f p) + (g^2/2) d_xx p`` on a uniform ``grid`` (M,) from
    ``p0`` (M,) at times ``t_eval``.

    Finite volumes: fluxes ``J = f p - (g^2/2) d_x p`` at the cell faces (``f`` at the
    face, ``p`` averaged), zero at the two walls, so ``sum(p) dx`` is conserved.
    ``drift(x, t)`` is vectorised over a numpy array of positions; ``g2`` a number
    or ``g2(t)``. ``t_eval`` increasing, starting at or after 0. Returns
    (len(t_eval), M).
    """
    from scipy.integrate import solve_ivp
    from scipy.sparse import diags

    check_callable(drift, "drift")
    g2 = _check_g(g2, "g2")
    _g_of(g2, 0.0, "g2")
    x = _array(grid, "grid")
    p0 = _array(p0, "p0")
    t_eval = np.atleast_1d(_array(t_eval, "t_eval"))
    if x.ndim != 1 or len(x) < 3:
        raise ValueError(
            f"grid must be a 1-D array of at least 3 points, got shape {x.shape}"
        )
    dx = np.diff(x)
    if np.any(dx <= 0) or not np.allclose(dx, dx[0], rtol=1e-9, atol=0):
        raise ValueError("grid must be uniform and increasing")
    if p0.shape != x.shape or np.any(p0 < 0) or not np.all(np.isfinite(p0)):
        raise ValueError(
            f"p0 must be finite, non-negative and shaped like grid {x.shape}"
        )
    if np.any(np.diff(t_eval) < 0) or t_eval[0] < 0:
        raise ValueError("t_eval must be increasing and >= 0")
    check_positive(rtol, "rtol")
    check_positive(atol, "atol")
    h, faces = dx[0], 0.5 * (x[1:] + x[:-1])

    def rhs(t, p):
        f = np.asarray(drift(faces, t), dtype=float)
        flux = (
            f * 0.5 * (p[1:] + p[:-1]) - 0.5 * _g_of(g2, t, "g2") * (p[1:] - p[:-1]) / h
        )  # (M-1,) interior faces
        J = np.concatenate([[0.0], flux, [0.0]])  # zero-flux walls
        return -(J[1:] - J[:-1]) / h

    sparsity = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(len(x), len(x)))
    sol = solve_ivp(
        rhs,
        (0.0, float(t_eval[-1])),
        p0,
        method="BDF",
        t_eval=t_eval,
        rtol=rtol,
        atol=atol,
        jac_sparsity=sparsity,
    )
    if sol.status != 0:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol.y.T


def divergence(f: Callable, x: torch.Tensor, t=None) -> torch.Tensor:
    """``div f`` at x (N, D) by autograd (the exact trace of the Jacobian, D backward
    passes). Returns (N,)."""
    check_callable(f, "f")
    check_tensor(x, "x", ndim=2)
    with torch.enable_grad():
        xx = x.detach().clone().requires_grad_(True)
        out = f(xx) if t is None else f(xx, t)
        if not isinstance(out, torch.Tensor) or out.shape != x.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"f must return a tensor shaped like x {tuple(x.shape)}, got {got}"
            )
        if not out.requires_grad:
            raise ValueError(
                "f must be differentiable in x (its output does not depend on x "
                "through "
                "autograd: detached or constant)"
            )
        return sum(
            torch.autograd.grad(out[:, i].sum(), xx, retain_graph=True)[0][:, i]
            for i in range(x.shape[1])
        )


def fokker_planck_residual(
    log_p: Callable, f: Callable, g2: float, x: torch.Tensor, t: float
) -> torch.Tensor:
    """``(d_t p + div(p f) - (g^2/2) lap p) / p`` at x (N, D), time t (test-functions
    chapter, eq. test-functions-fp).

    In terms of ``l = log p``: ``d_t l + div f + f . grad l - (g^2/2)(lap l + |grad
    l|^2)``. ``log_p(x, t)`` -> (N,) and ``f(x, t)`` -> (N, D) receive ``t`` as an
    (N,) tensor (differentiated for ``d_t``); ``g2`` a number. Zero where p solves
    the equation.
    """
    check_tensor(x, "x", ndim=2)
    if not callable(log_p):
        raise TypeError(
            f"log_p must be callable as log_p(x, t), got {type(log_p).__name__}"
        )
    if not callable(f):
        raise TypeError(f"f must be callable as f(x, t), got {type(f).__name__}")
    g2 = check_positive(g2, "g2", allow_zero=True)
    t = _check_real(t, "t")
    with torch.enable_grad():
        xx = x.detach().clone().requires_grad_(True)
        tt = torch.full(
            (x.shape[0],), float(t), dtype=x.dtype, requires_grad=True
        )  # one time per row
        lp = log_p(xx, tt)
        if lp.shape != (x.shape[0],):
            raise ValueError(
                f"log_p must return shape ({x.shape[0]},), got {tuple(lp.shape)}"
            )
        # allow_unused: a stationary log p does not depend on t, and then d_t log p = 0
        d_t = torch.autograd.grad(lp.sum(), tt, retain_graph=True, allow_unused=True)[0]
        if d_t is None:
            d_t = torch.zeros_like(tt)
        grad = torch.autograd.grad(lp.sum(), xx, create_graph=True)[0]  # (N, D)
        lap = sum(
            torch.autograd.grad(grad[:, i].sum(), xx, retain_graph=True)[0][:, i]
            for i in range(x.shape[1])
        )
        fx = f(xx, tt.detach())
        if not isinstance(fx, torch.Tensor) or fx.shape != x.shape:
            raise ValueError(
                f"f(x, t) must return a tensor shaped like x {tuple(x.shape)}"
            )
        div_f = sum(
            torch.autograd.grad(fx[:, i].sum(), xx, retain_graph=True)[0][:, i]
            for i in range(x.shape[1])
        )
        res = (
            d_t
            + div_f
            + (fx * grad).sum(1)
            - 0.5 * float(g2) * (lap + (grad**2).sum(1))
        )
    return res.detach()


def continuity_residual(
    log_p: Callable, f: Callable, x: torch.Tensor, t: float
) -> torch.Tensor:
    """``(d_t p + div(p f)) / p``: :func:`fokker_planck_residual` with ``g = 0`` (eq.
    test-functions-continuity)."""
    return fokker_planck_residual(log_p, f, 0.0, x, t)


def log_density_along_ode(
    velocity: Callable,
    x: torch.Tensor,
    logp0: torch.Tensor,
    t0: float,
    t1: float,
    *,
    steps: int = 200,
    method: str = "rk4",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Carry ``(x, log p)`` along ``dx/dt = v(t, x)`` from t0 to t1 with ``d log
    p(x_t)/dt = -div v`` (ode-direct chapter, the limit of eq. ode-direct-jacobian;
    the instantaneous change of variables of FFJORD).

    ``velocity(t, x)``: a float t and x (N, D) -> (N, D) (e.g.
    :func:`kexue.diffusion.pf_ode_velocity`); x (N, D); logp0 (N,). Fixed steps of
    torchdiffeq's ``euler``, ``heun2`` or ``rk4`` (``method`` ``"euler"``,
    ``"heun"``, ``"rk4"``); exact divergence (D backward passes). Returns ``(x_t1,
    log p_t1(x_t1))``.
    """
    check_callable(velocity, "velocity")
    check_tensor(x, "x", ndim=2, finite=True)
    check_tensor(logp0, "logp0", ndim=1, finite=True)
    t0, t1 = _check_real(t0, "t0"), _check_real(t1, "t1")
    if logp0.shape[0] != x.shape[0]:
        raise ValueError(
            f"logp0 must have shape ({x.shape[0]},), got {tuple(logp0.shape)}"
        )
    steps = check_int(steps, "steps", min_value=1)
    if method not in ("euler", "heun", "rk4"):
        raise ValueError(f"method must be 'euler', 'heun' or 'rk4', got {method!r}")

    def field(t, y, _lp):
        v = velocity(t, y)
        if not isinstance(v, torch.Tensor) or v.shape != y.shape:
            raise ValueError(
                f"velocity(t, x) must return a tensor shaped like x {tuple(y.shape)}"
            )
        return v.detach(), -divergence(lambda z: velocity(t, z), y)

    from torchdiffeq import odeint

    # torchdiffeq's fixed-grid solvers on the augmented state (x, log p): "heun" is its
    # heun2, "rk4" its rk4 (the 3/8-rule variant of classical RK4; both fourth order)
    grid = torch.linspace(t0, t1, steps + 1, dtype=torch.float64, device=x.device)
    peer = {"euler": "euler", "heun": "heun2", "rk4": "rk4"}[method]
    ys, lps = odeint(
        lambda t, state: field(float(t), state[0], state[1]),
        (x.detach(), logp0.detach().to(x.dtype)),
        grid,
        method=peer,
    )
    return ys[-1], lps[-1]
