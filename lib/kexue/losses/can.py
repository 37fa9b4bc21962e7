"""CAN, classification with alternating normalisation: chapter *softmax/can*.

Post 8728 (Su Jianlin, after Jia et al., arXiv:2109.13449) corrects the *unconfident*
predictions of a classifier with the class prior. Names follow the chapter's equations:

* ``probs``   the predictions ``p^(i)``, shape (N, C), rows on the simplex;
* ``prior``   the class prior ``p~`` (C,), positive, summing to one (can-prior);
* ``U_k``     the top-k uncertainty (can-uncertainty), or the paper's (can-paper-u);
* ``tau``     rows with ``U_k < tau`` are *confident* and kept as they are;
* each unconfident row is stacked under the confident rows and the stack is
  alternately rescaled: columns to mean ``prior`` (can-col), rows to sum one (can-row).
  ``iters`` rounds; only the new unconfident row is kept (``mode="per_sample"``,
  the post's choice) or all unconfident rows go in one stack (``mode="batch"``).

Run to convergence the alternation is Sinkhorn's matrix scaling: the limit has unit row
sums and column means ``prior``, the plan of entropic optimal transport with cost
``-log p`` and regularisation 1 (the chapter checks it against POT's ``ot.sinkhorn``).

:func:`can_correct` is the vectorised implementation (no loop over rows: a closed form
for one round, Sinkhorn's scaling-vector form for more); :func:`can_loop` is the post's
loop over unconfident rows, written as the post describes it and kept as the readable
reference. The rest builds the chapter's experiment on
scikit-learn's digits.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import logsumexp, xlogy

from .._validate import (
    check_bool,
    check_choice,
    check_int,
    check_positive,
    check_real,
)

__all__ = [
    "topk_uncertainty",
    "confident_mask",
    "can_correct",
    "can_loop",
    "label_shift_correction",
    "long_tail_counts",
    "digits_scenario",
    "scenario_accuracies",
    "SCENARIOS",
]

_SUM_TOL = 1e-6  # rows and priors must sum to one within this


def _matrix(x, name: str) -> np.ndarray:
    """A finite float64 (N, C) array of probabilities whose rows sum to one."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an (N, C) array of probabilities, got {x!r}")
    try:
        p = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be an (N, C) array of probabilities, got {type(x)!r}"
        ) from err
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(
            f"{name} must have shape (N, C) with N >= 1 and C >= 2, got {p.shape}"
        )
    if not np.all(np.isfinite(p)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(p < 0):
        raise ValueError(f"{name} must be non-negative, got min {p.min():.3g}")
    err = np.abs(p.sum(1) - 1.0).max()
    if err > _SUM_TOL:
        raise ValueError(
            f"{name}: every row must sum to 1 (within {_SUM_TOL:g}); worst row is off "
            f"by {err:.3g} (pass softmax outputs, not logits)"
        )
    return p


def _prior(x, name: str, n_classes: int) -> np.ndarray:
    """A positive float64 (C,) vector summing to one."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(
            f"{name} must be a (C,) array of class probabilities, got {x!r}"
        )
    try:
        q = np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a (C,) array of class probabilities, got {type(x)!r}"
        ) from err
    if q.shape != (n_classes,):
        raise ValueError(f"{name} must have shape ({n_classes},), got {q.shape}")
    if not np.all(np.isfinite(q)) or np.any(q <= 0):
        raise ValueError(
            f"{name} must be finite and > 0 for every class (a class with prior 0 "
            f"cannot be rescaled), got {q}"
        )
    if abs(q.sum() - 1.0) > _SUM_TOL:
        raise ValueError(f"{name} must sum to 1 (within {_SUM_TOL:g}), got {q.sum()}")
    return q


def _k(k, n_classes: int) -> int:
    return check_int(k, "k", min_value=2, max_value=n_classes)


def topk_uncertainty(probs, k: int = 3, *, renormalize: bool = True) -> np.ndarray:
    """Uncertainty of each row from its ``k`` largest probabilities, shape (N,).

    ``renormalize=True`` (the post, can eq. (can-uncertainty)): the top-k entries are
    renormalised to sum one, ``U_k = H(top-k renormalised) / log k``, in [0, 1], and 1
    exactly when the top k are tied. ``renormalize=False`` (the paper, eq.
    (can-paper-u)): ``-sum_{top k} p log p / log C`` with no renormalisation; for
    ``k >= 3`` it never exceeds ``log k / log C``. ``0 log 0 = 0`` (``xlogy``).
    """
    p = _matrix(probs, "probs")
    k = _k(k, p.shape[1])
    check_bool(renormalize, "renormalize")
    top = -np.sort(-p, axis=1)[:, :k]  # (N, k), largest first
    if renormalize:
        top = top / top.sum(1, keepdims=True)
        return -xlogy(top, top).sum(1) / math.log(k)
    return -xlogy(top, top).sum(1) / math.log(p.shape[1])


def confident_mask(
    probs, k: int = 3, tau: float = 0.9, *, renormalize: bool = True
) -> np.ndarray:
    """Boolean (N,): ``True`` where ``U_k < tau`` (confident rows, kept unchanged)."""
    tau = check_real(tau, "tau", low=0.0)
    return topk_uncertainty(probs, k, renormalize=renormalize) < tau


def _settings(probs, prior, k, tau, alpha, iters, mode, renormalize):
    p = _matrix(probs, "probs")
    q = _prior(prior, "prior", p.shape[1])
    k = _k(k, p.shape[1])
    tau = check_real(tau, "tau", low=0.0)
    alpha = check_positive(alpha, "alpha")
    iters = check_int(iters, "iters", min_value=1)
    mode = check_choice(mode, "mode", ("per_sample", "batch"))
    check_bool(renormalize, "renormalize")
    conf = topk_uncertainty(p, k, renormalize=renormalize) < tau
    return p, q, alpha, iters, mode, conf


def _lse(x: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(x))) along ``axis``, kept; all ``-inf`` gives ``-inf``."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m


def _alternate_log(logy: np.ndarray, log_prior: np.ndarray, alpha: float, iters: int):
    """``iters`` rounds of (can-col), (can-row) on stacks ``logy`` (..., rows, C).

    In the log domain: powers become products, the column mean a logsumexp. A column
    that is all zero (``-inf``) stays zero (0/0 := 0, as in :func:`can_loop`).
    """
    log_rows = math.log(logy.shape[-2])
    for _ in range(iters):
        logy = alpha * logy
        col = _lse(logy, axis=-2) - log_rows  # log column mean
        col = np.where(np.isneginf(col), 0.0, col)
        logy = logy - col + log_prior  # (can-col)
        logy = logy - _lse(logy, axis=-1)  # (can-row)
    return logy


def can_correct(
    probs,
    prior,
    k: int = 3,
    tau: float = 0.9,
    *,
    alpha: float = 1.0,
    iters: int = 1,
    mode: str = "per_sample",
    renormalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Classification with alternating normalisation; returns ``(new_probs, unconf)``.

    ``probs`` (N, C), ``prior`` (C,). Rows with ``U_k >= tau`` (``unconf``, (N,) bool)
    are corrected; confident rows are returned unchanged. ``mode="per_sample"``: each
    unconfident row is stacked under the ORIGINAL confident rows, the (n+1, C) stack
    goes through ``iters`` rounds of: power ``alpha`` (applied every round, as in the
    post's code), columns rescaled to mean ``prior`` (can-col), rows to sum one
    (can-row), and its last row is kept (can eqs. (can-col), (can-row)).
    ``mode="batch"``: one stack of all confident and all unconfident rows. Vectorised
    without a loop over rows: one round in closed form in the log domain (the column
    sums of the confident rows are shared, only the row's own term differs), more
    rounds in scaling form (each stack's confident block is its shared base matrix
    rescaled by row and column factors, so no (m, n+1, C) array is built). The batch
    stack is scaled in the same form when ``alpha = 1`` (:func:`_batch_scaling`) and
    in the log domain otherwise, or when a scaling factor would overflow.
    """
    p, q, alpha, iters, mode, conf = _settings(
        probs, prior, k, tau, alpha, iters, mode, renormalize
    )
    out, unconf = p.copy(), ~conf
    if not unconf.any():
        return out, unconf
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    log_prior = np.log(q)
    lc, lu = logp[conf], logp[unconf]  # (n, C), (m, C)
    if mode == "batch":
        fast = None
        if alpha == 1.0:
            fast = _batch_scaling(np.concatenate([p[conf], p[unconf]]), q, iters)
        if fast is not None:
            out[unconf] = fast[conf.sum() :]
            return out, unconf
        stack = np.concatenate([lc, lu])  # (n + m, C)
        out[unconf] = np.exp(_alternate_log(stack, log_prior, alpha, iters)[len(lc) :])
        return out, unconf
    n, c = lc.shape
    if iters == 1:  # one round needs no stack: column sums are shared but one row
        col_sum = logsumexp(alpha * lc, axis=0) if n else np.full(c, -np.inf)
        col = np.logaddexp(col_sum, alpha * lu) - math.log(n + 1)  # (m, C)
        col = np.where(np.isneginf(col), 0.0, col)
        new = alpha * lu - col + log_prior  # (can-col)
        out[unconf] = np.exp(new - logsumexp(new, axis=1, keepdims=True))  # (can-row)
        return out, unconf
    out[unconf] = _per_sample_scaling(np.exp(lc), np.exp(lu), q, alpha, iters)
    return out, unconf


def _batch_scaling(x: np.ndarray, q: np.ndarray, iters: int) -> np.ndarray | None:
    """``iters`` rounds of (can-col), (can-row) on one stack ``x`` with ``alpha = 1``.

    Scaling form (Sinkhorn's): after any number of rounds the stack is
    ``diag(u) x diag(v)``, and each round costs two matrix-vector products instead of
    the log-domain passes over the whole array. Returns ``None`` when a scaling factor
    leaves the float64 range (a column of denormal entries, say), and the caller falls
    back to :func:`_alternate_log`. ``0/0 := 0`` for an all-zero column, as in
    :func:`can_loop`. ``x`` (rows, C), ``q`` (C,) -> (rows, C).
    """
    rows = len(x)
    u, v = np.ones(rows), np.ones(x.shape[1])
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(iters):
            col = np.einsum("k,kc->c", u, x) * v / rows  # column means of the stack
            v = v * np.divide(q, col, out=np.zeros_like(col), where=col > 0)
            u = 1.0 / np.einsum("kc,c->k", x, v)  # (can-row)
        y = u[:, None] * x * v[None, :]
    ok = np.all(np.isfinite(u)) and np.all(np.isfinite(v)) and np.all(np.isfinite(y))
    return y if ok else None


def _per_sample_scaling(xc, xu, q, alpha: float, iters: int) -> np.ndarray:
    """``iters`` rounds for all unconfident rows at once, in scaling form.

    Stack ``j`` is ``[xc; xu_j]``; after any number of rounds its confident block is
    ``diag(r_j) B diag(v_j)`` with ``B = xc^(alpha^t)`` the same for every ``j``. So we
    carry ``r`` (n, m) and ``v`` (m, C) instead of m stacks, and each round costs two
    (n, C) x (C, m) products. ``xc`` (n, C), ``xu`` (m, C), ``q`` (C,) -> (m, C).
    The products go through ``einsum`` rather than BLAS: with C ~ 10 they are small,
    and a threaded BLAS spends more time waking its threads than multiplying.
    """
    n, m = len(xc), len(xu)
    base, r, v, y = xc, np.ones((n, m)), np.ones((m, xu.shape[1])), xu
    for _ in range(iters):
        if alpha != 1.0:
            base, r, v, y = base**alpha, r**alpha, v**alpha, y**alpha
        col = (np.einsum("nm,nc->mc", r, base) * v + y) / (n + 1)  # (m, C) col means
        factor = np.divide(q, col, out=np.zeros_like(col), where=col > 0)
        v, y = v * factor, y * factor  # (can-col)
        with np.errstate(divide="ignore"):
            r = 1.0 / np.einsum("nc,mc->nm", base, v)  # (n, m): (can-row), conf rows
        y = y / y.sum(1, keepdims=True)  # (can-row) for the row itself
    return y


def can_loop(
    probs,
    prior,
    k: int = 3,
    tau: float = 0.9,
    *,
    alpha: float = 1.0,
    iters: int = 1,
    mode: str = "per_sample",
    renormalize: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """The post's procedure as a plain loop; same contract as :func:`can_correct`.

    For each unconfident row ``j`` in turn: ``Y = [confident rows; p_j]`` (a fresh copy
    of the original confident rows every time), then ``iters`` times ``Y <- Y^alpha``,
    ``Y <- Y / mean_rows(Y) * prior`` (can-col), ``Y <- Y / sum_cols(Y)`` (can-row);
    keep ``Y[-1]``. Multiplicative, row by row: the reference for :func:`can_correct`.
    """
    p, q, alpha, iters, mode, conf = _settings(
        probs, prior, k, tau, alpha, iters, mode, renormalize
    )
    out, unconf = p.copy(), ~conf
    confident, rows = p[conf], np.flatnonzero(unconf)

    def alternate(y):
        for _ in range(iters):
            y = y**alpha
            mean = y.mean(axis=0, keepdims=True)
            y = np.divide(y, mean, out=np.zeros_like(y), where=mean > 0) * q
            y = y / y.sum(axis=1, keepdims=True)
        return y

    if mode == "batch" and len(rows):
        out[rows] = alternate(np.concatenate([confident, p[rows]]))[len(confident) :]
        return out, unconf
    for j in rows:
        out[j] = alternate(np.concatenate([confident, p[j][None]]))[-1]
    return out, unconf


def label_shift_correction(probs, train_prior, test_prior) -> np.ndarray:
    """Bayes' rule under label shift: ``p(y|x) test_prior / train_prior``, renormalised.

    If ``p(x|y)`` is the same in training and test and only the class frequencies move,
    this is the exact test posterior (Saerens et al. 2002); the chapter's oracle for the
    label-shift scenario. Shapes (N, C), (C,), (C,) -> (N, C).
    """
    p = _matrix(probs, "probs")
    w = _prior(test_prior, "test_prior", p.shape[1]) / _prior(
        train_prior, "train_prior", p.shape[1]
    )
    y = p * w
    return y / y.sum(1, keepdims=True)


def long_tail_counts(
    n_classes: int, head: int = 90, ratio: float = 0.6, floor: int = 5
) -> np.ndarray:
    """Images kept per class in the label-shift scenario: ``max(floor, head ratio^c)``.

    Class ``c = 0, 1, ...`` keeps ``max(floor, floor(head * ratio**c))`` training
    images: 90, 54, 32, 19, 11, 6, 5, ... with the defaults. Shape (n_classes,), int.
    """
    n_classes = check_int(n_classes, "n_classes", min_value=2)
    head = check_int(head, "head", min_value=1)
    ratio = check_real(ratio, "ratio", low=0.0, high=1.0, low_open=True)
    floor = check_int(floor, "floor", min_value=1, max_value=head)
    c = np.arange(n_classes)
    return np.maximum(floor, np.floor(head * ratio**c + 1e-9)).astype(int)


SCENARIOS = ("balanced", "label_shift", "biased")
"""The chapter's three settings: a well-specified model, a long-tailed training set
tested on balanced data, and a balanced model with fixed per-class logit offsets."""


def _split(y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stratified 50/50 split of indices (each class's images shuffled, halved)."""
    train, test = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        half = len(idx) // 2
        train.append(idx[:half])
        test.append(idx[half:])
    return np.concatenate(train), np.concatenate(test)


@functools.cache
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The digits: float64 pixels in [-1, 1] and int labels, loaded once, read-only."""
    from ..data import digits

    x, y = (t.numpy() for t in digits())
    x, y = x.astype(np.float64), y.astype(int)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def digits_scenario(
    scenario: str,
    seed: int = 0,
    *,
    C: float = 0.1,
    offset_sd: float = 1.0,
    per_class: int | None = None,
) -> dict[str, np.ndarray]:
    """Test-set predictions of a logistic regression on scikit-learn's digits.

    Each seed draws a stratified 50/50 split (and, for ``"label_shift"``, which digit
    gets which tail size; for ``"biased"``, the offsets). Scenarios (:data:`SCENARIOS`):

    * ``"balanced"``: train on the whole training half; test half has the same class
      frequencies;
    * ``"label_shift"``: train on a long-tailed subset (:func:`long_tail_counts`, the
      digit order permuted by the seed), test on the balanced test half;
    * ``"biased"``: the balanced model with a fixed offset ``b_c ~ N(0, offset_sd^2)``
      added to the logit of class ``c`` (the same for every input).

    Returns ``probs`` (N, 10), ``labels`` (N,), ``train_prior`` (class frequencies of
    the training set used), ``test_prior`` (those of the test set: what a known
    deployment prior would be) and ``oracle``: the correction that knows what went
    wrong, Bayes' rule :func:`label_shift_correction` from ``train_prior`` to
    ``test_prior`` (for ``"balanced"`` and ``"label_shift"``), the predictions before
    the offsets (for ``"biased"``). ``C`` is scikit-learn's inverse regularisation.
    ``per_class`` (default ``None``: no cap) keeps at most that many training images of
    each digit (the first ones of the seed's shuffle), after the long tail: with
    ``"balanced"`` it gives the chapter's controls, a balanced training set of the
    label-shift scenario's size (23 per class, 230 images against 232).
    """
    from sklearn.linear_model import LogisticRegression

    scenario = check_choice(scenario, "scenario", SCENARIOS)
    seed = check_int(seed, "seed", min_value=0)
    C = check_positive(C, "C")
    offset_sd = check_positive(offset_sd, "offset_sd", allow_zero=True)
    if per_class is not None:
        per_class = check_int(per_class, "per_class", min_value=1)
    x, y = _digits_arrays()
    rng = np.random.default_rng(seed)
    train, test = _split(y, rng)
    if scenario == "label_shift":
        keep = long_tail_counts(10)[np.argsort(rng.permutation(10))]  # per digit
        train = np.concatenate([train[y[train] == c][: keep[c]] for c in range(10)])
    if per_class is not None:
        train = np.concatenate([train[y[train] == c][:per_class] for c in range(10)])
    model = LogisticRegression(C=C, solver="newton-cg", max_iter=1000).fit(
        x[train], y[train]
    )
    logits = model.decision_function(x[test])  # (N, 10)
    unbiased = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    freq = [np.bincount(y[i], minlength=10) / len(i) for i in (train, test)]
    oracle = label_shift_correction(unbiased, freq[0], freq[1])
    if scenario == "biased":
        oracle = unbiased
        logits = logits + offset_sd * rng.standard_normal(10)
    probs = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    return {
        "probs": probs,
        "labels": y[test],
        "train_prior": freq[0],
        "test_prior": freq[1],
        "oracle": oracle,
    }


def scenario_accuracies(scenario: str, seeds, variants: dict, **kwargs) -> dict:
    """Accuracy of the model and of each variant, one value per seed.

    ``variants`` maps a name to ``f(d) -> probs`` where ``d`` is the dict returned by
    :func:`digits_scenario` (``kwargs`` go there). Returns a dict of (len(seeds),)
    arrays: ``"model"``, one entry per variant, and the diagnostics ``"unconfident"``
    (fraction with ``U_3 >= 0.9``), ``"acc_confident"``, ``"acc_unconfident"`` (NaN
    for a seed where that set is empty),
    ``"mismatch"``, the total variation ``(1/2) |mean prediction - test prior|_1``, and
    ``"mismatch_confident"``, the same for the mean of the confident rows only: the
    old prior that one round of CAN divides by (can eq. (can-one-round)); NaN when no
    row is confident.
    """
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise TypeError(f"seeds must be a sequence of ints, got {type(seeds)!r}")
    seeds = [check_int(s, f"seeds[{i}]", min_value=0) for i, s in enumerate(seeds)]
    if not seeds:
        raise ValueError("seeds must be non-empty")
    if not isinstance(variants, dict) or not all(
        callable(f) for f in variants.values()
    ):
        raise TypeError("variants must be a dict of name -> callable(d) -> probs")
    rows: dict[str, list[float]] = {}

    def put(key, value):
        rows.setdefault(key, []).append(float(value))

    for s in seeds:
        d = digits_scenario(scenario, s, **kwargs)
        p, y = d["probs"], d["labels"]
        conf = confident_mask(p, 3, 0.9)
        put("model", np.mean(p.argmax(1) == y))
        for name, f in variants.items():
            put(name, np.mean(_matrix(f(d), f"variants[{name!r}](d)").argmax(1) == y))
        put("unconfident", 1.0 - conf.mean())
        for key, rows_ in (("acc_confident", conf), ("acc_unconfident", ~conf)):
            hit = p[rows_].argmax(1) == y[rows_]
            put(key, hit.mean() if hit.size else np.nan)  # NaN: that set is empty
        put("mismatch", 0.5 * np.abs(p.mean(0) - d["test_prior"]).sum())
        tv_conf = np.nan  # no confident rows: CAN has no old prior to divide by
        if conf.any():
            tv_conf = 0.5 * np.abs(p[conf].mean(0) - d["test_prior"]).sum()
        put("mismatch_confident", tv_conf)
    return {k: np.array(v) for k, v in rows.items()}
