"""Bad-input contract of the birthday chapter's module (kexue.everyday.birthday)."""

import math

import numpy as np
import torch
from contract import Call
from kexue.everyday import birthday as B

_BAD_N = ["3", 2.5, None, True, 0, [], [3, 0], np.array([2.5]), {"a": 1}]
_BAD_DAYS = ["365", 2.5, None, True, 0]
_BAD_W = [None, "w", [0.5, 0.6], [[0.5, 0.5]], [], [math.nan, 1.0], [-0.5, 1.5]]

CALLS = [
    Call(
        B.p_shared_exact,
        lambda: dict(n=23, N=365),
        {"n": "int>=1", "N": "int>=1"},
    ),
    Call(
        B.p_shared,
        lambda: dict(n=np.arange(1, 5), N=365),
        {"n": "object", "N": "int>=1"},
        bad={"n": _BAD_N},
    ),
    Call(
        B.p_shared_approx,
        lambda: dict(n=23, N=365, kind="pairs"),
        {"n": "object", "N": "int>=1", "kind": "choice:pairs|square"},
        bad={"n": _BAD_N},
    ),
    Call(B.n_for_probability, lambda: dict(p=0.5, N=365), {"p": "prob", "N": "int>=1"}),
    Call(
        B.expected_shared_pairs,
        lambda: dict(n=50, N=365),
        {"n": "object", "N": "int>=1"},
        bad={"n": _BAD_N},
    ),
    Call(
        B.p_shared_weighted,
        lambda: dict(n=3, weights=np.full(4, 0.25)),
        {"n": "object", "weights": "object"},
        bad={"n": _BAD_N, "weights": _BAD_W + [torch.tensor([0.5, 0.6])]},
    ),
    Call(
        B.seasonal_weights,
        lambda: dict(amplitude=0.1, peak_day=250, leap_day=True),
        {"amplitude": "object", "peak_day": "int>=0", "leap_day": "bool"},
        bad={"amplitude": [None, "0.1", math.nan, -0.1, 1.0], "peak_day": [365]},
    ),
    Call(
        B.simulate_shared,
        lambda: dict(n=5, N=4, trials=10, generator=None, weights=np.full(4, 0.25)),
        {
            "n": "int>=1",
            "N": "int>=1",
            "trials": "int>=2",
            "generator": "generator|None",
            "weights": "object",
        },
        bad={"weights": _BAD_W[1:] + [np.full(3, 1 / 3)], "N": _BAD_DAYS},
    ),
    Call(B.socks_for_pair, lambda: dict(colours=2), {"colours": "int>=1"}),
    Call(
        B.nine_times_fingers, lambda: dict(k=3), {"k": "int>=1"}, bad={"k": [11, 2.0]}
    ),
]

EXEMPT = {
    "kexue.everyday.birthday.Simulation": "a NamedTuple of results, built only by "
    "simulate_shared",
}
