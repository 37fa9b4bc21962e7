"""Perturb-and-max: the discrete distribution ``p_i = P[argmax(mu + eps) = i]``.

Chapter: *softmax/reparam-discrete* (post 9085, 从重参数的角度看离散概率分布的构建).
Add i.i.d. noise ``eps_i`` with CDF ``F`` to the logits ``mu``, take the argmax, and
call the probability that entry ``i`` wins ``p_i``. Conditioning on ``eps_i`` and
substituting ``t = F(eps_i)`` gives the one-dimensional integral (eq. ``rd-cond``)

    p_i = int_0^1 prod_{j != i} F(mu_i - mu_j + F^{-1}(t)) dt ,

which is exactly ``softmax(mu)`` for Gumbel noise. This module evaluates it by a fixed
quadrature in ``t`` (the post's rule, the midpoint rule or Gauss-Legendre), gives an
error estimate for it, an adaptive ``scipy.integrate.quad`` reference in ``eps``
(eq. ``rd-cond``), a Monte-Carlo sampler of the argmax and relaxed (Gumbel-softmax
style) samples, and the closed form of the min-Gumbel case (our addition).

Conventions. ``mu`` is a floating tensor ``(..., n)``; the categories lie along ``dim``
(default the last). The products are taken in log space (a sum of ``log F``), so large
logit gaps (``1e4``) give exact zeros and ones for the light-tailed and bounded noises,
never NaN, and gradients in ``mu`` stay finite. Cauchy noise is the exception: a loser
trailing by a gap ``G`` keeps a probability of order ``1/(pi G)``, concentrated in a
spike of width ``~1/G`` at ``t = 1`` that a fixed rule of a few hundred nodes does not
resolve (use :func:`perturb_max_probs_quad` there). Float16/bfloat16 input is computed
in float32 and cast back. Noise scales: ``scale * eps`` with ``eps`` the standard
member of the family (scipy's ``loc=0, scale=1``), which is the same as dividing ``mu``
by ``scale`` (a temperature).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable

import numpy as np
import torch
from scipy import integrate, optimize, special, stats

from .._validate import (
    check_bool,
    check_choice,
    check_generator,
    check_int,
    check_positive,
    check_real,
    check_tensor,
)

__all__ = [
    "NOISES",
    "RULES",
    "noise_dist",
    "noise_log_cdf",
    "noise_cdf",
    "noise_ppf_nodes",
    "quantile_integrand",
    "perturb_max_probs",
    "perturb_max_error",
    "post_rule_error",
    "perturb_max_probs_quad",
    "perturb_max_sample",
    "sample_noise",
    "perturb_softmax",
    "softmax_gap",
    "best_softmax_scale",
    "gumbel_min_probs",
]

# The noise families (standard members, as scipy.stats defines them). "gumbel" is the
# max-type Gumbel (scipy's gumbel_r, F = exp(-e^-x)); "gumbel_min" its mirror image
# (gumbel_l, F = 1 - exp(-e^x)); "uniform" is U[0, 1].
NOISES = ("gumbel", "gumbel_min", "normal", "logistic", "laplace", "cauchy", "uniform")
# Quadrature rules on t in (0, 1): the post's equal weights at k/(K+1), the midpoint
# rule at (k - 1/2)/K, and Gauss-Legendre mapped to (0, 1).
RULES = ("post", "midpoint", "gauss-legendre")

_SCIPY = {
    "gumbel": stats.gumbel_r,
    "gumbel_min": stats.gumbel_l,
    "normal": stats.norm,
    "logistic": stats.logistic,
    "laplace": stats.laplace,
    "cauchy": stats.cauchy,
    "uniform": stats.uniform,
}
_LOG2 = math.log(2.0)
_LOGPI = math.log(math.pi)


# ------------------------------------------------------------------ the noise CDFs
# Each log-CDF is finite-gradient everywhere: arguments are clamped where F is already
# 0 or 1 to working precision, so exp() never overflows inside a branch that
# torch.where discards (a discarded inf still turns the gradient into NaN).
def _log_cdf_gumbel(x):  # log F = -e^{-x}; below x = -50, F = exp(-5e21) = 0
    return -torch.exp(-x.clamp(min=-50.0))


def _log_cdf_gumbel_min(x):  # log(1 - exp(-e^x)) ~ x for x < -30 (rel. error 1e-13)
    inner = torch.log(-torch.expm1(-torch.exp(x.clamp(-30.0, 50.0))))
    return torch.where(x < -30.0, x, inner)


def _log_cdf_normal(x):  # below x = -40, F < e^-800: 0 in any float (clamped there
    # because log_ndtr's float32 gradient is NaN far out, e.g. at x = -1e5)
    return torch.special.log_ndtr(x.clamp(min=-40.0))


def _log_cdf_logistic(x):
    return torch.nn.functional.logsigmoid(x)


def _log_cdf_laplace(x):  # x - log 2 below 0, log(1 - e^{-x}/2) above
    return torch.where(
        x < 0, x - _LOG2, torch.log1p(-0.5 * torch.exp(-x.clamp(min=0.0)))
    )


def _log_cdf_cauchy(x):  # F = 1/2 + atan(x)/pi = atan2(1, -x)/pi = 1 - atan2(1, x)/pi
    one = torch.ones_like(x)
    left = torch.log(torch.atan2(one, -x)) - _LOGPI  # accurate as x -> -inf
    right = torch.log1p(-torch.atan2(one, x) / math.pi)  # accurate as x -> +inf
    return torch.where(x > 0, right, left)


def _log_cdf_uniform(x):  # F = clip(x, 0, 1): log F = -inf at and below 0
    tiny = torch.finfo(x.dtype).tiny
    inside = torch.log(x.clamp(min=tiny, max=1.0))
    return torch.where(x <= 0, torch.full_like(x, -math.inf), inside)


_LOG_CDF = {
    "gumbel": _log_cdf_gumbel,
    "gumbel_min": _log_cdf_gumbel_min,
    "normal": _log_cdf_normal,
    "logistic": _log_cdf_logistic,
    "laplace": _log_cdf_laplace,
    "cauchy": _log_cdf_cauchy,
    "uniform": _log_cdf_uniform,
}


def _noise(noise) -> str:
    return check_choice(noise, "noise", NOISES)


def noise_dist(noise: str):
    """The scipy.stats distribution of the standard ``noise`` (for ppf, cdf, pdf).

    ``gumbel`` is ``scipy.stats.gumbel_r`` (max-type), ``gumbel_min`` is ``gumbel_l``.
    reparam-discrete eq. (rd-cond).
    """
    return _SCIPY[_noise(noise)]


def noise_log_cdf(noise: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Torch ``x -> log F(x)`` of the standard ``noise``, elementwise, any shape.

    Stable at large ``|x|`` and with finite gradients everywhere (``uniform`` gives
    ``-inf`` at ``x <= 0``, where ``F = 0``, with zero gradient).
    reparam-discrete eq. (rd-cond).
    """
    return _LOG_CDF[_noise(noise)]


def noise_cdf(noise: str) -> Callable[[torch.Tensor], torch.Tensor]:
    """Torch ``x -> F(x)`` of the standard ``noise`` (``exp`` of :func:`noise_log_cdf`).

    reparam-discrete eq. (rd-cond).
    """
    log_cdf = noise_log_cdf(noise)
    return lambda x: torch.exp(log_cdf(x))


# -------------------------------------------------------------------- quadrature
@functools.lru_cache(maxsize=64)
def _nodes(noise: str, rule: str, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    k = np.arange(1, n_nodes + 1, dtype=np.float64)
    if rule == "post":
        t, w = k / (n_nodes + 1), np.full(n_nodes, 1.0 / n_nodes)
    elif rule == "midpoint":
        t, w = (k - 0.5) / n_nodes, np.full(n_nodes, 1.0 / n_nodes)
    else:  # Gauss-Legendre on (-1, 1) (Golub-Welsch + Newton), mapped to (0, 1)
        x, w = special.roots_legendre(n_nodes)
        t, w = (x + 1.0) / 2.0, w / 2.0
    e = np.asarray(_SCIPY[noise].ppf(t), dtype=np.float64)
    e.setflags(write=False)
    w.setflags(write=False)
    return e, w


def noise_ppf_nodes(
    noise: str, n_nodes: int, rule: str = "gauss-legendre"
) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes ``e_k = F^{-1}(t_k)`` and weights ``w_k``, each of shape (K,).

    ``t_k, w_k`` are the rule's nodes and weights on (0, 1): ``'post'`` (the post's
    ``t_k = k/(K+1)``, ``w_k = 1/K``), ``'midpoint'`` (``t_k = (k - 1/2)/K``) or
    ``'gauss-legendre'`` (``scipy.special.roots_legendre``, the nodes of
    ``numpy.polynomial.legendre.leggauss``, mapped to (0, 1)); the quantiles come from
    ``scipy.stats.<dist>.ppf`` in float64. Cached; the arrays are read-only.
    reparam-discrete eqs. (rd-cond), (rd-post-rule).
    """
    noise = _noise(noise)
    n_nodes = check_int(n_nodes, "n_nodes", min_value=1)
    rule = check_choice(rule, "rule", RULES)
    return _nodes(noise, rule, n_nodes)


def _check_mu(mu, dim) -> tuple[torch.Tensor, int]:
    check_tensor(mu, "mu", min_ndim=1, finite=True, nonempty=True)
    if mu.is_complex():
        raise TypeError(f"mu must be real, got {mu.dtype}")
    dim = check_int(dim, "dim", min_value=-mu.ndim, max_value=mu.ndim - 1)
    return mu, dim


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


_CHUNK = 1 << 22  # elements of the (..., n, n, K) block evaluated at once


def _log_integrand(x: torch.Tensor, noise: str, e_t: torch.Tensor) -> torch.Tensor:
    """log g_i(t_k) = sum_{j != i} log F(x_i - x_j + e_k): shape (..., n, k)."""
    n = x.shape[-1]
    d = x[..., :, None] - x[..., None, :]  # (..., n, n): d_ij = x_i - x_j
    diag = torch.eye(n, dtype=torch.bool, device=x.device)[..., None]  # (n, n, 1)
    log_f = _LOG_CDF[noise](d[..., None] + e_t)  # (..., n, n, k)
    return log_f.masked_fill(diag, 0.0).sum(-2)  # the j = i factor is left out


def _probs(x: torch.Tensor, noise: str, e: np.ndarray, w: np.ndarray) -> torch.Tensor:
    """sum_k w_k exp(sum_{j != i} log F(x_i - x_j + e_k)), x of shape (..., n)."""
    e_t = torch.tensor(e, dtype=x.dtype, device=x.device)
    w_t = torch.tensor(w, dtype=x.dtype, device=x.device)
    step = max(1, _CHUNK // max(1, x.shape[-1] * x.numel()))
    out = torch.zeros_like(x)
    for a in range(0, len(e), step):
        g = torch.exp(_log_integrand(x, noise, e_t[a : a + step]))
        out = out + (g * w_t[a : a + step]).sum(-1)
    return out


def quantile_integrand(
    mu: torch.Tensor, noise: str, t, scale: float = 1.0
) -> torch.Tensor:
    """The integrand ``g_i(t) = prod_{j != i} F((mu_i - mu_j)/scale + F^{-1}(t))``.

    reparam-discrete eq. (rd-cond): ``p_i = int_0^1 g_i(t) dt``, and
    :func:`perturb_max_probs` is ``sum_k w_k g_i(t_k)`` at its rule's nodes. ``mu``
    is ``(..., n)`` with the categories along the last dim; ``t`` holds ``m`` points
    of ``[0, 1]`` (1-D array-like or tensor). Returns ``(..., n, m)`` in ``mu``'s
    dtype (float16/bfloat16 computed in float32), differentiable in ``mu``. The
    quantiles ``F^{-1}(t)`` come from ``scipy.stats`` in float64, ``-inf``/``inf`` at
    ``t = 0``/``1`` for unbounded noise, which the log-CDFs take exactly. The end
    values set the first-order error of the post's rule (eq. rd-post-first): for noise
    unbounded on both sides ``g_i(0) = 0`` and ``g_i(1) = 1``; bounded noise (uniform)
    can give others, e.g. ``g_i`` constant 0 or 1 when every other logit trails the
    largest by at least 1.
    """
    mu, _ = _check_mu(mu, -1)
    noise = _noise(noise)
    t = _as_vector(t, "t")
    if bool(((t < 0) | (t > 1)).any()):
        raise ValueError("t must lie in [0, 1]")
    scale = check_positive(scale, "scale")
    x = mu.to(_work_dtype(mu.dtype)) / scale
    e_t = torch.tensor(_SCIPY[noise].ppf(t), dtype=x.dtype, device=x.device)
    return torch.exp(_log_integrand(x, noise, e_t)).to(mu.dtype)


def perturb_max_probs(
    mu: torch.Tensor,
    noise: str = "gumbel",
    n_nodes: int = 256,
    rule: str = "gauss-legendre",
    scale: float = 1.0,
    dim: int = -1,
    renormalize: bool = False,
) -> torch.Tensor:
    """``p_i = P[argmax(mu + scale * eps) = i]`` by quadrature in ``t = F(eps_i)``.

    Shape ``(..., n) -> (..., n)`` (categories along ``dim``), differentiable in ``mu``
    (all noises; for ``uniform`` the gradient is zero where ``p`` is locally constant).
    Equals ``softmax(mu / scale)`` for ``'gumbel'`` up to the quadrature error (see
    :func:`perturb_max_error`). ``rule='post'`` is the post's equal-weight rule, whose
    error is ``(p_i - (g_i(0) + g_i(1))/2)/K`` to first order (eq. rd-post-first,
    ``g_i`` the :func:`quantile_integrand`): ``(p_i - 1/2)/K`` for noise unbounded on
    both sides, where it loses ``(n - 2)/(2K)`` of mass, but not for bounded noise
    (uniform noise makes it exact when every other logit trails the largest by at
    least 1). ``renormalize`` divides by the sum (a patch for that rule). Memory:
    blocks of ``n^2`` by some nodes, ``4M`` elements at a time. Cauchy noise at logit
    gaps far beyond ``scale`` needs many more nodes (see the module docstring).
    reparam-discrete eqs. (rd-cond), (rd-post-rule).
    """
    mu, dim = _check_mu(mu, dim)
    scale = check_positive(scale, "scale")
    renormalize = check_bool(renormalize, "renormalize")
    e, w = noise_ppf_nodes(noise, n_nodes, rule)
    x = mu.movedim(dim, -1).to(_work_dtype(mu.dtype)) / scale
    p = _probs(x, noise, e, w)
    if renormalize:
        p = p / p.sum(-1, keepdim=True)
    return p.to(mu.dtype).movedim(-1, dim)


def perturb_max_error(
    mu: torch.Tensor,
    noise: str = "gumbel",
    n_nodes: int = 256,
    rule: str = "gauss-legendre",
    scale: float = 1.0,
    dim: int = -1,
) -> torch.Tensor:
    """A posteriori error bound of :func:`perturb_max_probs` with ``n_nodes``, (..., n).

    ``2 |Q_K - Q_2K| + 100 eps`` (``eps`` the working dtype's machine epsilon): if the
    error falls like ``C K^-r`` with ``r >= 1``, then ``|Q_K - p| <= |Q_K - Q_2K| /
    (1 - 2^-r) <= 2 |Q_K - Q_2K|`` once ``K`` is in the asymptotic range; the chapter's
    convergence study checks that range and the rates. No softmax enters the bound.
    Outside that range it can fail: for Cauchy noise at a logit gap of ``1e4`` (a
    spike of width ``~1e-4`` at ``t = 1``) the 256-node error exceeds the bound.
    reparam-discrete eq. (rd-error).
    """
    n_nodes = check_int(n_nodes, "n_nodes", min_value=1)
    kw = dict(noise=noise, rule=rule, scale=scale, dim=dim)
    q1 = perturb_max_probs(mu, n_nodes=n_nodes, **kw)
    q2 = perturb_max_probs(mu, n_nodes=2 * n_nodes, **kw)
    floor = 100 * torch.finfo(_work_dtype(mu.dtype)).eps
    return 2 * (q1 - q2).abs() + floor


def post_rule_error(p: torch.Tensor, n_nodes: int) -> torch.Tensor:
    """Predicted error ``Q_K - p`` of the post's rule for Gumbel noise, same shape as p.

    For Gumbel noise the quantile integrand is ``t^a`` with ``a = 1/p - 1``; the
    Euler-Maclaurin expansion of ``sum_k k^a`` (with its ``zeta(-a)`` term) gives, with
    ``h = 1/(K+1)``,
    ``K (Q_K - p) = (p - 1/2) + zeta(-a) h^a + a h/12 - a(a-1)(a-2) h^3/720 + R``,
    where the next Bernoulli term is ``R = a(a-1)(a-2)(a-3)(a-4) h^5/30240``. Returns
    ``Q_K - p`` without ``R`` (exact for integer ``a <= 4``). Only the first term
    carries over to other noises, and only to those unbounded on both sides: in general
    the first-order error is ``(p - (g(0) + g(1))/2)/K`` (eq. rd-post-first, ``g`` the
    :func:`quantile_integrand`), which is ``(p - 1/2)/K`` when ``g(0) = 0`` and
    ``g(1) = 1``; for uniform noise it can vanish. ``p`` must lie in (0, 1].
    reparam-discrete eq. (rd-post-error).
    """
    check_tensor(p, "p", finite=True, nonempty=True)
    if bool(((p <= 0) | (p > 1)).any()):
        raise ValueError("p must lie in (0, 1]")
    n_nodes = check_int(n_nodes, "n_nodes", min_value=1)
    a = (1.0 / p - 1.0).double()
    h = 1.0 / (n_nodes + 1)
    zeta = torch.as_tensor(special.zeta(-a.cpu().numpy()), dtype=torch.float64)
    zeta = torch.where(a == 0, torch.full_like(a, -0.5), zeta.to(a.device))
    out = (p.double() - 0.5) + zeta * h**a + a * h / 12.0
    out = out - a * (a - 1) * (a - 2) * h**3 / 720.0
    return (out / n_nodes).to(p.dtype)


def perturb_max_probs_quad(mu, noise: str = "gumbel", scale: float = 1.0) -> np.ndarray:
    """Reference ``p`` by ``scipy.integrate.quad`` over ``eps_i`` (not over ``t``).

    ``p_i = int f(e) prod_{j != i} F((mu_i - mu_j)/scale + e) de`` with scipy's
    ``logpdf``/``logcdf`` (eq. rd-cond): independent of the torch CDFs and of the
    quantile nodes. ``mu`` is 1-D (n,), array-like; returns ``np.ndarray`` (n,).
    Tolerances ``epsabs=1e-13, epsrel=1e-11``, breakpoints at the kinks (uniform) and at
    the mode. Slow (one adaptive integral per entry): a test and chapter oracle.
    reparam-discrete eq. (rd-cond).
    """
    noise = _noise(noise)
    scale = check_positive(scale, "scale")
    x = _as_vector(mu, "mu") / scale
    dist = _SCIPY[noise]
    lo, hi = dist.ppf(1e-17), dist.isf(1e-17)  # beyond: mass < 1e-17 per side
    if noise == "cauchy":  # tails too heavy to cut: integrate in t = F(e) instead
        lo, hi = -math.inf, math.inf
    out = np.empty(len(x))
    for i in range(len(x)):
        d = np.delete(x[i] - x, i)

        def f(e, d=d):
            return math.exp(dist.logpdf(e) + float(np.sum(dist.logcdf(d + e))))

        if noise == "uniform":
            kinks = np.concatenate([-d, 1.0 - d])
            pts = sorted({float(k) for k in kinks if 0.0 < k < 1.0})
            out[i] = integrate.quad(
                f, 0.0, 1.0, points=pts or None, epsabs=1e-13, epsrel=1e-11, limit=400
            )[0]
        elif noise == "cauchy":
            out[i] = integrate.quad(f, lo, hi, epsabs=1e-13, epsrel=1e-11, limit=400)[0]
        else:
            mode = float(dist.ppf(0.5))
            pts = sorted({mode, *[float(v) for v in -d if lo < v < hi]})
            out[i] = integrate.quad(
                f, lo, hi, points=pts, epsabs=1e-13, epsrel=1e-11, limit=400
            )[0]
    return out


def _as_vector(mu, name: str) -> np.ndarray:
    if isinstance(mu, torch.Tensor):
        check_tensor(mu, name, ndim=1, finite=True, nonempty=True)
        return mu.detach().cpu().double().numpy()
    if mu is None or isinstance(mu, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be a 1-D array of numbers, got {mu!r}")
    try:
        x = np.asarray(mu, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 1-D array of numbers") from err
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name} must be 1-D and non-empty, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} must be finite")
    return x


# ------------------------------------------------------------------- sampling
def _draw(noise: str, shape, dtype, device, generator) -> torch.Tensor:
    """Standard noise by torch's own samplers (not through scipy's ppf)."""
    kw = dict(dtype=dtype, device=device)
    if noise == "normal":
        return torch.randn(shape, generator=generator, **kw)
    if noise == "cauchy":
        return torch.empty(shape, **kw).cauchy_(generator=generator)
    if noise == "uniform":
        return torch.rand(shape, generator=generator, **kw)
    exp1 = torch.empty(shape, **kw).exponential_(generator=generator)
    if noise == "gumbel":  # -log E, E ~ Exp(1)
        return -torch.log(exp1)
    if noise == "gumbel_min":
        return torch.log(exp1)
    if noise == "laplace":  # difference of two Exp(1)
        return exp1 - torch.empty(shape, **kw).exponential_(generator=generator)
    u = torch.rand(shape, generator=generator, **kw).clamp_min(torch.finfo(dtype).tiny)
    return torch.log(u) - torch.log1p(-u)  # logistic: logit(U)


def sample_noise(
    noise: str,
    shape: tuple[int, ...],
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """i.i.d. draws of the standard ``noise``, a tensor of ``shape``.

    torch's own samplers: ``randn`` (normal), ``cauchy_``, ``rand`` (uniform),
    ``-log E`` / ``log E`` with ``E ~ Exp(1)`` (Gumbel max / min), ``E1 - E2``
    (Laplace), ``logit(U)`` (logistic). reparam-discrete eq. (rd-def).
    """
    noise = _noise(noise)
    if not (
        isinstance(shape, tuple)
        and all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in shape
        )
    ):
        raise TypeError(f"shape must be a tuple of ints >= 0, got {shape!r}")
    generator = check_generator(generator)
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    return _draw(noise, shape, dtype, "cpu", generator)


def perturb_max_sample(
    mu: torch.Tensor,
    noise: str = "gumbel",
    n_samples: int = 1000,
    scale: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Monte-Carlo draws of ``argmax(mu + scale * eps)`` over the last dim.

    ``mu (..., n) -> LongTensor (n_samples, ...)``. The noise comes from torch's own
    samplers (``randn``, ``exponential_``, ``cauchy_``, ``rand``), an independent
    path from the quantiles that :func:`perturb_max_probs` integrates over.
    reparam-discrete eq. (rd-def).
    """
    mu, _ = _check_mu(mu, -1)
    noise = _noise(noise)
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    scale = check_positive(scale, "scale")
    generator = check_generator(generator)
    dtype = _work_dtype(mu.dtype)
    out = []
    step = max(1, _CHUNK // mu.numel())
    for a in range(0, n_samples, step):
        shape = (min(step, n_samples - a), *mu.shape)
        eps = _draw(noise, shape, dtype, mu.device, generator)
        out.append((mu.detach().to(dtype) + scale * eps).argmax(-1))
    return torch.cat(out)


def perturb_softmax(
    mu: torch.Tensor,
    noise: str = "gumbel",
    tau: float = 1.0,
    hard: bool = False,
    scale: float = 1.0,
    generator: torch.Generator | None = None,
    dim: int = -1,
) -> torch.Tensor:
    """Relaxed sample ``softmax((mu + scale * eps) / tau)`` along ``dim``, same shape.

    With ``hard`` the forward value is the one-hot argmax and the gradient that of the
    soft sample (straight-through). For ``'gumbel'`` it has the law of
    ``torch.nn.functional.gumbel_softmax(mu, tau, hard)``; its argmax has the law of
    :func:`perturb_max_probs`. Beyond the post (the relaxation of eq. rd-def).
    """
    mu, dim = _check_mu(mu, dim)
    noise = _noise(noise)
    tau = check_positive(tau, "tau")
    hard = check_bool(hard, "hard")
    scale = check_positive(scale, "scale")
    generator = check_generator(generator)
    eps = _draw(noise, mu.shape, mu.dtype, mu.device, generator)
    y = torch.softmax((mu + scale * eps) / tau, dim=dim)
    if not hard:
        return y
    one_hot = torch.zeros_like(y).scatter_(dim, y.argmax(dim, keepdim=True), 1.0)
    return one_hot - y.detach() + y


# ------------------------------------------------------- comparison with softmax
def softmax_gap(
    mu: torch.Tensor, noise: str, scale: float = 1.0, n_nodes: int = 256
) -> float:
    """``max |perturb_max_probs(mu, noise, scale) - softmax(mu)|`` over all entries.

    ``mu (..., n)`` float64 recommended. reparam-discrete eq. (rd-gumbel).
    """
    p = perturb_max_probs(mu, noise, n_nodes=n_nodes, scale=scale)
    return float((p - torch.softmax(mu, -1)).abs().max())


def best_softmax_scale(
    mu: torch.Tensor,
    noise: str,
    n_nodes: int = 128,
    bounds: tuple[float, float] = (0.1, 10.0),
) -> tuple[float, float]:
    """``(scale, gap)``: the noise scale that brings perturb-max closest to softmax.

    Minimises :func:`softmax_gap` (the max over all rows and entries of ``mu``) over
    ``log(scale)`` in ``bounds`` with ``scipy.optimize.minimize_scalar`` (bounded
    Brent, ``xatol=1e-7``); ``gap`` is the gap left at that scale. For ``'gumbel'`` the
    optimum is ``scale = 1`` and the gap the quadrature error.
    reparam-discrete eq. (rd-gumbel).
    """
    noise = _noise(noise)
    if not (
        isinstance(bounds, tuple)
        and len(bounds) == 2
        and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)
    ):
        raise TypeError(f"bounds must be a pair (low, high) of numbers, got {bounds!r}")
    lo = check_real(bounds[0], "bounds[0]", low=0.0, low_open=True)
    hi = check_real(bounds[1], "bounds[1]", low=lo, low_open=True)
    mu, _ = _check_mu(mu, -1)
    n_nodes = check_int(n_nodes, "n_nodes", min_value=1)
    res = optimize.minimize_scalar(
        lambda s: softmax_gap(mu, noise, math.exp(s), n_nodes),
        bounds=(math.log(lo), math.log(hi)),
        method="bounded",
        options={"xatol": 1e-7},
    )
    return math.exp(res.x), float(res.fun)


def gumbel_min_probs(mu: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Closed form of perturb-max with min-Gumbel noise (our addition), same shape.

    With ``F(x) = 1 - exp(-e^x)`` and ``s = e^{eps_i}``, eq. (rd-cond) becomes
    ``int_0^inf e^-s prod_{j != i} (1 - exp(-c_j s)) ds``, ``c_j = e^{mu_i - mu_j}``,
    and expanding the product gives
    ``p_i = sum_{S subset of others} (-1)^|S| / (1 + sum_{j in S} c_j)``.
    ``2^(n-1)`` terms of alternating sign: ``n <= 12``, and an absolute round-off near
    ``2^(n-1) * 1e-16`` in float64. reparam-discrete eq. (rd-gumbel-min).
    """
    mu, dim = _check_mu(mu, dim)
    x = mu.movedim(dim, -1).to(_work_dtype(mu.dtype))
    n = x.shape[-1]
    if n > 12:
        raise ValueError(f"mu must have at most 12 categories along dim, got {n}")
    c = torch.exp(x[..., :, None] - x[..., None, :])  # (..., n, n): c_ij = e^{x_i-x_j}
    cols = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        p_i = torch.ones_like(x[..., 0])  # the empty subset
        for size in range(1, n):
            for subset in itertools.combinations(others, size):
                p_i = p_i + (-1) ** size / (1.0 + c[..., i, list(subset)].sum(-1))
        cols.append(p_i)
    return torch.stack(cols, -1).to(mu.dtype).movedim(-1, dim)
