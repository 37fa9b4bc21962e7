"""Training losses for epsilon-models (ddim chapter, eq. ddim-loss)."""
from __future__ import annotations

import torch

from .._validate import check_tensor
from .forward import q_sample
from .schedules import DiscreteSchedule

__all__ = ["dsm_loss"]


def dsm_loss(model, x0: torch.Tensor, sched: DiscreteSchedule, *,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """The DDPM/DDIM objective ``E ||eps - model(signal[i] x0 + noise[i] eps, i/T)||^2``, i ~ U{1..T}.

    x0: (B, *S). Returns a scalar (mean over batch and dimensions). The same loss trains the model for
    every sampler in the chapter: DDIM changes only how we sample, never how we train.
    """
    check_tensor(x0, "x0", min_ndim=2)
    if not isinstance(sched, DiscreteSchedule):
        raise TypeError(f"sched must be a DiscreteSchedule, got {type(sched).__name__}")
    b = x0.shape[0]
    i = torch.randint(1, sched.T + 1, (b,), generator=generator, device="cpu").to(x0.device)
    eps = torch.randn(x0.shape, generator=generator, dtype=x0.dtype, device="cpu").to(x0.device)
    x_t, _ = q_sample(x0, i, sched, eps=eps)
    pred = model(x_t, i.to(x0.dtype) / sched.T)
    return torch.mean((pred - eps) ** 2)
