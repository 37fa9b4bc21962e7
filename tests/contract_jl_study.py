"""Bad-input contract of the JL chapter's head-size sweep (attention.jl_study)."""

import numpy as np
from contract import Call
from kexue.attention import jl_study as jl

_SEQ_BAD = ["not-a-list", [], [8, 0]]

CALLS = [
    Call(
        jl.factor_by_dim,
        lambda: dict(ds=[4], n=16, n0=8, seeds=[0], n_queries=2, iters=2),
        {
            "ds": "object",
            "n": "int>=2",
            "n0": "int>=2",
            "seeds": "object",
            "n_queries": "int>=1",
            "iters": "int>=1",
        },
        bad={"ds": _SEQ_BAD, "seeds": ["x", [], [-1]], "n0": [32]},
    ),
    Call(
        jl.annealed_increment,
        lambda: dict(n=1024, d=16, n0=512),
        {"n": "int>=2", "d": "int>=2", "n0": "int>=2"},
    ),
    Call(
        jl.neglected_noise_shift,
        lambda: dict(gamma=np.array([1.0, 1.5]), d=16, noise=0.5),
        {"gamma": "object", "d": "int>=2", "noise": "float>=0"},
        bad={"gamma": ["x", np.array([]), np.array([-1.0]), np.array([np.nan]), 9.0]},
    ),
    Call(
        jl.cosine_figure,
        lambda: dict(n=8, d=4, seed=0),
        {"n": "int>=2", "d": "int>=2", "seed": "int>=0"},
    ),
]

EXEMPT = {}
