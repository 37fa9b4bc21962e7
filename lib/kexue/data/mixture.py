"""Gaussian mixtures with exact densities, scores and noised versions: oracles for the diffusion chapters.

For data ``x_0 ~ sum_k w_k N(mu_k, C_k)`` and ``x_t = a x_0 + b eps`` the noised law is again a mixture,
``sum_k w_k N(a mu_k, a^2 C_k + b^2 I)``, so the optimal epsilon-model ``-b * score`` is known exactly.
All computations in float64.
"""

from __future__ import annotations

import math

import torch

from .._validate import as_tensor, check_int, check_positive, check_tensor

__all__ = ["GaussianMixture", "ring_mixture"]


class GaussianMixture:
    """``sum_k w_k N(means[k], covs[k])`` in D dimensions.

    means: (K, D); covs: (K, D, D) full, (K, D) diagonal, (K,) isotropic variances, or a scalar;
    weights: (K,) non-negative (normalised here), default uniform.
    """

    def __init__(self, means, covs, weights=None):
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
                f"covs must be a scalar, (K,), (K, D) or (K, D, D) with K={K}, D={D}; got {tuple(c.shape)}"
            )
        if not torch.allclose(c, c.transpose(-1, -2)):
            raise ValueError("covs must be symmetric")
        if torch.linalg.eigvalsh(c).min() < 0:
            raise ValueError("covs must be positive semi-definite")
        w = (
            torch.full((K,), 1.0 / K, dtype=torch.float64)
            if weights is None
            else as_tensor(weights, "weights")
        )
        if w.shape != (K,) or torch.any(w < 0) or w.sum() <= 0:
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
        check_tensor(x, "x", ndim=2)
        if x.shape[1] != self.D:
            raise ValueError(f"x must have shape (N, {self.D}), got {tuple(x.shape)}")
        x = x.double()
        prec = torch.linalg.inv(self.covs)  # (K, D, D)
        diff = x[:, None, :] - self.means[None]  # (N, K, D)
        maha = torch.einsum("nki,kij,nkj->nk", diff, prec, diff)
        logdet = torch.linalg.slogdet(self.covs).logabsdet  # (K,)
        logc = torch.log(self.weights) - 0.5 * (
            maha + logdet + self.D * math.log(2 * math.pi)
        )
        return logc, diff, prec

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """log density at x (N, D) -> (N,). Needs non-singular covariances."""
        logc, _, _ = self._components(x)
        return torch.logsumexp(logc, dim=1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log p(x), (N, D) -> (N, D)."""
        logc, diff, prec = self._components(x)
        r = torch.softmax(logc, dim=1)  # (N, K) responsibilities
        return -torch.einsum("nk,kij,nkj->ni", r, prec, diff)

    def noised(self, signal: float, noise: float) -> GaussianMixture:
        """The law of ``signal * x0 + noise * eps``: means scaled, covs ``signal^2 C + noise^2 I``."""
        a = check_positive(float(signal), "signal")
        b = check_positive(float(noise), "noise", allow_zero=True)
        eye = torch.eye(self.D, dtype=torch.float64)
        return GaussianMixture(
            a * self.means, a**2 * self.covs + b**2 * eye, self.weights
        )

    def eps_model(self, sched):
        """The exact epsilon-model ``eps(x, t) = -noise(t) * score_t(x)``.

        ``sched`` a :class:`~kexue.diffusion.DiscreteSchedule`: ``t`` (B,) equal times ``i/T``, ``i = round(t T) >= 1``.
        ``sched`` a :class:`~kexue.diffusion.NoiseSchedule`: ``t`` (B,) any times in the schedule's range with
        ``noise(t) > 0`` (see :meth:`eps_t`). Returns a callable ``model(x, t)``, x (B, D); output in x's dtype.
        """
        from ..diffusion.continuous import NoiseSchedule

        if isinstance(sched, NoiseSchedule):
            return lambda x, t: self.eps_t(x, t, sched)

        def model(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            check_tensor(t, "t", ndim=1)
            if not torch.all(t == t[0]):
                raise ValueError("the mixture oracle expects one time per batch")
            i = int(round(float(t[0]) * sched.T))
            if i < 1:
                raise ValueError(
                    "the exact eps-model is singular at t = 0 (noise level 0)"
                )
            a, b = float(sched.signal[i]), float(sched.noise[i])
            return (-b * self.noised(a, b).score(x)).to(x.dtype)

        return model

    # ------------------------------------------------------------------ continuous time (sde chapter)
    def _coefs_t(self, x: torch.Tensor, t, sched):
        from ..diffusion.continuous import NoiseSchedule

        if not isinstance(sched, NoiseSchedule):
            raise TypeError(
                f"sched must be a NoiseSchedule, got {type(sched).__name__}"
            )
        check_tensor(x, "x", ndim=2)
        if x.shape[1] != self.D:
            raise ValueError(f"x must have shape (N, {self.D}), got {tuple(x.shape)}")
        tt = sched._t(t.detach() if isinstance(t, torch.Tensor) else t)
        if tt.ndim == 0:
            tt = tt.expand(x.shape[0])
        if tt.shape != (x.shape[0],):
            raise ValueError(
                f"t must be a number or have shape ({x.shape[0]},), got {tuple(tt.shape)}"
            )
        a, b = sched.signal(tt), sched.noise(tt)
        return a, b

    def marginal(self, t: float, sched) -> GaussianMixture:
        """The law ``p_t`` of ``x_t = signal(t) x0 + noise(t) eps`` for one time t (a mixture again)."""
        from ..diffusion.continuous import NoiseSchedule

        if not isinstance(sched, NoiseSchedule):
            raise TypeError(
                f"sched must be a NoiseSchedule, got {type(sched).__name__}"
            )
        return self.noised(float(sched.signal(float(t))), float(sched.noise(float(t))))

    def score_t(self, x: torch.Tensor, t, sched) -> torch.Tensor:
        """``grad log p_t(x)`` under a continuous schedule (sde chapter). x (N, D); t a float or (N,) -> (N, D).

        Each row may have its own time. Raises ``ValueError`` where ``p_t`` is singular: ``noise(t) = 0`` and a
        singular data covariance (e.g. ``t = 0`` for point masses).
        """
        a, b = self._coefs_t(x, t, sched)
        if (
            torch.all(a == a[0]) and torch.all(b == b[0]) and b[0] > 0
        ):  # one time for the batch: fast path
            return self.noised(float(a[0]), float(b[0])).score(x).to(x.dtype)
        eye = torch.eye(self.D, dtype=torch.float64)
        covs = (
            a[:, None, None, None] ** 2 * self.covs[None]
            + b[:, None, None, None] ** 2 * eye
        )  # (N, K, D, D)
        if torch.any(b == 0) and torch.linalg.eigvalsh(self.covs).min() <= 0:
            raise ValueError(
                "the score is singular at noise(t) = 0 for data with a singular covariance; "
                f"use t >= sched.t_min = {sched.t_min:g}"
            )
        L = torch.linalg.cholesky(covs)
        diff = x.double()[:, None, :] - a[:, None, None] * self.means[None]  # (N, K, D)
        sol = torch.cholesky_solve(diff[..., None], L)[..., 0]  # C^{-1} diff
        maha = (diff * sol).sum(-1)
        logdet = 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        r = torch.softmax(
            torch.log(self.weights)[None] - 0.5 * (maha + logdet), dim=1
        )  # (N, K)
        return -(r[..., None] * sol).sum(1).to(x.dtype)

    def eps_t(self, x: torch.Tensor, t, sched) -> torch.Tensor:
        """The exact epsilon-model ``-noise(t) score_t(x)`` = ``E[eps | x_t = x]``; x (N, D), t float or (N,)."""
        a, b = self._coefs_t(x, t, sched)
        if torch.any(b <= 0):
            raise ValueError(
                f"eps_t needs noise(t) > 0; use t >= sched.t_min = {sched.t_min:g}"
            )
        return (-b[:, None] * self.score_t(x, t, sched).double()).to(x.dtype)

    def posterior_sample(
        self, x: torch.Tensor, t: float, sched, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Exact draws of ``x0 ~ p(x0 | x_t = x)`` at one time t (score-matching chapter); x (N, D) -> (N, D).

        The posterior is again a mixture: component k has weight ``r_k(x)`` (the responsibilities of ``p_t``) and
        the Gaussian conditional of ``x0`` given ``a x0 + b eps = x`` within component k.
        """
        a, b = self._coefs_t(x, float(t), sched)
        a, b = float(a[0]), float(b[0])
        if b <= 0:
            raise ValueError(
                f"posterior_sample needs noise(t) > 0; use t >= sched.t_min = {sched.t_min:g}"
            )
        xd = x.double()
        eye = torch.eye(self.D, dtype=torch.float64)
        S = a * a * self.covs + b * b * eye  # (K, D, D) cov of x_t per component
        gain = a * self.covs @ torch.linalg.inv(S)  # (K, D, D) C a S^{-1}
        post_cov = self.covs - a * gain @ self.covs  # (K, D, D)
        marg = self.noised(a, b)
        logc, _, _ = marg._components(xd)
        k = torch.multinomial(torch.softmax(logc, dim=1), 1, generator=generator)[
            :, 0
        ]  # (N,)
        mean = self.means[k] + torch.einsum(
            "nij,nj->ni", gain[k], xd - a * self.means[k]
        )
        z = torch.randn(x.shape, generator=generator, dtype=torch.float64)
        L = _psd_sqrt(0.5 * (post_cov + post_cov.transpose(-1, -2)))
        return (mean + torch.einsum("nij,nj->ni", L[k], z)).to(x.dtype)

    def score_fn(self, sched):
        """``score(x, t)`` as a callable (for :func:`kexue.diffusion.sm_loss` and the samplers' oracles)."""
        return lambda x, t: self.score_t(x, t, sched)

    def __repr__(self) -> str:
        return f"GaussianMixture(K={self.K}, D={self.D})"


def _psd_sqrt(c: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(c)
    return vecs @ torch.diag_embed(vals.clamp(min=0).sqrt())


def ring_mixture(k: int = 8, radius: float = 2.0, std: float = 0.15) -> GaussianMixture:
    """k equal isotropic Gaussians of standard deviation ``std`` on a circle of ``radius`` in 2-D."""
    k = check_int(k, "k", min_value=1)
    check_positive(radius, "radius", allow_zero=True)
    check_positive(std, "std")
    ang = torch.arange(k, dtype=torch.float64) * 2 * math.pi / k
    means = radius * torch.stack([ang.cos(), ang.sin()], dim=1)
    return GaussianMixture(means, torch.full((k,), std**2, dtype=torch.float64))
