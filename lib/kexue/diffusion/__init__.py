"""Diffusion models: schedules, the forward process, samplers and losses (diffusion part
of the book).

Notation follows the posts: ``x_t = signal[t] * x_0 + noise[t] * eps``, where ``signal``
is Su's :math:`\\bar\\alpha_t` and ``noise`` is :math:`\\bar\\beta_t`. **Su's**
:math:`\\bar\\alpha_t` **is the square root of DDPM's / diffusers'** ``alphas_cumprod``;
the code never uses a bare ``alpha_bar`` name.
"""

from . import (
    construction,
    distill,
    fields,
    heat,
    pretrained,
    score_study,
    sid_tools,
    testfn,
)
from ._core import eps_from_x0, x0_from_eps
from .continuous import (
    CustomSchedule,
    HeatSchedule,
    NoiseSchedule,
    VESchedule,
    VPSchedule,
    discrete_from_continuous,
    eps_to_score,
    expand_time,
    score_to_eps,
)
from .forward import eps_to_x0, q_sample, x0_to_eps
from .losses import dsm_loss, ratio_score_estimate, sample_times, sm_loss, sm_ratio_loss
from .ode import euler_sample, ode_sample, ode_solve, su_ode_velocity
from .pde import (
    continuity_residual,
    divergence,
    fokker_planck_residual,
    log_density_along_ode,
    simulate_sde,
    solve_fp_1d,
)
from .samplers import (
    Trajectory,
    ddim_invert,
    ddim_sample,
    ddim_step,
    ddpm_sample,
    ddpm_step,
    slerp,
)
from .schedules import DiscreteSchedule
from .sde import (
    PF_METHODS,
    NFECounter,
    forward_sde_simulate,
    pf_ode_sample,
    pf_ode_velocity,
    reverse_sde_sample,
    time_grid,
)

__all__ = [
    "DiscreteSchedule",
    "q_sample",
    "eps_to_x0",
    "x0_from_eps",
    "eps_from_x0",
    "x0_to_eps",
    "Trajectory",
    "ddim_step",
    "ddim_sample",
    "ddim_invert",
    "ddpm_step",
    "ddpm_sample",
    "slerp",
    "dsm_loss",
    "su_ode_velocity",
    "ode_solve",
    "ode_sample",
    "euler_sample",
    "NoiseSchedule",
    "VPSchedule",
    "VESchedule",
    "HeatSchedule",
    "CustomSchedule",
    "discrete_from_continuous",
    "eps_to_score",
    "score_to_eps",
    "expand_time",
    "sm_loss",
    "sample_times",
    "ratio_score_estimate",
    "sm_ratio_loss",
    "NFECounter",
    "PF_METHODS",
    "forward_sde_simulate",
    "pf_ode_sample",
    "pf_ode_velocity",
    "reverse_sde_sample",
    "time_grid",
    "fields",
    "distill",
    "pretrained",
    "continuity_residual",
    "divergence",
    "log_density_along_ode",
    "fokker_planck_residual",
    "simulate_sde",
    "solve_fp_1d",
]
