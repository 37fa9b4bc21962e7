"""Gaussian mixtures with exact densities, scores and noised versions: oracles for the
diffusion chapters.

For data ``x_0 ~ sum_k w_k N(mu_k, C_k)`` and ``x_t = a x_0 + b eps`` the noised law is
again a mixture, ``sum_k w_k N(a mu_k, a^2 C_k + b^2 I)``, so the optimal epsilon-model
``-b * score`` is known exactly. All computations in float64, on the device of the input
``x``; results in ``x``'s dtype.

This module does not import :mod:`kexue.diffusion`: the schedule-aware oracles
(:meth:`GaussianMixture.eps_model`, :meth:`~GaussianMixture.score_t`, ...) only read the
noise levels of the ``sched`` they are given, a continuous schedule (``signal(t)``,
``noise(t)`` callables) or a discrete chain (``signal``, ``noise`` tensors indexed by
``i = round(t T)``), and everything reduces to :meth:`GaussianMixture.noised_score` on
the numbers ``(a, b)``.
"""

from __future__ import annotations

import math
import numbers

import torch

from .._validate import (
    as_tensor,
    check_finite,
    check_int,
    check_positive,
    check_tensor,
)

__all__ = ["GaussianMixture", "ring_mixture"]


class GaussianMixture:
    """``sum_k w_k N(means[k], covs[k])`` in D dimensions.

    means: (K, D); covs: (K, D, D) full, (K, D) diagonal, (K,) isotropic variances, or a
    scalar; weights: (K,) non-negative (normalised here), default uniform.
    """

    def __init__(self, means, covs, weights=None):
        for v, nm in ((means, "means"), (covs, "covs"), (weights, "weights")):
            if isinstance(v, torch.Tensor) and not v.is_floating_point():
                raise TypeError(f"{nm} must be a float tensor, got {v.dtype}")
        mu = as_tensor(means, "means")
        if mu.ndim != 2:
            raise ValueError(f"means must have shape (K, D), got {tuple(mu.shape)}")
        K, D = mu.shape
        c = as_tensor(covs, "covs")
        eye = torch.eye(D, dtype=torch.float64)
        if c.ndim == 0:
            c = c * eye.expand(K, D, D).clone()
        elif c.ndim == 1 and c.shape == (K,):
            c = c[:, None, None] * eye
        elif c.ndim == 2 and c.shape == (K, D):
            c = torch.diag_embed(c)
        elif c.shape != (K, D, D):
            raise ValueError(
                f"covs must be a scalar, (K,), (K, D) or (K, D, D) with K={K}, D={D}; "
                f"got {tuple(c.shape)}"
            )
        if not torch.all(torch.isfinite(mu)):
            raise ValueError("means must be finite (no NaN or inf)")
        if not torch.all(torch.isfinite(c)):
            raise ValueError("covs must be finite (no NaN or inf)")
        if not torch.allclose(c, c.transpose(-1, -2)):
            raise ValueError("covs must be symmetric")
        if torch.linalg.eigvalsh(c).min() < 0:
            raise ValueError("covs must be positive semi-definite")
        w = (
            torch.full((K,), 1.0 / K, dtype=torch.float64)
            if weights is None
            else as_tensor(weights, "weights")
        )
        if (
            w.shape != (K,)
            or not torch.all(torch.isfinite(w))
            or torch.any(w < 0)
            or w.sum() <= 0
        ):
            raise ValueError(
                f"weights must be (K,)={K} non-negative numbers with a positive sum"
            )
        self.means, self.covs, self.weights = mu, c, w / w.sum()
        self.K, self.D = K, D

    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n samples, (n, D) float64."""
        n = check_int(n, "n", min_value=1)
        k = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.D, generator=generator, dtype=torch.float64)
        L = _psd_sqrt(self.covs)  # (K, D, D), L L^T = C
        return self.means[k] + torch.einsum("nij,nj->ni", L[k], z)

    def _components(self, x: torch.Tensor):
        self._check_x(x)
        x = x.double()
        mu, covs, w = self._params(x)
        if torch.linalg.eigvalsh(self.covs).min() <= 0:
            raise ValueError(
                "the density of a mixture with singular covariances (e.g. point "
                "masses, "
                "covs=0) does not exist: use noised(signal, noise) with noise > 0 first"
            )
        prec = torch.linalg.inv(covs)  # (K, D, D)
        diff = x[:, None, :] - mu[None]  # (N, K, D)
        maha = torch.einsum("nki,kij,nkj->nk", diff, prec, diff)
        logdet = torch.linalg.slogdet(covs).logabsdet  # (K,)
        logc = torch.log(w) - 0.5 * (maha + logdet + self.D * math.log(2 * math.pi))
        return logc, diff, prec

    def _params(self, x: torch.Tensor):
        """``means, covs, weights`` in float64 on ``x``'s device."""
        dev = x.device
        return self.means.to(dev), self.covs.to(dev), self.weights.to(dev)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density at x (N, D) -> (N,) in x's dtype. Needs non-singular
        covariances."""
        logc, _, _ = self._components(x)
        return torch.logsumexp(logc, dim=1).to(x.dtype)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log p(x), (N, D) -> (N, D) in x's dtype."""
        logc, diff, prec = self._components(x)
        r = torch.softmax(logc, dim=1)  # (N, K) responsibilities
        return -torch.einsum("nk,kij,nkj->ni", r, prec, diff).to(x.dtype)

    def noised(self, signal: float, noise: float) -> GaussianMixture:
        """The law of ``signal * x0 + noise * eps``: means scaled, covs ``signal^2 C +
        noise^2 I``."""
        a = check_positive(signal, "signal")
        b = check_positive(noise, "noise", allow_zero=True)
        eye = torch.eye(self.D, dtype=torch.float64)
        return GaussianMixture(
            a * self.means, a**2 * self.covs + b**2 * eye, self.weights
        )

    def noised_score(self, x: torch.Tensor, a, b) -> torch.Tensor:
        """The score of the law of ``a x0 + b eps`` at x (N, D), each row with its own
        ``(a_n, b_n)``.

        ``a`` (signal, > 0) and ``b`` (noise, >= 0): numbers or (N,) tensors. The one
        place where the schedule-aware oracles compute: ``-b * noised_score(x,
        a, b)`` is the exact eps-model. Raises ``ValueError`` where the law is
        singular (``b = 0`` and a singular data covariance).
        """
        self._check_x(x)
        a, b = self._rows(a, x, "a"), self._rows(b, x, "b")
        if torch.any(a <= 0) or torch.any(b < 0):
            raise ValueError("need a > 0 (signal) and b >= 0 (noise)")
        if torch.all(a == a[0]) and torch.all(b == b[0]) and b[0] > 0:
            # one noise level for the batch: one small mixture
            return self.noised(float(a[0]), float(b[0])).score(x)
        mu, covs, w = self._params(x)
        if torch.any(b == 0) and torch.linalg.eigvalsh(self.covs).min() <= 0:
            raise ValueError(
                "the score is singular at noise = 0 for data with a singular "
                "covariance; "
                "use a time with noise(t) > 0 (t >= sched.t_min)"
            )
        eye = torch.eye(self.D, dtype=torch.float64, device=x.device)
        a, b = a.to(x.device), b.to(x.device)
        c = a[:, None, None, None] ** 2 * covs[None] + b[:, None, None, None] ** 2 * eye
        L = torch.linalg.cholesky(c)  # (N, K, D, D)
        diff = x.double()[:, None, :] - a[:, None, None] * mu[None]  # (N, K, D)
        sol = torch.cholesky_solve(diff[..., None], L)[..., 0]  # C^{-1} diff
        maha = (diff * sol).sum(-1)
        logdet = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        r = torch.softmax(torch.log(w)[None] - 0.5 * (maha + logdet), dim=1)  # (N, K)
        return -(r[..., None] * sol).sum(1).to(x.dtype)

    def _check_x(self, x):
        check_tensor(x, "x", ndim=2)
        if x.shape[1] != self.D:
            raise ValueError(f"x must have shape (N, {self.D}), got {tuple(x.shape)}")
        check_finite(x, "x")

    @staticmethod
    def _rows(v, x, name):
        if v is None or isinstance(v, str | bytes | bool):
            raise TypeError(
                f"{name} must be a number or a tensor, got {type(v).__name__}"
            )
        try:
            v = torch.as_tensor(v, dtype=torch.float64).cpu()  # checks on the CPU
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a number or a tensor of numbers") from err
        if v.ndim == 0:
            v = v.expand(x.shape[0])
        if v.shape != (x.shape[0],) or not torch.all(torch.isfinite(v)):
            raise ValueError(
                f"{name} must be a finite number or have shape ({x.shape[0]},), "
                f"got {tuple(v.shape)}"
            )
        return v

    def _levels(self, x: torch.Tensor, t, sched):
        """Per-row noise levels ``(a, b)`` (N,) float64 of ``sched`` at times ``t``
        (float or (N,))."""
        self._check_x(x)
        if isinstance(t, torch.Tensor):
            t = t.detach()
        if callable(getattr(sched, "signal", None)) and callable(
            getattr(sched, "noise", None)
        ):  # continuous: signal(t), noise(t) validate t themselves
            a, b = sched.signal(t), sched.noise(t)
        elif isinstance(getattr(sched, "signal", None), torch.Tensor) and isinstance(
            getattr(sched, "T", None), int
        ):  # a discrete chain: the model's time t = i / T
            tt = torch.as_tensor(t, dtype=torch.float64).cpu()
            if not torch.all(torch.isfinite(tt)):
                raise ValueError("t must be finite")
            i = torch.round(tt * sched.T).long()
            if torch.any(i < 1) or torch.any(i > sched.T):
                raise ValueError(
                    "t must be i/T with 1 <= i <= T for a discrete chain (the exact "
                    "eps-model is singular at t = 0)"
                )
            a, b = sched.signal[i], sched.noise[i]
        else:
            raise TypeError(
                "sched must be a NoiseSchedule or a DiscreteSchedule, got "
                f"{type(sched).__name__}"
            )
        return self._rows(a, x, "t"), self._rows(b, x, "t")

    def eps_model(self, sched):
        """The exact epsilon-model ``eps(x, t) = -noise(t) * score_t(x)`` = ``E[eps |
        x_t = x]``.

        ``sched`` a :class:`~kexue.diffusion.DiscreteSchedule`: ``t`` (B,) times
        ``i/T``, ``i = round(t T) >= 1`` (each row its own). ``sched`` a
        :class:`~kexue.diffusion.NoiseSchedule`: ``t`` (B,) any times in the
        schedule's range with ``noise(t) > 0`` (see :meth:`eps_t`). Returns a
        callable ``model(x, t)``, x (B, D); output in x's dtype.
        """
        self._levels(
            torch.zeros(1, self.D, dtype=torch.float64), _any_time(sched), sched
        )
        return lambda x, t: self.eps_t(x, t, sched)

    # ------------------------------------------------------------------ continuous time
    # (sde chapter)
    def marginal(self, t: float, sched) -> GaussianMixture:
        """The law ``p_t`` of ``x_t = signal(t) x0 + noise(t) eps`` for one time t (a
        mixture again)."""
        if isinstance(t, bool) or not isinstance(t, numbers.Real | torch.Tensor):
            raise TypeError(f"t must be a number, got {type(t).__name__}")
        a, b = self._levels(
            torch.zeros(1, self.D, dtype=torch.float64), float(t), sched
        )
        return self.noised(float(a[0]), float(b[0]))

    def score_t(self, x: torch.Tensor, t, sched) -> torch.Tensor:
        """``grad log p_t(x)`` under a schedule (sde chapter). x (N, D); t a float or
        (N,) -> (N, D).

        Each row may have its own time. Raises ``ValueError`` where ``p_t`` is singular:
        ``noise(t) = 0`` and a singular data covariance (e.g. ``t = 0`` for
        point masses).
        """
        a, b = self._levels(x, t, sched)
        return self.noised_score(x, a, b)

    def eps_t(self, x: torch.Tensor, t, sched) -> torch.Tensor:
        """The exact epsilon-model ``-noise(t) score_t(x)`` = ``E[eps | x_t = x]``; x
        (N, D), t float or (N,)."""
        a, b = self._levels(x, t, sched)
        if torch.any(b <= 0):
            raise ValueError(
                "eps_t needs noise(t) > 0; use t >= sched.t_min "
                f"= {getattr(sched, 't_min', 0):g}"
            )
        b_col = b.to(x.device)[:, None]
        return (-b_col * self.noised_score(x, a, b).double()).to(x.dtype)

    def posterior_sample(
        self, x: torch.Tensor, t: float, sched, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Exact draws of ``x0 ~ p(x0 | x_t = x)`` at one time t (score-matching
        chapter); x (N, D) -> (N, D).

        The posterior is again a mixture: component k has weight ``r_k(x)`` (the
        responsibilities of ``p_t``) and the Gaussian conditional of ``x0``
        given ``a x0 + b eps = x`` within component k.
        """
        if isinstance(t, bool) or not isinstance(t, numbers.Real | torch.Tensor):
            raise TypeError(f"t must be a number, got {type(t).__name__}")
        a, b = self._levels(x, float(t), sched)
        a, b = float(a[0]), float(b[0])
        if b <= 0:
            raise ValueError(
                "posterior_sample needs noise(t) > 0; use t >= sched.t_min "
                f"= {getattr(sched, 't_min', 0):g}"
            )
        # on the CPU in float64 (the generator's draws repeat on every machine), moved
        # to x at the end
        xd = x.detach().double().cpu()
        mu, covs = self.means, self.covs
        eye = torch.eye(self.D, dtype=torch.float64)
        S = a * a * covs + b * b * eye  # (K, D, D) cov of x_t per component
        gain = a * covs @ torch.linalg.inv(S)  # (K, D, D) C a S^{-1}
        post_cov = covs - a * gain @ covs  # (K, D, D)
        logc, _, _ = self.noised(a, b)._components(xd)
        r = torch.softmax(logc, dim=1)
        k = torch.multinomial(r, 1, generator=generator)[:, 0]  # (N,)
        mean = mu[k] + torch.einsum("nij,nj->ni", gain[k], xd - a * mu[k])
        z = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        L = _psd_sqrt(0.5 * (post_cov + post_cov.transpose(-1, -2)))
        out = mean + torch.einsum("nij,nj->ni", L[k], z)
        return out.to(dtype=x.dtype, device=x.device)

    def score_fn(self, sched):
        """``score(x, t)`` as a callable (for :func:`kexue.diffusion.sm_loss` and the
        samplers' oracles)."""
        self._levels(
            torch.zeros(1, self.D, dtype=torch.float64), _any_time(sched), sched
        )
        return lambda x, t: self.score_t(x, t, sched)

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.K}, D={self.D})"


def _any_time(sched) -> float:
    """A valid time of ``sched`` (to check a schedule when an oracle is built)."""
    if isinstance(getattr(sched, "T", None), int):
        return 1.0
    return float(getattr(sched, "t_max", 1.0))


def _psd_sqrt(c: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    return vecs @ torch.diag_embed(vals.clamp(min=0).sqrt())


def ring_mixture(k: int = 8, radius: float = 2.0, std: float = 0.15) -> GaussianMixture:
    """k equal isotropic Gaussians of standard deviation ``std`` on a circle of
    ``radius`` in 2-D."""
    k = check_int(k, "k", min_value=1)
    check_positive(radius, "radius", allow_zero=True)
    check_positive(std, "std")
    ang = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    means = radius * torch.stack([ang.cos(), ang.sin()], dim=1)
    return GaussianMixture(means, torch.full((k,), std**2, dtype=torch.float64))
