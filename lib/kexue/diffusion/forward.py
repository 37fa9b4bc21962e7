"""The forward process q(x_t | x_0) and the eps <-> x0 conversions (DDIM chapter, eq.
ddim-marginal, ddim-x0hat)."""

from __future__ import annotations

import torch

from .._validate import check_generator, check_same_shape, check_tensor, randn_for
from ._core import eps_from_x0, expand_time, x0_from_eps
from .continuous import NoiseSchedule, cont_eps_to_x0, cont_x0_to_eps
from .schedules import DiscreteSchedule

__all__ = ["q_sample", "eps_to_x0", "x0_to_eps", "coef"]


def coef(values: torch.Tensor, i, like: torch.Tensor) -> torch.Tensor:
    """Pick ``values[i]`` (``i`` an int or a (B,) index tensor) shaped to broadcast over
    ``like`` (B, *S).

    lucidrains' ``extract``: :func:`~kexue.diffusion.expand_time` applied to
    ``values[i]``.
    """
    check_tensor(values, "values", ndim=1)
    check_tensor(like, "like", min_ndim=1)
    if isinstance(i, torch.Tensor):
        if i.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"i must be an int or an integer tensor, got {i.dtype}")
        if i.ndim != 1 or i.shape[0] != like.shape[0]:
            raise ValueError(
                f"i (an index tensor) must have shape ({like.shape[0]},), got "
                f"{tuple(i.shape)}"
            )
        if i.numel() and (int(i.min()) < 0 or int(i.max()) >= values.shape[0]):
            raise ValueError(f"i must lie in [0, {values.shape[0] - 1}]")
        return expand_time(values[i.to(values.device)], like)
    if isinstance(i, bool) or not isinstance(i, int):
        raise TypeError(
            f"i must be an int or an integer tensor, got {type(i).__name__}"
        )
    if not -values.shape[0] <= i < values.shape[0]:
        raise ValueError(f"i must lie in [0, {values.shape[0] - 1}], got {i}")
    return expand_time(values[i], like)


def _check_discrete(sched):
    if not isinstance(sched, DiscreteSchedule):
        raise TypeError(
            "sched must be a DiscreteSchedule or a NoiseSchedule, got "
            f"{type(sched).__name__}"
        )


def _pick(values: torch.Tensor, i) -> torch.Tensor:
    """``values[i]`` for a checked int or (B,) index tensor (0-d or (B,), float64)."""
    return values[i.cpu()] if isinstance(i, torch.Tensor) else values[i]


def _check_index(sched: DiscreteSchedule, i, name="i", like=None):
    if isinstance(i, torch.Tensor):
        if like is not None and (i.ndim != 1 or i.shape[0] != like.shape[0]):
            raise ValueError(
                f"{name} (an index tensor) must have shape ({like.shape[0]},), "
                f"got {tuple(i.shape)}"
            )
        if i.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"{name} must be an integer tensor, got {i.dtype}")
        if i.numel() and (int(i.min()) < 0 or int(i.max()) > sched.T):
            raise ValueError(
                f"{name} must lie in [0, {sched.T}], got range [{int(i.min())}, "
                f"{int(i.max())}]"
            )
        return i
    return sched._index(i, name)


def q_sample(
    x0: torch.Tensor,
    i,
    sched: DiscreteSchedule,
    eps: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``x_i = signal[i] x0 + noise[i] eps`` (eq. ddim-marginal). x0: (B, *S); i:
    int or (B,). Returns (x_i, eps)."""
    check_tensor(x0, "x0", min_ndim=1, finite=True)
    check_generator(generator)
    if isinstance(
        sched, NoiseSchedule
    ):  # continuous time: i is a time t (float or (B,))
        return sched.perturb(x0, i, eps=eps, generator=generator)
    _check_discrete(sched)
    i = _check_index(sched, i, like=x0)
    if eps is None:
        eps = randn_for(x0, generator)
    else:
        check_tensor(eps, "eps")
        check_same_shape(x0, eps, "x0", "eps")
    a, b = _pick(sched.signal, i), _pick(sched.noise, i)
    return expand_time(a, x0) * x0 + expand_time(b, x0) * eps, eps


def eps_to_x0(
    x: torch.Tensor, eps: torch.Tensor, i, sched: DiscreteSchedule
) -> torch.Tensor:
    """The data estimate ``(x_i - noise[i] eps) / signal[i]`` (eq. ddim-x0hat).

    With a continuous :class:`~kexue.diffusion.NoiseSchedule`, ``i`` is a time t (float
    or (B,)).
    """
    if isinstance(sched, NoiseSchedule):
        return cont_eps_to_x0(x, eps, i, sched)
    _check_discrete(sched)
    check_tensor(x, "x", min_ndim=1)
    check_tensor(eps, "eps")
    check_same_shape(x, eps, "x", "eps")
    i = _check_index(sched, i, like=x)
    return x0_from_eps(x, eps, _pick(sched.signal, i), _pick(sched.noise, i))


def x0_to_eps(
    x: torch.Tensor, x0: torch.Tensor, i, sched: DiscreteSchedule
) -> torch.Tensor:
    """The noise implied by a data estimate: ``(x_i - signal[i] x0) / noise[i]``; needs
    ``i >= 1``.

    With a continuous :class:`~kexue.diffusion.NoiseSchedule`, ``i`` is a time t (float
    or (B,)) with noise(t) > 0.
    """
    if isinstance(sched, NoiseSchedule):
        return cont_x0_to_eps(x, x0, i, sched)
    _check_discrete(sched)
    check_tensor(x, "x", min_ndim=1)
    check_tensor(x0, "x0")
    check_same_shape(x, x0, "x", "x0")
    i = _check_index(sched, i, like=x)
    n = _pick(sched.noise, i)
    if torch.any(n == 0):
        raise ValueError("x0_to_eps is undefined at i = 0 (noise level 0)")
    return eps_from_x0(x, x0, _pick(sched.signal, i), n)
