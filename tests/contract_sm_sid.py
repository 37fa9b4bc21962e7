"""Bad-input contract of the score-matching and sid chapters' helpers
(``kexue.diffusion.score_study``, ``kexue.diffusion.sid_tools``)."""

import math

import kexue.diffusion as kd
import torch
from contract import Call
from kexue import data
from kexue.diffusion import score_study, sid_tools

VP = kd.VPSchedule()
RING = data.ring_mixture(8, radius=2.0, std=0.15)
MIX1 = data.GaussianMixture([[0.0]], [1.0])


def _pts():
    return torch.tensor([[1.2, 0.9], [0.0, -2.0]], dtype=torch.float64)


_FAKE = sid_tools.TeacherInitFake(RING.eps_model(VP), hidden=8).double()
_ENS = sid_tools.EnsembleMLP([0, 1], 2, 1, hidden=4)
_T1 = sid_tools.mixture_eps_1d(torch.tensor([-1.0, 1.0]), 0.3, VP)

CALLS = [
    Call(
        score_study.plugin_bias_field,
        lambda: dict(
            mixture=RING,
            points=_pts(),
            t=0.1,
            sched=VP,
            n=2,
            with_source=True,
            reps=4,
            generator=None,
        ),
        {
            "points": "finite",
            "t": "float>0",
            "n": "int>=1",
            "with_source": "bool",
            "reps": "int>=2",
            "generator": "generator|None",
        },
        bad={"mixture": [None, 3], "sched": [None]},
    ),
    Call(
        score_study.plugin_bias_size,
        lambda: dict(
            mixture=RING, points=_pts(), t=0.1, sched=VP, n=2, reps=4, generator=None
        ),
        {
            "points": "finite",
            "t": "float>0",
            "n": "int>=1",
            "reps": "int>=2",
            "generator": "generator|None",
        },
        bad={"mixture": [None, 3], "sched": [None]},
    ),
    Call(
        score_study.plugin_bias_theory,
        lambda: dict(mixture=RING, x=_pts(), t=0.1, sched=VP),
        {"x": "finite", "t": "float>0"},
        bad={"mixture": [None, 3], "sched": [None], "x": [torch.zeros(2, 3)]},
    ),
    Call(
        score_study.ratio_bias_study,
        lambda: dict(
            mixture=RING,
            x=_pts()[:1],
            t=0.1,
            sched=VP,
            ns=[1, 2],
            reps=4,
            generator=None,
        ),
        {
            "x": "finite",
            "t": "float>0",
            "reps": "int>=2",
            "generator": "generator|None",
        },
        bad={"ns": [None, "12", [0]], "x": [_pts()]},
    ),
    Call(
        score_study.quadrature_objectives,
        lambda: dict(mixture=MIX1, model=torch.tanh, t=0.2, sched=VP, n_nodes=8),
        {"model": "callable", "t": "float>0", "n_nodes": "int>=2"},
        bad={"mixture": [RING, None]},
    ),
    Call(
        sid_tools.TeacherInitFake,
        lambda: dict(teacher=RING.eps_model(VP), dim=2, hidden=8, depth=2),
        {"teacher": "callable", "dim": "int>=1", "hidden": "int>=1", "depth": "int>=1"},
    ),
    Call(
        _FAKE.forward,
        lambda: dict(x=_pts(), t=torch.full((2,), 0.3, dtype=torch.float64)),
        {"x": "tensor"},  # a module's forward: NaN propagates, as in torch.nn
        name="kexue.diffusion.sid_tools.TeacherInitFake.forward",
    ),
    Call(
        sid_tools.mode_test,
        lambda: dict(samples=RING.sample(50), centers=RING.means, std=0.15, k=4.0),
        {"std": "float>0", "k": "float>0"},
        bad={"samples": [None, "x", torch.zeros(5, 3)], "centers": [None]},
    ),
    Call(
        sid_tools.uniform_ring,
        lambda: dict(n=10, radius=2.0, width=0.1),
        {"n": "int>=1", "radius": "float>0", "width": "float>0"},
        bad={"generator": [0, "x"]},
    ),
    Call(
        sid_tools.toy_flow,
        lambda: dict(
            field=lambda m, s: (m, 0.0), start=(0.5, math.log(0.5)), steps=3, lr=0.1
        ),
        {"field": "callable", "steps": "int>=1", "lr": "float>0"},
        bad={"start": [None, (1.0,), ("a", 1.0)], "log_s_min": [math.nan, "x"]},
    ),
    Call(
        sid_tools.mixture_eps_1d,
        lambda: dict(means=torch.tensor([-1.0, 1.0]), std=0.3, sched=VP),
        {"std": "float>0"},
        bad={"means": [None, "x", torch.zeros(0)], "sched": [None, 3]},
    ),
    Call(
        sid_tools.EnsembleMLP,
        lambda: dict(seeds=[0, 1], d_in=2, d_out=1, hidden=4),
        {"d_in": "int>=1", "d_out": "int>=1", "hidden": "int>=1"},
        bad={"seeds": [None, [], [-1], ["a"]]},
    ),
    Call(
        _ENS.forward,
        lambda: dict(h=torch.zeros(2, 3, 2, dtype=torch.float64)),
        {},  # a module's forward: shapes are torch's to check, as in torch.nn
        name="kexue.diffusion.sid_tools.EnsembleMLP.forward",
    ),
    Call(
        sid_tools.sid_ensemble,
        lambda: dict(
            teacher=_T1,
            sched=VP,
            coefs=[(1.0, 0.0)],
            seeds=[0],
            iters=1,
            batch=4,
            fake_steps=1,
            lr=1e-3,
            t_range=(0.05, 0.6),
            t_init=0.5,
            hidden=4,
            n_snapshot=3,
            fake_init="teacher",
            fake_pretrain=0,
            device="cpu",
            progress=False,
        ),
        {
            "teacher": "callable",
            "iters": "int>=1",
            "batch": "int>=1",
            "fake_steps": "int>=1",
            "lr": "float>0",
            "hidden": "int>=1",
            "n_snapshot": "int>=1",
            "fake_init": "choice:teacher|plain",
            "fake_pretrain": "int>=0",
            "device": "object",
            "progress": "bool",
        },
        bad={
            "device": [3, "nodevice"],
            "sched": [None],
            "coefs": [None, [], [(1.0,)], [("a", 0.0)]],
            "seeds": [None, [0, 1]],
            "t_range": [(0.6, 0.05), (0.0, 0.5)],
            "t_init": [0.0, 1.5, "x"],
        },
    ),
    Call(
        sid_tools.mode_test_controls,
        lambda: dict(means=torch.tensor([-2.0, 2.0]), std=0.4, n=10, generator=None),
        {"std": "float>0", "n": "int>=1", "generator": "generator|None"},
        bad={"means": [None, "x", torch.zeros(1), torch.tensor([2.0, -2.0])]},
    ),
    Call(
        sid_tools.keeps_every_mode,
        lambda: dict(
            result=sid_tools.mode_test(RING.sample(50), RING.means, 0.15),
            core_floor=0.5,
            k=4.0,
        ),
        {"core_floor": "prob", "k": "float>0"},
        bad={"result": [None, 3, {"core": 1.0}]},
    ),
]
