"""Symmetric KL divergences written in logits, and the GlobalPointer divergence.

Chapter: *softmax/globalpointer-kl* (post 9039,
"GlobalPointer下的“KL散度”应该是怎样的？"). Equation labels are the chapter's:

* (gpkl-sym) ``D(p, q) = KL(p||q) + KL(q||p)``;
* (gpkl-diff) ``D(p, q) = sum_i (p_i - q_i)(log p_i - log q_i)``;
* (gpkl-logits) ``D = <softmax(s) - softmax(t), s - t>`` for ``p = softmax(s)``,
  ``q = softmax(t)``;
* (gpkl-gp) ``D(s, t) = <sigmoid(s) - sigmoid(t), s - t>``, the GlobalPointer
  divergence, a sum of per-entry binary symmetric KLs (gpkl-binary);
* (gpkl-manifest) ``D = sum_i q_i u_i (e^{u_i} - 1)`` with ``u = log p - log q``, and,
  per entry, ``(sigma(s) - sigma(t))(s - t)
  = |s - t| sigma(a) sigma(-b) (1 - e^{-|s-t|})`` with ``a = max(s, t)``,
  ``b = min(s, t)``: sums of terms that are ``>= 0`` one by one.

The ``"stable"`` forms evaluate (gpkl-manifest): every term is non-negative in floating
point, nearly equal logits lose no accuracy to cancellation, and logits of size 1e4 do
not overflow. The ``"inner"`` forms evaluate the post's inner products as written (the
reference the chapter compares against). Half-precision inputs (float16, bfloat16) are
computed and returned in float32, as ``torch.autocast`` does for losses: a sum of terms
of size 2e4 would overflow float16 (largest value 65504).

The second half of the module is the chapter's experiment: R-Drop on a synthetic
multi-label task, with many small models trained side by side (one batched tensor per
weight) so that seeds and variants share data, initialisation, minibatches and dropout
masks and differ only in the regulariser.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_prob,
    check_tensor,
)
from .multilabel import multilabel_ce

__all__ = [
    "symmetric_kl",
    "symmetric_kl_logits",
    "binary_symmetric_kl_logits",
    "globalpointer_divergence",
    "divergence_properties",
    "teacher_multilabel",
    "RDropResult",
    "rdrop_multilabel",
    "rdrop_figure",
    "THRESHOLDS",
    "shift_figure",
]

_FORMS = ("stable", "inner")
_HALF = (torch.float16, torch.bfloat16)


# ------------------------------------------------------------------------- validation
def _dim(dim, x: torch.Tensor, name: str = "dim") -> int:
    """``dim`` as a valid (negative-allowed) index of ``x``'s dimensions."""
    if x.ndim == 0:
        raise ValueError(f"{name}: the inputs must have at least 1 dimension, got 0-d")
    return check_int(dim, name, min_value=-x.ndim, max_value=x.ndim - 1)


def _dims(dim, x: torch.Tensor) -> tuple[int, ...]:
    """An int or a tuple of distinct ints, each a valid dimension of ``x``."""
    if isinstance(dim, (tuple, list)):
        if not dim:
            raise ValueError("dim must name at least one dimension, got ()")
        out = tuple(_dim(d, x, f"dim[{i}]") % x.ndim for i, d in enumerate(dim))
        if len(set(out)) != len(out):
            raise ValueError(f"dim must not repeat a dimension, got {tuple(dim)}")
        return out
    return (_dim(dim, x),)


def _pair(s, t, name_s: str, name_t: str) -> tuple[torch.Tensor, torch.Tensor]:
    check_tensor(s, name_s, nonempty=True)
    check_tensor(t, name_t, nonempty=True)
    if s.shape != t.shape:
        raise ValueError(
            f"{name_t} must have the shape of {name_s} {tuple(s.shape)}, "
            f"got {tuple(t.shape)}"
        )
    if s.dtype != t.dtype:
        raise TypeError(
            f"{name_t} must have the dtype of {name_s} {s.dtype}, got {t.dtype}"
        )
    if s.device != t.device:
        raise ValueError(
            f"{name_t} must be on the device of {name_s} ({s.device}), got {t.device}"
        )
    return s, t


def _finite(x: torch.Tensor, name: str, keep: torch.Tensor | None = None) -> None:
    bad = ~torch.isfinite(x)
    if keep is not None:
        bad = bad & keep
    if x.device.type != "meta" and bool(bad.any()):
        where = "unmasked entries" if keep is not None else "entries"
        raise ValueError(
            f"{name} must be finite, got {int(bad.sum())} NaN/inf {where} of "
            f"{x.numel()}"
        )


def _work(x: torch.Tensor) -> torch.Tensor:
    """float16/bfloat16 promoted to float32 (the computing and returned dtype)."""
    return x.float() if x.dtype in _HALF else x


# ------------------------------------------------------------------------ divergences
def symmetric_kl(p: torch.Tensor, q: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Symmetric KL ``KL(p||q) + KL(q||p)`` of probability vectors along ``dim``.

    Evaluated as ``sum_i (p_i - q_i)(log p_i - log q_i)``: globalpointer-kl eqs.
    (gpkl-sym), (gpkl-diff). ``p`` and ``q`` have one shape ``(..., n, ...)``; the
    result drops ``dim``. An entry with ``p_i = q_i = 0`` contributes 0, one with
    exactly one of them 0 makes the divergence ``+inf`` (its true value).

    Raises ``ValueError`` unless every entry is finite and in ``[0, 1]`` and each vector
    sums to 1 within ``1e-6 + 8 n eps`` (``eps`` of the dtype: the round-off of a
    softmax of ``n`` entries).
    """
    p, q = _pair(p, q, "p", "q")
    d = _dim(dim, p)
    n = p.shape[d]
    tol = 1e-6 + 8 * n * torch.finfo(p.dtype).eps
    for x, name in ((p, "p"), (q, "q")):
        _finite(x, name)
        if bool((x < 0).any()) or bool((x > 1).any()):
            raise ValueError(f"{name} must hold probabilities in [0, 1]")
        total = x.double().sum(d)
        if bool(((total - 1).abs() > tol).any()):
            worst = float((total - 1).abs().max())
            raise ValueError(
                f"{name} must sum to 1 along dim={dim} (within {tol:.1e}), "
                f"off by up to {worst:.2e}"
            )
    p, q = _work(p), _work(q)
    both = (p > 0) & (q > 0)
    ps, qs = torch.where(both, p, 1.0), torch.where(both, q, 1.0)
    term = (ps - qs) * (ps.log() - qs.log())
    edge = torch.where(p == q, 0.0, math.inf)  # one of them 0: infinite divergence
    return torch.where(both, term, edge).sum(d)


def symmetric_kl_logits(
    s: torch.Tensor, t: torch.Tensor, dim: int = -1, form: str = "stable"
) -> torch.Tensor:
    """Symmetric KL of ``softmax(s)`` and ``softmax(t)`` along ``dim``, from the logits.

    ``<softmax(s) - softmax(t), s - t>`` (globalpointer-kl eq. (gpkl-logits)); equals
    ``symmetric_kl(softmax(s), softmax(t))``. It depends on ``s - t`` only up to a
    constant: adding ``c`` to every logit of one side leaves it 0.

    Args:
        s, t: logits of one shape ``(..., n, ...)``, finite; the result drops ``dim``.
        form: ``"stable"`` (default) evaluates eq. (gpkl-manifest),
            ``sum_i q_i u_i (e^{u_i} - 1)`` with ``u = log p - log q`` computed from
            ``s - t`` (``log1p``/``expm1`` when the centred differences are at most 1,
            ``logsumexp`` otherwise): non-negative term by term, accurate for nearly
            equal logits and at ``|s|, |t| ~ 1e4``. ``"inner"`` computes the inner
            product as written (its terms have both signs; the sum can round below 0).

    Half-precision inputs are computed and returned in float32.
    """
    s, t = _pair(s, t, "s", "t")
    d = _dim(dim, s)
    form = check_choice(form, "form", _FORMS)
    _finite(s, "s")
    _finite(t, "t")
    return _softmax_skl(_work(s), _work(t), d, form)


def _softmax_skl(s: torch.Tensor, t: torch.Tensor, d: int, form: str = "stable"):
    """symmetric_kl_logits without validation (for training loops)."""
    delta = s - t  # (..., n, ...)
    if form == "inner":
        return ((torch.softmax(s, d) - torch.softmax(t, d)) * delta).sum(d)
    log_q = torch.log_softmax(t, d)
    p, q = torch.softmax(s, d), log_q.exp()
    m = (q * delta).sum(d, keepdim=True)  # q-mean of delta: D ignores a constant shift
    c = delta - m
    small = c.abs().amax(d, keepdim=True) <= 1.0
    # log(Z_s/Z_t) - m = log sum_j q_j e^{c_j}: log1p form without cancellation when
    # |c| <= 1 (clamped so that the branch not taken stays finite), logsumexp otherwise
    ell = torch.log1p((q * torch.expm1(c.clamp(-1.0, 1.0))).sum(d, keepdim=True))
    u_small = c - ell
    u_large = delta - torch.logsumexp(log_q + delta, d, keepdim=True)
    u = torch.where(small, u_small, u_large)  # log p - log q
    a = -torch.expm1(-u.abs())  # 1 - e^{-|u|} in [0, 1): no overflow
    diff = torch.where(u >= 0, p * a, -q * a)  # p - q = q (e^u - 1) = p (1 - e^-u)
    return (u * diff).sum(d)


def binary_symmetric_kl_logits(
    s: torch.Tensor, t: torch.Tensor, form: str = "stable"
) -> torch.Tensor:
    """Per-entry symmetric KL of ``Bernoulli(sigmoid(s))``, ``Bernoulli(sigmoid(t))``.

    ``(sigmoid(s) - sigmoid(t)) (s - t)`` elementwise, shape of ``s``
    (globalpointer-kl eq. (gpkl-binary)). ``form="stable"`` (default) evaluates
    ``|s - t| sigmoid(a) sigmoid(-b) (1 - e^{-|s - t|})`` with ``a = max(s, t)``,
    ``b = min(s, t)`` (eq. (gpkl-manifest)): a product of non-negative factors, each
    computed to full relative accuracy (``softplus``, ``expm1``), finite at logits
    ``+-1e4``; ``"inner"`` computes the product as written.

    ``s`` and ``t`` must be finite; half precision is computed and returned in float32.
    """
    s, t = _pair(s, t, "s", "t")
    form = check_choice(form, "form", _FORMS)
    _finite(s, "s")
    _finite(t, "t")
    return _binary(_work(s), _work(t), form)


def _binary(s: torch.Tensor, t: torch.Tensor, form: str = "stable") -> torch.Tensor:
    if form == "inner":
        return (torch.sigmoid(s) - torch.sigmoid(t)) * (s - t)
    hi, lo = torch.maximum(s, t), torch.minimum(s, t)
    gap = hi - lo
    # sigma(hi) - sigma(lo) = sigma(hi) sigma(-lo) (1 - e^{-gap})
    return gap * -torch.expm1(-gap) * torch.exp(-F.softplus(-hi) - F.softplus(lo))


def globalpointer_divergence(
    s: torch.Tensor,
    t: torch.Tensor,
    mask: torch.Tensor | None = None,
    dim: int | Sequence[int] = -1,
) -> torch.Tensor:
    """GlobalPointer divergence ``<sigmoid(s) - sigmoid(t), s - t>``, summed over dim.

    globalpointer-kl eq. (gpkl-gp): the sum of the per-entry binary symmetric KLs of
    :func:`binary_symmetric_kl_logits` (stable form). ``dim`` is an int or a tuple (for
    GlobalPointer's ``(batch, types, spans, spans)`` logits, ``dim=(1, 2, 3)``).

    ``mask`` (optional, broadcastable to ``s``; bool or 0/1 numbers) marks the entries
    to keep. Masked entries may hold anything (GlobalPointer fills invalid spans with
    ``-inf`` or ``-1e12``): they are replaced by 0 before any arithmetic, so they add
    nothing to the value and no NaN to the gradient. Unmasked entries must be finite.
    To weight by the number of valid entries, divide by ``mask.sum(dim)`` yourself.
    """
    s, t = _pair(s, t, "s", "t")
    dims = _dims(dim, s)
    keep = None
    if mask is not None:
        if not isinstance(mask, torch.Tensor):
            raise TypeError(
                f"mask must be a torch.Tensor or None, got {type(mask).__name__}"
            )
        if mask.dtype != torch.bool:
            if mask.is_complex() or not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError("mask must be boolean or hold only 0 and 1")
            mask = mask != 0
        try:
            keep = torch.broadcast_to(mask.to(s.device), s.shape)
        except RuntimeError as err:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to s "
                f"{tuple(s.shape)}"
            ) from err
    _finite(s, "s", keep)
    _finite(t, "t", keep)
    s, t = _work(s), _work(t)
    if keep is not None:
        s, t = torch.where(keep, s, 0.0), torch.where(keep, t, 0.0)
    term = _binary(s, t)
    if keep is not None:
        term = torch.where(keep, term, 0.0)
    return term.sum(dims)


def divergence_properties(
    fn, *, n: int = 8, n_pairs: int = 2000, scale: float = 4.0, seed: int = 0
) -> dict:
    """Test a candidate divergence ``fn(s, t) -> (pairs,)`` for the three properties.

    ``fn`` gets float64 logits ``s, t`` of shape ``(pairs, n)`` and returns one value
    per row. Drawn (seeded): ``n_pairs`` random pairs ``s, t ~ N(0, scale^2)``, as many
    shifted pairs ``t = s + c`` (``c ~ U(0.5, 3)``, equal up to a constant) and as many
    close pairs ``t = s + 0.1 eps``. Returns the verdicts and the numbers behind them:

    * ``symmetric``: ``max |fn(s,t) - fn(t,s)| <= 1e-10 (1 + |fn|)`` on all pairs
      (``max_asymmetry``, relative);
    * ``nonnegative``: ``min fn >= -1e-12`` on all pairs (``min_value``; float64
      round-off of sums of terms of size ``<= scale^2``);
    * ``zero_iff_equal``: ``|fn(s, s)| <= 1e-12`` and ``fn > 1e-9`` on every pair with
      ``s != t`` (``min_unequal``, which a form blind to shifts fails).

    Chapter globalpointer-kl, section "Properties" (the check is run on the rivals too).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    n = check_int(n, "n", min_value=2)
    n_pairs = check_int(n_pairs, "n_pairs", min_value=1)
    scale = check_positive(scale, "scale")
    seed = check_int(seed, "seed", min_value=0)
    g = torch.Generator().manual_seed(seed)
    s = scale * torch.randn(3 * n_pairs, n, generator=g, dtype=torch.float64)
    t = scale * torch.randn(n_pairs, n, generator=g, dtype=torch.float64)
    shift = 0.5 + 2.5 * torch.rand(n_pairs, 1, generator=g, dtype=torch.float64)
    near = 0.1 * torch.randn(n_pairs, n, generator=g, dtype=torch.float64)
    t = torch.cat([t, s[n_pairs : 2 * n_pairs] + shift, s[2 * n_pairs :] + near])

    def call(a, b):
        out = fn(a, b)
        if not isinstance(out, torch.Tensor) or out.shape != (len(a),):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out)
            raise ValueError(
                f"fn must return a tensor of shape ({len(a)},) (one value per row), "
                f"got {got}"
            )
        return out.detach().double()

    d_st, d_ts, d_ss = call(s, t), call(t, s), call(s, s)
    asym = float(((d_st - d_ts).abs() / (1 + d_st.abs())).max())
    lowest = float(torch.minimum(d_st, d_ts).min())
    unequal = float(d_st.min())
    zero = float(d_ss.abs().max())
    return {
        "symmetric": asym <= 1e-10,
        "nonnegative": lowest >= -1e-12,
        "zero_iff_equal": zero <= 1e-12 and unequal > 1e-9,
        "max_asymmetry": asym,
        "min_value": lowest,
        "min_unequal": unequal,
    }


# ------------------------------------------------------------------------- experiment
def teacher_multilabel(
    n_train: int,
    n_test: int,
    *,
    n_features: int = 20,
    n_labels: int = 32,
    rate: float = 0.08,
    teacher_width: int = 64,
    seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """A synthetic multi-label task: ``(x_train, y_train, x_test, y_test)``.

    ``x ~ N(0, I)`` of shape ``(n, n_features)``; a random two-layer teacher
    ``z = tanh(2 x W1) W2`` (``W1 ~ N(0, 1/n_features)``, ``W2 ~ N(0, 1/width)``) gives
    ``n_labels`` scores, and label ``k`` is on when ``z_k`` exceeds its training
    ``(1 - rate)``-quantile, so each label is on for a fraction ``rate`` of the training
    rows (sparse positives, as for GlobalPointer's spans). Labels are a deterministic
    function of ``x`` (no label noise). float32, seeded by ``seed``.
    Chapter globalpointer-kl, section "R-Drop".
    """
    n_train = check_int(n_train, "n_train", min_value=2)
    n_test = check_int(n_test, "n_test", min_value=1)
    n_features = check_int(n_features, "n_features", min_value=1)
    n_labels = check_int(n_labels, "n_labels", min_value=1)
    rate = check_prob(rate, "rate", open_ends=True)
    teacher_width = check_int(teacher_width, "teacher_width", min_value=1)
    seed = check_int(seed, "seed", min_value=0)
    g = torch.Generator().manual_seed(seed)
    w1 = torch.randn(n_features, teacher_width, generator=g) / math.sqrt(n_features)
    w2 = torch.randn(teacher_width, n_labels, generator=g) / math.sqrt(teacher_width)
    x = torch.randn(n_train + n_test, n_features, generator=g)
    z = torch.tanh(2 * x @ w1) @ w2  # (n, n_labels)
    threshold = torch.quantile(z[:n_train], 1 - rate, dim=0)
    y = (z > threshold).float()
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def _gp_rows(s: torch.Tensor, t: torch.Tensor, d: int = -1) -> torch.Tensor:
    """(gpkl-gp) summed over ``d``, without validation (for training loops)."""
    return _binary(s, t).sum(d)


def _micro_f1(pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Micro-averaged F1 of 0/1 predictions over the last two dims (rows, labels)."""
    tp = (pred * y).sum((-2, -1))
    fp = (pred * (1 - y)).sum((-2, -1))
    fn = ((1 - pred) * y).sum((-2, -1))
    return 2 * tp / (2 * tp + fp + fn).clamp_min(1)


THRESHOLDS = tuple(round(-3 + 0.1 * k, 1) for k in range(61))  # -3.0, -2.9, ..., 3.0


def _tuned_f1(
    s_train: torch.Tensor, y_train: torch.Tensor, s_test: torch.Tensor, y_test
) -> tuple[torch.Tensor, torch.Tensor]:
    """Test micro-F1 at the threshold of :data:`THRESHOLDS` that maximises the training
    micro-F1 (the first such on ties), ``(...)`` for logits ``(..., rows, labels)``, and
    that threshold (a float64 NumPy array of the same shape)."""
    f_tr = torch.stack([_micro_f1((s_train > h).float(), y_train) for h in THRESHOLDS])
    f_te = torch.stack([_micro_f1((s_test > h).float(), y_test) for h in THRESHOLDS])
    k = f_tr.argmax(0)  # first maximum
    return torch.gather(f_te, 0, k[None]).squeeze(0), np.array(THRESHOLDS)[k.cpu()]


def _micro_ap(scores: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Micro-averaged precision (``sklearn.metrics.average_precision_score`` of all
    (row, label) entries pooled) for scores ``(K, V, rows, labels)``, targets
    ``(K, rows, labels)``: ``(K, V)``. Threshold-free: it depends only on the
    ranking."""
    from sklearn.metrics import average_precision_score

    k_, v_ = scores.shape[:2]
    return np.array(
        [
            [
                average_precision_score(y[k].ravel(), scores[k, v].ravel())
                for v in range(v_)
            ]
            for k in range(k_)
        ]
    )


_DIVERGENCES = ("none", "globalpointer", "softmax")


@dataclasses.dataclass(frozen=True)
class RDropResult:
    """Per-seed, per-variant outcomes of :func:`rdrop_multilabel`.

    ``variants[j] = (divergence, alpha)``; every array has shape ``(seeds, variants)``
    except ``true_positives`` ``(seeds,)``. The test metrics use the dropout-free model:
    ``test_f1``, ``train_f1`` and ``predicted_positives`` at the threshold ``logit > 0``
    (GlobalPointer's decision rule); ``threshold`` is the value of :data:`THRESHOLDS`
    that maximises the training micro-F1 and ``test_f1_tuned`` the test micro-F1 there
    (calibration removed, as far as one threshold can); ``test_ap`` the micro-averaged
    precision of the test logits (threshold-free: ranking quality only).
    ``test_gp_div``/``test_softmax_div`` are the mean divergences between two dropout
    passes on the test inputs (how consistent the passes are, what R-Drop penalises).
    """

    variants: tuple[tuple[str, float], ...]
    seeds: tuple[int, ...]
    test_f1: np.ndarray
    train_f1: np.ndarray
    test_f1_tuned: np.ndarray
    threshold: np.ndarray
    test_ap: np.ndarray
    predicted_positives: np.ndarray
    true_positives: np.ndarray
    test_gp_div: np.ndarray
    test_softmax_div: np.ndarray

    def paired(
        self, metric: str, variant: int, baseline: int = 0
    ) -> tuple[float, float]:
        """Mean over seeds of ``metric[:, variant] - metric[:, baseline]`` and its
        standard error ``std(ddof=1) / sqrt(seeds)`` (seeds are independent; the two
        variants of one seed share data, initialisation, batches and dropout masks)."""
        arr = getattr(self, check_choice(metric, "metric", _METRICS))
        v = check_int(variant, "variant", min_value=0, max_value=len(self.variants) - 1)
        b = check_int(
            baseline, "baseline", min_value=0, max_value=len(self.variants) - 1
        )
        diff = arr[:, v] - arr[:, b]
        se = diff.std(ddof=1) / math.sqrt(len(diff)) if len(diff) > 1 else math.nan
        return float(diff.mean()), float(se)

    def t_stat(self, metric: str, variant: int, baseline: int = 0) -> float:
        """Paired t-statistic ``mean / se`` of :meth:`paired` (``nan`` for one seed;
        ``+-inf`` when every seed has the same nonzero difference, ``nan`` when all
        differences are 0)."""
        m, se = self.paired(metric, variant, baseline)
        if se == 0:
            return math.copysign(math.inf, m) if m != 0 else math.nan
        return m / se


_METRICS = (
    "test_f1",
    "train_f1",
    "test_f1_tuned",
    "threshold",
    "test_ap",
    "predicted_positives",
    "test_gp_div",
    "test_softmax_div",
)


def _variants(variants) -> tuple[tuple[str, float], ...]:
    if isinstance(variants, (str, bytes)) or not isinstance(variants, Sequence):
        raise TypeError(
            f"variants must be a sequence of (divergence, alpha) pairs, got "
            f"{type(variants).__name__}"
        )
    if not variants:
        raise ValueError("variants must hold at least one (divergence, alpha) pair")
    out = []
    for i, v in enumerate(variants):
        if not isinstance(v, (tuple, list)) or len(v) != 2:
            raise TypeError(
                f"variants[{i}] must be a (divergence, alpha) pair, got {v!r}"
            )
        name = check_choice(v[0], f"variants[{i}]", _DIVERGENCES)
        alpha = check_positive(v[1], f"variants[{i}]", allow_zero=True)
        if (name == "none") != (alpha == 0):
            raise ValueError(
                f"variants[{i}]: 'none' goes with alpha 0, a divergence with alpha > 0;"
                f" got {v!r}"
            )
        out.append((name, alpha))
    return tuple(out)


def _seeds(seeds) -> tuple[int, ...]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, range)):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds).__name__}")
    out = tuple(check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds))
    if not out:
        raise ValueError("seeds must hold at least one seed")
    if len(set(out)) != len(out):
        raise ValueError(f"seeds must be distinct, got {out}")
    return out


def rdrop_multilabel(
    variants: Sequence[tuple[str, float]],
    *,
    seeds: Sequence[int] = range(5),
    n_train: int = 500,
    n_test: int = 2000,
    n_labels: int = 32,
    rate: float = 0.08,
    hidden: int = 128,
    dropout: float = 0.3,
    steps: int = 300,
    batch_size: int = 48,
    lr: float = 3e-3,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> RDropResult:
    """R-Drop on :func:`teacher_multilabel`: every ``(seed, variant)`` model trained.

    Model: ``n_features -> hidden`` (ReLU) ``-> n_labels`` with dropout ``dropout`` on
    the hidden layer. Loss per row, averaged over the minibatch: ZLPR on two dropout
    passes ``s``, ``t`` plus ``alpha * D(s, t)`` with ``D`` the GlobalPointer divergence
    (eq. (gpkl-gp), summed over labels), the softmax symmetric KL of the logits (eq.
    (gpkl-logits)) or nothing (``("none", 0)``). Adam at ``lr``, ``steps`` steps. ZLPR
    is :func:`kexue.losses.multilabel.multilabel_ce`. R-Drop's paper writes the loss as
    ``NLL_1 + NLL_2 + (alpha'/2) D``, so ``alpha`` here is its ``alpha' / 2``.

    Pairing: the models of one seed share the task (``teacher_multilabel(seed=seed)``),
    the initial weights, the minibatches and both dropout masks of every step; they
    differ only in the regulariser. All models are trained at once as one batched
    network (Adam acts elementwise, so they stay independent). Shows one tqdm bar
    (hidden in the book build). Returns an :class:`RDropResult`. Chapter
    globalpointer-kl, section "R-Drop".
    """
    var = _variants(variants)
    seeds = _seeds(seeds)
    n_train = check_int(n_train, "n_train", min_value=2)
    n_test = check_int(n_test, "n_test", min_value=1)
    n_labels = check_int(n_labels, "n_labels", min_value=2)
    rate = check_prob(rate, "rate", open_ends=True)
    hidden = check_int(hidden, "hidden", min_value=1)
    dropout = _dropout_prob(dropout)
    steps = check_int(steps, "steps", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    lr = check_positive(lr, "lr")
    progress = check_bool(progress, "progress")
    dev = _device(device)
    from tqdm.auto import tqdm

    k_, v_ = len(seeds), len(var)
    data = [
        teacher_multilabel(n_train, n_test, n_labels=n_labels, rate=rate, seed=s)
        for s in seeds
    ]
    xtr, ytr, xte, yte = (torch.stack([d[i] for d in data]).to(dev) for i in range(4))
    n_in = xtr.shape[-1]
    g = torch.Generator().manual_seed(seeds[0] * 7919 + 1)

    def init(fan_in, *shape):  # torch.nn.Linear's uniform init, one draw per seed
        w = (torch.rand(k_, 1, *shape, generator=g) * 2 - 1) / math.sqrt(fan_in)
        return w.expand(k_, v_, *shape).clone().to(dev).requires_grad_()

    params = [
        init(n_in, n_in, hidden),
        init(n_in, 1, hidden),
        init(hidden, hidden, n_labels),
        init(hidden, 1, n_labels),
    ]
    w1, b1, w2, b2 = params  # (K, V, ...)
    opt = torch.optim.Adam(params, lr=lr)
    alpha = torch.tensor([a for _, a in var], device=dev).view(1, v_, 1)
    gp_j = torch.tensor([j for j, v in enumerate(var) if v[0] == "globalpointer"])
    sm_j = torch.tensor([j for j, v in enumerate(var) if v[0] == "softmax"])
    gp_j, sm_j = gp_j.long().to(dev), sm_j.long().to(dev)

    def forward(x, mask=None):  # x (K, 1, B, n_in) -> logits (K, V, B, n_labels)
        h = torch.relu(x @ w1 + b1)
        return (h if mask is None else h * mask) @ w2 + b2

    def masks(rows):  # one dropout mask per seed, shared by its variants
        keep = torch.rand(k_, 1, rows, hidden, generator=g) > dropout
        return (keep / (1 - dropout)).to(dev)

    book = os.environ.get("KEXUE_BOOK_BUILD") == "1"
    for _ in tqdm(
        range(steps), desc="R-Drop", disable=not progress or book, mininterval=0.5
    ):
        idx = torch.randint(0, n_train, (k_, batch_size), generator=g).to(dev)
        xb = torch.gather(xtr, 1, idx[..., None].expand(-1, -1, n_in))[:, None]
        yb = torch.gather(ytr, 1, idx[..., None].expand(-1, -1, n_labels))[:, None]
        s, t = forward(xb, masks(batch_size)), forward(xb, masks(batch_size))
        yb = yb.expand_as(s)
        zlpr = multilabel_ce(s, yb, check=False) + multilabel_ce(t, yb, check=False)
        loss = zlpr.mean(-1).sum()
        for j, fn in ((gp_j, _gp_rows), (sm_j, _softmax_skl)):
            if len(j):  # each regulariser only on the models that use it
                reg = fn(s[:, j], t[:, j], -1).mean(-1)  # (K, len(j))
                loss = loss + (alpha[0, j, 0] * reg).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    with torch.no_grad():
        st = forward(xte[:, None])
        pred = (st > 0).float()
        test_f1 = _micro_f1(pred, yte[:, None])
        s_tr = forward(xtr[:, None])
        train_f1 = _micro_f1((s_tr > 0).float(), ytr[:, None])
        tuned, thr = _tuned_f1(s_tr, ytr[:, None], st, yte[:, None])
        ap = _micro_ap(st.double().cpu().numpy(), yte.cpu().numpy())
        s, t = (
            forward(xte[:, None], masks(n_test)),
            forward(xte[:, None], masks(n_test)),
        )
        gp = _gp_rows(s, t).mean(-1)
        sm = _softmax_skl(s, t, -1).mean(-1)
    cpu = lambda x: x.double().cpu().numpy()  # noqa: E731
    return RDropResult(
        variants=var,
        seeds=seeds,
        test_f1=cpu(test_f1),
        train_f1=cpu(train_f1),
        test_f1_tuned=cpu(tuned),
        threshold=thr,
        test_ap=ap,
        predicted_positives=cpu(pred.sum(-1).mean(-1)),
        true_positives=cpu(yte.sum(-1).mean(-1)),
        test_gp_div=cpu(gp),
        test_softmax_div=cpu(sm),
    )


def _dropout_prob(dropout) -> float:
    """``dropout`` as a float in [0, 1)."""
    p = check_prob(dropout, "dropout")
    if p >= 1:
        raise ValueError(f"dropout must be < 1, got {p}")
    return p


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cpu")
    if isinstance(device, torch.device):
        return device
    if isinstance(device, str):
        try:
            return torch.device(device)
        except RuntimeError as err:
            raise ValueError(
                f"device must name a torch device, got {device!r}"
            ) from err
    raise TypeError(f"device must be a torch.device, a str or None, got {device!r}")


def rdrop_figure(result: RDropResult, t_crit: float = 2.0):
    """Paired differences from the baseline (variant 0) against ``alpha``, one line per
    divergence, error bars ``+- t_crit`` standard errors. Top row, three measures of
    test quality: micro-F1 at threshold 0, micro-F1 at the threshold chosen on the
    training set, micro-average precision (threshold-free). Bottom row: predicted
    positives per row (at 0), the threshold chosen on the training set, and the
    GlobalPointer divergence of two dropout passes on the test set. Returns the figure.
    Chapter globalpointer-kl, section "R-Drop"."""
    from .. import plotting

    if not isinstance(result, RDropResult):
        raise TypeError(f"result must be an RDropResult, got {type(result).__name__}")
    t_crit = check_positive(t_crit, "t_crit")
    titles = {
        "test_f1": "test micro-F1, threshold 0",
        "test_f1_tuned": "test micro-F1, threshold from train",
        "test_ap": "test micro-AP (no threshold)",
        "predicted_positives": "predicted positives / row",
        "threshold": "threshold chosen on train",
        "test_gp_div": "GP divergence of 2 passes",
    }
    fig, axes = plotting.figure(ncols=3, nrows=2, size=2.8)
    for ax, (metric, label) in zip(axes, titles.items(), strict=True):
        ax.set(xscale="log", xlabel=r"weight $\alpha$")  # before the ticks: it resets
        ticks = set()
        for name, colour in (("globalpointer", "tab:blue"), ("softmax", "tab:orange")):
            js = [j for j, v in enumerate(result.variants) if v[0] == name]
            if not js:
                continue
            alphas = [result.variants[j][1] for j in js]
            ticks.update(alphas)
            m, se = np.array([result.paired(metric, j) for j in js]).T
            ax.errorbar(
                alphas, m, t_crit * se, fmt="o-", color=colour, capsize=3, label=name
            )
        ax.minorticks_off()
        ax.set_xticks(sorted(ticks), [f"{a:g}" for a in sorted(ticks)])
        ax.axhline(0, color="0.5", lw=1, ls="--")
        ax.set_title(f"{label},\nminus baseline", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ demo
def shift_figure(shift: float = 2.0, noise: float = 0.0, n: int = 12, seed: int = 0):
    """Two passes of ``n`` GlobalPointer logits and the two divergences between them.

    Pass 1 ``s ~ N(-1.5, 2^2)`` (seeded); pass 2 ``t = s + shift + noise * eps``. Left:
    both logit vectors and the threshold 0, with the entries whose prediction
    (``logit > 0``) differs marked. Right: the GlobalPointer divergence (eq. (gpkl-gp))
    and the softmax symmetric KL (eq. (gpkl-logits)). With ``noise = 0`` the softmax KL
    is 0 whatever the shift, while the predictions flip. Returns the figure. Chapter
    globalpointer-kl, "Try it".
    """
    from .. import plotting

    if isinstance(shift, bool) or not isinstance(shift, numbers.Real):
        raise TypeError(f"shift must be a real number, got {type(shift).__name__}")
    if not math.isfinite(shift):
        raise ValueError(f"shift must be finite, got {shift}")
    noise = check_positive(noise, "noise", allow_zero=True)
    n = check_int(n, "n", min_value=2)
    seed = check_int(seed, "seed", min_value=0)
    g = torch.Generator().manual_seed(seed)
    s = -1.5 + 2 * torch.randn(n, generator=g, dtype=torch.float64)
    t = s + shift + noise * torch.randn(n, generator=g, dtype=torch.float64)
    flip = (s > 0) != (t > 0)
    d_gp = float(globalpointer_divergence(s, t))
    d_sm = float(symmetric_kl_logits(s, t))
    fig, (ax, bx) = plotting.figure(ncols=2, size=3.0)
    i = np.arange(n)
    ax.axhline(0, color="0.5", lw=1, ls="--")
    ax.plot(i, s.numpy(), "o", label="pass 1, $s$")
    ax.plot(i, t.numpy(), "s", mfc="none", label="pass 2, $t$")
    ax.plot(i[flip.numpy()], t.numpy()[flip.numpy()], "rx", ms=10, label="flipped")
    # y-range covers every frame of the demo (shift -3..3, noise <= 1: -9.9 .. 4.6);
    # the legend sits above the axes, off the data
    ax.set(xlabel="entry (span, type)", ylabel="logit", ylim=(-10.5, 6.5))
    ax.set_xticks(i[::2])
    ax.legend(
        fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False
    )
    bx.bar([0, 1], [d_gp, d_sm], color=["tab:blue", "tab:orange"])
    for x, v in ((0, d_gp), (1, d_sm)):
        bx.text(x, v, f"{v:.3f}", ha="center", va="bottom", fontsize=8)
    bx.set_xticks([0, 1], ["GlobalPointer", "softmax KL"])
    top = max(21.0, 1.15 * max(d_gp, d_sm))  # fixed over the demo's frames
    bx.set(ylabel="divergence", ylim=(0, top))
    bx.set_title(f"{int(flip.sum())} of {n} predictions flipped")
    fig.tight_layout()
    return fig
