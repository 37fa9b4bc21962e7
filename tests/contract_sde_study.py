"""Bad-input contract of the sde chapter's helpers (``kexue.diffusion.sde_study``)."""

import kexue.diffusion as kd
import torch
from contract import Call
from kexue import data
from kexue.diffusion import sde_study

VP = kd.VPSchedule()
RING = data.ring_mixture(8, radius=2.0, std=0.15)
ORACLE = RING.eps_model(VP)


def _z():
    return RING.marginal(1.0, VP).sample(20, generator=torch.Generator().manual_seed(0))


CALLS = [
    Call(
        sde_study.moment_gaussian,
        lambda: dict(mixture=RING),
        {"mixture": "object"},
        bad={"mixture": ["ring", None]},
    ),
    Call(
        sde_study.score_errors,
        lambda: dict(
            eps_model=ORACLE, mixture=RING, sched=VP, times=[0.3], n=50, generator=None
        ),
        {"eps_model": "callable", "n": "int>=2", "generator": "generator|None"},
        bad={"times": [[], [2.0], 3], "mixture": ["ring"], "sched": ["vp"]},
    ),
    Call(
        sde_study.one_mode_spread,
        lambda: dict(sched=VP, steps=5, std=0.15, spacing="uniform"),
        {"steps": "int>=1", "std": "float>0", "spacing": "choice:uniform|quadratic"},
        bad={"sched": ["vp", None]},
    ),
    Call(
        sde_study.few_step_spreads,
        lambda: dict(
            eps_model=ORACLE,
            z=_z(),
            sched=VP,
            centers=RING.means,
            std=0.15,
            steps=(3,),
            spacing="uniform",
            seeds=(0,),
            batched=False,
        ),
        {
            "eps_model": "callable",
            "z": "finite",
            "std": "float>0",
            "spacing": "choice:uniform|quadratic",
            "batched": "bool",
        },
        bad={"steps": [(), (0,)], "seeds": [(), (-1,)]},
    ),
    Call(
        sde_study.sampler_sw,
        lambda: dict(
            eps_model=ORACLE,
            sched=VP,
            x_test=RING.sample(20, generator=torch.Generator().manual_seed(1)),
            n=10,
            seeds=(0,),
            ddpm_steps=5,
            sde_steps=(3,),
            ode_runs=(("euler", 3),),
            batched=False,
        ),
        {
            "eps_model": "callable",
            "x_test": "finite",
            "n": "int>=2",
            "ddpm_steps": "int>=2|None",
            "batched": "bool",
        },
        bad={
            "seeds": [()],
            "sched": ["vp"],
            "sde_steps": [(0,)],
            "ode_runs": [(("rk4", 3),), (("euler", 0),)],
        },
    ),
]
EXEMPT = {}
