"""Multi-label cross-entropy (ZLPR) and its "n m-way" analogues (softmax/multilabel-nm).

Post 9158 (苏剑林, 2022-07-15) tries to extend the blog's multi-label loss, which treats
multi-label classification as ``n`` two-way problems, to ``n`` tasks that share ``m``
classes. Equation labels are those of the chapter:

* (ml-hard), (ml-soft): :func:`multilabel_ce`, ``log(1 + sum_i t_i e^{-s_i}) +
  log(1 + sum_i (1 - t_i) e^{s_i})``; hard 0/1 targets give the original form.
* (ml-opt): :func:`multilabel_probs`, ``sigmoid(2 s)``, the probabilities the soft loss
  is calibrated to; :func:`multilabel_ce_floor`, its minimum over the logits.
* (nm-ce): :func:`nm_softmax_ce`, the summed softmax cross-entropy of the ``n`` tasks.
* (nm-l1): :func:`nm_loss_analogue`, the first attempt (truncated product);
  :func:`nm_analogue_optimum`, its soft-label optimum as a fixed point (our addition).
* (nm-l3): :func:`nm_loss_centered`, the second attempt (centred logits);
  :func:`nm_centered_floor`, its minimum.
* :func:`categorical_kl`, ``KL(t || softmax(s))`` with ``0 log 0 = 0``.

Shapes: multi-label logits ``(..., C)`` (one row of ``C`` labels, reduced over the
last axis); n m-way logits ``(..., n, m)`` (``n`` tasks of ``m`` classes, reduced over
the last two axes). Every loss returns one value per row, shape ``(...)``.

Numerics. Each ``log(1 + sum_i e^{a_i})`` is evaluated in two regimes (``log1p`` of the
sum when every ``a_i <= 0``, the max-shifted form otherwise), so it is accurate both
for a loss of ``1e-30`` and for logits of ``+-1e4``. float16/bfloat16 input is
computed in float32 and the result is cast back (what ``torch.autocast`` does for
losses). ``-inf`` logits mark masked entries: where the target gives them no weight
they contribute exactly nothing, to the value and to the gradient (``torch``'s own
``cross_entropy`` returns NaN there). Targets of exactly 0 (or 1) are excluded from
the positive (negative) sum by masking the exponent, never by clipping ``log t``.

The bottom of the module holds the chapter's experiment helpers: a synthetic tagging
task, a linear student trained with any of the losses, and the two margins that show
the centred loss's failure.
"""

from __future__ import annotations

import functools
import math
import os

import torch

from .._validate import (
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_real,
    check_tensor,
)

__all__ = [
    "multilabel_ce",
    "multilabel_probs",
    "multilabel_ce_floor",
    "nm_softmax_ce",
    "nm_loss_analogue",
    "nm_loss_centered",
    "nm_centered_floor",
    "nm_analogue_optimum",
    "nm_analogue_grad",
    "categorical_kl",
    "NM_LOSSES",
    "minimise_logits",
    "tagging_task",
    "train_linear_tagger",
    "tagger_logits",
    "target_margins",
    "failure_figure",
]

NEG_INF = -math.inf


# ------------------------------------------------------------------------- validation
def _compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float32 for half/bfloat16 input (and float32), float64 for float64."""
    return torch.promote_types(x.dtype, torch.float32)


def _sum_tol(dtype: torch.dtype, m: int) -> float:
    return max(1e-6, 4 * m * torch.finfo(dtype).eps)


def _check_logits(s: torch.Tensor, name: str = "logits") -> None:
    """No NaN and no +inf (-inf marks a masked entry): one scan when all is well."""
    if s.device.type == "meta" or s.numel() == 0 or bool((s < math.inf).all()):
        return
    if bool(torch.isnan(s).any()):
        raise ValueError(f"{name} must not contain NaN")
    raise ValueError(f"{name} must not contain +inf (-inf marks a masked entry)")


def _check_unit(t: torch.Tensor, name: str) -> None:
    """Entries in [0, 1] (NaN fails the comparison): one scan when all is well."""
    if t.device.type == "meta" or t.numel() == 0 or bool(((t >= 0) & (t <= 1)).all()):
        return
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite")
    lo, hi = float(t.min()), float(t.max())
    raise ValueError(f"{name} must lie in [0, 1], got values in [{lo}, {hi}]")


def _check_mask(mask, shape: torch.Size, name: str = "mask") -> torch.Tensor | None:
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a bool torch.Tensor or None, got {mask!r}")
    if mask.dtype != torch.bool:
        raise TypeError(f"{name} must have dtype torch.bool, got {mask.dtype}")
    try:
        return torch.broadcast_to(mask, shape)
    except RuntimeError as err:
        raise ValueError(
            f"{name} of shape {tuple(mask.shape)} does not broadcast to {tuple(shape)}"
        ) from err


def _pair(logits, targets, min_ndim: int) -> None:
    check_tensor(logits, "logits", min_ndim=min_ndim)
    check_tensor(targets, "targets")
    if logits.is_complex() or targets.is_complex():
        raise TypeError("logits and targets must be real (got a complex tensor)")
    if targets.shape != logits.shape:
        raise ValueError(
            f"targets must have the shape of logits {tuple(logits.shape)}, "
            f"got {tuple(targets.shape)}"
        )
    if logits.shape[-1] < (2 if min_ndim >= 2 else 1):
        raise ValueError(
            f"logits must have at least {2 if min_ndim >= 2 else 1} entries on the "
            f"last axis, got shape {tuple(logits.shape)}"
        )


def _check_rows(t: torch.Tensor, active: torch.Tensor | None, name: str) -> None:
    """Rows of a distribution: entries in [0, 1], each active row summing to one."""
    _check_unit(t, name)
    if t.device.type == "meta" or t.numel() == 0:
        return
    err = (t.double().sum(-1) - 1).abs()
    if active is not None:
        err = torch.where(active, err, 0)
    tol = _sum_tol(t.dtype, t.shape[-1])
    if bool((err > tol).any()):
        raise ValueError(
            f"{name} must sum to 1 over the last axis (tolerance {tol:.1e}), "
            f"worst row off by {float(err.max()):.2e}"
        )


def _check_tasks(s: torch.Tensor, active: torch.Tensor | None) -> None:
    """Each task that counts needs one finite logit (else softmax is undefined)."""
    if s.device.type == "meta" or s.numel() == 0:
        return
    dead = torch.isneginf(s).all(-1)
    if active is not None:
        dead = dead & active
    if bool(dead.any()):
        raise ValueError(
            f"logits: {int(dead.sum())} task(s) have every logit -inf; mask them "
            "with mask=... instead"
        )


# ------------------------------------------------------------------ stable primitives
def _log1p_wsum_exp(x: torch.Tensor, w: torch.Tensor, dim: int) -> torch.Tensor:
    """``log(1 + sum_dim w e^x)`` for weights ``w >= 0``; ``w = 0`` entries are left
    out whatever their ``x`` (even ``+-inf``), and ``x = +inf`` with ``w > 0`` gives
    ``inf``.

    The zero-padded logsumexp of the chapter, with one ``exp`` per entry and two
    regimes: with ``M = max(0, max_{w>0} x)`` and ``S = sum w e^{x - M}``, the value
    is ``log1p(S)`` when ``M = 0`` (accurate for a loss of 1e-30, where
    ``torch.logsumexp`` of the padded vector rounds to 0) and ``M + log(e^{-M} + S)``
    otherwise (then it is >= log 2, so its absolute error is a relative one). The
    weights multiply the exponentials instead of entering as ``log w``: no ``log 0``
    (slow on CPUs, and ``0 * inf`` in the gradient of a target). Gradients are
    finite wherever the value is.
    """
    with torch.no_grad():  # the shift is a constant: nothing to record
        top = torch.where(w > 0, x, NEG_INF).amax(dim, keepdim=True)
        shift = torch.where(torch.isinf(top), 0, top.clamp(min=0))
    total = (torch.exp((x - shift).clamp(max=0)) * w).sum(dim, keepdim=True)
    big = shift + torch.log(torch.exp(-shift) + total)
    out = torch.where(shift > 0, big, torch.log1p(total))
    return torch.where(torch.isposinf(top), math.inf, out).squeeze(dim)


def _masked_log(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``log x`` where ``keep``, else 0 (never evaluates log 0, so no 0 * inf)."""
    return torch.log(torch.where(keep, x, 1))


def _logsumexp_others(s: torch.Tensor) -> torch.Tensor:
    """``log sum_{k != j} e^{s_k}`` for every ``j`` of the last axis, ``(..., m)``.

    For ``j`` other than the row's argmax, ``lse(s) + log1p(-p_j)`` (there ``p_j <=
    1/2``, so ``log1p`` is accurate); for the argmax the others are summed directly.
    Rows need one finite entry; ``-inf`` entries are ignored.
    """
    lse = torch.logsumexp(s, -1, keepdim=True)
    top = s.argmax(-1, keepdim=True)
    is_top = torch.zeros_like(s, dtype=torch.bool).scatter_(-1, top, True)
    p = torch.where(is_top, 0, torch.exp(s - lse))
    rest = lse + torch.log1p(-p)
    others = torch.where(is_top, NEG_INF, s)
    none = torch.isneginf(others).all(-1, keepdim=True)
    lse_others = torch.logsumexp(torch.where(none, 0, others), -1, keepdim=True)
    lse_others = torch.where(none, NEG_INF, lse_others)
    return torch.where(is_top, lse_others, rest)


# ---------------------------------------------------------------------- multi-label CE
def _half_fast(x: torch.Tensor, w: torch.Tensor):
    """``L = log(1 + sum w e^x)`` (last axis, keepdim), ``dL/dx = w e^{x-L}``.

    Shifted by the row max of *all* entries (a cheap reduction: no bool masks, no
    ``log w``, one ``exp`` per entry). A row whose kept terms may have underflowed
    (a zero-weight entry far above them, or a non-finite entry: NaN counts) is redone
    with the masked shift of :func:`_log1p_wsum_exp` and the closed-form gradient. Every
    row with a masked (``-inf``) logit takes this path, which costs about 1.4-1.7x the
    composite on such rows (a second pass over the row).
    Rows with no weight give ``L = 0`` and gradient 0. Per-row work (the two regimes
    ``log1p`` and ``m + log``) is cheap; only the ``exp`` touches every entry.
    """
    tiny = torch.finfo(x.dtype).tiny ** 0.5
    m = x.amax(-1, keepdim=True).clamp(min=0)
    e = torch.exp(x - m) * w
    tot = e.sum(-1, keepdim=True)
    wsum = w.sum(-1, keepdim=True)
    den = torch.exp(-m) + tot  # e^{L - m}
    small = tot <= torch.exp(-m)  # sum w e^x <= 1: L = log1p of it (a loss of 1e-30)
    L = torch.where(
        small, torch.log1p(torch.exp(torch.log(tot) + m)), m + torch.log(den)
    )
    g = e.div_(den)
    empty = wsum == 0
    # redo: kept terms may have underflowed (or NaN), or the shift m dwarfs L (then
    # the rounding of x - m, relative u (m + |log L|), would cost accuracy)
    bad = (~(tot >= tiny * wsum) | (m > 64 * L.clamp(min=1))) & ~empty
    if bool(empty.any()):
        L, g = torch.where(empty, 0, L), torch.where(empty, 0, g)
    if bool(bad.any()):  # e.g. every row with a -inf (masked) logit: the masked shift
        r = bad.squeeze(-1)
        xr, wr = x[r], w[r]
        lr = _log1p_wsum_exp(xr, wr, -1)[..., None]
        # closed-form gradient w e^{x - L}, shifted by the max over the kept entries
        # (so x - m is exact for the terms that matter) and exactly 0 where w = 0,
        # whatever x: no autograd, so it also runs under torch.inference_mode()
        keep = wr > 0
        mr = torch.where(keep, xr, -math.inf).amax(-1, keepdim=True).clamp(min=0)
        er = torch.where(keep, torch.exp(xr - mr) * wr, torch.zeros_like(xr))
        L[r], g[r] = lr, er / (torch.exp(-mr) + er.sum(-1, keepdim=True))
    return L, g


class _MultilabelCE(torch.autograd.Function):
    """Eq. (ml-soft) in one node: the forward records no graph and saves only the
    closed-form gradient ``(1-t) e^{s - L_-} - t e^{-s - L_+}`` (multilabel-nm, the
    gradient above eq. (ml-opt)); the backward is one multiply. Double backward
    (``create_graph=True``, e.g. a Hessian) differentiates the composite instead."""

    @staticmethod
    def forward(ctx, s, w_pos, w_neg):
        lp, gp = _half_fast(-s, w_pos)
        ln, gn = _half_fast(s, w_neg)
        ctx.save_for_backward(s, w_pos, w_neg, gn.sub_(gp))
        return (lp + ln).squeeze(-1)

    @staticmethod
    def backward(ctx, go):
        s, w_pos, w_neg, g = ctx.saved_tensors
        if torch.is_grad_enabled():  # create_graph: keep the gradient differentiable
            with torch.enable_grad():
                val = _multilabel_ce_composite(s, w_pos, w_neg)
            (gs,) = torch.autograd.grad(val, s, go, create_graph=True)
            return gs, None, None
        return go.unsqueeze(-1) * g, None, None


def _multilabel_ce_composite(s, w_pos, w_neg):
    """The reference form of eq. (ml-soft): two weighted, masked-shift sums."""
    return _log1p_wsum_exp(-s, w_pos, -1) + _log1p_wsum_exp(s, w_neg, -1)


def multilabel_ce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    eps: float = 0.0,
    check: bool = True,
) -> torch.Tensor:
    """Multi-label cross-entropy (ZLPR) with soft targets, one value per row.

    ``log(1 + sum_i t_i e^{-s_i}) + log(1 + sum_i (1 - t_i) e^{s_i})`` over the last
    axis: multilabel-nm eq. (ml-soft); with 0/1 targets it is eq. (ml-hard),
    ``log(1 + sum_pos e^{-s}) + log(1 + sum_neg e^{s})``.

    Args:
        logits: ``(..., C)`` floating; ``-inf`` marks an entry that cannot be
            positive (it must have target 0 to contribute nothing). Rows with a
            ``-inf`` entry take a slower exact path (about 1.4-1.7x the previous
            composite on those rows).
        targets: ``(..., C)`` in [0, 1].
        mask: optional bool, broadcastable to ``(..., C)``; False entries are left
            out of both sums.
        eps: targets ``<= eps`` count as exactly 0 and ``>= 1 - eps`` as exactly 1
            (their exponent is masked, not clipped), ``0 <= eps < 0.5``.
        check: validate the data (no NaN/+inf logits, targets in [0, 1]); False
            skips these scans inside a tight training loop.

    Returns:
        ``(...)``, in the dtype of ``logits`` (computed in float32 for half types).
    """
    _pair(logits, targets, 1)
    eps = check_real(eps, "eps", low=0.0, high=0.5, high_open=True)
    check = check_bool(check, "check")
    mask = _check_mask(mask, logits.shape)
    if check:
        _check_logits(logits)
        _check_unit(targets, "targets")
    cd = _compute_dtype(logits)
    s, t = logits.to(cd), targets.to(cd)
    if eps > 0:
        t = torch.where(t <= eps, 0, torch.where(t >= 1 - eps, 1, t))
    w_pos, w_neg = (t, 1 - t) if mask is None else (t * mask, (1 - t) * mask)
    if w_pos.requires_grad or w_neg.requires_grad:  # gradients to the targets too
        out = _multilabel_ce_composite(s, w_pos, w_neg)
    else:
        out = _MultilabelCE.apply(s, w_pos, w_neg)
    return out.to(logits.dtype)


def multilabel_probs(logits: torch.Tensor) -> torch.Tensor:
    """``sigmoid(2 s)``: the label probabilities eq. (ml-soft) is calibrated to.

    At the minimum of :func:`multilabel_ce` over the logits, ``t_i = sigmoid(2 s_i)``
    for every label: multilabel-nm eq. (ml-opt). Same shape as ``logits``.
    """
    check_tensor(logits, "logits")
    return torch.sigmoid(2 * logits)


def multilabel_ce_floor(
    targets: torch.Tensor, *, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Minimum of eq. (ml-soft) over the logits: ``2 log(1 + sum_i sqrt(t_i (1-t_i)))``.

    At the optimum (ml-opt) both sums equal ``sum_i sqrt(t_i (1 - t_i))``; for 0/1
    targets the floor is 0 (an infimum). ``targets (..., C)`` in [0, 1]; returns
    ``(...)``. Our addition to multilabel-nm.
    """
    check_tensor(targets, "targets", min_ndim=1)
    _check_unit(targets, "targets")
    mask = _check_mask(mask, targets.shape)
    t = targets.to(_compute_dtype(targets))
    r = torch.sqrt(t * (1 - t))
    if mask is not None:
        r = torch.where(mask, r, 0)
    return (2 * torch.log1p(r.sum(-1))).to(targets.dtype)


# -------------------------------------------------------------------- n m-way losses
def _nm_inputs(logits, targets, mask, check):
    _pair(logits, targets, 2)
    check = check_bool(check, "check")
    mask = _check_mask(mask, logits.shape[:-1])
    if check:
        _check_logits(logits)
        _check_rows(targets, mask, "targets")
        _check_tasks(logits, mask)
    cd = _compute_dtype(logits)
    s, t = logits.to(cd), targets.to(cd)
    if mask is not None:  # masked tasks: harmless finite logits, no target weight
        s = torch.where(mask[..., None], s, 0)
        t = torch.where(mask[..., None], t, 0)
    return s, t


def nm_softmax_ce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    check: bool = True,
) -> torch.Tensor:
    """Summed softmax cross-entropy of ``n`` tasks: ``-sum_i sum_j t_ij log p_ij``.

    ``p_i = softmax(s_i)``: multilabel-nm eq. (nm-ce), the baseline both attempts
    start from. ``logits, targets (..., n, m)``, each target row a distribution;
    ``mask (..., n)`` bool leaves tasks out. Entries with ``t = 0`` contribute 0 even
    at a ``-inf`` logit (``0 log 0 = 0``). Returns ``(...)``.
    """
    s, t = _nm_inputs(logits, targets, mask, check)
    keep = t > 0
    logp = torch.where(keep, torch.log_softmax(s, -1), 0)
    return (-(t * logp).sum((-1, -2))).to(logits.dtype)


def nm_loss_analogue(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    check: bool = True,
) -> torch.Tensor:
    """First attempt: ``sum_j log(1 + sum_i t_ij sum_{k != j} e^{s_ik - s_ij})``.

    multilabel-nm eq. (nm-l1): the product in (nm-ce) truncated at first order. The
    inner sum is ``exp(logsumexp_{k != j} s_ik - s_ij)``, computed without
    cancellation even where ``p_ij`` rounds to 1. Shapes as :func:`nm_softmax_ce`;
    for ``m = 2`` it equals :func:`multilabel_ce` of ``s_1 - s_2`` (eq. (nm-m2)).
    """
    s, t = _nm_inputs(logits, targets, mask, check)
    x = _logsumexp_others(s) - s  # log sum_{k != j} e^{s_ik - s_ij}
    return _log1p_wsum_exp(x, t, -2).sum(-1).to(logits.dtype)


def _centered(s: torch.Tensor) -> torch.Tensor:
    """``s - mean(s)`` per task, the mean over the task's finite logits."""
    finite = torch.isfinite(s)
    mean = torch.where(finite, s, 0).sum(-1, True) / finite.sum(-1, True).clamp(min=1)
    return s - mean


def nm_loss_centered(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    mask: torch.Tensor | None = None,
    check: bool = True,
) -> torch.Tensor:
    """Second attempt: ``sum_j log(1 + sum_i t_ij e^{mean_k s_ik - s_ij})``.

    multilabel-nm eq. (nm-l3): built backwards so that its minimum over the logits
    is ``softmax(s_i) = t_i``. ``-inf`` logits (classes a task cannot take) are left
    out of the mean. Shapes as :func:`nm_softmax_ce`; for ``m = 2`` it equals
    :func:`multilabel_ce` of ``(s_1 - s_2) / 2``.
    """
    s, t = _nm_inputs(logits, targets, mask, check)
    return _log1p_wsum_exp(-_centered(s), t, -2).sum(-1).to(logits.dtype)


def nm_centered_floor(targets: torch.Tensor) -> torch.Tensor:
    """Minimum of eq. (nm-l3): ``m log(1 + sum_i G_i)``, ``G_i`` the geometric mean
    of ``t_i`` (0 if a ``t_ij`` is 0: the floor is then an infimum).

    At ``s_ij = log t_ij`` every ``t_ij e^{mean - s_ij}`` equals ``G_i``. Our
    addition. ``targets (..., n, m)``, rows distributions; returns ``(...)``.
    """
    check_tensor(targets, "targets", min_ndim=2)
    _check_rows(targets, None, "targets")
    t = targets.to(_compute_dtype(targets))
    m = t.shape[-1]
    pos = (t > 0).all(-1)
    g = torch.where(pos, torch.exp(_masked_log(t, t > 0).mean(-1)), 0)
    return (m * torch.log1p(g.sum(-1))).to(targets.dtype)


def nm_analogue_optimum(
    targets: torch.Tensor, *, iters: int = 200, tol: float = 1e-12
) -> dict[str, torch.Tensor]:
    """Soft-label optimum of eq. (nm-l1) as a fixed point (our addition).

    Writing (nm-l1) as ``sum_j log D_j`` with ``D_j = 1 + sum_i t_ij (1/p_ij - 1)``,
    the logits are stationary iff ``p_ij^2 proportional to t_ij / D_j`` in each task
    (eq. (nm-fixed)). Iterates ``p_i <- normalise(sqrt(t_i / D))``, ``D <- D(p)``
    from ``p = t`` until the largest change is below ``tol``.

    Args:
        targets: ``(..., n, m)``, every entry > 0, rows summing to one.
    Returns:
        ``{'p': softmax(s*) (..., n, m), 'D': (..., m), 'iters': int tensor,
        'change': last largest change}``.
    """
    check_tensor(targets, "targets", min_ndim=2)
    iters = check_int(iters, "iters", min_value=1)
    tol = check_real(tol, "tol", low=0.0, low_open=True)
    _check_rows(targets, None, "targets")
    if bool((targets <= 0).any()):
        raise ValueError("targets must be > 0 everywhere (a zero has no optimum)")
    t = targets.to(_compute_dtype(targets))
    p, change, k = t, torch.tensor(math.inf), 0
    for k in range(1, iters + 1):  # noqa: B007 - k is reported
        D = 1 + (t * (1 / p - 1)).sum(-2, keepdim=True)  # (..., 1, m)
        r = torch.sqrt(t / D)
        new = r / r.sum(-1, keepdim=True)
        change = (new - p).abs().max()
        p = new
        if change < tol:
            break
    D = 1 + (t * (1 / p - 1)).sum(-2)
    return {"p": p, "D": D, "iters": torch.tensor(k), "change": change}


def nm_analogue_grad(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Gradient of eq. (nm-l1) in closed form, eq. (nm-grad) (our addition).

    With ``p_i = softmax(s_i)``, ``D_j = 1 + sum_i t_ij (1/p_ij - 1)`` and
    ``g_ij = -t_ij / (D_j p_ij^2)`` (the derivative in ``p``), the chain rule through
    softmax gives ``dl/ds_ik = p_ik (g_ik - sum_j p_ij g_ij)``. Written for reading
    and for checking autograd, not for training (``1/p^2`` overflows for extreme
    logits: keep them moderate). ``(..., n, m)`` each, finite; returns ``(..., n, m)``.
    """
    _pair(logits, targets, 2)
    check_tensor(logits, "logits", finite=True)
    _check_rows(targets, None, "targets")
    s, t = logits.to(_compute_dtype(logits)), targets.to(_compute_dtype(logits))
    p = torch.softmax(s, -1)
    D = 1 + (t * (1 / p - 1)).sum(-2, keepdim=True)  # (..., 1, m)
    g = -t / (D * p**2)
    return (p * (g - (p * g).sum(-1, keepdim=True))).to(logits.dtype)


def categorical_kl(
    targets: torch.Tensor, logits: torch.Tensor, *, check: bool = True
) -> torch.Tensor:
    """``KL(t || softmax(s)) = sum_j t_j (log t_j - log p_j)`` over the last axis.

    ``0 log 0 = 0`` through ``torch.special.xlogy``, and a ``-inf`` logit with
    ``t = 0`` contributes 0. Zero iff ``softmax(s) = t``: the chapter's distance of
    a loss's optimum from the soft target. ``(..., m)`` each; returns ``(...)``.
    """
    check_tensor(targets, "targets", min_ndim=1)
    check_tensor(logits, "logits", min_ndim=1)
    if targets.shape != logits.shape:
        raise ValueError(
            f"logits must have the shape of targets {tuple(targets.shape)}, "
            f"got {tuple(logits.shape)}"
        )
    check = check_bool(check, "check")
    if check:
        _check_logits(logits)
        _check_rows(targets, None, "targets")
    cd = _compute_dtype(logits)
    s, t = logits.to(cd), targets.to(cd)
    keep = t > 0
    logp = torch.where(keep, torch.log_softmax(s, -1), 0)
    out = (torch.special.xlogy(t, t) - t * logp).sum(-1)
    return out.to(logits.dtype)


NM_LOSSES = {
    "softmax CE": nm_softmax_ce,
    "attempt 1 (nm-l1)": nm_loss_analogue,
    "attempt 2 (nm-l3)": nm_loss_centered,
}
"""The three n m-way losses of the chapter, by the names its tables use."""


# ------------------------------------------------------------- the chapter's experiment
def minimise_logits(
    loss, targets: torch.Tensor, *, shift_invariant: bool = True, max_iter: int = 500
) -> dict[str, torch.Tensor | float]:
    """Minimise ``loss(s, targets)`` over the logits ``s`` (float64 L-BFGS, from 0).

    Used by the chapter to find each loss's soft-label optimum with an error bar:
    near a minimum, the distance of ``s`` to the set of minimisers is at most
    ``|grad| / mu``, ``mu`` the smallest Hessian eigenvalue that is not a
    symmetry (with ``shift_invariant`` the ``n`` zero eigenvalues of the per-task
    shifts ``s_i + c_i`` are skipped). softmax, softmax(2 s) and sigmoid(2 s) move by
    at most that distance, so ``bound = |grad| / mu`` bounds their error.

    Args:
        loss: callable ``(s, t) -> (...)`` (summed over the batch).
        targets: ``(..., n, m)`` (or ``(..., C)``) soft targets; ``s`` has their shape.
    Returns:
        ``{'s': logits, 'grad_norm', 'mu', 'bound'}`` (floats besides ``s``).
    """
    fn = check_callable(loss, "loss")
    check_tensor(targets, "targets", min_ndim=1, finite=True, nonempty=True)
    shift_invariant = check_bool(shift_invariant, "shift_invariant")
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    t = targets.detach().double()
    s = torch.zeros_like(t, requires_grad=True)
    opt = torch.optim.LBFGS(
        [s],
        lr=1,
        max_iter=max_iter,
        tolerance_grad=1e-13,
        tolerance_change=1e-16,
        history_size=50,
        line_search_fn="strong_wolfe",
    )

    def closure():
        opt.zero_grad()
        value = fn(s, t).sum()
        value.backward()
        return value

    opt.step(closure)
    s = s.detach()
    (g,) = torch.autograd.grad(fn(s.requires_grad_(), t).sum(), s)
    flat = s.detach().reshape(-1)
    h = torch.autograd.functional.hessian(
        lambda z: fn(z.reshape(t.shape), t).sum(), flat
    )
    eig = torch.linalg.eigvalsh(h)
    skip = flat.numel() // t.shape[-1] if shift_invariant else 0
    mu = float(eig[skip])
    grad_norm = float(g.norm())
    return {
        "s": s.detach(),
        "grad_norm": grad_norm,
        "mu": mu,
        "bound": grad_norm / mu if mu > 0 else math.inf,
    }


def tagging_task(
    n_train: int,
    n_test: int,
    *,
    seeds=(0,),
    n_tasks: int = 6,
    n_classes: int = 5,
    dim: int = 20,
) -> dict[str, torch.Tensor]:
    """A synthetic "n m-way" problem with a linear teacher (multilabel-nm, experiment).

    For each seed: ``x ~ N(0, I_dim)``, and task ``i`` has label ``argmax_j (W x)_ij``
    with a Gaussian teacher ``W (n_tasks, n_classes, dim)`` (so a linear student can
    be perfect). Returns ``{'x_train': (S, n_train, dim), 'y_train': (S, n_train,
    n_tasks), 'x_test', 'y_test', 'teacher': (S, n_tasks, n_classes, dim)}`` with
    ``S = len(seeds)``, float32 features and int64 labels.
    """
    n_train = check_int(n_train, "n_train", min_value=1)
    n_test = check_int(n_test, "n_test", min_value=1)
    seeds = _seed_list(seeds)
    n_tasks = check_int(n_tasks, "n_tasks", min_value=1)
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    dim = check_int(dim, "dim", min_value=1)
    out: dict[str, list] = {k: [] for k in ("x_train", "y_train", "x_test", "y_test")}
    teachers = []
    for seed in seeds:
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(n_tasks, n_classes, dim, generator=g)
        x = torch.randn(n_train + n_test, dim, generator=g)
        y = torch.einsum("bd,nmd->bnm", x, w).argmax(-1)  # (N, n_tasks)
        teachers.append(w)
        for k, v in (("x", x), ("y", y)):
            out[f"{k}_train"].append(v[:n_train])
            out[f"{k}_test"].append(v[n_train:])
    res = {k: torch.stack(v) for k, v in out.items()}
    res["teacher"] = torch.stack(teachers)
    return res


def _seed_list(seeds) -> list[int]:
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {seeds!r}")
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds must not be empty")
    return [check_int(v, f"seeds[{i}]", min_value=0) for i, v in enumerate(seeds)]


def tagger_logits(params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Logits ``(..., N, n, m)`` of the linear student ``{'w': (..., n, m, d),
    'b': (..., n, m)}`` on ``x (..., N, d)`` (leading axes: independent runs)."""
    if not isinstance(params, dict) or not {"w", "b"} <= set(params):
        raise TypeError("params must be a dict with tensors 'w' and 'b'")
    w, b = params["w"], params["b"]
    check_tensor(w, "params['w']", min_ndim=3)
    check_tensor(b, "params['b']", shape=w.shape[:-1])
    check_tensor(x, "x", shape=(*w.shape[:-3], None, w.shape[-1]), finite=True)
    return torch.einsum("...bd,...nmd->...bnm", x, w) + b[..., None, :, :]


def train_linear_tagger(
    x: torch.Tensor,
    y: torch.Tensor,
    loss: str,
    *,
    n_classes: int,
    steps: int = 300,
    lr: float = 0.05,
    progress: bool = True,
) -> dict[str, torch.Tensor]:
    """Train linear students from zero with full-batch Adam on one loss of
    :data:`NM_LOSSES` (mean over samples). Deterministic (no random state).

    Leading axes of ``x`` are independent runs (e.g. seeds): their losses are summed,
    which leaves each run's Adam steps exactly as if it were trained alone.

    Args:
        x: ``(..., N, d)`` features; y: ``(..., N, n)`` int64 labels in
            ``[0, n_classes)``.
        loss: a key of :data:`NM_LOSSES`.
    Returns:
        ``{'w': (..., n, m, d), 'b': (..., n, m)}`` on the device of ``x``, and
        ``'loss'``, the ``(steps, ...)`` history on the CPU.
    """
    check_tensor(x, "x", min_ndim=2, finite=True)
    check_tensor(y, "y", floating=False, shape=(*x.shape[:-1], None))
    if y.dtype != torch.int64:
        raise TypeError(f"y must have dtype torch.int64, got {y.dtype}")
    fn = NM_LOSSES[check_choice(loss, "loss", list(NM_LOSSES))]
    m = check_int(n_classes, "n_classes", min_value=2)
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= m):
        raise ValueError(f"y must hold labels in [0, {m}), got {int(y.max())}")
    steps = check_int(steps, "steps", min_value=1)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    progress = check_bool(progress, "progress")
    from tqdm.auto import tqdm

    lead, n, d = x.shape[:-2], y.shape[-1], x.shape[-1]
    w = torch.zeros(*lead, n, m, d, dtype=x.dtype, device=x.device, requires_grad=True)
    b = torch.zeros(*lead, n, m, dtype=x.dtype, device=x.device, requires_grad=True)
    t = torch.nn.functional.one_hot(y, m).to(x.dtype)
    opt = torch.optim.Adam([w, b], lr=lr)
    hist = torch.empty(steps, *lead)
    book = os.environ.get("KEXUE_BOOK_BUILD") == "1"  # the website: no live widget
    for k in tqdm(range(steps), desc=loss, disable=not progress or book, leave=False):
        opt.zero_grad()
        value = fn(tagger_logits({"w": w, "b": b}, x), t, check=False).mean(-1)
        value.sum().backward()
        opt.step()
        hist[k] = value.detach()
    return {"w": w.detach(), "b": b.detach(), "loss": hist}


def target_margins(logits: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """The two margins of a hard-labelled task (multilabel-nm, the failure of nm-l3).

    ``centred = s_y - mean_k s_k`` is what eq. (nm-l3) rewards (its term is
    ``e^{-centred}``); ``rival = s_y - max_{k != y} s_k`` is what classification
    needs (> 0 iff the target wins). ``logits (..., m)``, ``y (...)`` int64; returns
    both ``(...)``.
    """
    check_tensor(logits, "logits", min_ndim=1)
    check_tensor(y, "y", floating=False)
    if y.shape != logits.shape[:-1]:
        raise ValueError(
            f"y must have the shape of logits without its class axis, "
            f"{tuple(logits.shape[:-1])}, got {tuple(y.shape)}"
        )
    if y.dtype != torch.int64:
        raise TypeError(f"y must have dtype torch.int64, got {y.dtype}")
    m = logits.shape[-1]
    if m < 2:
        raise ValueError(f"logits must have at least 2 classes, got {m}")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= m):
        raise ValueError(f"y must hold labels in [0, {m})")
    s_y = logits.gather(-1, y[..., None])[..., 0]
    onehot = torch.nn.functional.one_hot(y, m).bool()
    rival = logits.masked_fill(onehot, NEG_INF).amax(-1)
    return {"centred": s_y - logits.mean(-1), "rival": s_y - rival}


@functools.lru_cache(maxsize=1)
def _failure_plane():
    """Attempt 2's loss on a grid of (lead of class 1, logit of class 3)."""
    d = torch.linspace(-3, 3, 121, dtype=torch.float64)
    c = torch.linspace(-16, 4, 161, dtype=torch.float64)
    dd, cc = torch.meshgrid(d, c, indexing="xy")  # (161, 121) each
    grid = torch.stack([dd, torch.zeros_like(dd), cc], -1)[..., None, :]
    t = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64).expand_as(grid)
    return d, c, nm_loss_centered(grid, t, check=False)


def failure_figure(delta: float = 1.0, third: float = -12.0):
    """The "Try it" figure: one task of three classes, target class 2, logits
    ``(delta, 0, third)`` (the target wins iff ``delta < 0`` and ``third < 0``).

    Left: the three n m-way losses at these logits, with ``log 2`` (any wrong task
    costs softmax CE and attempt 1 at least this; for one task attempt 1 *is* the
    CE). Right: attempt 2 (nm-l3) over the ``(delta, third)`` plane, the region where
    the target loses hatched, the current logits starred. Returns the figure.
    """
    from .. import plotting

    delta = check_real(delta, "delta", low=-3, high=3)
    third = check_real(third, "third", low=-16, high=4)
    t = torch.tensor([[[0.0, 1.0, 0.0]]], dtype=torch.float64)
    s = torch.tensor([[[delta, 0.0, third]]], dtype=torch.float64)
    vals = {k: float(f(s, t)) for k, f in NM_LOSSES.items()}
    fig, (ax, ax2) = plotting.figure(ncols=2, size=3.2, layout="constrained")
    bars = ax.bar(range(3), list(vals.values()), color=["C0", "C2", "C3"])
    ax.bar_label(bars, fmt="%.3f", fontsize=7)
    ax.axhline(math.log(2), color="k", ls="--", lw=1, label="log 2")
    ax.set_xticks(range(3), ["softmax CE", "attempt 1", "attempt 2"], fontsize=7)
    ax.set(ylabel="loss of the task", ylim=(0, max(4.0, 1.15 * max(vals.values()))))
    top = int(s[0, 0].argmax()) + 1
    win = (
        "the target wins" if top == 2 and max(delta, third) < 0 else f"class {top} wins"
    )
    ax.set_title(f"logits ({delta:g}, 0, {third:g}): {win}", fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    d, c, l3 = _failure_plane()
    cs = ax2.contourf(d, c, l3, levels=[0, 0.01, 0.05, 0.2, 0.5, 1, 2, 4, 8])
    fig.colorbar(cs, ax=ax2, label="attempt 2 loss")
    for span in (ax2.axvspan(0, 3, lw=0), ax2.axhspan(0, 4, xmax=0.5, lw=0)):
        span.set(facecolor="none", edgecolor="w", hatch="//", alpha=0.6)
    ax2.text(1.6, -5, "target\nloses", ha="center", fontsize=7, color="w")
    ax2.plot([delta], [third], "w*", ms=12, mec="k")
    ax2.set(xlabel="lead of class 1 over the target", ylabel="logit of class 3")
    return fig
