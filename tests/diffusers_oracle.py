"""diffusers' schedulers as test oracles, switched to float64 so that only the formulas
are compared."""

from __future__ import annotations

import torch


def ddim_scheduler(ac: torch.Tensor | None = None, **kw):
    import diffusers

    sch = diffusers.DDIMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=0,
        timestep_spacing="leading",
        **kw,
    )
    _to_float64(sch)
    sch.final_alpha_cumprod = torch.tensor(1.0, dtype=torch.float64)
    return sch


def ddpm_scheduler(variance_type: str = "fixed_small"):
    import diffusers

    sch = diffusers.DDPMScheduler(
        num_train_timesteps=1000,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        variance_type=variance_type,
    )
    _to_float64(sch)
    return sch


def _to_float64(sch):
    sch.betas = sch.betas.double()
    sch.alphas = 1.0 - sch.betas
    sch.alphas_cumprod = torch.cumprod(sch.alphas, dim=0)
    sch.one = torch.tensor(1.0, dtype=torch.float64)
