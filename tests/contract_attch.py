"""Bad-input contract of the entropy and JL chapters' sweeps (attention.scale_laws)."""

import numpy as np
import torch
from contract import Call
from kexue.attention import scale_laws as sl

_SEQ_BAD = ["not-a-list", [], [8, 4]]


def _logits():
    return sl.true_key_logits(64, d=8, n_queries=4, seed=0)


CALLS = [
    Call(
        sl.sphere_points,
        lambda: dict(m=5, d=3, radius=None, generator=None),
        {
            "m": "int>=1",
            "d": "int>=1",
            "radius": "float>0|None",
            "generator": "generator|None",
        },
    ),
    Call(
        sl.entropy_scale_vs_n,
        lambda: dict(
            ns=[8, 16], d=4, target=1.0, n_queries=2, seeds=[0], keys="sphere", iters=40
        ),
        {
            "ns": "object",
            "d": "int>=1",
            "target": "float>0",
            "n_queries": "int>=1",
            "seeds": "object",
            "keys": "choice:sphere|gaussian",
            "iters": "int>=1",
        },
        bad={"ns": _SEQ_BAD, "seeds": ["x", []]},
    ),
    Call(
        sl.approx_scale_vs_n,
        lambda: dict(
            ns=[8, 16], d=4, target=1.0, n_queries=2, seeds=[0], keys="sphere"
        ),
        {
            "ns": "object",
            "d": "int>=1",
            "target": "float>0",
            "n_queries": "int>=1",
            "seeds": "object",
            "keys": "choice:sphere|gaussian",
        },
        bad={"ns": _SEQ_BAD, "seeds": ["x", []]},
    ),
    Call(
        sl.entropy_scale_vs_d,
        lambda: dict(ds=[2, 4], n=16, target=1.0, n_queries=2, seeds=[0], iters=40),
        {
            "ds": "object",
            "n": "int>=2",
            "target": "float>0",
            "n_queries": "int>=1",
            "seeds": "object",
            "iters": "int>=1",
        },
        bad={"ds": _SEQ_BAD, "seeds": ["x", []]},
    ),
    Call(
        sl.fit_exponents,
        lambda: dict(x=[1.0, 2.0, 4.0], y=np.ones((2, 3))),
        {"x": "object", "y": "object"},
        bad={"x": [[1.0]], "y": [-np.ones((2, 3)), np.ones((2, 4))]},
    ),
    Call(
        sl.max_abs_cos_by_dim,
        lambda: dict(n=6, ds=[2, 3], seed=0),
        {"n": "int>=2", "ds": "object", "seed": "int>=0"},
        bad={"ds": _SEQ_BAD},
    ),
    Call(
        sl.first_passing_dim,
        lambda: dict(n=6, threshold=0.5, seed=0, d_start=1, d_max=200),
        {
            "n": "int>=2",
            "threshold": "float>0",
            "seed": "int>=0",
            "d_start": "int>=1",
            "d_max": "int>=2",
        },
        bad={"threshold": [1.5]},
    ),
    Call(
        sl.pair_exceed_prob,
        lambda: dict(d=np.array([4, 8]), threshold=0.5),
        {"d": "object", "threshold": "float>0"},
        bad={"d": [np.array([1])]},
    ),
    Call(
        sl.predicted_dim_pmf,
        lambda: dict(n=16, threshold=0.5, d_max=200),
        {"n": "int>=2", "threshold": "float>0", "d_max": "int>=2"},
    ),
    Call(
        sl.predicted_dim_quantile,
        lambda: dict(n=16, q=0.5, threshold=0.5, d_max=200),
        {"n": "int>=2", "q": "float>0", "threshold": "float>0", "d_max": "int>=2"},
        bad={"q": [1.5]},
    ),
    Call(
        sl.predicted_max_abs_cos,
        lambda: dict(n=16, d=8),
        {"n": "int>=2", "d": "int>=2"},
    ),
    Call(
        sl.true_key_logits,
        lambda: dict(n=8, d=4, n_queries=2, noise=0.5, seed=0),
        {
            "n": "int>=2",
            "d": "int>=1",
            "n_queries": "int>=1",
            "noise": "float>=0",
            "seed": "int>=0",
        },
    ),
    Call(
        sl.true_key_weight,
        lambda: dict(logits=_logits(), factor=1.0, d=8),
        {"logits": "tensor", "factor": "float>0", "d": "int>=1"},
        bad={"logits": [torch.zeros(3)]},
    ),
    Call(
        sl.weight_keeping_factor,
        lambda: dict(logits=_logits(), weight=0.3, d=8, iters=40),
        {"logits": "tensor", "weight": "float>0", "d": "int>=1", "iters": "int>=1"},
        bad={"weight": [1.5]},
    ),
    Call(
        sl.annealed_factor,
        lambda: dict(n=1024, d=32, n0=512, gamma0=1.0),
        {"n": "float>0", "d": "int>=1", "n0": "int>=2", "gamma0": "float>0"},
    ),
]

EXEMPT = {}
