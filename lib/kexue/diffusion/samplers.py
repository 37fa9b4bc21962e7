"""Samplers of the discrete chain: DDPM's ancestral sampler and DDIM with any eta and
any sub-sequence.

All samplers share one signature, ``sampler(model, x, sched, *, ..., generator=None,
callback=None, progress=False)``, where ``model(x, t)`` maps ``x`` (B, *S) and float
times ``t`` (B,) in [0, 1] to the predicted noise (B, *S). ``callback`` receives a dict
per step (``i``, ``j``, ``x`` the new state, ``x0_hat``); :class:`Trajectory` is a
ready-made callback that records the states.

Random draws: one ``torch.randn(x.shape, generator=generator)`` per step that adds
noise, in step order.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from tqdm.auto import tqdm

from .._validate import (
    check_choice,
    check_generator,
    check_positive,
    check_same_shape,
    check_tensor,
    randn_for,
)
from ._core import NFECounter, check_sampler_args, ddim_update, x0_from_eps
from .schedules import DiscreteSchedule

__all__ = [
    "ddim_step",
    "ddpm_step",
    "ddim_sample",
    "ddpm_sample",
    "ddim_invert",
    "slerp",
    "Trajectory",
]

EpsModel = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class Trajectory:
    """A sampler callback that keeps every state: ``traj.xs`` is a list of (B, *S)
    tensors, first = start."""

    def __init__(self):
        self.xs: list[torch.Tensor] = []
        self.indices: list[int] = []

    def __call__(self, info: dict) -> None:
        if not self.xs:
            self.xs.append(info["x_start"].detach().clone())
            self.indices.append(info["i"])
        self.xs.append(info["x"].detach().clone())
        self.indices.append(info["j"])

    def stack(self) -> torch.Tensor:
        """All states as one tensor of shape (steps + 1, B, *S)."""
        if not self.xs:
            raise ValueError(
                "the trajectory is empty: pass it as callback= to a sampler first"
            )
        return torch.stack(self.xs)


def _check_sched(sched):
    if not isinstance(sched, DiscreteSchedule):
        raise TypeError(f"sched must be a DiscreteSchedule, got {type(sched).__name__}")


def _eval_model(net: NFECounter, x: torch.Tensor, i: int, sched: DiscreteSchedule):
    """``eps = model(x, i / T)``: the model sees the float time of index i
    (shape-checked)."""
    return net(x, i / sched.T)


def ddim_step(
    x: torch.Tensor,
    eps: torch.Tensor,
    i: int,
    j: int,
    sched: DiscreteSchedule,
    *,
    eta: float = 0.0,
    sigma: float | None = None,
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    clip_x0: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One generalised DDIM step ``x_i -> x_j`` (``j < i``), ddim chapter eq.
    (ddim-update)::

        x0_hat = (x_i - noise[i] eps) / signal[i]
        x_j    = signal[j] x0_hat + sqrt(noise[j]^2 - sigma^2) eps + sigma z

    with ``sigma = eta * ddim_sigma`` (eq. ddim-sigma-skip) unless ``sigma`` is given.
    ``eta = 1`` over consecutive indices is DDPM's ancestral step; ``eta = 0`` is
    deterministic.

    ``clip_x0 = c`` clamps ``x0_hat`` to ``[-c, c]`` before the update (diffusers'
    ``clip_sample`` with ``clip_sample_range = c``; ``eps`` is kept, as diffusers does
    by default): a guard for data known to lie in a box, e.g. images in [-1, 1].

    x, eps, noise: (B, *S). Returns ``(x_j, x0_hat)``, the clamped ``x0_hat``.
    """
    _check_sched(sched)
    check_tensor(x, "x", min_ndim=1, finite=True)
    check_tensor(eps, "eps")
    check_same_shape(x, eps, "x", "eps")
    check_generator(generator)
    i, j = sched._index(i), sched._index(j, "j")
    if not j < i:
        raise ValueError(f"a reverse step needs j < i, got i={i}, j={j}")
    eta = check_positive(eta, "eta", allow_zero=True)
    if sigma is None:
        sig = sched.ddim_sigma(i, j, eta)
    else:
        sig = torch.tensor(
            check_positive(sigma, "sigma", allow_zero=True), dtype=torch.float64
        )
    nj = sched.noise[j]
    if sig > nj * (1 + 1e-12):
        raise ValueError(
            f"sigma={float(sig):.4g} exceeds noise[j]={float(nj):.4g}: no Gaussian "
            "step keeps the "
            "marginals (eq. ddim-coefficients needs sigma <= noise[j]); lower eta or "
            "sigma"
        )
    if noise is not None:
        check_tensor(noise, "noise")
        check_same_shape(x, noise, "x", "noise")
    clip_x0 = _check_clip(clip_x0)
    return _ddim_update(x, eps, sched, i, j, float(sig), noise, generator, clip_x0)


def _check_clip(clip_x0) -> float | None:
    if clip_x0 is None:
        return None
    return check_positive(clip_x0, "clip_x0")


def _ddim_update(
    x, eps, sched, i, j, sigma, variance_noise=None, generator=None, clip_x0=None
):
    """Eq. (ddim-update) in the paper's steps (diffusers' ``DDIMScheduler.step``
    order)."""
    # 1. the noise levels of the two indices (Su's bar-alpha = signal, bar-beta = noise)
    a_i, b_i = float(sched.signal[i]), float(sched.noise[i])
    a_j, b_j = float(sched.signal[j]), float(sched.noise[j])
    # 2. predicted x_0 (eq. ddim-x0hat)
    x0_hat = x0_from_eps(x, eps, a_i, b_i)
    if clip_x0 is not None:  # diffusers' clip_sample
        x0_hat = x0_hat.clamp(-clip_x0, clip_x0)
    # 3. "direction pointing to x_j": sqrt(noise[j]^2 - sigma^2) eps
    direction = math.sqrt(max(b_j**2 - sigma**2, 0.0)) * eps
    # 4. x_j without the random noise, then 5. add sigma z
    x_j = a_j * x0_hat + direction
    if sigma > 0:
        z = randn_for(x, generator) if variance_noise is None else variance_noise
        x_j = x_j + sigma * z
    return x_j, x0_hat


def ddpm_step(
    x: torch.Tensor,
    eps: torch.Tensor,
    i: int,
    sched: DiscreteSchedule,
    *,
    var: str = "posterior",
    noise: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One ancestral DDPM step ``x_i -> x_{i-1}`` in DDPM's own form (ddim chapter, eq.
    ddim-ddpm)::

        x_{i-1} = (x_i - beta_i^2 / noise[i] * eps) / alpha_i + std * z,   alpha_i =
        signal[i]/signal[i-1]

    ``var="posterior"``: std = noise[i-1] beta_i / noise[i] (diffusers ``fixed_small``);
    ``var="beta"``: std = beta_i (DDPM's "large" choice). Returns ``(x_{i-1}, x0_hat)``.
    """
    _check_sched(sched)
    check_tensor(x, "x", min_ndim=1, finite=True)
    check_tensor(eps, "eps")
    check_same_shape(x, eps, "x", "eps")
    check_generator(generator)
    if noise is not None:
        check_tensor(noise, "noise")
        check_same_shape(x, noise, "x", "noise")
    i = sched._index(i)
    if i < 1:
        raise ValueError("ddpm_step needs i >= 1")
    if float(sched.noise[i]) == 0:
        raise ValueError(
            f"i: the chain has no noise at i = {i} (noise[i] = 0), so DDPM's step "
            "divides 0 by 0; use an index with noise[i] > 0"
        )
    check_choice(var, "var", ("posterior", "beta"))
    alpha = sched.signal[i] / sched.signal[i - 1]
    beta2 = 1 - alpha**2
    mean = (x - (beta2 / sched.noise[i]).to(x.dtype) * eps) / alpha.to(x.dtype)
    std = (
        sched.noise[i - 1] * beta2.sqrt() / sched.noise[i]
        if var == "posterior"
        else beta2.sqrt()
    )
    x0_hat = x0_from_eps(x, eps, float(sched.signal[i]), float(sched.noise[i]))
    if i > 1 and std > 0:
        if noise is None:
            noise = randn_for(x, generator)
        else:
            check_same_shape(x, noise, "x", "noise")
        mean = mean + std.to(x.dtype) * noise
    return mean, x0_hat


def _loop(pairs, model, x, sched, step_fn, callback, progress, desc):
    x_start, net = x, NFECounter(model)
    for i, j in tqdm(pairs, disable=not progress, desc=desc, leave=False):
        eps = _eval_model(net, x, i, sched)
        x_new, x0_hat = step_fn(x, eps, i, j)
        if callback is not None:
            callback(
                {
                    "i": i,
                    "j": j,
                    "x": x_new,
                    "x0_hat": x0_hat,
                    "eps": eps,
                    "x_start": x_start,
                }
            )
        x, x_start = x_new, x_new
    return x


@torch.no_grad()
def ddim_sample(
    model: EpsModel,
    x: torch.Tensor,
    sched: DiscreteSchedule,
    *,
    steps: int = 50,
    timesteps=None,
    spacing: str = "uniform",
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    callback=None,
    progress: bool = False,
    clip_x0: float | None = None,
) -> torch.Tensor:
    """Generate with DDIM from ``x = x_T`` (B, *S) along ``timesteps`` (or
    ``sched.timesteps(steps, spacing)``).

    ``eta`` in [0, 1]: 0 deterministic DDIM, 1 DDPM-like noise on the sub-sequence (ddim
    chapter, eq. ddim-sigma-skip). Uses ``len(timesteps) - 1`` network evaluations.
    ``clip_x0``: clamp each step's ``x0_hat`` to ``[-clip_x0, clip_x0]`` (see
    :func:`ddim_step`). Returns x_0 (B, *S).
    """
    _check_sched(sched)
    check_sampler_args(
        model, x, generator=generator, callback=callback, progress=progress
    )
    eta = check_positive(eta, "eta", allow_zero=True)
    if eta > 1:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    ts = (
        sched.timesteps(steps, spacing)
        if timesteps is None
        else sched.validate_timesteps(timesteps)
    )
    pairs = list(zip(ts[:-1], ts[1:], strict=False))
    sigmas = {(i, j): float(sched.ddim_sigma(i, j, eta)) for i, j in pairs}
    clip_x0 = _check_clip(clip_x0)

    def step(x_, e_, i, j):
        sig = sigmas[i, j]
        return _ddim_update(x_, e_, sched, i, j, sig, None, generator, clip_x0)

    return _loop(pairs, model, x, sched, step, callback, progress, "DDIM")


@torch.no_grad()
def ddpm_sample(
    model: EpsModel,
    x: torch.Tensor,
    sched: DiscreteSchedule,
    *,
    var: str = "posterior",
    generator: torch.Generator | None = None,
    callback=None,
    progress: bool = False,
) -> torch.Tensor:
    """DDPM's ancestral sampler over all ``T`` steps from ``x = x_T`` (B, *S). Returns
    x_0 (B, *S)."""
    _check_sched(sched)
    check_sampler_args(
        model, x, generator=generator, callback=callback, progress=progress
    )
    check_choice(var, "var", ("posterior", "beta"))

    def step(x_, e_, i, j):
        return ddpm_step(x_, e_, i, sched, var=var, generator=generator)  # noqa: E731

    pairs = [(i, i - 1) for i in range(sched.T, 0, -1)]
    return _loop(pairs, model, x, sched, step, callback, progress, "DDPM")


@torch.no_grad()
def ddim_invert(
    model: EpsModel,
    x: torch.Tensor,
    sched: DiscreteSchedule,
    *,
    steps: int = 50,
    timesteps=None,
    spacing: str = "uniform",
    callback=None,
    progress: bool = False,
) -> torch.Tensor:
    """Encode data ``x = x_0`` (B, *S) to noise by running the deterministic (eta = 0)
    map upwards.

    Each step ``j -> i`` (``j < i``, the reverse of a sampling step) uses
    ``x_i = signal[i] x0_hat + noise[i] eps`` with ``eps = model(x_j, i/T)``: the
    network is queried at the *target* noise level (as diffusers'
    ``DDIMInverseScheduler`` does), which avoids ``t = 0``. The round trip
    ``ddim_sample(ddim_invert(x0)) ≈ x0`` is exact only as the steps shrink.
    """
    _check_sched(sched)
    check_sampler_args(model, x, callback=callback, progress=progress)
    ts = (
        sched.timesteps(steps, spacing)
        if timesteps is None
        else sched.validate_timesteps(timesteps)
    )
    ups = list(zip(ts[::-1][:-1], ts[::-1][1:], strict=False))  # (j, i) with j < i
    x_start, net = x, NFECounter(model)
    for j, i in tqdm(ups, disable=not progress, desc="DDIM inversion", leave=False):
        eps = _eval_model(net, x, i, sched)
        x, x0_hat = ddim_update(
            x,
            eps,
            float(sched.signal[j]),
            float(sched.noise[j]),
            float(sched.signal[i]),
            float(sched.noise[i]),
        )
        if callback is not None:
            callback(
                {
                    "i": j,
                    "j": i,
                    "x": x,
                    "x0_hat": x0_hat,
                    "eps": eps,
                    "x_start": x_start,
                }
            )
        x_start = x
    return x


def slerp(z1: torch.Tensor, z2: torch.Tensor, lam) -> torch.Tensor:
    """``z1 cos(lam pi/2) + z2 sin(lam pi/2)`` (ddim chapter, eq. ddim-slerp): stays
    standard normal for independent standard-normal ``z1, z2``, unlike the linear
    mix. lam: float or (L,) -> (L, *z1.shape)."""
    check_tensor(z1, "z1", finite=True)
    check_tensor(z2, "z2", finite=True)
    check_same_shape(z1, z2, "z1", "z2")
    if lam is None or isinstance(lam, str | bytes | bool):
        raise TypeError(
            f"lam must be a number or a 1-D sequence, got {type(lam).__name__}"
        )
    try:
        lam_t = torch.as_tensor(lam, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError("lam must be a number or a 1-D sequence of numbers") from err
    if not torch.all(torch.isfinite(lam_t)):
        raise ValueError("lam must be finite")
    lam_t = lam_t.to(dtype=z1.dtype, device=z1.device)
    if lam_t.ndim > 1:
        raise ValueError(
            f"lam must be a number or a 1-D sequence, got shape {tuple(lam_t.shape)}"
        )
    if torch.any((lam_t < 0) | (lam_t > 1)):
        raise ValueError("lam must lie in [0, 1]")
    shape = (-1,) + (1,) * z1.ndim if lam_t.ndim == 1 else ()
    c, s = (
        torch.cos(lam_t * math.pi / 2).reshape(shape),
        torch.sin(lam_t * math.pi / 2).reshape(shape),
    )
    return z1 * c + z2 * s
