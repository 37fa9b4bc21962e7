"""Bad-input contract of kexue.everyday.birthday (chapter appendix/birthday)."""

import math

import numpy as np
import torch
from contract import Call
from kexue.everyday import birthday as B

_N_BAD = [0, -3, 2.5, [3, 0], np.array([1.5]), "x", None, True, np.array([], int)]
_W = np.full(4, 0.25)
_W_BAD = [
    None,
    "x",
    [0.5, 0.6],
    [[0.5, 0.5]],
    [math.nan, 1.0],
    [-0.5, 1.5],
    np.zeros(0),
]


def _g():
    return torch.Generator().manual_seed(0)


CALLS = [
    Call(
        B.p_shared_exact,
        lambda: dict(n=23, N=365),
        {"n": "int>=1", "N": "int>=1"},
    ),
    Call(
        B.p_shared,
        lambda: dict(n=[10, 23], N=365, complement=False),
        {"n": "object", "N": "int>=1", "complement": "bool"},
        bad={"n": _N_BAD},
    ),
    Call(
        B.p_shared_approx,
        lambda: dict(n=23, N=365, kind="pairs"),
        {"n": "object", "N": "int>=1", "kind": "choice:pairs|square"},
        bad={"n": _N_BAD},
    ),
    Call(
        B.n_for_probability,
        lambda: dict(p=0.5, N=365),
        {"p": "prob", "N": "int>=1"},
    ),
    Call(
        B.expected_shared_pairs,
        lambda: dict(n=50, N=365),
        {"n": "object", "N": "int>=1"},
        bad={"n": _N_BAD},
    ),
    Call(
        B.p_shared_weighted,
        lambda: dict(n=[2, 3], weights=_W, complement=True),
        {"n": "object", "weights": "object", "complement": "bool"},
        bad={"n": _N_BAD, "weights": _W_BAD},
    ),
    Call(
        B.seasonal_weights,
        lambda: dict(amplitude=0.1, peak_day=250, leap_day=True),
        {"amplitude": "float>=0", "peak_day": "int>=0", "leap_day": "bool"},
        bad={"amplitude": [1.0], "peak_day": [365]},
    ),
    Call(
        B.simulate_shared,
        lambda: dict(n=5, N=4, trials=10, generator=_g(), weights=_W),
        {
            "n": "int>=1",
            "N": "int>=1",
            "trials": "int>=2",
            "generator": "generator|None",
            "weights": "object",
        },
        bad={"weights": _W_BAD[1:] + [np.full(5, 0.2)]},
    ),
    Call(
        B.sample_days,
        lambda: dict(n=5, N=4, trials=3, generator=_g(), weights=_W),
        {
            "n": "int>=1",
            "N": "int>=1",
            "trials": "int>=1",
            "generator": "generator|None",
            "weights": "object",
        },
        bad={"weights": _W_BAD[1:]},
    ),
    Call(
        B.calendar_counts,
        lambda: dict(days=np.array([0, 59, 364]), leap_day=False),
        {"days": "object", "leap_day": "bool"},
        bad={"days": [np.array([365]), np.array([-1]), np.array([0.5]), "x"]},
    ),
    Call(
        B.expected_first_repeat,
        lambda: dict(N=365),
        {"N": "int>=1"},
        bad={"N": [10**7 + 1]},
    ),
    Call(
        B.simulate_first_repeat,
        lambda: dict(N=10, trials=5, generator=_g()),
        {"N": "int>=1", "trials": "int>=1", "generator": "generator|None"},
        bad={"N": [10**5 + 1]},
    ),
    Call(
        B.simulate_parties,
        lambda: dict(n=3, N=10, repeats=5, generator=_g()),
        {
            "n": "int>=1",
            "N": "int>=1",
            "repeats": "int>=1",
            "generator": "generator|None",
        },
        bad={"n": [11]},
    ),
    Call(B.socks_for_pair, lambda: dict(colours=2), {"colours": "int>=1"}),
    Call(
        B.nine_times_fingers,
        lambda: dict(k=3),
        {"k": "int>=1"},
        bad={"k": [11]},
    ),
]

EXEMPT = {
    "kexue.everyday.birthday.Simulation": "a NamedTuple of results; no arguments",
}
