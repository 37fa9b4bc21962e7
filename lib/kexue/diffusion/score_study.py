"""Studies of the score-matching estimators on Gaussian mixtures (score-matching
chapter).

``ratio_bias_study`` measures the bias of the plug-in ratio estimate of the score (eq.
score-matching-ratio) with and without the source of ``x_t`` in the reference batch;
``plugin_bias_field`` does the same on a grid of points (the chapter's demo), and
``plugin_bias_size`` averages its length over a set of equivalent points;
``plugin_bias_theory`` gives that bias in closed form where it has one: exactly for one
reference point and to first order in 1/n (the delta method) for large batches;
``quadrature_objectives`` evaluates the SM and CSM objectives of a 1-D model on a 1-D
mixture by Gauss-Hermite quadrature (eq. score-matching-gap).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._validate import (
    check_bool,
    check_callable,
    check_finite,
    check_generator,
    check_int,
    check_positive,
    check_tensor,
)
from .continuous import NoiseSchedule
from .losses import ratio_score_estimate

__all__ = [
    "ratio_bias_study",
    "plugin_bias_field",
    "plugin_bias_size",
    "plugin_bias_theory",
    "quadrature_objectives",
]


def _check_mixture(mixture, name="mixture"):
    if not all(hasattr(mixture, m) for m in ("sample", "score_t", "posterior_sample")):
        raise TypeError(f"{name} must be a kexue.data.GaussianMixture")


def _check_sched(sched):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")


def plugin_bias_field(
    mixture,
    points: torch.Tensor,
    t: float,
    sched: NoiseSchedule,
    n: int,
    *,
    with_source: bool = False,
    reps: int = 200,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean error of the plug-in score estimate at each of ``points`` (G, D) and its
    standard error.

    For every point, ``reps`` reference batches of ``n`` data points are drawn; with
    ``with_source`` the first member is replaced by an exact draw from ``p(x0 | x_t)``
    (the point's own source, as in a training batch). Returns ``(bias, se)``, both (G,
    D): the average estimate minus the exact score, and the Monte-Carlo standard error
    of that average.
    """
    _check_mixture(mixture)
    _check_sched(sched)
    check_finite(check_tensor(points, "points", ndim=2), "points")
    t = check_positive(t, "t")
    n, reps = check_int(n, "n", min_value=1), check_int(reps, "reps", min_value=2)
    with_source = check_bool(with_source, "with_source")
    check_generator(generator)
    G, D = points.shape
    xr = points.double().repeat_interleave(reps, 0)  # (G*reps, D)
    ref = mixture.sample(len(xr) * n, generator=generator).reshape(len(xr), n, D)
    if with_source:
        ref[:, 0] = mixture.posterior_sample(xr, t, sched, generator=generator)
    est = ratio_score_estimate(xr, t, ref, sched).reshape(G, reps, D)
    bias = est.mean(1) - mixture.score_t(points.double(), t, sched)
    return bias, est.std(1) / reps**0.5


def plugin_bias_size(
    mixture,
    points: torch.Tensor,
    t: float,
    sched: NoiseSchedule,
    n: int,
    *,
    reps: int = 200,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Mean over ``points`` (G, D) of the bias length of the plug-in score with ``n``
    independent references, in noise units (times ``noise(t)``), and its standard error.

    The points are treated as independent measurements of one quantity (e.g. the
    symmetric images of one point under the symmetries of the data): the standard
    error is the root-mean-square of the per-point standard errors over ``sqrt(G)``
    (score-matching chapter, the demo's default frame).
    """
    bias, se = plugin_bias_field(
        mixture, points, t, sched, n, reps=reps, generator=generator
    )
    b = float(sched.noise(t))
    size = b * bias.norm(dim=1)
    err = b * se.norm(dim=1).pow(2).mean().sqrt() / len(points) ** 0.5
    return float(size.mean()), float(err)


def plugin_bias_theory(
    mixture, x: torch.Tensor, t: float, sched: NoiseSchedule
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closed forms of the bias of the plug-in score with ``n`` independent references
    (score-matching chapter, eq. score-matching-ratio), at points ``x`` (G, D).

    With ``w = p_t(x | x0)``, ``c = grad log p_t(x | x0) = -(x - a x0) / b^2`` and
    ``s`` the exact score, returns ``(bias_1, coef)``, both (G, D) float64:

    * ``bias_1``: the exact bias for ``n = 1``, ``E c - s = -(x - a E x0) / b^2 - s``
      (the estimate is the kernel score towards the scaled data mean);
    * ``coef``: the delta-method constant, ``E s_hat_n - s = coef / n + O(1/n^2)``
      with ``coef = -E[w^2 (c - s)] / (E w)^2``, expectations over ``x0 ~ p0``.

    For a Gaussian mixture both expectations are Gaussian integrals: ``w^2`` is
    ``(4 pi b^2)^(-D/2)`` times the kernel ``N(x; a x0, b^2/2 I)``, so
    ``E[w^2 g(x0)] = (4 pi b^2)^(-D/2) sum_k pi_k N(x; a mu_k, a^2 C_k + b^2/2 I)
    g(m_k)`` for affine ``g``, with ``m_k`` the posterior mean of ``x0`` in component
    k under that kernel.
    """
    _check_mixture(mixture)
    _check_sched(sched)
    check_finite(check_tensor(x, "x", ndim=2), "x")
    t = check_positive(t, "t")
    if x.shape[1] != mixture.D:
        raise ValueError(f"x must have shape (G, {mixture.D}), got {tuple(x.shape)}")
    x = x.double()
    a, b = float(sched.signal(t)), float(sched.noise(t))
    mu, C, D = mixture.means, mixture.covs, mixture.D
    score = mixture.score_t(x, t, sched)
    bias_1 = -(x - a * (mixture.weights @ mu)) / b**2 - score
    eye = torch.eye(D, dtype=torch.float64)
    log_pt = mixture.marginal(t, sched).log_prob(x)  # (G,) log E w
    S = a * a * C + 0.5 * b * b * eye  # (K, D, D): covariance of the w^2 kernel
    log_z = torch.distributions.MultivariateNormal(a * mu, S).log_prob(x[:, None])
    gain = a * C @ torch.linalg.inv(S)  # (K, D, D)
    m = mu + torch.einsum("kij,gkj->gki", gain, x[:, None] - a * mu)  # (G, K, D)
    g = -(x[:, None] - a * m) / b**2 - score[:, None]  # c - s at m_k, (G, K, D)
    r = torch.exp(torch.log(mixture.weights) + log_z - 2 * log_pt[:, None])  # (G, K)
    coef = -((4 * math.pi * b * b) ** (-D / 2)) * (r[..., None] * g).sum(1)
    return bias_1, coef


def ratio_bias_study(
    mixture,
    x: torch.Tensor,
    t: float,
    sched: NoiseSchedule,
    ns,
    *,
    reps: int = 4000,
    generator: torch.Generator | None = None,
) -> dict:
    """``{(variant, n): (|bias|, |s.e.|)}`` at one point ``x`` (1, D) for each batch
    size in ``ns``.

    ``variant`` is ``"independent"`` (n independent data points) or ``"with source"``
    (one of them replaced by the source of x_t); |.| is the Euclidean norm of the bias
    vector and of the vector of standard errors.
    """
    check_finite(check_tensor(x, "x", ndim=2), "x")
    if x.shape[0] != 1:
        raise ValueError(f"x must have shape (1, D), got {tuple(x.shape)}")
    if isinstance(ns, (str, bytes)) or not hasattr(ns, "__iter__"):
        raise TypeError(f"ns must be a list of batch sizes, got {type(ns).__name__}")
    ns = [check_int(n, "ns", min_value=1) for n in ns]
    if not ns:
        raise ValueError("ns must be a non-empty list of batch sizes")
    out = {}
    for n in ns:
        for name, src in (("independent", False), ("with source", True)):
            bias, se = plugin_bias_field(
                mixture,
                x,
                t,
                sched,
                n,
                with_source=src,
                reps=reps,
                generator=generator,
            )
            out[name, n] = (float(bias.norm()), float(se.norm()))
    return out


def quadrature_objectives(
    mixture, model, t: float, sched: NoiseSchedule, *, n_nodes: int = 120
) -> tuple[float, float, float]:
    """``(L_SM, L_CSM, E|score|^2)`` of a 1-D ``model`` on a 1-D ``mixture`` at time
    ``t``.

    Eqs. score-matching-sm and score-matching-csm with ``x0 = mu_k + sigma_k z`` per
    component and ``x_t = a x0 + b eps``: a tensor-product Gauss-Hermite rule with
    ``n_nodes`` nodes in ``z`` and in ``eps`` (float64). ``model`` maps (N, 1) to (N,
    1); the conditional score is ``-eps / b``.
    """
    _check_mixture(mixture)
    _check_sched(sched)
    check_callable(model, "model")
    t = check_positive(t, "t")
    n_nodes = check_int(n_nodes, "n_nodes", min_value=2)
    if mixture.means.shape[1] != 1:
        raise ValueError("mixture must be one-dimensional (means of shape (K, 1))")
    a, b = float(sched.signal(t)), float(sched.noise(t))
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)  # weight exp(-u^2/2)
    nodes, weights = torch.tensor(nodes), torch.tensor(weights / weights.sum())
    Z, E = torch.meshgrid(nodes, nodes, indexing="ij")
    W = weights[:, None] * weights[None, :]
    L_sm = L_csm = msq = 0.0
    for w_k, mu_k, var_k in zip(
        mixture.weights, mixture.means[:, 0], mixture.covs[:, 0, 0], strict=True
    ):
        xt = (a * (mu_k + var_k.sqrt() * Z) + b * E).reshape(-1, 1)
        score = mixture.score_t(xt, t, sched).reshape(Z.shape)
        pred = model(xt).reshape(Z.shape)
        L_sm += w_k * (W * (score - pred) ** 2).sum()
        L_csm += w_k * (W * (-E / b - pred) ** 2).sum()
        msq += w_k * (W * score**2).sum()
    return float(L_sm), float(L_csm), float(msq)
