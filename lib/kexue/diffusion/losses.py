"""Training losses for epsilon-models: denoising (conditional) score matching and score
matching.

ddim chapter, eq. ddim-loss (discrete chain); sde chapter, eq. sde-dsm and
score-matching chapter, eq. score-matching-sm / score-matching-csm (continuous time).
Both continuous losses are written in eps-units, i.e. the score losses weighted by
``lambda(t) = noise(t)^2``:

    DSM = E || model(x_t, t) - eps ||^2                       (target: the conditional
    score, times -noise) SM  = E || model(x_t, t) + noise(t) score_t(x_t) ||^2
    (target: the marginal score, times -noise)

with ``x_t = signal(t) x0 + noise(t) eps``. They differ by a constant that does not
depend on the model, ``E || eps - E[eps | x_t] ||^2`` (score-matching chapter, eq.
score-matching-gap).

These run inside training loops: NaN/inf in ``x0`` or in a model's output propagate into
the loss, as in torch (the trainer stops on a non-finite loss); types, shapes and dtypes
are checked.
"""

from __future__ import annotations

import torch

from .._validate import (
    check_callable,
    check_generator,
    check_int,
    check_real,
    check_tensor,
    randn_for,
)
from ._core import check_model_output, expand_time
from .continuous import NoiseSchedule
from .forward import q_sample
from .schedules import DiscreteSchedule

__all__ = [
    "dsm_loss",
    "sm_loss",
    "sample_times",
    "ratio_score_estimate",
    "sm_ratio_loss",
]


def sample_times(
    sched: NoiseSchedule, n: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` times uniform on ``[t_min, t_max]`` (float64, (n,))."""
    _check_cont(sched)
    n = check_int(n, "n", min_value=1)
    check_generator(generator)
    u = torch.rand(n, generator=generator, dtype=torch.float64)
    return sched.t_min + (sched.t_max - sched.t_min) * u


def _check_cont(sched):
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")


def _check_loss_args(model, x0, generator, ndim=None):
    check_callable(model, "model")
    if ndim is None:
        check_tensor(x0, "x0", min_ndim=2)
    else:
        check_tensor(x0, "x0", ndim=ndim)
    check_generator(generator)


def _times_for(x0, sched, t, generator):
    b = x0.shape[0]
    if t is None:
        return sample_times(sched, b, generator)
    tt = sched._t(t)
    if tt.ndim == 0:
        tt = tt.expand(b)
    if tt.shape != (b,):
        raise ValueError(
            f"t must be a number or have shape ({b},), got {tuple(tt.shape)}"
        )
    if torch.any(sched.noise(tt) <= 0):
        raise ValueError(
            f"the losses need noise(t) > 0; use t >= sched.t_min = {sched.t_min:g}"
        )
    return tt


def _check_out(pred, x, name="model"):
    return check_model_output(pred, x, name)


def dsm_loss(
    model, x0: torch.Tensor, sched, *, t=None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Denoising score matching as noise regression, ``E ||eps - model(signal x0 + noise
    eps, t)||^2``.

    x0: (B, *S). Returns a scalar (mean over batch and dimensions).

    * ``DiscreteSchedule``: ``i ~ U{1..T}``, the model sees ``t = i/T`` (ddim chapter,
      eq. ddim-loss). The same loss trains the model for every sampler of that
      chapter.
    * ``NoiseSchedule``: ``t ~ U[t_min, t_max]`` unless ``t`` (a float or (B,)) is
      given; the model sees ``t`` (sde chapter, eq. sde-dsm: the conditional score
      loss weighted by ``noise(t)^2``).
    """
    _check_loss_args(model, x0, generator)
    b = x0.shape[0]
    if isinstance(sched, NoiseSchedule):
        tt = _times_for(x0, sched, t, generator)
        eps = randn_for(x0, generator)
        x_t, _ = sched.perturb(x0, tt, eps=eps)
        pred = _check_out(model(x_t, tt.to(x0.dtype).to(x0.device)), x_t)
        return torch.mean((pred - eps) ** 2)
    if not isinstance(sched, DiscreteSchedule):
        raise TypeError(
            "sched must be a DiscreteSchedule or a NoiseSchedule, got "
            f"{type(sched).__name__}"
        )
    if t is not None:
        raise ValueError(
            "t is for continuous schedules; a DiscreteSchedule draws its indices itself"
        )
    i = torch.randint(1, sched.T + 1, (b,), generator=generator, device="cpu").to(
        x0.device
    )
    eps = randn_for(x0, generator)
    x_t, _ = q_sample(x0, i, sched, eps=eps)
    pred = _check_out(model(x_t, i.to(x0.dtype) / sched.T), x_t)
    return torch.mean((pred - eps) ** 2)


def sm_loss(
    model,
    x0: torch.Tensor,
    sched: NoiseSchedule,
    score,
    *,
    t=None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """(Marginal) score matching in eps-units, ``E ||model(x_t, t) + noise(t) score(x_t,
    t)||^2``.

    ``score(x, t)`` is the marginal score of ``p_t`` (x (B, *S), t (B,)), e.g. the exact
    one of a Gaussian mixture, ``mixture.score_fn(sched)``. Draws ``t`` and ``x_t``
    exactly as :func:`dsm_loss` does, so with the same generator state both losses
    see the same points (score-matching chapter, eq. score-matching-sm).
    """
    _check_loss_args(model, x0, generator)
    _check_cont(sched)
    check_callable(score, "score")
    tt = _times_for(x0, sched, t, generator)
    eps = randn_for(x0, generator)
    x_t, _ = sched.perturb(x0, tt, eps=eps)
    tt_x = tt.to(x0.dtype).to(x0.device)
    pred = _check_out(model(x_t, tt_x), x_t)
    target = -expand_time(sched.noise(tt), x_t) * _check_out(
        score(x_t, tt_x), x_t, "score"
    ).to(x_t.dtype)
    return torch.mean((pred - target.detach()) ** 2)


def ratio_score_estimate(
    x_t: torch.Tensor, t: float, ref_x0: torch.Tensor, sched: NoiseSchedule
) -> torch.Tensor:
    """The plug-in estimate of the marginal score as a ratio of two averages over
    reference data points (score-matching chapter, eq. score-matching-ratio)::

        s_hat(x_t) = sum_k w_k grad log p(x_t | x0_k),   w_k = p(x_t | x0_k) / sum_j
        p(x_t | x0_j)

    x_t: (N, D); ``t`` one time (a float); ``ref_x0``: (M, D), one reference set shared
    by all rows, or (N, M, D), one set per row. Computed in log space (softmax), so
    far-away points do not underflow. Returns (N, D); memory O(N M D).
    Self-normalised, hence biased for small M unless the set contains the point that
    generated x_t (see the chapter).
    """
    if not isinstance(sched, NoiseSchedule):
        raise TypeError(f"sched must be a NoiseSchedule, got {type(sched).__name__}")
    check_tensor(x_t, "x_t", ndim=2)
    check_tensor(ref_x0, "ref_x0")
    if ref_x0.ndim == 2:
        ref = ref_x0[None]  # (1, M, D)
    elif ref_x0.ndim == 3 and ref_x0.shape[0] == x_t.shape[0]:
        ref = ref_x0
    else:
        raise ValueError(
            f"ref_x0 must have shape (M, D) or ({x_t.shape[0]}, M, D), got "
            f"{tuple(ref_x0.shape)}"
        )
    if ref.shape[-1] != x_t.shape[1] or ref.shape[1] < 1:
        raise ValueError(
            f"ref_x0 must hold at least one point of dimension {x_t.shape[1]}, got "
            f"{tuple(ref_x0.shape)}"
        )
    if isinstance(t, torch.Tensor) and t.numel() != 1:
        raise ValueError("t: ratio_score_estimate takes one time t for all rows")
    t = check_real(t, "t")
    a, b = float(sched.signal(t)), float(sched.noise(t))
    if b <= 0:
        raise ValueError(
            "the score is singular where noise(t) = 0; use t >= sched.t_min = "
            f"{sched.t_min:g}"
        )
    diff = x_t[:, None, :] - a * ref  # (N, M, D)
    w = torch.softmax(-(diff**2).sum(-1) / (2 * b * b), dim=1)  # (N, M)
    return -(w[..., None] * diff).sum(1) / (b * b)


def sm_ratio_loss(
    model,
    x0: torch.Tensor,
    sched: NoiseSchedule,
    *,
    t: float | None = None,
    ref_x0=None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Score matching with plug-in targets (score-matching chapter): ``E ||model(x_t, t)
    + noise(t) s_hat(x_t)||^2``.

    All rows share one time ``t`` (drawn uniformly from ``[t_min, t_max]`` if None),
    because the estimate needs the reference set at that time. ``ref_x0=None`` uses
    the batch ``x0`` itself as the reference set, so every x_t's own source is in
    it; ``ref_x0`` (M, D) uses an independent set instead.
    """
    _check_loss_args(model, x0, generator, ndim=2)
    _check_cont(sched)
    if ref_x0 is not None:
        check_tensor(ref_x0, "ref_x0", ndim=2)
    tt = (
        float(sample_times(sched, 1, generator))
        if t is None
        else float(_times_for(x0[:1], sched, t, None))
    )
    eps = randn_for(x0, generator)
    x_t, _ = sched.perturb(x0, tt, eps=eps)
    ref = x0 if ref_x0 is None else ref_x0
    target = -float(sched.noise(tt)) * ratio_score_estimate(x_t, tt, ref.to(x0), sched)
    pred = _check_out(
        model(x_t, torch.full((x0.shape[0],), tt, dtype=x0.dtype, device=x0.device)),
        x_t,
    )
    return torch.mean((pred - target.detach()) ** 2)
