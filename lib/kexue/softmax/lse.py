"""logsumexp and the inequalities it satisfies (chapter *softmax/logsumexp*, post 9070).

Equation labels are those of the chapter: ``lse-max`` (``x_max < lse(x) <= x_max +
log n``), ``lse-temp`` (the same at temperature ``tau``), ``lse-mean`` (``lse(x) >=
mean(x) + log n``), ``lse-cs`` and ``lse-renyi`` (``lse(x) >= sum p x + H_t(p)``, the
Renyi entropy ``H_t``, ``t = 2`` and ``t > 1``), ``lse-gibbs`` (``t = 1``: ``KL(p ||
softmax x) >= 0``), ``lse-lip`` (1-Lipschitz in the max-norm) and ``lse-convex``.

Conventions, shared by every function here:

* torch in, torch out, reducing over ``dim`` (default ``-1``);
* an entry equal to ``-inf`` is *masked*: it counts neither in ``n`` nor in the mean,
  and carries no weight (``0 * (-inf)`` is taken as 0); NaN and ``+inf`` are rejected,
  and so is a row with every entry masked;
* the arithmetic runs in at least float32 (float16/bfloat16 input is upcast and the
  result cast back), so ``x / tau`` cannot overflow in half precision, and logits of
  size ``1e4`` are fine (``torch.logsumexp`` subtracts the maximum);
* ``0 log 0 = 0`` (``torch.xlogy``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from .._validate import (
    check_generator,
    check_int,
    check_positive,
    check_real,
    check_tensor,
)

__all__ = [
    "LSEBounds",
    "smooth_max",
    "lse_bounds",
    "renyi_entropy",
    "lse_weighted_lower_bound",
    "lipschitz_ratio",
    "path_derivatives",
    "convexity_gap",
    "Cases",
    "random_cases",
    "Sweep",
    "inequality_sweep",
]


# ------------------------------------------------------------------------- validation
def _work_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.promote_types(x.dtype, torch.float32)


def _dim(dim, x: torch.Tensor) -> int:
    d = check_int(dim, "dim", min_value=-x.ndim, max_value=x.ndim - 1)
    return d % x.ndim


def _logits(x, name: str, dim) -> tuple[torch.Tensor, int]:
    """``x`` upcast to the work dtype, and ``dim`` made non-negative; raises on NaN,
    ``+inf`` and rows that are masked everywhere."""
    check_tensor(x, name, min_ndim=1, nonempty=True)
    if x.is_complex():
        raise TypeError(f"{name} must be real, got {x.dtype}")
    d = _dim(dim, x)
    if x.device.type != "meta":
        if bool(torch.isnan(x).any()) or bool((x == math.inf).any()):
            raise ValueError(f"{name} must hold no NaN or +inf (-inf marks a mask)")
        if bool((x == -math.inf).all(d).any()):
            raise ValueError(
                f"{name} has a row with every entry masked (-inf) along dim {dim}"
            )
    return x.to(_work_dtype(x)), d


def _probs(p, name: str, dim) -> tuple[torch.Tensor, int]:
    """``p`` upcast, checked to be a probability vector along ``dim``."""
    check_tensor(p, name, min_ndim=1, nonempty=True, finite=True)
    if p.is_complex():
        raise TypeError(f"{name} must be real, got {p.dtype}")
    d = _dim(dim, p)
    w = p.to(_work_dtype(p))
    if bool((w < 0).any()):
        raise ValueError(f"{name} must be >= 0 everywhere")
    # a probability vector to the precision of its dtype (1e-6 at least), n terms
    tol = max(1e-6, p.shape[d] * torch.finfo(p.dtype).eps)
    err = float((w.sum(d) - 1).abs().max())
    if err > tol:
        raise ValueError(
            f"{name} must sum to 1 along dim {dim} (to {tol:.1e}), off by {err:.2e}"
        )
    return w, d


def _pair(x, y, dim) -> tuple[torch.Tensor, torch.Tensor, int]:
    x, d = _logits(x, "x", dim)
    y, _ = _logits(y, "y", dim)
    if x.shape != y.shape:
        raise ValueError(
            f"y must have the shape of x {tuple(x.shape)}, got {tuple(y.shape)}"
        )
    y = y.to(x.dtype)
    if bool(((x == -math.inf) != (y == -math.inf)).any()):
        raise ValueError("y must be masked (-inf) exactly where x is")
    return x, y, d


def _per_row(
    value,
    name: str,
    batch: torch.Tensor,
    d: int,
    *,
    low: float,
    high: float | None = None,
    allow_inf: bool = False,
) -> torch.Tensor:
    """A number, or a tensor broadcasting to the batch shape (``batch``'s shape without
    ``d``), in ``[low, high]`` (``+inf`` allowed with ``allow_inf``); returned as a
    tensor of ``batch``'s dtype with the axis ``d`` restored (size 1)."""
    shape = batch.shape[:d] + batch.shape[d + 1 :]
    if isinstance(value, torch.Tensor) and value.ndim > 0:
        check_tensor(value, name)
        v = value.to(batch.dtype)
        bad = torch.isnan(v) | (v < low)
        if high is not None:
            bad |= v > high
        elif not allow_inf:
            bad |= v == math.inf
        if bool(bad.any()):
            top = "inf" if allow_inf else (high if high is not None else "finite")
            raise ValueError(f"{name} must lie in [{low}, {top}] everywhere")
        try:
            v = torch.broadcast_to(v, shape)
        except RuntimeError:
            raise ValueError(
                f"{name} of shape {tuple(value.shape)} does not broadcast to the "
                f"batch shape {tuple(shape)}"
            ) from None
        return v.unsqueeze(d)
    if allow_inf and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value == math.inf:
            return torch.full((1,) * batch.ndim, math.inf, dtype=batch.dtype)
    v = check_real(value, name, low=low, high=high)
    return torch.full((1,) * batch.ndim, v, dtype=batch.dtype)


def _mix(x: torch.Tensor, y: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``s x + (1 - s) y``, keeping masked entries at ``-inf`` (not ``0 * inf``)."""
    masked = x == -math.inf
    z = s * x.masked_fill(masked, 0) + (1 - s) * y.masked_fill(masked, 0)
    return z.masked_fill(masked, -math.inf)


def _count(x: torch.Tensor, d: int) -> torch.Tensor:
    return (x > -math.inf).sum(d).to(x.dtype)


# ------------------------------------------------------------------------------ bounds
def smooth_max(x: torch.Tensor, tau: float = 1.0, dim: int = -1) -> torch.Tensor:
    """``tau * logsumexp(x / tau)`` along ``dim``: ``(..., n, ...) -> (...)``.

    The smooth maximum of logsumexp eq. ``lse-temp``; ``tau > 0``. Computed in at least
    float32 and returned in ``x``'s dtype.
    """
    w, d = _logits(x, "x", dim)
    tau = check_positive(tau, "tau")
    return (tau * torch.logsumexp(w / tau, dim=d)).to(x.dtype)


class LSEBounds(NamedTuple):
    """The value and the elementary bounds of ``tau * lse(x / tau)`` (all ``(...)``):

    ``max < lse <= max_plus_log_n`` (``lse-max``/``lse-temp``; ``<`` needs ``n >= 2``)
    and ``mean_plus_log_n <= lse`` (``lse-mean``), with ``n`` the unmasked count.
    """

    lse: torch.Tensor
    max: torch.Tensor
    mean_plus_log_n: torch.Tensor
    max_plus_log_n: torch.Tensor
    n: torch.Tensor


def lse_bounds(x: torch.Tensor, tau: float = 1.0, dim: int = -1) -> LSEBounds:
    """:class:`LSEBounds` of ``x (..., n, ...)`` along ``dim``, at temperature ``tau``.

    ``n`` counts the unmasked (finite) entries and the mean runs over them only.
    logsumexp eqs. ``lse-max``, ``lse-temp``, ``lse-mean``.
    """
    w, d = _logits(x, "x", dim)
    tau = check_positive(tau, "tau")
    n = _count(w, d)
    top = w.amax(d)
    mean = w.masked_fill(w == -math.inf, 0).sum(d) / n
    out = (
        tau * torch.logsumexp(w / tau, dim=d),
        top,
        mean + tau * torch.log(n),
        top + tau * torch.log(n),
        n,
    )
    return LSEBounds(*(v.to(x.dtype) for v in out))


def renyi_entropy(p: torch.Tensor, t, dim: int = -1) -> torch.Tensor:
    """Renyi entropy ``H_t(p) = log(sum p^t) / (1 - t)`` (nats) along ``dim``.

    ``t >= 0`` or ``math.inf``, a number or a tensor broadcasting to the batch shape
    (``p``'s shape without ``dim``): ``t = 0`` gives ``log |support|``, ``t = 1`` the
    Shannon entropy ``-sum p log p`` (``0 log 0 = 0`` by ``torch.xlogy``), ``t = inf``
    ``-log max p``. For ``|t - 1| < 1/2`` the quotient is evaluated as ``-log1p(sum p
    expm1((t - 1) log p)) / (t - 1)``, which is the same number (``sum p = 1``) without
    the cancellation of ``log(sum p^t)`` near ``t = 1``: the function is accurate to
    round-off and continuous through ``t = 1``. ``p`` is accepted when it sums to 1
    within ``max(1e-6, n eps)`` and is renormalised to sum 1 first, so that both
    branches evaluate the same function (otherwise they would differ by about ``(sum p
    - 1) / (1 - t)`` at ``|t - 1| = 1/2``). The entropy term of logsumexp eq.
    ``lse-renyi``.
    """
    w, d = _probs(p, "p", dim)
    w = w / w.sum(d, keepdim=True)  # one normalisation, shared by every branch
    tt = _per_row(t, "t", w, d, low=0.0, allow_inf=True)
    support = w > 0
    lp = torch.where(support, torch.log(w), 0.0)
    h1 = -torch.xlogy(w, w).sum(d, keepdim=True)
    e = torch.where(tt == math.inf, 1.0, tt - 1)  # inf: a placeholder, replaced below
    safe_e = torch.where(e == 0, 1.0, e)
    near = -torch.log1p((w * torch.expm1(e * lp)).sum(d, keepdim=True)) / safe_e
    far = torch.logsumexp(
        torch.where(support, (1 + e) * lp, -math.inf), dim=d, keepdim=True
    ) / torch.where(e == 0, 1.0, -e)
    out = torch.where(e.abs() < 0.5, near, far)
    out = torch.where(tt == 1, h1, out)
    out = torch.where(tt == math.inf, -torch.log(w.amax(d, keepdim=True)), out)
    return out.squeeze(d).to(p.dtype)


def lse_weighted_lower_bound(
    x: torch.Tensor,
    p: torch.Tensor,
    t=2.0,
    tau: float = 1.0,
    dim: int = -1,
) -> torch.Tensor:
    """``sum_i p_i x_i + tau * H_t(p)``: a lower bound on ``tau * lse(x / tau)``.

    ``x, p (..., n, ...)`` of one shape, ``p`` a probability vector along ``dim``;
    ``t >= 1`` (or ``math.inf``; a number or a tensor as in :func:`renyi_entropy`):
    ``t = 2`` is the Cauchy-Schwarz bound (``lse-cs``),
    ``t > 1`` Hoelder's (``lse-renyi``), ``t = 1`` the Gibbs bound (``lse-gibbs``), an
    equality at ``p = softmax(x / tau)``; ``t < 1`` is refused because the inequality
    then fails (the chapter shows it). A weight on a masked entry makes the bound
    ``-inf`` (still true); a masked entry with zero weight adds nothing.
    """
    w, d = _logits(x, "x", dim)
    q, _ = _probs(p, "p", dim)
    if p.shape != x.shape:
        raise ValueError(
            f"p must have the shape of x {tuple(x.shape)}, got {tuple(p.shape)}"
        )
    q = q.to(torch.promote_types(w.dtype, q.dtype))
    _per_row(t, "t", q, d, low=1.0, allow_inf=True)  # t < 1: the bound is false
    tau = check_positive(tau, "tau")
    mean = torch.where(q > 0, q * w.to(q.dtype), 0.0).sum(d)
    return (mean + tau * renyi_entropy(q, t, dim=d)).to(x.dtype)


# ----------------------------------------------------------------- Lipschitz, convexity
def lipschitz_ratio(x: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``|lse(x) - lse(y)| / max_i |x_i - y_i|`` along ``dim`` (0 where ``x == y``).

    At most 1 by logsumexp eq. ``lse-lip``; ``x`` and ``y`` of one shape, masked at
    the same entries (which the max skips).
    """
    a, b, d = _pair(x, y, dim)
    masked = a == -math.inf
    diff = (a.masked_fill(masked, 0) - b.masked_fill(masked, 0)).abs().amax(d)
    num = (torch.logsumexp(a, dim=d) - torch.logsumexp(b, dim=d)).abs()
    ratio = torch.where(diff > 0, num / diff.clamp(min=torch.finfo(a.dtype).tiny), 0.0)
    return ratio.to(x.dtype)


def path_derivatives(
    x: torch.Tensor, y: torch.Tensor, s, dim: int = -1
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(f, f', f'')`` at ``s`` of ``f(s) = lse(s x + (1 - s) y)`` along ``dim``.

    ``f'(s) = sum_i q_i (x_i - y_i)`` and ``f''(s) = Var_q(x - y)`` with ``q =
    softmax(s x + (1 - s) y)``: the mean-value argument of logsumexp eq. ``lse-lip``
    (``f'`` is a ``q``-average of ``x - y``) and the convexity of eq. ``lse-convex``
    (``f'' >= 0``). ``s`` in [0, 1]: a number or a tensor broadcasting to the batch
    shape (the shape of ``x`` without ``dim``).
    """
    a, b, d = _pair(x, y, dim)
    z = _mix(a, b, _per_row(s, "s", a, d, low=0.0, high=1.0))
    q = torch.softmax(z, dim=d)
    delta = (a - b).masked_fill(a == -math.inf, 0)
    f1 = (q * delta).sum(d, keepdim=True)
    f2 = (q * (delta - f1) ** 2).sum(d)
    return tuple(v.to(x.dtype) for v in (torch.logsumexp(z, d), f1.squeeze(d), f2))


def convexity_gap(x: torch.Tensor, y: torch.Tensor, s, dim: int = -1) -> torch.Tensor:
    """``s lse(x) + (1 - s) lse(y) - lse(s x + (1 - s) y)`` along ``dim``: ``>= 0`` by
    logsumexp eq. ``lse-convex``. ``s`` as in :func:`path_derivatives`."""
    a, b, d = _pair(x, y, dim)
    sw = _per_row(s, "s", a, d, low=0.0, high=1.0)
    mix = torch.logsumexp(_mix(a, b, sw), dim=d)
    sv = sw.squeeze(d)
    gap = sv * torch.logsumexp(a, d) + (1 - sv) * torch.logsumexp(b, d) - mix
    return gap.to(x.dtype)


# ------------------------------------------------------------------------------ sweep
class Cases(NamedTuple):
    """Random test cases for all eight inequalities, float64.

    ``x, y (N, n_max)`` with ``-inf`` after each case's ``n`` entries; ``p (N, n_max)``
    Dirichlet(1/2) on the unmasked entries (0 elsewhere); ``t (N,)`` Renyi orders
    ``1 + Exp(1)``; ``s (N,)`` mixing weights ``U(0, 1)``; ``tau (N,)`` temperatures
    log-uniform on [0.01, 10]; ``n (N,)`` sizes uniform on ``2..n_max``.
    """

    x: torch.Tensor
    y: torch.Tensor
    p: torch.Tensor
    t: torch.Tensor
    s: torch.Tensor
    tau: torch.Tensor
    n: torch.Tensor


def random_cases(
    n_cases: int,
    n_max: int = 10,
    sigma: float = 3.0,
    generator: torch.Generator | None = None,
) -> Cases:
    """:class:`Cases` for the chapter's sweep: ``x, y ~ N(0, sigma^2)`` entrywise.

    Dirichlet(1/2) weights are drawn as normalised squared normals (a ``Gamma(1/2)``
    variable is half a squared standard normal), so that every draw comes from the
    one ``generator``.
    """
    n_cases = check_int(n_cases, "n_cases", min_value=1)
    n_max = check_int(n_max, "n_max", min_value=2)
    sigma = check_positive(sigma, "sigma")
    check_generator(generator)
    kw = dict(generator=generator, dtype=torch.float64)
    n = torch.randint(2, n_max + 1, (n_cases,), generator=generator)
    masked = torch.arange(n_max) >= n[:, None]
    x = (sigma * torch.randn(n_cases, n_max, **kw)).masked_fill(masked, -math.inf)
    y = (sigma * torch.randn(n_cases, n_max, **kw)).masked_fill(masked, -math.inf)
    g = torch.randn(n_cases, n_max, **kw).pow(2).masked_fill(masked, 0)
    p = g / g.sum(-1, keepdim=True)
    t = 1 + torch.empty(n_cases, dtype=torch.float64).exponential_(generator=generator)
    s = torch.rand(n_cases, **kw)
    tau = 10 ** (3 * torch.rand(n_cases, **kw) - 2)
    return Cases(x, y, p, t, s, tau, n.to(torch.float64))


class Sweep(NamedTuple):
    """Slacks ``rhs - lhs`` (``>= 0`` where an inequality holds), each ``(N,)``.

    ``bounds``: the post's inequalities; ``rivals``: plausible tighter statements that
    are false; ``scale``: the size of the numbers compared, ``1 + max|x| + max|y| +
    log n`` (float64 round-off of a slack is a few ``eps * scale``).
    """

    bounds: dict
    rivals: dict
    scale: torch.Tensor


def inequality_sweep(cases: Cases) -> Sweep:
    """Every inequality of the chapter and a false rival of each, on ``cases``.

    Keys name the chapter's equations. ``x`` is used at temperature 1 except in
    ``lse-temp``; the weighted bounds are evaluated both at the random ``p`` and at
    ``p = softmax(x)``, where the Gibbs bound is an equality and the ``t = 1/2`` rival
    (Hoelder with an exponent below 1) fails for every non-constant ``x``.
    """
    if not isinstance(cases, Cases):
        raise TypeError(f"cases must be a Cases (from random_cases), got {cases!r:.40}")
    x, y, p, t, s, tau, n = cases
    b = lse_bounds(x)
    lse, logn = b.lse, torch.log(n)
    bt = lse_bounds(x / tau[:, None])  # tau lse(x/tau) = tau * (lse of x/tau)
    err_t = tau * bt.lse - b.max  # smooth-max error at temperature tau
    soft = torch.softmax(x, -1)
    live = x > -math.inf
    xz = x.masked_fill(~live, 0)
    mean = xz.sum(-1) / n
    var = (xz - mean[:, None]).masked_fill(~live, 0).pow(2).sum(-1) / n
    px = (p * xz).sum(-1)
    delta = (xz - y.masked_fill(~live, 0)).masked_fill(~live, 0)
    dlse = (lse - lse_bounds(y).lse).abs()
    centred = (delta - delta.sum(-1, keepdim=True) / n[:, None]).masked_fill(~live, 0)
    bounds = {
        "lse-max (left, strict)": lse - b.max,
        "lse-max (right)": b.max_plus_log_n - lse,
        "lse-temp (right)": tau * logn - err_t,
        "lse-mean": lse - b.mean_plus_log_n,
        "lse-cs, random p": lse - (px + renyi_entropy(p, 2.0)),
        "lse-renyi, random p, t = 1 + Exp(1)": lse - lse_weighted_lower_bound(x, p, t),
        "lse-gibbs, random p": lse - lse_weighted_lower_bound(x, p, 1.0),
        "lse-gibbs, p = softmax(x)": lse - lse_weighted_lower_bound(x, soft, 1.0),
        "lse-lip": delta.abs().amax(-1) - dlse,
        "lse-convex": convexity_gap(x, y, s),
    }
    rivals = {
        "lse-max: lse <= max + (log n)/2": b.max + logn / 2 - lse,
        "lse-temp: error <= tau^2 log n": tau**2 * logn - err_t,
        "lse-mean: lse >= mean + var/2 + log n": lse - (b.mean_plus_log_n + var / 2),
        "lse-renyi: t = 1/2, p = softmax(x)": lse
        - ((soft * xz).sum(-1) + renyi_entropy(soft, 0.5)),
        "lse-lip: |dlse| <= rms(x - y)": (delta.pow(2).sum(-1) / n).sqrt() - dlse,
        "lse-convex: (1/n)-strongly convex": convexity_gap(x, y, s)
        - s * (1 - s) / (2 * n) * centred.pow(2).sum(-1),
    }
    scale = 1 + xz.abs().amax(-1) + y.masked_fill(~live, 0).abs().amax(-1) + logn
    return Sweep(bounds, rivals, scale)
