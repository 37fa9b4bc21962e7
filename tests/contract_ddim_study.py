"""Bad-input contract of the ddim chapter's demos (``kexue.diffusion.ddim_study``)."""

import matplotlib

matplotlib.use("Agg")

import kexue.diffusion as kd  # noqa: E402
import torch  # noqa: E402
from contract import Call  # noqa: E402
from kexue import data  # noqa: E402
from kexue.diffusion import ddim_study  # noqa: E402

SCHED = kd.DiscreteSchedule.linear(T=50)
RING = data.ring_mixture(4, radius=2.0, std=0.15)
ORACLE = RING.eps_model(SCHED)

CALLS = [
    Call(
        ddim_study.sigma_fractions,
        lambda: dict(sched=SCHED, eta=1.0),
        {"eta": "float>=0"},
        bad={"sched": ["linear", None]},
    ),
    Call(
        ddim_study.plot_sigma_fractions,
        lambda: dict(sched=SCHED, eta=0.5, title="t"),
        {"eta": "float>=0"},
        bad={"sched": ["linear", None], "title": [3]},
    ),
    Call(
        ddim_study.plot_samples,
        lambda: dict(
            eps_model=ORACLE,
            z=torch.randn(6, 2, generator=torch.Generator().manual_seed(0)),
            sched=SCHED,
            x_ref=torch.randn(8, 2, generator=torch.Generator().manual_seed(1)),
            steps=3,
            eta=0.0,
            spacing="uniform",
            title="t",
            reference="r",
            seed=0,
        ),
        {
            "eps_model": "callable",
            "z": "finite",
            "x_ref": "finite",
            "steps": "int>=1",
            "eta": "float>=0",
            "spacing": "choice:uniform|quadratic",
            "seed": "int>=0",
        },
        bad={"sched": ["linear", None], "title": [3], "reference": [None]},
    ),
]

EXEMPT = {}
