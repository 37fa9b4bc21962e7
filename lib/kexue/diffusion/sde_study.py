"""Studies for the sde chapter (chapters/diffusion/sde.ipynb).

``moment_gaussian`` is the Gaussian with a mixture's mean and covariance, the rival a
trained score network must beat; ``score_errors`` measures how far a noise predictor's
score (eq. sde-eps-score), that rival's score and the conditional targets (eq. sde-csm)
are from a mixture's exact marginal score, with the Monte-Carlo standard error of the
paired difference network - rival; ``one_mode_spread`` is the exact variance recursion
of the reverse Euler-Maruyama sampler (eq. sde-reverse-step) on one Gaussian mode, which
explains the few-step spreads of the chapter's experiment; ``few_step_spreads`` runs
that experiment (reverse SDE over several noise seeds, Euler PF-ODE) on one grid;
``sampler_sw`` scores the trained network's samplers by sliced W2 over several seeds.
"""

from __future__ import annotations

import math

import torch

from .. import metrics
from .._validate import (
    check_callable,
    check_generator,
    check_int,
    check_positive,
    check_tensor,
)
from ..data.mixture import GaussianMixture
from .continuous import NoiseSchedule
from .samplers import ddpm_sample
from .schedules import DiscreteSchedule
from .sde import pf_ode_sample, reverse_sde_sample, time_grid

__all__ = [
    "moment_gaussian",
    "score_errors",
    "one_mode_spread",
    "few_step_spreads",
    "sampler_sw",
]


def _check_mixture(mixture):
    if not isinstance(mixture, GaussianMixture):
        raise TypeError(
            "mixture must be a kexue.data.GaussianMixture, got "
            f"{type(mixture).__name__}"
        )


def _check_sched(sched):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")


def moment_gaussian(mixture: GaussianMixture) -> GaussianMixture:
    """The one-component mixture ``N(mu, Sigma)`` with the mixture's mean
    ``mu = sum_k w_k m_k`` and covariance ``Sigma = sum_k w_k (C_k + m_k m_k^T) - mu
    mu^T`` (D,), (D, D). For the chapter's ring of radius r and width s,
    ``Sigma = (r^2/2 + s^2) I``. Its noised score ``score_t`` is linear in x."""
    _check_mixture(mixture)
    w, m, c = mixture.weights, mixture.means, mixture.covs
    mu = (w[:, None] * m).sum(0)
    second = (w[:, None, None] * (c + m[:, :, None] * m[:, None, :])).sum(0)
    cov = second - mu[:, None] * mu[None, :]
    return GaussianMixture(mu[None], cov[None])


@torch.no_grad()
def score_errors(
    eps_model,
    mixture: GaussianMixture,
    sched: NoiseSchedule,
    times,
    n: int = 20_000,
    generator: torch.Generator | None = None,
) -> dict:
    """Relative squared errors ``E|v - score|^2 / E|score|^2`` at each time (sde
    chapter, trained-network check), over ``x_t = signal x_0 + noise eps``, x_0 ~ the
    mixture (n draws per time, float64; ``sched.perturb``).

    ``v`` is the network's score ``-eps_model(x_t, t) / noise(t)`` (eps_model maps
    ``(x (n, D), t (n,))`` to ``(n, D)``), the moment-matched Gaussian's exact score
    (``moment_gaussian``) and the conditional target ``-eps / noise(t)``.

    Returns ``{t: {"net", "gauss", "target", "se_diff", "se_net"}}``, where ``se_diff``
    is the Monte-Carlo standard error of ``net - gauss`` from the per-sample paired
    differences and ``se_net`` that of ``net`` alone (the normaliser ``E|score|^2``
    treated as fixed in both).
    """
    check_callable(eps_model, "eps_model")
    _check_mixture(mixture)
    _check_sched(sched)
    n = check_int(n, "n", min_value=2)
    check_generator(generator)
    try:
        ts = [float(v) for v in times]
    except TypeError as err:
        raise TypeError(
            f"times must be a sequence of numbers, got {type(times).__name__}"
        ) from err
    if not ts:
        raise ValueError("times must contain at least one time")
    for t in ts:
        if not (sched.t_min <= t <= sched.t_max) or t <= 0:
            raise ValueError(
                f"times must lie in (0, t_max] and at or above t_min "
                f"[{sched.t_min}, {sched.t_max}], got {t}"
            )
    rival = moment_gaussian(mixture)
    out = {}
    for t in ts:
        x0 = mixture.sample(n, generator=generator)
        xt, eps = sched.perturb(x0, t, generator=generator)
        b = float(sched.noise(t))
        exact = mixture.score_t(xt, t, sched)
        net = -eps_model(xt, torch.full((n,), t, dtype=xt.dtype)).to(xt.dtype) / b
        if net.shape != xt.shape:
            raise ValueError(
                f"eps_model must return shape {tuple(xt.shape)}, got {tuple(net.shape)}"
            )
        size = float((exact**2).sum(1).mean())
        err = {
            k: ((v - exact) ** 2).sum(1) / size
            for k, v in (
                ("net", net),
                ("gauss", rival.score_t(xt, t, sched)),
                ("target", -eps / b),
            )
        }
        row = {k: float(v.mean()) for k, v in err.items()}
        row["se_diff"] = float((err["net"] - err["gauss"]).std()) / math.sqrt(n)
        row["se_net"] = float(err["net"].std()) / math.sqrt(n)
        out[t] = row
    return out


def one_mode_spread(
    sched: NoiseSchedule,
    steps: int,
    std: float,
    spacing: str = "uniform",
) -> dict:
    """Exact spread of ``reverse_sde_sample`` (exact score, no noise on the last step,
    final denoising) on data ``N(m, std^2)`` in one coordinate, started from exact p_1
    (sde chapter, few-step experiment).

    The score ``-(x - signal m) / v_t``, ``v_t = signal^2 std^2 + noise^2``, is linear,
    so each step multiplies the deviation from the mode by ``c = 1 - f h - g^2 h /
    v_t`` and adds variance ``g^2 h`` (none on the last step); denoising multiplies by
    ``(1 - noise^2 / v) / signal``. Returns ``{"ratio": output std / std, "c_last": c
    of the last step}``.
    """
    _check_sched(sched)
    steps = check_int(steps, "steps", min_value=1)
    std = check_positive(std, "std")
    ts = time_grid(sched, steps, spacing=spacing)

    def var(t):
        return float(sched.signal(t)) ** 2 * std**2 + float(sched.noise(t)) ** 2

    v, c = var(ts[0]), 1.0
    for k, (t, s) in enumerate(zip(ts[:-1], ts[1:], strict=True)):
        tt = torch.tensor(t, dtype=torch.float64)
        f, g2, h = float(sched.drift_coef(tt)), float(sched.diffusion_sq(tt)), t - s
        c = 1 - f * h - g2 * h / var(t)
        v = c * c * v + (g2 * h if k < steps - 1 else 0.0)
    a, b = float(sched.signal(ts[-1])), float(sched.noise(ts[-1]))
    c_end = (1 - b * b / var(ts[-1])) / a
    return {"ratio": math.sqrt(v) * abs(c_end) / std, "c_last": c}


def few_step_spreads(
    eps_model,
    z: torch.Tensor,
    sched: NoiseSchedule,
    centers: torch.Tensor,
    std: float,
    steps=(10, 20, 50),
    spacing: str = "uniform",
    seeds=(5, 6, 7),
    batched: bool = False,
) -> dict:
    """Spread ratios of the reverse SDE (one run per noise seed) and of the Euler
    PF-ODE from the same start ``z`` (B, D), on the grid ``time_grid(sched, k,
    spacing=spacing)`` for each k in ``steps`` (sde chapter, few-step experiment).

    With ``batched=True`` the runs are made in one sampler call on ``len(seeds)``
    stacked copies of ``z`` with the generator ``manual_seed(seeds[0])``; copy j is
    run j (the same start, independent noise, as with one call per seed, but other
    draws and fewer network calls per sample).

    Returns ``{k: {"sde": [metrics.mode_stats per seed], "ode": mode_stats}}`` with
    ``centers`` (K, D) and ``std`` the true mode width.
    """
    check_callable(eps_model, "eps_model")
    check_tensor(z, "z", ndim=2, finite=True)
    std = check_positive(std, "std")
    steps = [check_int(k, "steps", min_value=1) for k in steps]
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    if not isinstance(batched, bool):
        raise TypeError(f"batched must be a bool, got {type(batched).__name__}")
    if not steps or not seeds:
        raise ValueError("steps and seeds must each hold at least one value")
    out = {}
    for k in steps:
        kw = dict(steps=k, spacing=spacing)
        if batched:
            g = torch.Generator().manual_seed(seeds[0])
            zs = z.repeat(len(seeds), 1)
            x, _ = reverse_sde_sample(eps_model, zs, sched, generator=g, **kw)
            runs = x.chunk(len(seeds))
        else:
            runs = []
            for seed in seeds:
                g = torch.Generator().manual_seed(seed)
                runs.append(
                    reverse_sde_sample(eps_model, z, sched, generator=g, **kw)[0]
                )
        sde = [metrics.mode_stats(x, centers, std) for x in runs]
        x, _ = pf_ode_sample(eps_model, z, sched, method="euler", **kw)
        out[k] = {"sde": sde, "ode": metrics.mode_stats(x, centers, std)}
    return out


def sampler_sw(
    eps_model,
    sched: NoiseSchedule,
    x_test: torch.Tensor,
    n: int,
    seeds=(0, 1, 2, 3, 4),
    ddpm_steps: int | None = 500,
    sde_steps=(20, 100, 500),
    ode_runs=(("euler", 20), ("heun", 10), ("dopri5", None)),
    batched: bool = False,
) -> dict:
    """Sliced W2 to ``x_test`` (M, D) of n samples from each of the chapter's samplers,
    once per seed (sde chapter, trained-network table).

    Seed s draws the start ``z ~ N(0, I)`` (n, D) from ``manual_seed(100 + s)`` and the
    noise of DDPM (``ddpm_steps`` on the chain ``DiscreteSchedule.from_continuous``;
    None skips it) and of the reverse SDE (each of ``sde_steps``) from
    ``manual_seed(200 + s)``; the PF-ODE runs each ``(method, steps)`` of ``ode_runs``
    from the same z (steps None: adaptive dopri5, rtol = atol = 1e-3). With
    ``batched=True`` every sampler runs once on all seeds' samples stacked (start
    ``(len(seeds) n, D)`` from ``manual_seed(100 + seeds[0])``, noise from
    ``manual_seed(200 + seeds[0])``; block j of n rows is seed j's sample): other draws,
    the same statistics, fewer network calls per sample; an adaptive solver then
    chooses one step sequence for all blocks. Returns ``{name: {"nfe": int (first
    call), "sw": [float per seed]}}``.
    """
    check_callable(eps_model, "eps_model")
    _check_sched(sched)
    check_tensor(x_test, "x_test", ndim=2, finite=True)
    n = check_int(n, "n", min_value=2)
    if ddpm_steps is not None:
        ddpm_steps = check_int(ddpm_steps, "ddpm_steps", min_value=2)
    seeds = [check_int(s, "seeds", min_value=0) for s in seeds]
    sde_steps = [check_int(k, "sde_steps", min_value=1) for k in sde_steps]
    ode_runs = [tuple(r) for r in ode_runs]
    for m, k in ode_runs:
        if m not in ("euler", "heun", "dopri5"):
            raise ValueError(f"ode_runs methods must be euler|heun|dopri5, got {m!r}")
        if k is not None:
            check_int(k, "ode_runs steps", min_value=1)
    if not isinstance(batched, bool):
        raise TypeError(f"batched must be a bool, got {type(batched).__name__}")
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    runs = [("SDE", dict(steps=k)) for k in sde_steps]
    for m, k in ode_runs:
        kw = dict(method=m, steps=k) if k is not None else dict(method=m)
        runs.append(("ODE", kw | ({} if k else dict(rtol=1e-3, atol=1e-3))))
    out: dict = {}

    def add(name, nfe, x):
        row = out.setdefault(name, {"nfe": nfe, "sw": []})
        for block in x.split(n):
            row["sw"].append(metrics.sliced_wasserstein(block, x_test))

    groups = [seeds[:1]] if batched else [[s] for s in seeds]
    reps = len(seeds) if batched else 1
    for (s,) in groups:
        z = torch.randn(
            reps * n, x_test.shape[1], generator=torch.Generator().manual_seed(100 + s)
        )
        if ddpm_steps is not None:
            chain = DiscreteSchedule.from_continuous(sched, ddpm_steps)
            g = torch.Generator().manual_seed(200 + s)
            add(
                f"DDPM, {ddpm_steps} steps",
                ddpm_steps,
                ddpm_sample(eps_model, z, chain, generator=g),
            )
        for kind, kw in runs:
            if kind == "SDE":
                g = torch.Generator().manual_seed(200 + s)
                x, info = reverse_sde_sample(eps_model, z, sched, generator=g, **kw)
                name = f"SDE Euler-Maruyama, {kw['steps']}"
            else:
                x, info = pf_ode_sample(eps_model, z, sched, **kw)
                name = f"ODE {kw['method']}, {kw.get('steps', 'adaptive')}"
            add(name, info["nfe"], x)
    return out
