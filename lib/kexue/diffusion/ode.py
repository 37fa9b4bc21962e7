"""The continuous limit of deterministic DDIM: an ODE in a virtual time s in [0, 1]
(ddim chapter, eq. ddim-ode).

For the post's schedule ``signal(s) = exp(-5 s^2)``, eq. (ddim-ode) becomes eq.
(ddim-ode-s). It is the continuous version of the betas ``0.02 i/T`` of
:meth:`DiscreteSchedule.su_linear` only for ``T = 1000``; the betas ``20 i/T^2`` give
``signal ≈ exp(-5 (i/T)^2)`` for every ``T``, up to an error of order ``1/T`` (ddim
chapter, after eq. ddim-su-approx)::

    dx/ds = 10 s ( eps(x, s) / sqrt(1 - exp(-10 s^2)) - x )

:func:`ode_sample` integrates it from ``s = 1`` down to ``s_end`` with a fixed-step
method (Euler, Heun, or the DDIM update itself on the s-grid) or an adaptive one
(torchdiffeq's ``dopri5``), then jumps from ``s_end`` to the data with the model's x0
estimate. It reports the number of network evaluations (NFE). :func:`euler_sample`
separates the two choices that distinguish Euler in ``(x, s)`` from DDIM, which is Euler
in ``(y, tau) = (x / signal, noise / signal)``: the state variable and the clock.
"""

from __future__ import annotations

import math

import torch

from .._validate import (
    check_callable,
    check_choice,
    check_int,
    check_positive,
    check_real,
    check_tensor,
)
from ._core import NFECounter, ddim_update, x0_from_eps

__all__ = [
    "su_signal",
    "su_noise",
    "su_ode_velocity",
    "ode_solve",
    "ode_sample",
    "euler_sample",
    "ODE_METHODS",
]

ODE_METHODS = ("euler", "heun", "ddim", "dopri5")


def su_signal(s: torch.Tensor) -> torch.Tensor:
    """Su's continuous signal level ``exp(-5 s^2)`` (eq. ddim-su-approx)."""
    check_tensor(s, "s")
    return torch.exp(-5 * s**2)


def su_noise(s: torch.Tensor) -> torch.Tensor:
    """``sqrt(1 - exp(-10 s^2))``, computed stably with expm1."""
    check_tensor(s, "s")
    return torch.sqrt(-torch.expm1(-10 * s**2))


def su_ode_velocity(model):
    """``f(s, x) = 10 s (eps(x, s) / noise(s) - x)`` (eq. ddim-ode-s) in torchdiffeq's
    ``f(t, y)`` order."""

    net = model if isinstance(model, NFECounter) else NFECounter(model)

    def f(s, x):
        s = float(s)
        if s == 0 or not math.isfinite(s):
            raise ValueError(
                "s must be finite and != 0 (the velocity is singular at s = 0), got "
                f"{s}"
            )
        noise = math.sqrt(-math.expm1(-10 * s * s))
        return 10 * s * (net(x, s) / noise - x)

    f.counter = net
    return f


def ode_solve(
    f,
    x: torch.Tensor,
    s_start: float,
    s_end: float,
    *,
    method: str = "heun",
    n_steps: int | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-5,
    callback=None,
) -> torch.Tensor:
    """Integrate ``dx/ds = f(s, x)`` from ``s_start`` to ``s_end`` (either direction); x
    (B, *S).

    ``method``: ``"euler"`` or ``"heun"`` on a uniform grid of ``n_steps`` steps (our
    own, 5 lines each), or ``"dopri5"`` (adaptive Dormand–Prince from torchdiffeq,
    tolerances ``rtol``/``atol``). ``f`` receives ``s`` as a Python float.
    ``callback(s, x)``, fixed-step methods only, sees the state after every step
    (for trajectory plots).
    """
    check_callable(f, "f")
    check_tensor(x, "x", min_ndim=1, finite=True)
    s_start, s_end = check_real(s_start, "s_start"), check_real(s_end, "s_end")
    if s_start == s_end:
        raise ValueError(f"s_start and s_end must differ, got {s_start} for both")
    if callback is not None:
        check_callable(callback, "callback")
    f = _shape_checked(f, x)
    if method not in ("euler", "heun", "dopri5"):
        raise ValueError(f"method must be 'euler', 'heun' or 'dopri5', got {method!r}")
    if method == "dopri5":
        if n_steps is not None:
            raise ValueError(
                "n_steps is for fixed-step methods; dopri5 chooses its own steps (set "
                "rtol/atol)"
            )
        if callback is not None:
            raise ValueError(
                "callback is for fixed-step methods; dopri5's internal steps are not "
                "reported"
            )
        check_positive(rtol, "rtol")
        check_positive(atol, "atol")
        from torchdiffeq import odeint

        grid = torch.tensor(
            [float(s_start), float(s_end)], dtype=torch.float64, device=x.device
        )
        # never evaluate f outside [s_start, s_end]: torchdiffeq's first-step probe and
        # its last step may overshoot
        opts = {"step_t": grid, "first_step": 0.01 * abs(float(s_end) - float(s_start))}
        return odeint(
            lambda s, y: f(float(s), y),
            x,
            grid,
            rtol=rtol,
            atol=atol,
            method="dopri5",
            options=opts,
        )[-1]
    if n_steps is None:
        raise ValueError(f"method={method!r} needs n_steps")
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    grid = torch.linspace(
        float(s_start), float(s_end), n_steps + 1, dtype=torch.float64
    ).tolist()
    report = (
        None if callback is None else (lambda s, s_next, x0, x1: callback(s_next, x1))
    )
    return _fixed_steps(f, x, grid, method, report)


def _shape_checked(f, x):
    def g(s, y):
        out = f(s, y)
        if not isinstance(out, torch.Tensor) or out.shape != y.shape:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"f(s, x) must return a tensor shaped like x {tuple(y.shape)}, got "
                f"{got}"
            )
        return out

    return g


def _fixed_steps(f, x, grid, method, report=None):
    """Euler or Heun (Karras et al. 2022, Alg. 1 without churn) on the given grid of
    times.

    The one fixed-step loop of the library (``ode_solve`` and ``pf_ode_sample`` use it);
    it teaches the algorithm, and the tests check it against torchdiffeq's ``euler``
    / ``heun2``. ``report(s, s_next, x_s, x_next)`` is called after every step.
    """
    for s, s_next in zip(grid[:-1], grid[1:], strict=False):
        h = s_next - s
        d = f(s, x)  # the slope at the start
        x_next = x + h * d  # Euler
        if (
            method == "heun"
        ):  # trapezoid: average the start slope and the Euler end slope
            x_next = x + h / 2 * (d + f(s_next, x_next))
        if report is not None:
            report(s, s_next, x, x_next)
        x = x_next
    return x


@torch.no_grad()
def ode_sample(
    model,
    x: torch.Tensor,
    *,
    method: str = "dopri5",
    n_steps: int | None = None,
    rtol: float = 1e-3,
    atol: float = 1e-3,
    s_end: float = 1e-3,
) -> tuple[torch.Tensor, dict]:
    """Solve eq. (ddim-ode-s) from ``x = x(1)`` (B, *S) to ``s_end``, then denoise once;
    returns ``(x_0, info)``.

    ``method``: ``"euler"``, ``"heun"`` or ``"ddim"`` (fixed steps, ``n_steps``
    required; ``"ddim"`` applies the exact deterministic DDIM update between grid
    points) or ``"dopri5"`` (adaptive, via torchdiffeq, with ``rtol``/``atol``).
    ``info = {"nfe": network evaluations}``.
    """
    check_callable(model, "model")
    check_tensor(x, "x", min_ndim=1, finite=True)
    if method not in ODE_METHODS:
        raise ValueError(f"method must be one of {ODE_METHODS}, got {method!r}")
    rtol, atol = check_positive(rtol, "rtol"), check_positive(atol, "atol")
    s_end = check_positive(s_end, "s_end")
    if s_end >= 1:
        raise ValueError(f"s_end must be in (0, 1), got {s_end}")
    net = NFECounter(model)
    vel = su_ode_velocity(net)
    if method != "ddim":
        x = ode_solve(
            vel, x, 1.0, s_end, method=method, n_steps=n_steps, rtol=rtol, atol=atol
        )
    else:
        if n_steps is None:
            raise ValueError("method='ddim' needs n_steps")
        n_steps = check_int(n_steps, "n_steps", min_value=1)
        grid = torch.linspace(1.0, s_end, n_steps + 1, dtype=torch.float64).tolist()
        for s, s_next in zip(
            grid[:-1], grid[1:], strict=False
        ):  # exact DDIM update between s and s_next (eq. ddim-difference)
            x, _ = ddim_update(x, net(x, s), *_su_levels(s), *_su_levels(s_next))
    x0 = x0_from_eps(x, net(x, s_end), *_su_levels(s_end))
    return x0, {"nfe": net.nfe}


@torch.no_grad()
def euler_sample(
    model,
    x: torch.Tensor,
    *,
    n_steps: int,
    state: str = "x",
    clock: str = "s",
    s_end: float = 1e-3,
) -> tuple[torch.Tensor, dict]:
    """Forward Euler for eq. (ddim-ode) on the uniform s-grid from 1 to ``s_end``, with
    a chosen state variable and clock; then one x0 jump, as :func:`ode_sample`. Returns
    ``(x_0, info)`` with ``info = {"nfe": ...}`` (ddim chapter, section
    ddim-sec-solvers).

    ``state``: ``"x"`` or ``"y"`` (``y = x / signal``), the variable advanced linearly
    over a step. ``clock``: ``"s"`` or ``"tau"`` (``tau = noise / signal =
    sqrt(exp(10 s^2) - 1)``), the independent variable in which the step is linear.
    All four evaluate the model at the same nodes; they differ at the order of the
    local error. ``("x", "s")`` is ``ode_sample(method="euler")`` and ``("y", "tau")``
    is ``ode_sample(method="ddim")``, the DDIM update.
    """
    check_callable(model, "model")
    check_tensor(x, "x", min_ndim=1, finite=True)
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    state = check_choice(state, "state", ("x", "y"))
    clock = check_choice(clock, "clock", ("s", "tau"))
    s_end = check_positive(s_end, "s_end")
    if s_end >= 1:
        raise ValueError(f"s_end must be in (0, 1), got {s_end}")
    net = NFECounter(model)
    grid = torch.linspace(1.0, s_end, n_steps + 1, dtype=torch.float64).tolist()
    for s, s_next in zip(grid[:-1], grid[1:], strict=True):
        (a, b), (a2, b2) = _su_levels(s), _su_levels(s_next)
        eps = net(x, s)
        dtau = 10 * s / (a * b)  # d tau / ds = 10 s exp(10 s^2) / tau
        h = s_next - s if clock == "s" else b2 / a2 - b / a
        if state == "x":
            vel = 10 * s * (eps / b - x)  # dx/ds, eq. (ddim-ode-s)
            x = x + h * (vel if clock == "s" else vel / dtau)
        else:  # dy/dtau = eps, eq. (ddim-ode)
            x = a2 * (x / a + h * (eps * dtau if clock == "s" else eps))
    x0 = x0_from_eps(x, net(x, s_end), *_su_levels(s_end))
    return x0, {"nfe": net.nfe}


def _su_levels(s: float) -> tuple[float, float]:
    """``(signal, noise) = (exp(-5 s^2), sqrt(1 - exp(-10 s^2)))`` as Python floats."""
    return math.exp(-5 * s * s), math.sqrt(-math.expm1(-10 * s * s))
