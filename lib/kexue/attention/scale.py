"""Scale rules for the attention logits and the entropy of attention rows.

Chapters: *attention/entropy-invariant-softmax* (post 9034: the entropy identity
``eis-entropy``, the approximation ``eis-approx`` and the ``log n`` rule ``eis-rule``)
and *attention/jl-entropy-attention* (post 9588: the factor ``log_512 n`` read as
``d_n / d``, eq. ``jl-factor``).
"""

from __future__ import annotations

import math

import torch

from ._checks import (
    check_bool_mask,
    check_choice,
    check_float_tensor,
    check_int,
    check_positive,
    check_real,
)

__all__ = [
    "standard_scale",
    "entropy_invariant_scale",
    "kappa_log_scale",
    "per_query_scale",
    "softmax_entropy",
    "entropy_lower_bound",
    "solve_scale_for_entropy",
    "jl_scale_factor",
    "jl_min_dim",
]


def standard_scale(d: int) -> float:
    """``1/sqrt(d)``, the Transformer's scale."""
    return 1.0 / math.sqrt(check_int(d, "d", min_value=1))


def _counts(n, name="n"):
    """``n`` as a float >= 1, or a float tensor of counts >= 1."""
    if isinstance(n, torch.Tensor):
        if not n.is_floating_point():
            raise TypeError(
                f"{name} must be a float tensor of counts, got {n.dtype}; convert with "
                f"{name}.float()"
            )
        if n.numel() == 0:
            raise ValueError(f"{name} must not be empty")
        t = n.to(torch.promote_types(n.dtype, torch.float32))
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} must be finite everywhere")
        if bool((t < 1).any()):
            raise ValueError(f"{name} must be >= 1 everywhere")
        return t
    v = check_positive(n, name)
    if v < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return v


def _log(n):
    return torch.log(n) if isinstance(n, torch.Tensor) else math.log(n)


def jl_scale_factor(n, *, train_len: int = 512):
    """``log(n) / log(train_len)`` = ``d_n / d`` of post 9588 (eq. ``jl-factor``); 1 at
    ``n = train_len``. ``n`` may be a number or a tensor of counts (>= 1)."""
    train_len = check_int(train_len, "train_len", min_value=2)
    return _log(_counts(n)) / math.log(train_len)


def entropy_invariant_scale(n, d: int, *, train_len: int = 512):
    """``log_{train_len}(n) / sqrt(d)`` (post 9588 eq. 1; post 9034 eq. 1 with
    ``kappa = sqrt(d)/log 512``); ``n >= 1`` a number or a tensor of counts."""
    d = check_int(d, "d", min_value=1)
    return jl_scale_factor(n, train_len=train_len) / math.sqrt(d)


def kappa_log_scale(n, d: int, kappa: float):
    """``kappa * log(n) / d`` (post 9034 eq. 1; the form of the earlier post 8823);
    ``n >= 1`` (a scale must be >= 0) a number or a tensor of counts."""
    kappa = check_positive(kappa, "kappa")
    d = check_int(d, "d", min_value=1)
    return kappa * _log(_counts(n)) / d


RULES = ("entropy", "standard", "kappa")


def per_query_scale(
    mask: torch.Tensor,
    d: int,
    *,
    rule: str = "entropy",
    train_len: int = 512,
    min_scale: float = 1e-3,
    kappa: float | None = None,
) -> torch.Tensor:
    """Scale ``(..., Lq, 1)`` for each query from the number of keys it may see
    (``n_i = mask.sum(-1)``, ``mask (..., Lq, Lk)`` bool).

    ``rule="entropy"``: ``log_{train_len}(n_i)/sqrt(d)``, floored at
    ``min_scale/sqrt(d)`` (a query that sees one key gets ``log 1 = 0``, which is
    harmless for its output but not a valid scale); ``rule="standard"``: ``1/sqrt(d)``;
    ``rule="kappa"``: ``kappa log(n_i)/d`` (post 9034 eq. 1, chapter
    *attention/entropy-invariant-softmax*, ``kappa`` required), floored at
    ``min_scale/d``. Causal rows have different ``n_i``, so one scalar is wrong there.
    """
    check_bool_mask(mask, "mask")
    if mask.ndim < 1 or mask.shape[-1] < 1:
        raise ValueError(f"mask must have shape (..., Lq, Lk), got {tuple(mask.shape)}")
    d = check_int(d, "d", min_value=1)
    check_choice(rule, "rule", RULES)
    train_len = check_int(train_len, "train_len", min_value=2)
    min_scale = check_positive(min_scale, "min_scale")
    if kappa is not None:
        kappa = check_positive(kappa, "kappa")
    if rule == "kappa" and kappa is None:
        raise ValueError('kappa is required for rule="kappa"')
    n = mask.sum(-1, keepdim=True).clamp(min=1).to(torch.get_default_dtype())
    if rule == "standard":
        return torch.full_like(n, 1.0 / math.sqrt(d))
    if rule == "kappa":
        return (kappa * torch.log(n)).clamp(min=min_scale) / d
    return (torch.log(n) / math.log(train_len)).clamp(min=min_scale) / math.sqrt(d)


def softmax_entropy(logits: torch.Tensor, *, mask=None, dim: int = -1) -> torch.Tensor:
    """Shannon entropy (nats) of ``softmax(logits)`` along ``dim``; masked entries carry
    no mass. Computed in at least float32, returned in that dtype. NaN logits propagate.
    """
    check_float_tensor(logits, "logits", min_ndim=1)
    dim = check_int(dim, "dim", min_value=-logits.ndim, max_value=logits.ndim - 1)
    work = torch.promote_types(logits.dtype, torch.float32)
    logits = logits.to(work)
    if mask is not None:
        check_bool_mask(mask, "mask")
        try:
            torch.broadcast_shapes(mask.shape, logits.shape)
        except RuntimeError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to "
                f"{tuple(logits.shape)}"
            ) from None
        logits = logits.masked_fill(~mask, float("-inf"))
    logp = torch.log_softmax(logits, dim=dim)
    p = logp.exp()
    return -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(dim)


def entropy_lower_bound(scores: torch.Tensor, lam) -> torch.Tensor:
    """``log n - lam * (max s - mean s)`` over the last dim of ``scores (..., n)``: post
    9034's approximation (eq. ``eis-approx``); ``lam >= 0`` a number or a tensor that
    broadcasts to ``scores.shape[:-1]``.

    For ``lam >= 0`` it is also a rigorous lower bound on the entropy of
    ``softmax(lam * s)`` (this book's addition: both of its approximations err in the
    same direction).
    """
    check_float_tensor(scores, "scores", min_ndim=1)
    if isinstance(lam, torch.Tensor):
        check_float_tensor(lam, "lam")
        if not bool(torch.isfinite(lam).all()) or bool((lam < 0).any()):
            raise ValueError("lam must be finite and >= 0 everywhere")
    else:
        lam = check_real(lam, "lam", low=0.0)
    n = scores.shape[-1]
    return math.log(n) - lam * (scores.amax(-1) - scores.mean(-1))


def solve_scale_for_entropy(
    scores: torch.Tensor, target: float, *, iters: int = 100
) -> torch.Tensor:
    """Per-row ``lam >= 0`` with ``H(softmax(lam * s)) = target``, by bisection (``H``
    decreases in ``lam``); ``scores (..., n)`` finite -> ``(...)``.

    ``H`` falls from ``log n`` (at ``lam = 0``) towards ``log t`` as ``lam -> inf``,
    where ``t`` is the number of scores tied at the row maximum, so a row can reach only
    targets in ``(log t, log n)``; any other target raises ``ValueError`` (rows of equal
    scores can reach none). Raises ``ValueError`` too if the bisection has not converged
    to within ``1e-6`` (relative) after ``iters`` halvings.
    """
    check_float_tensor(scores, "scores", min_ndim=1)
    if not bool(torch.isfinite(scores).all()):
        raise ValueError("scores must be finite (no NaN/inf entries)")
    n = scores.shape[-1]
    if n < 2:
        raise ValueError(f"scores must have at least 2 entries per row, got n = {n}")
    target = check_real(target, "target")
    iters = check_int(iters, "iters", min_value=1)
    if not 0 < target < math.log(n):
        raise ValueError(
            f"target must lie in (0, log n) = (0, {math.log(n):.4f}), got {target}"
        )
    spread = scores.amax(-1) - scores.amin(-1)
    if bool((spread <= 0).any()):
        raise ValueError(
            "scores has a row of equal values: its entropy is log n for every scale"
        )
    ties = (scores == scores.amax(-1, keepdim=True)).sum(-1)  # (...)
    floor = float(torch.log(ties.max().to(torch.float64)))
    if target <= floor:
        raise ValueError(
            f"target {target} is unreachable: a row with {int(ties.max())} scores "
            f"tied at its maximum has entropy > log {int(ties.max())} = "
            f"{floor:.4f} at every scale"
        )
    lo = torch.zeros_like(spread)
    hi = torch.ones_like(spread)
    for _ in range(
        1100
    ):  # grow hi until H(hi) < target in every row (2^1100 > float64)
        low_enough = softmax_entropy(hi[..., None] * scores) < target
        if bool(low_enough.all()):
            break
        hi = torch.where(low_enough, hi, 2 * hi)
    else:
        raise ValueError(f"target {target} was not reached at any finite scale")
    for _ in range(iters):
        mid = (lo + hi) / 2
        above = softmax_entropy(mid[..., None] * scores) > target
        lo, hi = torch.where(above, mid, lo), torch.where(above, hi, mid)
    lam = (lo + hi) / 2
    if not bool(((hi - lo) <= 1e-6 * hi.clamp(min=1e-300)).all()):
        raise ValueError(
            f"the bisection did not converge in iters={iters} halvings; raise iters"
        )
    return lam


def jl_min_dim(n: int, eps: float) -> int:
    """Dimension the Johnson-Lindenstrauss bound (Dasgupta-Gupta form) asks for,
    ``4 ln n / (eps^2/2 - eps^3/3)``: scikit-learn's ``johnson_lindenstrauss_min_dim``
    (``n`` points, distortion ``eps`` in ``(0, 1)``), as a Python int."""
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    n = check_int(n, "n", min_value=1)
    eps = check_real(eps, "eps", low=0.0, high=1.0, low_open=True, high_open=True)
    return int(johnson_lindenstrauss_min_dim(n, eps=eps))
