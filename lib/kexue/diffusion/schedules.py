"""Discrete noise schedules of a DDPM-style chain (book: DDIM chapter, eq.
{eq}`ddim-marginal`).

A :class:`DiscreteSchedule` stores, for indices ``i = 0..T``,

* ``signal[i]`` = Su's :math:`\\bar\\alpha_i` (the coefficient of :math:`x_0` in
  :math:`x_i`), with ``signal[0] = 1``;
* ``noise[i]``  = Su's :math:`\\bar\\beta_i = \\sqrt{1-\\bar\\alpha_i^2}`, with
  ``noise[0] = 0``;
* ``alphas_cumprod`` = ``signal[1:] ** 2``, the quantity DDPM's paper and diffusers call
  :math:`\\bar\\alpha` (so Su's :math:`\\bar\\alpha_t` is its square root).

Index convention: diffusers' timestep ``k`` (0-based) is our ``i = k + 1``; models
always receive the float time ``t = i / T``. Everything is kept in float64.
"""

from __future__ import annotations

import math
import numbers

import torch

from .._validate import as_tensor, check_int, check_positive, check_real

__all__ = ["DiscreteSchedule", "SPACINGS"]

SPACINGS = ("uniform", "leading", "quadratic")


class DiscreteSchedule:
    """A chain of Gaussian perturbations ``x_i = signal[i] x_0 + noise[i] eps`` for ``i
    = 0..T``.

    Parameters
    ----------
    alphas_cumprod : (T,) array-like
        DDPM's :math:`\\bar\\alpha_1..\\bar\\alpha_T` (diffusers' ``alphas_cumprod``):
        each in (0, 1] and non-increasing. Use the constructors :meth:`linear`,
        :meth:`cosine`, :meth:`su_linear`, :meth:`from_betas` for the usual
        schedules.
    """

    def __init__(self, alphas_cumprod):
        if isinstance(alphas_cumprod, torch.Tensor) and not (
            alphas_cumprod.is_floating_point()
        ):
            raise TypeError(
                f"alphas_cumprod must be a float tensor or a sequence of floats, got "
                f"{alphas_cumprod.dtype}"
            )
        ac = as_tensor(alphas_cumprod, "alphas_cumprod")
        if ac.ndim != 1 or ac.numel() < 1:
            raise ValueError(
                "alphas_cumprod must be a non-empty 1-D sequence, got shape "
                f"{tuple(ac.shape)}"
            )
        if not torch.all(torch.isfinite(ac)) or not torch.all((ac > 0) & (ac <= 1)):
            bad = ac[~((ac > 0) & (ac <= 1))]
            raise ValueError(
                f"alphas_cumprod must lie in (0, 1]; found {bad[:3].tolist()}"
            )
        if torch.any(ac[1:] > ac[:-1]):
            raise ValueError(
                "alphas_cumprod must be non-increasing (more noise at later steps)"
            )
        if ac[-1] >= 1:
            raise ValueError(
                "alphas_cumprod must reach a value < 1 at T (some noise at the last "
                f"step), got alphas_cumprod[-1] = {float(ac[-1])}: a chain with no "
                "noise has nothing to sample from"
            )
        self.T: int = ac.numel()
        # a private copy: mutating the caller's tensor must not change this schedule
        self.alphas_cumprod: torch.Tensor = ac.clone()
        one = torch.ones(1, dtype=torch.float64)
        self.signal: torch.Tensor = torch.cat(
            [one, ac.sqrt()]
        )  # (T+1,) Su's \bar\alpha
        self.noise: torch.Tensor = torch.cat(
            [0 * one, (1 - ac).sqrt()]
        )  # (T+1,) Su's \bar\beta

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_betas(cls, betas) -> DiscreteSchedule:
        """From DDPM's per-step variances ``betas`` (T,), each in [0, 1):
        ``alphas_cumprod = cumprod(1 - betas)``."""
        if isinstance(betas, torch.Tensor) and not betas.is_floating_point():
            raise TypeError(f"betas must be a float tensor, got {betas.dtype}")
        b = as_tensor(betas, "betas")
        if b.ndim != 1 or b.numel() < 1:
            raise ValueError(
                f"betas must be a non-empty 1-D sequence, got shape {tuple(b.shape)}"
            )
        if not torch.all((b >= 0) & (b < 1)):
            raise ValueError("betas must lie in [0, 1)")
        if not torch.any(b > 0):
            raise ValueError("betas must not all be 0 (a chain with no noise)")
        return cls(torch.cumprod(1 - b, dim=0))

    @classmethod
    def linear(
        cls, T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02
    ) -> DiscreteSchedule:
        """DDPM's linear betas (Ho et al. 2020; diffusers
        ``beta_schedule="linear"``)."""
        T = check_int(T, "T", min_value=1)
        check_positive(beta_start, "beta_start")
        check_positive(beta_end, "beta_end")
        if not beta_start <= beta_end < 1:
            raise ValueError(
                f"beta_end must satisfy beta_start <= beta_end < 1, got beta_start="
                f"{beta_start}, beta_end={beta_end}"
            )
        return cls.from_betas(
            torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
        )

    @classmethod
    def su_linear(cls, T: int = 1000) -> DiscreteSchedule:
        """Betas ``0.02 i / T``: the schedule the DDIM post analyses (eq.
        ddim-su-approx).

        ``signal[i] ≈ exp(-5 (i/T)^2)`` holds only for ``T = 1000``: in general
        ``log signal[T] ≈ -0.005 (T + 1)`` (``su_linear(100).signal[-1] ≈ 0.60``). The
        betas ``20 i / T^2`` keep the shape ``exp(-5 (i/T)^2)`` for every ``T``, up to
        an error of order ``1/T`` (max gap 0.02 at ``T = 100``, 0.002 at ``T = 1000``).
        """
        T = check_int(T, "T", min_value=1)
        return cls.from_betas(0.02 * torch.arange(1, T + 1, dtype=torch.float64) / T)

    @classmethod
    def cosine(
        cls, T: int = 1000, s: float = 0.008, max_beta: float = 0.999
    ) -> DiscreteSchedule:
        """Nichol & Dhariwal's cosine schedule (diffusers ``"squaredcos_cap_v2"``),
        betas capped at ``max_beta``."""
        T = check_int(T, "T", min_value=1)
        check_positive(s, "s")
        max_beta = check_real(max_beta, "max_beta")
        if not 0 < max_beta < 1:
            raise ValueError(f"max_beta must be in (0, 1), got {max_beta}")
        f = lambda u: math.cos((u + s) / (1 + s) * math.pi / 2) ** 2  # noqa: E731
        betas = [min(1 - f((i + 1) / T) / f(i / T), max_beta) for i in range(T)]
        return cls.from_betas(betas)

    @classmethod
    def from_continuous(cls, sched, T: int = 1000) -> DiscreteSchedule:
        """The chain ``signal[i] = sched.signal(i t_max / T)``, ``i = 1..T``, of a
        continuous VP schedule (sde chapter).

        ``sched`` is any object with ``signal(t)``, ``noise(t)`` (float64 tensors of
        times -> tensors) and a float ``t_max``, e.g. a
        :class:`~kexue.diffusion.NoiseSchedule` (whose ``discretize(T)`` calls
        this). Duck-typed, so this module never imports the continuous one.
        """
        T = check_int(T, "T", min_value=1)
        if not (
            callable(getattr(sched, "signal", None))
            and callable(getattr(sched, "noise", None))
            and isinstance(getattr(sched, "t_max", None), numbers.Real)
        ):
            raise TypeError(
                "sched must be a continuous schedule (a NoiseSchedule: signal(t), "
                "noise(t), "
                f"t_max), got {type(sched).__name__}"
            )
        t = torch.arange(1, T + 1, dtype=torch.float64) * float(sched.t_max) / T
        s, n = sched.signal(t), sched.noise(t)
        if not torch.allclose(s**2 + n**2, torch.ones_like(s), atol=1e-9, rtol=0):
            raise ValueError(
                "a DiscreteSchedule is variance preserving (signal^2 + noise^2 = 1); "
                f"sched={sched!r} is not: use a VPSchedule or a VP CustomSchedule"
            )
        return cls(s**2)

    # ------------------------------------------------------------------ per-index
    # quantities
    def _index(self, i, name: str = "i") -> int:
        return check_int(i, name, min_value=0, max_value=self.T)

    def t_of(self, i) -> float:
        """The float time ``i / T`` that models receive."""
        return self._index(i) / self.T

    def step_alpha(self, i: int, j: int) -> torch.Tensor:
        """Su's one-step ratio for a (possibly skipped) step ``i -> j``: ``signal[i] /
        signal[j]``."""
        return self.signal[self._index(i)] / self.signal[self._index(j, "j")]

    @property
    def beta(self) -> torch.Tensor:
        """Su's one-step noise ``beta_i = sqrt(1 - (signal[i] / signal[i-1])^2)`` for
        ``i = 1..T``, a (T,) float64 tensor (ddim chapter, eq. ddim-ddpm;
        ``beta_i^2`` are DDPM's betas)."""
        return torch.sqrt(1 - (self.signal[1:] / self.signal[:-1]) ** 2)

    def ddim_sigma(self, i: int, j: int, eta: float = 1.0) -> torch.Tensor:
        """The DDIM noise level for a step ``i -> j < i`` (ddim chapter, eq.
        ddim-sigma-skip).

        ``eta * noise[j] / noise[i] * sqrt(1 - signal[i]^2 / signal[j]^2)``; ``eta = 1``
        is DDPM's posterior standard deviation, ``eta = 0`` the deterministic
        DDIM.
        """
        i, j = self._index(i), self._index(j, "j")
        if not j < i:
            raise ValueError(f"need j < i for a reverse step, got i={i}, j={j}")
        eta = check_positive(eta, "eta", allow_zero=True)
        if self.noise[i] == 0:
            return torch.zeros((), dtype=torch.float64)
        ratio2 = (self.signal[i] / self.signal[j]) ** 2
        return (
            eta
            * self.noise[j]
            / self.noise[i]
            * torch.sqrt(torch.clamp(1 - ratio2, min=0.0))
        )

    def posterior_var(self, i: int) -> torch.Tensor:
        """DDPM's posterior variance of ``x_{i-1}`` given ``x_i, x_0`` (diffusers
        ``fixed_small``), ``i >= 1``."""
        i = check_int(i, "i", min_value=1, max_value=self.T)
        return self.ddim_sigma(i, i - 1, 1.0) ** 2

    # ------------------------------------------------------------------ time grids
    def timesteps(self, steps: int, spacing: str = "uniform") -> list[int]:
        """A strictly decreasing index sequence for sampling with ``steps`` network
        calls, ending at 0.

        ``spacing``:
          * ``"uniform"`` — ``round(T k / steps)`` for ``k = steps..1``: starts at ``T``
            (pure noise); diffusers calls this ``"trailing"``.
          * ``"leading"`` — diffusers' default ``k T//steps + 1``: never visits ``T``
            (see Lin et al. 2023).
          * ``"quadratic"`` — ``ceil(T (k/steps)^2)`` (DDIM paper): denser near the
            data; repeated indices are dropped, so fewer than ``steps``
            calls may remain for large ``steps``.
        Returns ``[tau_S, ..., tau_1, 0]`` (length ``steps + 1`` except as noted).
        """
        steps = check_int(steps, "steps", min_value=1, max_value=self.T)
        if spacing == "uniform":
            taus = [round(self.T * k / steps) for k in range(steps, 0, -1)]
        elif spacing == "leading":
            taus = [k * (self.T // steps) + 1 for k in range(steps - 1, -1, -1)]
        elif spacing == "quadratic":
            taus = sorted(
                {math.ceil(self.T * (k / steps) ** 2) for k in range(1, steps + 1)},
                reverse=True,
            )
        else:
            raise ValueError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
        return taus + [0]

    def validate_timesteps(self, timesteps) -> list[int]:
        """Check a user-given index sequence: ints, strictly decreasing, within [0, T],
        ending at 0."""
        if isinstance(timesteps, torch.Tensor):
            timesteps = timesteps.tolist()
        try:
            ts = list(timesteps)
        except TypeError as err:
            raise TypeError(
                f"timesteps must be a sequence of ints, got {type(timesteps).__name__}"
            ) from err
        if len(ts) < 2:
            raise ValueError(
                f"timesteps needs at least two entries (start and 0), got {ts}"
            )
        ts = [check_int(t, "timesteps[k]") for t in ts]
        if any(not 0 <= t <= self.T for t in ts):
            raise ValueError(f"timesteps must lie in [0, {self.T}], got {ts}")
        if any(b >= a for a, b in zip(ts, ts[1:], strict=False)):
            raise ValueError(f"timesteps must be strictly decreasing, got {ts}")
        if ts[-1] != 0:
            raise ValueError(
                f"timesteps must end at 0 (the data), got last entry {ts[-1]}"
            )
        return ts

    def __repr__(self) -> str:
        return (
            f"DiscreteSchedule(T={self.T}, signal[T]={self.signal[-1].item():.3g}, "
            f"noise[1]={self.noise[1].item():.3g})"
        )
