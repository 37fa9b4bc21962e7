"""Scale rules for the attention logits and the entropy of attention rows.

Chapters: *attention/entropy-invariant-softmax* (post 9034: the entropy identity ``eis-entropy``, the
approximation ``eis-approx`` and the ``log n`` rule ``eis-rule``) and *attention/jl-entropy-attention*
(post 9588: the factor ``log_512 n`` read as ``d_n / d``, eq. ``jl-factor``).
"""

from __future__ import annotations

import math

import torch

from .._validate import check_int, check_positive

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


def jl_scale_factor(n, *, train_len: int = 512):
    """``log(n) / log(train_len)`` = ``d_n / d`` of post 9588 (eq. ``jl-factor``); 1 at ``n = train_len``.

    ``n`` may be a number or a tensor of counts (>= 1).
    """
    train_len = check_int(train_len, "train_len", min_value=2)
    if isinstance(n, torch.Tensor):
        if (n < 1).any():
            raise ValueError("n must be >= 1 everywhere")
        return torch.log(n.to(torch.promote_types(n.dtype, torch.float32))) / math.log(
            train_len
        )
    n = check_positive(n, "n")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return math.log(n) / math.log(train_len)


def entropy_invariant_scale(n, d: int, *, train_len: int = 512):
    """``log_{train_len}(n) / sqrt(d)`` (post 9588 eq. 1; post 9034 eq. 1 with ``kappa = sqrt(d)/log 512``)."""
    return jl_scale_factor(n, train_len=train_len) / math.sqrt(
        check_int(d, "d", min_value=1)
    )


def kappa_log_scale(n, d: int, kappa: float):
    """``kappa * log(n) / d`` (post 9034 eq. 1; the form of the earlier post 8823)."""
    kappa = check_positive(kappa, "kappa")
    d = check_int(d, "d", min_value=1)
    if isinstance(n, torch.Tensor):
        return kappa * torch.log(n.to(torch.promote_types(n.dtype, torch.float32))) / d
    return kappa * math.log(check_positive(n, "n")) / d


def per_query_scale(
    mask: torch.Tensor,
    d: int,
    *,
    rule: str = "entropy",
    train_len: int = 512,
    min_scale: float = 1e-3,
) -> torch.Tensor:
    """Scale ``(..., Lq, 1)`` for each query from the number of keys it may see (``n_i = mask.sum(-1)``).

    ``rule="entropy"``: ``log_{train_len}(n_i)/sqrt(d)``, floored at ``min_scale/sqrt(d)`` (a query that
    sees one key gets ``log 1 = 0``, which is harmless for its output but not a valid scale);
    ``rule="standard"``: ``1/sqrt(d)``. Causal rows have different ``n_i``, so one scalar is wrong there.
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor (True = may attend)")
    d = check_int(d, "d", min_value=1)
    n = mask.sum(-1, keepdim=True).clamp(min=1).to(torch.get_default_dtype())
    if rule == "standard":
        return torch.full_like(n, 1.0 / math.sqrt(d))
    if rule != "entropy":
        raise ValueError(f"rule must be 'entropy' or 'standard', got {rule!r}")
    return (torch.log(n) / math.log(train_len)).clamp(min=min_scale) / math.sqrt(d)


def softmax_entropy(logits: torch.Tensor, *, mask=None, dim: int = -1) -> torch.Tensor:
    """Shannon entropy (nats) of ``softmax(logits)`` along ``dim``; masked entries carry no mass."""
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError("logits must be a floating torch.Tensor")
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    logp = torch.log_softmax(logits, dim=dim)
    p = logp.exp()
    return -(p * torch.where(p > 0, logp, torch.zeros_like(logp))).sum(dim)


def entropy_lower_bound(scores: torch.Tensor, lam) -> torch.Tensor:
    """``log n - lam * (max s - mean s)`` over the last dim: post 9034's approximation (eq. ``eis-approx``).

    For ``lam >= 0`` it is also a rigorous lower bound on the entropy of ``softmax(lam * s)`` (this book's
    addition: both of its approximations err in the same direction).
    """
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError("scores must be a floating torch.Tensor")
    n = scores.shape[-1]
    return math.log(n) - lam * (scores.amax(-1) - scores.mean(-1))


def solve_scale_for_entropy(
    scores: torch.Tensor, target: float, *, iters: int = 100
) -> torch.Tensor:
    """Per-row ``lam >= 0`` with ``H(softmax(lam * s)) = target``, by bisection (``H`` decreases in ``lam``).

    ``scores (..., n)``; ``target`` must lie in ``(0, log n)``. Rows whose scores are all equal cannot
    reach a target below ``log n``: ``ValueError``.
    """
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError("scores must be a floating torch.Tensor")
    n = scores.shape[-1]
    target = float(target)
    if not 0 < target < math.log(n):
        raise ValueError(
            f"target must lie in (0, log n) = (0, {math.log(n):.4f}), got {target}"
        )
    spread = scores.amax(-1) - scores.amin(-1)
    if (spread <= 0).any():
        raise ValueError(
            "scores has a row of equal values: its entropy is log n for every scale"
        )
    lo = torch.zeros_like(spread)
    hi = torch.ones_like(spread)
    for _ in range(200):  # grow hi until H(hi) < target in every row
        low_enough = softmax_entropy(hi[..., None] * scores) < target
        if bool(low_enough.all()):
            break
        hi = torch.where(low_enough, hi, 2 * hi)
    for _ in range(check_int(iters, "iters", min_value=1)):
        mid = (lo + hi) / 2
        above = softmax_entropy(mid[..., None] * scores) > target
        lo, hi = torch.where(above, mid, lo), torch.where(above, hi, mid)
    return (lo + hi) / 2


def jl_min_dim(n: int, eps: float) -> int:
    """Dimension the Johnson-Lindenstrauss bound (Dasgupta-Gupta form) asks for: ``4 ln n / (eps^2/2 - eps^3/3)``.

    Truncated to an int, as scikit-learn's ``johnson_lindenstrauss_min_dim`` does.
    """
    n = check_int(n, "n", min_value=1)
    eps = check_positive(eps, "eps")
    if eps >= 1:
        raise ValueError(f"eps must lie in (0, 1), got {eps}")
    return int(4 * math.log(n) / (eps**2 / 2 - eps**3 / 3))
