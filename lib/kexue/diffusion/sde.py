"""Samplers in continuous time: the reverse SDE and the probability-flow ODE (sde
chapter).

For the forward SDE ``dx = f_t x dt + g_t dw`` of a :class:`NoiseSchedule`:

* reverse SDE (sde chapter, eq. sde-reverse; Anderson 1982): ``dx = [f_t x - g_t^2
  score] dt + g_t dw``, ``dt < 0``;
* probability-flow ODE (Song et al. 2021; ode-direct chapter, eq. ode-direct-sampler,
  for the heat schedule): ``dx/dt = f_t x - g_t^2 score / 2``.

With an eps-model, ``score = -eps / noise(t)``. Every sampler here has the same
signature::

    sampler(model, x, sched, *, steps, t_start=None, t_end=None, denoise=True,
            generator=None, callback=None, progress=False, ...) -> (x_0, info)

``model(x, t)`` maps x (B, *S) and times t (B,) (the schedule's own times) to predicted
noise (B, *S); ``x`` is the start state at ``t_start`` (default ``sched.t_max``); the
integration stops at ``t_end`` (default ``sched.t_min``) and, with ``denoise=True``, one
more network call returns Tweedie's estimate ``(x - noise eps) / signal`` there. ``info
= {"nfe": network evaluations, "times": grid}``. ``callback`` receives a dict per step:
``t``, ``t_next``, ``x_start`` (state at t), ``x`` (state at t_next), ``eps`` (the model
output at t), ``x0_hat`` (Tweedie's ``(x_start - noise eps) / signal`` at t, the same
key the discrete samplers send; ``None`` for dopri5, which has no fixed steps);
``i``/``j`` repeat ``t``/``t_next`` so :class:`Trajectory` works.

End-of-chain convention, shared by every sampler of the book: **the final step adds
no fresh noise**. DDPM's step 1 -> 0 (``ddpm_step`` with ``i = 1``) and Song et al.'s
samplers (which return the last step's mean) do the same; DDIM's step to index 0 has
``sigma = 0`` because ``noise[0] = 0``; the ODE samplers add none anyway. A kick of
size ``g sqrt(h)`` on the last step could not be removed by the Tweedie denoise at
``t_end``, which is calibrated for ``noise(t_end)``.
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from .._validate import (
    check_bool,
    check_callable,
    check_generator,
    check_int,
    check_positive,
    check_tensor,
    randn_for,
)
from ._core import (
    NFECounter,
    check_sampler_args,
    ddim_update,
    euler_maruyama_step,
    x0_from_eps,
)
from .continuous import NoiseSchedule
from .ode import _fixed_steps

__all__ = [
    "time_grid",
    "reverse_sde_sample",
    "pf_ode_sample",
    "pf_ode_velocity",
    "forward_sde_simulate",
    "PF_METHODS",
    "NFECounter",
]

PF_METHODS = ("euler", "heun", "ddim", "dopri5")


def _check_sched(sched):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")


def _span(sched: NoiseSchedule, t_start, t_end) -> tuple[float, float]:
    t0 = sched.t_max if t_start is None else check_positive(t_start, "t_start")
    t1 = (
        sched.t_min
        if t_end is None
        else check_positive(t_end, "t_end", allow_zero=True)
    )
    if t0 > sched.t_max * (1 + 1e-12):
        raise ValueError(f"t_start must be <= t_max = {sched.t_max:g}, got {t0:g}")
    if not t1 < t0:
        raise ValueError(
            f"sampling runs backwards in time: need t_end < t_start, got t_end={t1:g}, "
            f"t_start={t0:g}"
        )
    if float(sched.noise(t1)) <= 0:
        raise ValueError(
            f"the score is singular at t_end={t1:g} (noise = 0); stop at t_end >= "
            "sched.t_min = "
            f"{sched.t_min:g}"
        )
    return t0, t1


def _t_of_sigma(sched: NoiseSchedule, sigmas: torch.Tensor, lo: float, hi: float):
    """Times with ``sched.sigma_ve(t) = sigmas`` in ``[lo, hi]``, by bisection (float64;
    sigma_ve increases with t for every schedule of the book)."""
    a = torch.full_like(sigmas, lo)
    b = torch.full_like(sigmas, hi)
    for _ in range(200):  # 2^-200 of the span: far below float64 resolution
        mid = (a + b) / 2
        up = sched.sigma_ve(mid) < sigmas
        a, b = torch.where(up, mid, a), torch.where(up, b, mid)
    return (a + b) / 2


def time_grid(
    sched: NoiseSchedule,
    steps: int,
    t_start: float | None = None,
    t_end: float | None = None,
    spacing: str = "uniform",
    rho: float = 7.0,
) -> list[float]:
    """Decreasing times ``t_start = t_0 > ... > t_steps = t_end``.

    ``spacing``: ``"uniform"`` in t; ``"quadratic"`` (uniform in sqrt(t - t_end),
    denser near the data); or ``"karras"``, the grid of Karras et al. (2022, eq. 5) in
    the VE noise level ``sigma = noise / signal`` (:meth:`NoiseSchedule.sigma_ve`):
    ``sigma_i^(1/rho)`` uniform from ``sigma(t_start)`` to ``sigma(t_end)``, mapped back
    to times. ``rho`` (> 0) is used by ``"karras"`` only; 7 is the paper's choice, and
    larger ``rho`` packs more steps near the data.
    """
    _check_sched(sched)
    steps = check_int(steps, "steps", min_value=1)
    rho = check_positive(rho, "rho")
    t0, t1 = _span(sched, t_start, t_end)
    u = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    if spacing == "uniform":
        ts = t1 + (t0 - t1) * u
    elif spacing == "quadratic":
        ts = t1 + (t0 - t1) * u**2
    elif spacing == "karras":
        s0, s1 = float(sched.sigma_ve(t0)), float(sched.sigma_ve(t1))
        if not s0 > s1 > 0:
            raise ValueError(
                "spacing='karras' needs sigma_ve to increase from t_end to t_start, "
                f"got sigma_ve(t_end)={s1:g}, sigma_ve(t_start)={s0:g}"
            )
        sig = (s1 ** (1 / rho) + u * (s0 ** (1 / rho) - s1 ** (1 / rho))) ** rho
        ts = _t_of_sigma(sched, sig, t1, t0)
    else:
        raise ValueError(
            f"spacing must be 'uniform', 'quadratic' or 'karras', got {spacing!r}"
        )
    out = ts.tolist()
    out[0], out[-1] = t0, t1
    return out


def _coefs(sched: NoiseSchedule, t: float) -> tuple[float, float, float, float]:
    tt = torch.tensor(t, dtype=torch.float64)
    return (
        float(sched.signal(tt)),
        float(sched.noise(tt)),
        float(sched.drift_coef(tt)),
        float(sched.diffusion_sq(tt)),
    )


def _coef_table(
    sched: NoiseSchedule, ts: list[float]
) -> dict[float, tuple[float, float, float, float]]:
    """``{t: (signal, noise, f, g^2)}`` for every grid time, evaluated in one vectorised
    call per quantity.

    Evaluating the schedule once per run instead of once per step keeps the sampler's
    own cost small next to the network's (see benchmarks/diffusion.py).
    """
    tt = torch.tensor(ts, dtype=torch.float64)
    cols = [
        sched.signal(tt),
        sched.noise(tt),
        sched.drift_coef(tt),
        sched.diffusion_sq(tt),
    ]
    rows = torch.stack([c.to(torch.float64).reshape(-1) for c in cols], dim=1).tolist()
    return {t: tuple(r) for t, r in zip(ts, rows, strict=False)}


def pf_ode_velocity(model, sched: NoiseSchedule, table: dict | None = None):
    """``v(t, x) = f_t x + g_t^2 eps(x, t) / (2 noise(t))``: ``f_t x - g_t^2 score / 2``
    with score = -eps/noise; torchdiffeq order.

    ``t`` may be a float or a 0-d tensor. The returned callable has an ``nfe`` attribute
    (its wrapped counter). ``table``: optional precomputed coefficients ``{t:
    (signal, noise, f, g^2)}`` (from ``_coef_table``).
    """
    _check_sched(sched)
    if table is not None and not isinstance(table, dict):
        raise TypeError(f"table must be a dict or None, got {type(table).__name__}")
    net = model if isinstance(model, NFECounter) else NFECounter(model)

    def v(t, x):
        t = float(t)
        _, n, f, g2 = table[t] if table is not None and t in table else _coefs(sched, t)
        if n <= 0:
            raise ValueError(
                f"the probability-flow velocity is singular at t={t:g} (noise = 0)"
            )
        eps = net(x, t)
        return f * x + 0.5 * g2 / n * eps  # f_t x - g_t^2 score / 2, score = -eps / n

    v.counter = net
    return v


def _finish(net, x, sched, t1, denoise):
    if not denoise:
        return x
    a, n = float(sched.signal(t1)), float(sched.noise(t1))
    return (x - n * net(x, t1)) / a


def _times(sched, steps, t_start, t_end, times, spacing):
    if times is not None:
        try:
            seq = times.tolist() if isinstance(times, torch.Tensor) else list(times)
            ts = [float(v) for v in seq]
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"times must be a sequence of numbers, got {type(times).__name__}"
            ) from err
        if len(ts) < 2 or any(b >= a for a, b in zip(ts, ts[1:], strict=False)):
            raise ValueError(
                "times must be a strictly decreasing sequence of at least two times, "
                f"got {ts}"
            )
        _span(sched, ts[0], ts[-1])
        return ts
    if steps is None:
        raise ValueError(
            "give steps (the number of steps) or times (an explicit decreasing grid)"
        )
    return time_grid(sched, steps, t_start, t_end, spacing)


@torch.no_grad()
def reverse_sde_sample(
    model,
    x: torch.Tensor,
    sched: NoiseSchedule,
    *,
    steps: int | None = 100,
    t_start: float | None = None,
    t_end: float | None = None,
    times=None,
    spacing: str = "uniform",
    denoise: bool = True,
    generator: torch.Generator | None = None,
    callback=None,
    progress: bool = False,
) -> tuple[torch.Tensor, dict]:
    """Euler–Maruyama for the reverse SDE (sde chapter, eq. sde-reverse-step), ``steps``
    network calls (+1 to denoise).

    Each step ``t -> s < t`` with ``h = t - s`` evaluates f, g and the model at the
    later time t, as the post does::

        x_s = x_t - [f_t x_t + g_t^2 eps(x_t, t) / noise(t)] h + g_t sqrt(h) z,     z ~
        N(0, I)

    The last step (to ``t_end``) adds no noise (the end-of-chain convention of the
    module docstring). One ``torch.randn(x.shape, generator=generator)`` per step that
    adds noise, in step order (``steps - 1`` draws).
    """
    _check_sched(sched)
    check_sampler_args(
        model, x, generator=generator, callback=callback, progress=progress
    )
    check_bool(denoise, "denoise")
    ts = _times(sched, steps, t_start, t_end, times, spacing)
    net = NFECounter(model)
    table = _coef_table(sched, ts)
    for t, s in tqdm(
        list(zip(ts[:-1], ts[1:], strict=False)),
        disable=not progress,
        desc="reverse SDE",
        leave=False,
    ):
        _, n, f, g2 = table[t]
        h = t - s
        eps = net(x, t)
        drift = -(f * x + (g2 / n) * eps)  # the reversed equation's drift
        z = None if s == ts[-1] else randn_for(x, generator)  # none on the last step
        x_new = euler_maruyama_step(x, drift, math.sqrt(g2), h, z)
        if callback is not None:
            callback(
                {
                    "t": t,
                    "t_next": s,
                    "i": t,
                    "j": s,
                    "x_start": x,
                    "x": x_new,
                    "eps": eps,
                    "x0_hat": x0_from_eps(x, eps, table[t][0], n),
                }
            )
        x = x_new
    return _finish(net, x, sched, ts[-1], denoise), {"nfe": net.nfe, "times": ts}


@torch.no_grad()
def pf_ode_sample(
    model,
    x: torch.Tensor,
    sched: NoiseSchedule,
    *,
    method: str = "heun",
    steps: int | None = None,
    t_start: float | None = None,
    t_end: float | None = None,
    times=None,
    spacing: str = "uniform",
    rtol: float = 1e-4,
    atol: float = 1e-4,
    denoise: bool = True,
    generator: torch.Generator | None = None,
    callback=None,
    progress: bool = False,
) -> tuple[torch.Tensor, dict]:
    """Solve the probability-flow ODE ``dx/dt = f_t x - g_t^2 score / 2`` from
    ``t_start`` down to ``t_end``.

    ``method``:
      * ``"euler"`` — ``x_s = x_t - h v(t, x_t)``; ``steps`` network calls;
      * ``"heun"`` — Euler predictor + trapezoidal corrector (Karras et al. 2022, Alg.
        1); ``2 steps`` calls;
      * ``"ddim"`` — the exact DDIM update between grid points, ``x_s = signal_s x0_hat
        + noise_s eps`` (eps frozen over the step; ddim chapter); ``steps``
        calls;
      * ``"dopri5"`` — adaptive Dormand–Prince (torchdiffeq) with tolerances ``rtol``,
        ``atol`` (> 0); ``steps`` (optional) only sets how many intermediate
        states the callback sees.
    ``generator`` is unused (the ODE is deterministic); it is accepted for the shared
    signature.
    """
    _check_sched(sched)
    check_sampler_args(
        model, x, generator=generator, callback=callback, progress=progress
    )
    check_bool(denoise, "denoise")
    if method not in PF_METHODS:
        raise ValueError(f"method must be one of {PF_METHODS}, got {method!r}")
    rtol, atol = check_positive(rtol, "rtol"), check_positive(atol, "atol")
    net = NFECounter(model)
    v = pf_ode_velocity(net, sched)  # dopri5 evaluates at times of its own choosing
    if method == "dopri5":
        rtol, atol = check_positive(rtol, "rtol"), check_positive(atol, "atol")
        from torchdiffeq import odeint

        ts = _times(
            sched, 1 if steps is None else steps, t_start, t_end, times, spacing
        )
        grid = torch.tensor(ts, dtype=torch.float64)
        # step_t: never step past a grid time (the field is undefined below t_end);
        # first_step: torchdiffeq's automatic first-step guess can probe times far
        # outside the schedule's range.
        opts = {"step_t": grid, "first_step": 0.02 * (ts[0] - ts[-1])}
        ys = odeint(
            v, x, grid, rtol=rtol, atol=atol, method="dopri5", options=opts
        )  # (len(ts), B, *S)
        if callback is not None:
            for k in range(len(ts) - 1):
                callback(
                    {
                        "t": ts[k],
                        "t_next": ts[k + 1],
                        "i": ts[k],
                        "j": ts[k + 1],
                        "x_start": ys[k],
                        "x": ys[k + 1],
                        "eps": None,
                        "x0_hat": None,
                    }
                )
        x = ys[-1]
    else:
        ts = _times(sched, steps, t_start, t_end, times, spacing)
        table = _coef_table(sched, ts)
        v = pf_ode_velocity(net, sched, table)
        pairs = list(zip(ts[:-1], ts[1:], strict=False))
        if progress:
            pairs = tqdm(pairs, desc=f"PF-ODE {method}", leave=False)

        peek = NFECounter(model)  # the callback's own calls, outside info["nfe"]

        def report(t, s, x_old, x_new, eps=None):
            if callback is not None:
                if eps is None:  # Euler/Heun: one uncounted call for x0_hat
                    eps = peek(x_old, t)
                x0_hat = x0_from_eps(x_old, eps, *table[t][:2])
                payload = {"t": t, "t_next": s, "i": t, "j": s, "x0_hat": x0_hat}
                callback({**payload, "x_start": x_old, "x": x_new, "eps": eps})

        if method == "ddim":  # exact DDIM update between grid points, eps frozen
            for t, s in pairs:
                eps = net(x, t)
                x_new, _ = ddim_update(x, eps, *table[t][:2], *table[s][:2])
                report(t, s, x, x_new, eps)
                x = x_new
        else:  # the Euler / Heun loop of ode_solve on this grid
            x = _fixed_steps(v, x, ts, method, report)
    return _finish(net, x, sched, ts[-1], denoise), {"nfe": net.nfe, "times": ts}


@torch.no_grad()
def forward_sde_simulate(
    x0: torch.Tensor,
    sched: NoiseSchedule,
    *,
    steps: int,
    t_end: float | None = None,
    generator: torch.Generator | None = None,
    callback=None,
) -> torch.Tensor:
    """Euler–Maruyama for the forward SDE ``dx = f_t x dt + g_t dw`` (sde chapter, eq.
    sde-em) from 0 to ``t_end``.

    x0 (B, *S); ``t_end`` defaults to ``t_max``. The marginal at ``t_end`` should be
    ``N(signal x0, noise^2)`` up to O(dt) when ``noise(0) = 0`` (VP, heat); for VE,
    which starts at ``noise(0) = sigma_min``, add that.
    """
    _check_sched(sched)
    check_tensor(x0, "x0", min_ndim=1, finite=True)
    check_generator(generator)
    if callback is not None:
        check_callable(callback, "callback")
    steps = check_int(steps, "steps", min_value=1)
    t1 = sched.t_max if t_end is None else check_positive(t_end, "t_end")
    if t1 > sched.t_max * (1 + 1e-12):
        raise ValueError(f"t_end must be <= t_max = {sched.t_max:g}, got {t1:g}")
    ts = torch.linspace(0.0, t1, steps + 1, dtype=torch.float64)
    f_all, g2_all = sched.drift_coef(ts), sched.diffusion_sq(ts)
    x = x0
    for k in range(steps):
        h = float(ts[k + 1] - ts[k])
        f, g = float(f_all[k]), math.sqrt(max(float(g2_all[k]), 0.0))
        x_new = euler_maruyama_step(x, f * x, g, h, randn_for(x, generator))
        if callback is not None:
            callback(
                {
                    "t": float(ts[k]),
                    "t_next": float(ts[k + 1]),
                    "i": float(ts[k]),
                    "j": float(ts[k + 1]),
                    "x_start": x,
                    "x": x_new,
                }
            )
        x = x_new
    return x
