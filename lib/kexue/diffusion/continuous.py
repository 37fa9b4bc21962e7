"""Continuous-time noise schedules ``x_t = signal(t) x_0 + noise(t) eps`` (sde chapter,
eq. sde-marginal).

A :class:`NoiseSchedule` is defined by its two coefficient functions, Su's
:math:`\\bar\\alpha_t` (``signal``) and :math:`\\bar\\beta_t` (``noise``). The linear
SDE ``dx = f_t x dt + g_t dw`` with exactly these marginals has (sde chapter, eq.
sde-fg)::

    f_t   = d log signal / dt
    g_t^2 = 2 signal noise d(noise / signal)/dt  =  d(noise^2)/dt - 2 f_t noise^2

The base class computes both by autograd; the named schedules override them with closed
forms (and the tests check that the two agree). Times are floats in ``[0, t_max]``;
``t_min`` is the smallest time that samplers and losses use (the score is singular where
``noise = 0``).

* :class:`VPSchedule` — Song et al.'s variance-preserving SDE, ``beta(t) = beta_min + t
  (beta_max - beta_min)``.
* :class:`VESchedule` — variance exploding, ``signal = 1``, ``noise = sigma_min
  (sigma_max/sigma_min)^t``.
* :class:`HeatSchedule` — ``signal = 1``, ``noise = t`` on ``(0, t_max]``: pure added
  noise (the heat equation).
* :class:`CustomSchedule` — any differentiable pair of functions; ``f`` and ``g^2`` by
  autograd.

Conversions run one way, continuous -> discrete: :meth:`NoiseSchedule.discretize` (a VP
schedule sampled at ``t = i/T``; :meth:`DiscreteSchedule.from_continuous` is the same,
duck-typed, and imports nothing from here) and :meth:`CustomSchedule.from_discrete`
(log-linear interpolation of a discrete chain); :func:`eps_to_score`,
:func:`score_to_eps`, :func:`eps_to_x0`, :func:`x0_to_eps` for the three
parametrisations of a model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .._validate import (
    check_callable,
    check_generator,
    check_positive,
    check_same_shape,
    check_tensor,
    randn_for,
)
from ._core import _expand, eps_from_x0, expand_time, x0_from_eps
from .schedules import DiscreteSchedule

__all__ = [
    "NoiseSchedule",
    "VPSchedule",
    "VESchedule",
    "HeatSchedule",
    "CustomSchedule",
    "eps_to_score",
    "score_to_eps",
    "cont_eps_to_x0",
    "cont_x0_to_eps",
    "expand_time",
    "discrete_from_continuous",
]

_TOL = 1e-9


class NoiseSchedule:
    """A continuous Gaussian perturbation ``x_t = signal(t) x0 + noise(t) eps``, ``t``
    in ``[0, t_max]``.

    Subclasses implement ``_signal(t)`` and ``_noise(t)`` on float64 tensors
    (differentiably, so that the autograd drift and diffusion work). Public methods
    take a float or a tensor of times and return a float64 tensor of the same shape;
    a time outside ``[0, t_max]`` raises ``ValueError``.
    """

    t_min: float = 1e-3
    t_max: float = 1.0

    # ------------------------------------------------------------------ to implement
    def _signal(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _noise(self, t: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # ------------------------------------------------------------------ checked public
    # API
    def _t(self, t, name: str = "t") -> torch.Tensor:
        if isinstance(t, bool):
            raise TypeError(f"{name} must be a number or a tensor, got bool")
        if isinstance(t, torch.Tensor) and not t.is_floating_point():
            raise TypeError(
                f"{name} must be a float time or tensor of times, got dtype {t.dtype} "
                f"(use {name}.double())"
            )
        try:
            tt = torch.as_tensor(t, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(
                f"{name} must be a number or a tensor of times, got {type(t).__name__}"
            ) from err
        if tt.device.type != "cpu":
            tt = tt.cpu()
        if not torch.all(torch.isfinite(tt)):
            raise ValueError(f"{name} must be finite")
        if tt.numel() and (
            float(tt.min()) < -_TOL or float(tt.max()) > self.t_max * (1 + _TOL)
        ):
            raise ValueError(
                f"{name} must lie in the schedule's range [0, {self.t_max:g}], got "
                f"[{float(tt.min()):.4g}, {float(tt.max()):.4g}]"
            )
        # the tolerance band admits round-off just outside [0, t_max]; evaluate at the
        # boundary
        return tt.clamp(0.0, self.t_max)

    def signal(self, t) -> torch.Tensor:
        """Su's :math:`\\bar\\alpha_t`, the coefficient of ``x0`` (float64, shape of
        ``t``)."""
        return self._signal(self._t(t))

    def noise(self, t) -> torch.Tensor:
        """Su's :math:`\\bar\\beta_t`, the standard deviation of the added noise
        (float64, shape of ``t``)."""
        return self._noise(self._t(t))

    def sigma_ve(self, t) -> torch.Tensor:
        """``noise / signal``: the noise level of the equivalent VE process ``x_t /
        signal(t)`` (ddim eq. ddim-ode)."""
        t = self._t(t)
        return self._noise(t) / self._signal(t)

    def log_snr(self, t) -> torch.Tensor:
        """``2 log(signal / noise)``; ``+inf`` where ``noise = 0``."""
        t = self._t(t)
        return 2 * (torch.log(self._signal(t)) - torch.log(self._noise(t)))

    def _grads(self, t: torch.Tensor):
        """signal, noise and their time derivatives at ``t`` (autograd; elementwise in
        t)."""

        def d(y, tt):
            if not y.requires_grad:
                return torch.zeros_like(tt)
            g = torch.autograd.grad(y.sum(), tt, retain_graph=True, allow_unused=True)[
                0
            ]
            return torch.zeros_like(tt) if g is None else g

        with torch.enable_grad():
            tt = t.detach().clone().requires_grad_(True)
            s, n = self._signal(tt), self._noise(tt)
            ds, dn = d(s, tt), d(n, tt)
        return s.detach(), n.detach(), ds.detach(), dn.detach()

    def drift_coef(self, t) -> torch.Tensor:
        """``f_t = d log signal / dt`` (sde chapter, eq. sde-fg); autograd unless a
        subclass has a closed form."""
        t = self._t(t)
        s, _, ds, _ = self._grads(t)
        return ds / s

    def diffusion_sq(self, t) -> torch.Tensor:
        """``g_t^2 = 2 signal noise d(noise/signal)/dt = 2 noise (d noise/dt - f_t
        noise)`` (eq. sde-fg)."""
        t = self._t(t)
        s, n, ds, dn = self._grads(t)
        return 2 * n * (dn - n * ds / s)

    def perturb(
        self,
        x0: torch.Tensor,
        t,
        eps: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``x_t = signal(t) x0 + noise(t) eps``; x0 (B, *S), t a float or (B,).
        Returns ``(x_t, eps)``."""
        check_tensor(x0, "x0", min_ndim=1, finite=True)
        check_generator(generator)
        if eps is None:
            eps = randn_for(x0, generator)
        else:
            check_tensor(eps, "eps")
            check_same_shape(x0, eps, "x0", "eps")
        a, b = (
            _expand(self.signal(t), x0, "t", "x0"),
            _expand(self.noise(t), x0, "t", "x0"),
        )
        return a * x0 + b * eps, eps

    def prior_std(self) -> float:
        """The standard deviation of the Gaussian that samplers start from,
        ``noise(t_max)``.

        (It ignores ``signal(t_max) x0``, which is small for VP with the usual
        parameters and zero-mean data.)
        """
        return float(self.noise(self.t_max))

    def discretize(self, T: int = 1000) -> DiscreteSchedule:
        """The DDPM chain ``signal[i] = self.signal(i t_max / T)``, ``i = 1..T`` (sde
        chapter); needs a VP schedule.

        The score_sde ``SDE.discretize`` direction: the continuous side knows the
        discrete one, never the reverse.
        """
        return DiscreteSchedule.from_continuous(self, T)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(t in [{self.t_min:g}, {self.t_max:g}])"


class VPSchedule(NoiseSchedule):
    """Song et al.'s VP SDE: ``f = -beta(t)/2``, ``g^2 = beta(t)``, ``beta(t) = beta_min
    + t (beta_max - beta_min)``.

    ``signal = exp(-t^2 (beta_max - beta_min)/4 - t beta_min/2)``, ``noise = sqrt(1 -
    signal^2)`` (sde chapter, the VP case of eq. sde-fg).
    """

    def __init__(
        self,
        beta_min: float = 0.1,
        beta_max: float = 20.0,
        t_min: float = 1e-3,
        t_max: float = 1.0,
    ):
        self.beta_min = check_positive(beta_min, "beta_min", allow_zero=True)
        self.beta_max = check_positive(beta_max, "beta_max")
        if self.beta_max < self.beta_min:
            raise ValueError(
                f"beta_max must be >= beta_min, got {beta_max} < {beta_min}"
            )
        self.t_max = check_positive(t_max, "t_max")
        self.t_min = check_positive(t_min, "t_min")
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")

    @classmethod
    def su_quadratic(cls, t_min: float = 1e-3) -> VPSchedule:
        """``beta_min = 0, beta_max = 20``: ``signal = exp(-5 t^2)``, the DDIM post's
        schedule (ddim eq. ddim-su-approx)."""
        return cls(0.0, 20.0, t_min=t_min)

    def _log_signal(self, t):
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def _signal(self, t):
        return torch.exp(self._log_signal(t))

    def _noise(self, t):
        return torch.sqrt(-torch.expm1(2 * self._log_signal(t)))

    def beta(self, t) -> torch.Tensor:
        """``beta(t) = beta_min + t (beta_max - beta_min)``."""
        return self.beta_min + self._t(t) * (self.beta_max - self.beta_min)

    def drift_coef(self, t) -> torch.Tensor:
        return -0.5 * self.beta(t)

    def diffusion_sq(self, t) -> torch.Tensor:
        return self.beta(t)

    def __repr__(self) -> str:
        return (
            f"VPSchedule(beta_min={self.beta_min:g}, beta_max={self.beta_max:g}, "
            f"t in [{self.t_min:g}, {self.t_max:g}])"
        )


class VESchedule(NoiseSchedule):
    """Variance exploding: ``signal = 1``, ``noise = sigma_min (sigma_max /
    sigma_min)^t``; ``f = 0``, ``g^2 = d noise^2/dt``.

    ``noise(0) = sigma_min > 0``, so the score is finite on the whole range and
    ``t_min`` defaults to 0.
    """

    def __init__(
        self, sigma_min: float = 0.01, sigma_max: float = 50.0, t_min: float = 0.0
    ):
        self.sigma_min = check_positive(sigma_min, "sigma_min")
        self.sigma_max = check_positive(sigma_max, "sigma_max")
        if self.sigma_max <= self.sigma_min:
            raise ValueError(
                f"sigma_max must be > sigma_min, got {sigma_max} <= {sigma_min}"
            )
        self.t_min, self.t_max = check_positive(t_min, "t_min", allow_zero=True), 1.0
        if self.t_min >= 1:
            raise ValueError(f"t_min must be < 1, got {t_min}")
        self._log_ratio = math.log(self.sigma_max / self.sigma_min)

    def _signal(self, t):
        return torch.ones_like(t) + 0 * t

    def _noise(self, t):
        return self.sigma_min * torch.exp(t * self._log_ratio)

    def drift_coef(self, t) -> torch.Tensor:
        return torch.zeros_like(self._t(t))

    def diffusion_sq(self, t) -> torch.Tensor:
        return 2 * self._log_ratio * self.noise(t) ** 2

    def __repr__(self) -> str:
        return f"VESchedule(sigma_min={self.sigma_min:g}, sigma_max={self.sigma_max:g})"


class HeatSchedule(NoiseSchedule):
    """Pure added noise: ``signal = 1``, ``noise = t`` for ``t`` in ``[0, t_max]``; ``f
    = 0``, ``g^2 = 2 t``.

    The marginal density solves the heat equation ``d_t p = t lap p`` (ode-direct
    chapter). ``noise(0) = 0``: the score is singular at ``t = 0``, so samplers stop
    at ``t_min``.
    """

    def __init__(self, t_max: float = 50.0, t_min: float = 1e-3):
        self.t_max = check_positive(t_max, "t_max")
        self.t_min = check_positive(t_min, "t_min")
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")

    def _signal(self, t):
        return torch.ones_like(t) + 0 * t

    def _noise(self, t):
        return t.clone()

    def drift_coef(self, t) -> torch.Tensor:
        return torch.zeros_like(self._t(t))

    def diffusion_sq(self, t) -> torch.Tensor:
        return 2 * self._t(t)

    def __repr__(self) -> str:
        return f"HeatSchedule(t in [{self.t_min:g}, {self.t_max:g}])"


class CustomSchedule(NoiseSchedule):
    """Any differentiable ``signal(t)``, ``noise(t)`` (float64 tensor -> tensor); ``f``
    and ``g^2`` by autograd.

    Example: ``CustomSchedule(lambda t: torch.cos(t * pi / 2), lambda t: torch.sin(t *
    pi / 2), t_min=1e-3)`` (a cosine VP schedule). ``signal`` must be > 0 and
    ``noise`` >= 0 on ``[0, t_max]`` (checked on a grid).
    """

    def __init__(
        self,
        signal: Callable[[torch.Tensor], torch.Tensor],
        noise: Callable[[torch.Tensor], torch.Tensor],
        *,
        t_min: float = 1e-3,
        t_max: float = 1.0,
        name: str = "custom",
    ):
        check_callable(signal, "signal")
        check_callable(noise, "noise")
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        self._sig_fn, self._noi_fn, self.name = signal, noise, name
        self.t_max = check_positive(t_max, "t_max")
        self.t_min = check_positive(t_min, "t_min", allow_zero=True)
        if self.t_min >= self.t_max:
            raise ValueError(f"t_min must be < t_max, got {t_min} >= {t_max}")
        grid = torch.linspace(0, self.t_max, 101, dtype=torch.float64)
        s, n = self._signal(grid), self._noise(grid)
        for out, nm in ((s, "signal"), (n, "noise")):
            if not isinstance(out, torch.Tensor) or out.shape != grid.shape:
                raise ValueError(f"{nm}(t) must return a tensor shaped like t")
        if not (torch.all(torch.isfinite(s)) and torch.all(s > 0)):
            raise ValueError("signal(t) must be finite and > 0 on [0, t_max]")
        if not (torch.all(torch.isfinite(n)) and torch.all(n >= 0)):
            raise ValueError("noise(t) must be finite and >= 0 on [0, t_max]")

    def _signal(self, t):
        return self._sig_fn(t)

    def _noise(self, t):
        return self._noi_fn(t)

    @classmethod
    def from_discrete(cls, sched: DiscreteSchedule) -> CustomSchedule:
        """A VP schedule through the points ``(i/T, signal[i])`` of a discrete chain,
        log-linear in between.

        ``noise = sqrt(1 - signal^2)``; ``t_min = 1/T`` (the first noisy index). Its
        ``f_t`` is piecewise constant.
        """
        if not isinstance(sched, DiscreteSchedule):
            raise TypeError(
                f"sched must be a DiscreteSchedule, got {type(sched).__name__}"
            )
        if sched.T < 2:
            raise ValueError(
                "sched must have T >= 2 for a continuous interpolation (t_min = 1/T < "
                "1), "
                f"got T = {sched.T}"
            )
        logs, T = torch.log(sched.signal), sched.T

        def log_signal(t):
            u = t * T
            k = torch.clamp(torch.floor(u.detach()), 0, T - 1).long()
            w = u - k.to(t.dtype)
            return (1 - w) * logs[k] + w * logs[k + 1]

        return cls(
            lambda t: torch.exp(log_signal(t)),
            lambda t: torch.sqrt(-torch.expm1(2 * log_signal(t))),
            t_min=1.0 / T,
            t_max=1.0,
            name=f"from_discrete(T={T})",
        )

    def __repr__(self) -> str:
        return f"CustomSchedule({self.name}, t in [{self.t_min:g}, {self.t_max:g}])"


def discrete_from_continuous(sched: NoiseSchedule, T: int) -> DiscreteSchedule:
    """The DDPM chain with ``signal[i] = sched.signal(i T' / T)`` (``T' = t_max``);
    needs a VP schedule.

    Models trained on the continuous schedule with time ``t`` are called with ``t =
    i/T`` by the discrete samplers, so use ``t_max = 1``. Same as
    ``sched.discretize(T)``.
    """
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")
    return sched.discretize(T)


# ----------------------------------------------------------------------
# parametrisations of a model
def _check_sched(sched):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")


def _noise_nonzero(
    sched: NoiseSchedule, t, like: torch.Tensor, what: str
) -> torch.Tensor:
    n = sched.noise(t)
    if torch.any(n <= 0):
        raise ValueError(
            f"{what} is singular where noise(t) = 0 (t = 0 for this schedule); "
            f"use t >= sched.t_min = {sched.t_min:g}"
        )
    return _expand(n, like, "t", "x")


def eps_to_score(eps: torch.Tensor, t, sched: NoiseSchedule) -> torch.Tensor:
    """``score = -eps / noise(t)`` (sde chapter, eq. sde-eps-score). eps (B, *S); t a
    float or (B,)."""
    _check_sched(sched)
    check_tensor(eps, "eps", min_ndim=1)
    return -eps / _noise_nonzero(sched, t, eps, "the score")


def score_to_eps(score: torch.Tensor, t, sched: NoiseSchedule) -> torch.Tensor:
    """``eps = -noise(t) score`` (the inverse of :func:`eps_to_score`)."""
    _check_sched(sched)
    check_tensor(score, "score", min_ndim=1)
    return -_expand(sched.noise(t), score, "t", "score") * score


def cont_eps_to_x0(
    x: torch.Tensor, eps: torch.Tensor, t, sched: NoiseSchedule
) -> torch.Tensor:
    """Tweedie's data estimate ``(x - noise(t) eps) / signal(t)``; x, eps (B, *S)."""
    _check_sched(sched)
    check_tensor(x, "x", min_ndim=1)
    check_tensor(eps, "eps")
    check_same_shape(x, eps, "x", "eps")
    return x0_from_eps(x, eps, sched.signal(t), sched.noise(t))


def cont_x0_to_eps(
    x: torch.Tensor, x0: torch.Tensor, t, sched: NoiseSchedule
) -> torch.Tensor:
    """The noise implied by a data estimate, ``(x - signal(t) x0) / noise(t)``; singular
    where noise = 0."""
    _check_sched(sched)
    check_tensor(x, "x", min_ndim=1)
    check_tensor(x0, "x0")
    check_same_shape(x, x0, "x", "x0")
    _noise_nonzero(sched, t, x, "x0_to_eps")
    return eps_from_x0(x, x0, sched.signal(t), sched.noise(t))
