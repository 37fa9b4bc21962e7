"""Margin softmax from the triangle inequality (chapter *softmax/margin-softmax*).

Post 8656 of 科学空间 asks when the features of a classifier can be used for
retrieval. With a true metric ``d`` and class centres ``c``, a sample ``z1`` of class
``c1`` ranks a same-class sample ``z3`` before an other-class sample ``z2`` whenever

    d(z1, c1) + d(z3, c1) + d(z2, c2) < d(z1, c2)            (margin-sufficient)

and turning "``d(z1, c_y) + m < d(z1, c_i)`` for every ``i != y``" into a smooth loss
gives the additive-margin cross-entropy (margin-ce); with the cosine as the score it is
AM-Softmax (am-softmax). Equation labels are the chapter's.

Symbols: ``z`` embeddings (N, D), ``centres`` (C, D), ``labels`` (N,) int64 in
``[0, C)``, ``s`` the scale, ``m`` the margin. Losses take distances or cosines
(B, C) and targets (B,).

The losses run inside training loops, so they check shapes and types but let NaN
propagate as torch does; the metrics (called once per experiment) reject NaN/inf.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

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
    "normalized_chord",
    "cosine_matrix",
    "margin_ce_from_distance",
    "am_softmax_loss",
    "recall_at_1",
    "retrieval_metrics",
    "misretrieved",
    "sufficient_condition_triples",
    "MarginNets",
    "fit_margin_nets",
    "paired_differences",
]

_REDUCTIONS = ("mean", "sum", "none")


# --------------------------------------------------------------------------- metric
def _check_nonzero(x: torch.Tensor, name: str, dim: int) -> None:
    if x.device.type != "meta" and x.numel() and bool((x.norm(dim=dim) == 0).any()):
        raise ValueError(f"{name} holds a zero vector along dim={dim}: no direction")


def normalized_chord(x: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """``|| x/|x| - y/|y| ||`` along ``dim``: the chord between directions.

    Equals ``sqrt(2 - 2 cos(x, y))`` (margin-chord) but is computed from the
    difference of the unit vectors, so it is accurate (and has a gradient) for nearly
    parallel ``x, y``, where ``2 - 2 cos`` cancels. A true metric on directions.
    ``x`` and ``y`` broadcast; the result has their broadcast shape without ``dim``.
    Zero vectors (no direction) raise ``ValueError``.
    """
    check_tensor(x, "x", min_ndim=1, finite=True)
    check_tensor(y, "y", min_ndim=1, finite=True)
    dim = check_int(dim, "dim")
    for t, name in ((x, "x"), (y, "y")):
        if not -t.ndim <= dim < t.ndim:
            raise ValueError(f"dim must index a dimension of {name}, got {dim}")
        _check_nonzero(t, name, dim)
    try:
        diff = F.normalize(x, dim=dim) - F.normalize(y, dim=dim)
    except RuntimeError as err:
        raise ValueError(
            f"y of shape {tuple(y.shape)} does not broadcast with x of shape "
            f"{tuple(x.shape)}"
        ) from err
    return diff.norm(dim=dim)


def _embeddings(z, name: str, ndim: int = 2) -> torch.Tensor:
    check_tensor(z, name, ndim=ndim, finite=True, nonempty=True)
    _check_nonzero(z, name, -1)
    return z


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """All cosines ``cos(a_i, b_j)``: (N, D) and (M, D) -> (N, M), in ``[-1, 1]``."""
    _embeddings(a, "a")
    _embeddings(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"b must have {a.shape[1]} columns like a, got {b.shape[1]}")
    return (F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T).clamp(-1.0, 1.0)


# --------------------------------------------------------------------------- losses
def _loss_args(x, target, name: str, margin, scale, reduction):
    check_tensor(x, name, ndim=2)
    if x.shape[1] < 2:
        raise ValueError(f"{name} must have at least 2 classes, got shape {x.shape}")
    if not isinstance(target, torch.Tensor) or target.dtype != torch.int64:
        raise TypeError(
            f"target must be an int64 tensor of class indices, got "
            f"{getattr(target, 'dtype', type(target).__name__)}"
        )
    if target.shape != x.shape[:1]:
        raise ValueError(
            f"target must have shape ({x.shape[0]},), got {tuple(target.shape)}"
        )
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= x.shape[1]):
        raise ValueError(f"target must hold class indices in [0, {x.shape[1]})")
    margin = check_real(margin, "margin")
    scale = check_positive(scale, "scale")
    reduction = check_choice(reduction, "reduction", _REDUCTIONS)
    return margin, scale, reduction


def _log1p_sum_exp_others(gap: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``log(1 + sum_{i != y} exp(gap_i))`` per row, stably: (B, C) -> (B,)."""
    own = F.one_hot(target, gap.shape[1]).bool()
    others = gap.masked_fill(own, -math.inf)
    zero = gap.new_zeros(gap.shape[0], 1)
    return torch.logsumexp(torch.cat([zero, others], dim=1), dim=1)


def _reduce(loss: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def margin_ce_from_distance(
    dist: torch.Tensor,
    target: torch.Tensor,
    *,
    margin: float,
    scale: float,
    reduction: str = "mean",
) -> torch.Tensor:
    """Additive-margin cross-entropy on distances, margin-softmax eq. (margin-ce):

        log(1 + sum_{i != y} exp(s (d_y + m - d_i)))

    ``dist`` (B, C) distances of each sample to each centre, ``target`` (B,) int64.
    ``reduction``: "mean" (default), "sum" or "none" (shape (B,)). Written from the
    equation (a log of one plus a sum, as a logsumexp with a 0 term); it equals
    ``cross_entropy(-s d - s m onehot, y)``, which the tests check independently.
    """
    margin, scale, reduction = _loss_args(
        dist, target, "dist", margin, scale, reduction
    )
    d_own = dist.gather(1, target[:, None])  # (B, 1)
    gap = scale * (d_own + margin - dist)  # (B, C)
    return _reduce(_log1p_sum_exp_others(gap, target), reduction)


def am_softmax_loss(
    cos: torch.Tensor,
    target: torch.Tensor,
    *,
    margin: float = 0.35,
    scale: float = 30.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """AM-Softmax, margin-softmax eq. (am-softmax):

        log(1 + sum_{i != y} exp(s (cos_i + m - cos_y)))

    ``cos`` (B, C) cosines between normalised features and normalised centres,
    ``target`` (B,) int64. Defaults are the AM-Softmax paper's ``m = 0.35, s = 30``.
    ``m = 0`` is plain cross-entropy on ``s cos`` (normalised softmax).
    """
    margin, scale, reduction = _loss_args(cos, target, "cos", margin, scale, reduction)
    c_own = cos.gather(1, target[:, None])  # (B, 1)
    gap = scale * (cos + margin - c_own)  # (B, C)
    return _reduce(_log1p_sum_exp_others(gap, target), reduction)


# ------------------------------------------------------------------------ retrieval
def _labels(labels, n: int, name: str = "labels") -> torch.Tensor:
    if not isinstance(labels, torch.Tensor) or labels.dtype != torch.int64:
        raise TypeError(
            f"{name} must be an int64 tensor, got "
            f"{getattr(labels, 'dtype', type(labels).__name__)}"
        )
    if labels.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {tuple(labels.shape)}")
    if int(labels.min()) < 0:
        raise ValueError(f"{name} must be >= 0")
    return labels


def _similarity_without_self(z: torch.Tensor) -> torch.Tensor:
    s = cosine_matrix(z, z)
    return s.fill_diagonal_(-math.inf)


def recall_at_1(z: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose nearest other sample (cosine) shares their label.

    ``z`` (N, D), ``labels`` (N,) int64, ``N >= 2``; each sample is its own query
    and is excluded from its own gallery (leave-one-out). margin-softmax, retrieval.
    """
    _embeddings(z, "z")
    if len(z) < 2:
        raise ValueError(f"z must hold at least 2 samples, got {len(z)}")
    labels = _labels(labels, len(z))
    nn = _similarity_without_self(z).argmax(1)
    return float((labels[nn] == labels).double().mean())


def _check_retrieval_args(z, labels, centres) -> torch.Tensor:
    """The shared checks of the retrieval metrics: embeddings ``z`` (N, D) and
    ``centres`` (C, D) of one width, int labels below C, each class present >= 2 times.
    Returns the checked labels."""
    _embeddings(z, "z")
    _embeddings(centres, "centres")
    if centres.shape[1] != z.shape[1]:
        raise ValueError(f"centres must have {z.shape[1]} columns, like z")
    labels = _labels(labels, len(z))
    if int(labels.max()) >= len(centres):
        raise ValueError(f"labels must be < the number of centres {len(centres)}")
    counts = torch.bincount(labels)
    if bool(((counts > 0) & (counts < 2)).any()):
        raise ValueError("labels: every class present must have at least 2 samples")
    return labels


def retrieval_metrics(
    z: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor
) -> dict[str, float]:
    """Classification against retrieval on one embedding, margin-softmax experiment.

    ``z`` (N, D) test embeddings, ``labels`` (N,) int64, ``centres`` (C, D). Returns

    * ``accuracy``: the nearest centre (cosine) is the own class;
    * ``recall@1``: the nearest other sample is of the own class;
    * ``right_wrong``: classified right but the nearest sample is of another class,
      whatever that neighbour's own classification;
    * ``right_wrong_strict``: the same with the neighbour classified right too (the
      post's picture of ``z1`` and ``z2``: both right, retrieval still wrong);
    * ``perfect``: every same-class sample is nearer than every other-class sample
      (the post's goal, "retrieve all of one's class first");
    * ``mAP``: mean average precision of the leave-one-out rankings;
    * ``diameter``: twice the mean chord from a sample to its own centre (the post's
      "average class diameter", in chord units ``sqrt(2 - 2 cos)``).

    Every class must have at least 2 samples (for the retrieval of the own class).
    """
    labels = _check_retrieval_args(z, labels, centres)
    cos_c = cosine_matrix(z, centres)  # (N, C)
    right = cos_c.argmax(1) == labels
    sim = _similarity_without_self(z)  # (N, N), -inf on the diagonal
    same = labels[:, None] == labels[None, :]
    nn = sim.argmax(1)
    nn_right = same.gather(1, nn[:, None])[:, 0]
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    worst_same = sim.masked_fill(~same | eye, math.inf).min(1).values
    best_other = sim.masked_fill(same, -math.inf).max(1).values
    order = sim.argsort(1, descending=True)[:, :-1]  # self (-inf) is last
    rel = same.gather(1, order).double()  # (N, N-1) relevance in ranked order
    ranks = torch.arange(1, len(z), dtype=torch.float64, device=z.device)
    ap = (rel * rel.cumsum(1) / ranks).sum(1) / rel.sum(1)
    own = cos_c.gather(1, labels[:, None])[:, 0]
    chord_own = (2 - 2 * own).clamp_min(0).sqrt()
    return {
        "accuracy": float(right.double().mean()),
        "recall@1": float(nn_right.double().mean()),
        "right_wrong": float((right & ~nn_right).double().mean()),
        "right_wrong_strict": float((right & ~nn_right & right[nn]).double().mean()),
        "perfect": float((worst_same > best_other).double().mean()),
        "mAP": float(ap.mean()),
        "diameter": float(2 * chord_own.mean()),
    }


def misretrieved(
    z: torch.Tensor,
    labels: torch.Tensor,
    centres: torch.Tensor,
    *,
    z2_right: bool = False,
) -> torch.Tensor:
    """The post's picture: samples classified right whose nearest sample is not.

    ``z`` (N, D), ``labels`` (N,) int64, ``centres`` (C, D). Returns (K, 3) int64 rows
    ``(z1, z2, z3)``: ``z1`` nearest its own centre, ``z2`` its nearest sample (of
    another class), ``z3`` its nearest same-class sample (farther than ``z2``).
    With ``z2_right=True`` only rows whose ``z2`` is classified right too (the post's
    configuration). Every class present needs at least 2 samples.
    """
    labels = _check_retrieval_args(z, labels, centres)
    z2_right = check_bool(z2_right, "z2_right")
    right = cosine_matrix(z, centres).argmax(1) == labels
    sim = _similarity_without_self(z)
    same = labels[:, None] == labels[None, :]
    z2 = sim.argmax(1)
    z3 = sim.masked_fill(~same, -math.inf).argmax(1)
    keep = right & (labels[z2] != labels)
    if z2_right:
        keep &= right[z2]
    z1 = torch.nonzero(keep).flatten()
    return torch.stack([z1, z2[z1], z3[z1]], dim=1)


def sufficient_condition_triples(
    z: torch.Tensor,
    labels: torch.Tensor,
    centres: torch.Tensor,
    *,
    metric: str = "chord",
    max_anchors: int | None = None,
    generator: torch.Generator | None = None,
) -> dict[str, int]:
    """Count triples meeting the post's sufficient condition, and the misranked ones.

    For anchors ``z1`` (all, or ``max_anchors`` drawn without replacement with
    ``generator``), every same-class ``z3 != z1`` and every other-class ``z2``:
    the condition (margin-sufficient) ``d(z1,c1) + d(z3,c1) + d(z2,c2) < d(z1,c2)``
    with ``c1, c2`` the centres of the classes of ``z1`` and ``z2``; misranked means
    ``d(z1,z3) >= d(z1,z2)``. ``metric``: "chord" (a metric) or "1-cos" (not one).
    Returns ``{"triples", "meet", "meet_misranked", "misranked"}``. For a metric
    "meet_misranked" is 0 by the triangle inequality.
    """
    _embeddings(z, "z")
    _embeddings(centres, "centres")
    if centres.shape[1] != z.shape[1]:
        raise ValueError(f"centres must have {z.shape[1]} columns, like z")
    labels = _labels(labels, len(z))
    if int(labels.max()) >= len(centres):
        raise ValueError(f"labels must be < the number of centres {len(centres)}")
    metric = check_choice(metric, "metric", ("chord", "1-cos"))
    if max_anchors is not None:
        max_anchors = check_int(max_anchors, "max_anchors", min_value=1)
    check_generator(generator)

    def dist(cos):
        return (2 - 2 * cos).clamp_min(0).sqrt() if metric == "chord" else 1 - cos

    zz = dist(cosine_matrix(z, z))  # (N, N)
    zc = dist(cosine_matrix(z, centres))  # (N, C)
    r = zc.gather(1, labels[:, None])[:, 0]  # (N,) distance to own centre
    anchors = torch.arange(len(z))
    if max_anchors is not None and max_anchors < len(z):
        anchors = torch.randperm(len(z), generator=generator)[:max_anchors]
    out = dict(triples=0, meet=0, meet_misranked=0, misranked=0)
    for a in anchors.tolist():
        same = labels == labels[a]
        same_idx = torch.nonzero(same).flatten()
        same_idx = same_idx[same_idx != a]
        other_idx = torch.nonzero(~same).flatten()
        lhs = r[a] + r[same_idx][:, None] + r[other_idx][None, :]  # (S, O)
        rhs = zc[a, labels[other_idx]][None, :]  # (1, O)
        meet = lhs < rhs
        mis = zz[a, same_idx][:, None] >= zz[a, other_idx][None, :]
        out["triples"] += meet.numel()
        out["meet"] += int(meet.sum())
        out["meet_misranked"] += int((meet & mis).sum())
        out["misranked"] += int(mis.sum())
    return out


# ------------------------------------------------------------------------- training
@dataclass
class MarginNets:
    """Several embedding networks trained side by side, one per (margin, seed) run.

    Each run is ``x -> normalise(W2 relu(W1 x + b1) + b2)`` with its own centres;
    the parameters are stacked on a leading run axis: ``w1`` (R, D_in, H), ``b1``
    (R, H), ``w2`` (R, H, D), ``b2`` (R, D), ``centres`` (R, C, D). ``runs[r]`` is
    ``(margin, scale, seed)``.
    """

    w1: torch.Tensor
    b1: torch.Tensor
    w2: torch.Tensor
    b2: torch.Tensor
    centres: torch.Tensor
    runs: list[tuple[float, float, int]]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Unit embeddings of ``x`` (N, D_in) under every run: (R, N, D)."""
        check_tensor(x, "x", ndim=2, finite=True)
        if x.shape[1] != self.w1.shape[1]:
            raise ValueError(f"x must have {self.w1.shape[1]} columns, got {x.shape}")
        return _forward(self._params(), x.expand(len(self.runs), *x.shape))

    def _params(self):
        return self.w1, self.b1, self.w2, self.b2

    def unit_centres(self) -> torch.Tensor:
        """The normalised centres (R, C, D)."""
        return F.normalize(self.centres, dim=-1)


def _forward(params, x: torch.Tensor) -> torch.Tensor:
    w1, b1, w2, b2 = params
    h = torch.relu(torch.bmm(x, w1) + b1[:, None])  # (R, B, H)
    return F.normalize(torch.bmm(h, w2) + b2[:, None], dim=-1)  # (R, B, D)


def _init(seed: int, d_in: int, hidden: int, dim: int, n_classes: int):
    g = torch.Generator().manual_seed(seed)

    def uniform(shape, fan_in):  # torch.nn.Linear's default initialisation
        return (torch.rand(shape, generator=g) * 2 - 1) / math.sqrt(fan_in)

    return (
        uniform((d_in, hidden), d_in),
        uniform((hidden,), d_in),
        uniform((hidden, dim), hidden),
        uniform((dim,), hidden),
        torch.randn(n_classes, dim, generator=g),
    )


def _seq(values, name: str, kind: str) -> list:
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
        raise TypeError(f"{name} must be a sequence, got {type(values).__name__}")
    if len(values) == 0:
        raise ValueError(f"{name} must be non-empty")
    if kind == "margin":
        return [check_real(v, f"{name}[{i}]", low=0.0) for i, v in enumerate(values)]
    if kind == "scale":
        return [check_positive(v, f"{name}[{i}]") for i, v in enumerate(values)]
    out = [check_int(v, f"{name}[{i}]", min_value=0) for i, v in enumerate(values)]
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must be distinct, got {out}")
    return out


def fit_margin_nets(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    margins: Sequence[float],
    seeds: Sequence[int],
    scales: Sequence[float] = (16.0,),
    steps: int = 300,
    batch_size: int = 128,
    hidden: int = 64,
    dim: int = 16,
    lr: float = 1e-2,
    progress: bool = True,
) -> MarginNets:
    """Train one embedding net with AM-Softmax per (margin, scale, seed), at once.

    ``x`` (N, D_in) float, ``y`` (N,) int64 in ``[0, C)``. Run ``(m, s, seed)`` draws
    its initial weights and its minibatch indices (``batch_size``, with replacement)
    from ``seed`` alone, so runs that share a seed differ only in margin and scale
    (paired by seed). The loss is the sum over runs of each run's mean AM-Softmax loss
    (am-softmax) and Adam acts elementwise, so every run follows the path it would
    follow alone, up to float round-off. Adam with ``lr`` and a cosine decay over
    ``steps``; a tqdm bar (one summary line instead when the book is built).
    """
    check_tensor(x, "x", ndim=2, finite=True, nonempty=True)
    n_classes = int(_labels(y, len(x), "y").max()) + 1
    margins = _seq(margins, "margins", "margin")
    seeds = _seq(seeds, "seeds", "seed")
    scales = _seq(scales, "scales", "scale")
    steps = check_int(steps, "steps", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    hidden = check_int(hidden, "hidden", min_value=1)
    dim = check_int(dim, "dim", min_value=2)
    lr = check_positive(lr, "lr")
    progress = check_bool(progress, "progress")
    from tqdm.auto import tqdm

    runs = [(m, sc, s) for m in margins for sc in scales for s in seeds]
    inits = [_init(s, x.shape[1], hidden, dim, n_classes) for *_, s in runs]
    params = [torch.stack(p).to(x).requires_grad_() for p in zip(*inits, strict=True)]
    m_run = torch.tensor([r[0] for r in runs], dtype=x.dtype, device=x.device)
    s_run = torch.tensor([r[1] for r in runs], dtype=x.dtype, device=x.device)
    gens = [torch.Generator().manual_seed(r[2]) for r in runs]
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    book = os.environ.get("KEXUE_BOOK_BUILD") == "1"
    bar = tqdm(range(steps), desc="AM-Softmax runs", disable=not progress or book)
    for _ in bar:
        idx = torch.stack(
            [torch.randint(0, len(x), (batch_size,), generator=g) for g in gens]
        ).to(x.device)  # (R, B)
        z = _forward(params[:4], x[idx])  # (R, B, D)
        cos = torch.bmm(z, F.normalize(params[4], dim=-1).transpose(1, 2))  # (R,B,C)
        target = y[idx]  # (R, B)
        own = cos.gather(2, target[..., None])  # (R, B, 1)
        gap = s_run[:, None, None] * (cos + m_run[:, None, None] - own)
        per = _log1p_sum_exp_others(gap.flatten(0, 1), target.flatten())
        loss = per.view(len(runs), batch_size).mean(1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    if progress and book:
        print(f"AM-Softmax: {len(runs)} runs x {steps} steps")
    w1, b1, w2, b2, c = (p.detach() for p in params)
    return MarginNets(w1, b1, w2, b2, c, runs)


def paired_differences(
    values, baseline: int = 0, *, bar: float = 3.0
) -> list[tuple[float, float, str]]:
    """Differences to a baseline row, paired by seed, with their standard errors.

    The seed statistics of the margin-softmax experiment (paired by seed).

    ``values`` (K, S): one row per setting (margin), one column per seed, ``S >= 2``.
    For each row ``k``: ``(mean_s (v[k,s] - v[b,s]), s.e. of that mean, verdict)``,
    the s.e. being ``std(ddof=1) / sqrt(S)``; the verdict is "up"/"down" when
    ``|mean| > bar * s.e.`` and "unresolved" otherwise ("baseline" for ``k = b``).
    """
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"values must be a (K, S) array of reals, got {type(values).__name__}"
        ) from err
    if v.ndim != 2 or v.shape[1] < 2 or not np.all(np.isfinite(v)):
        raise ValueError(
            f"values must be a finite (K, S) array with S >= 2 seeds, got {v.shape}"
        )
    baseline = check_int(baseline, "baseline", min_value=0, max_value=len(v) - 1)
    bar = check_positive(bar, "bar")
    out = []
    for k in range(len(v)):
        d = v[k] - v[baseline]
        mean, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d)))
        if k == baseline:
            verdict = "baseline"
        elif abs(mean) > bar * se:
            verdict = "up" if mean > 0 else "down"
        else:
            verdict = "unresolved"
        out.append((mean, se, verdict))
    return out
