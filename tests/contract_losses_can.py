"""Bad-input contract of CAN (kexue.losses.can, chapter softmax/can)."""

import numpy as np
from contract import Call
from kexue.losses import can as lc

_P = np.array([[0.7, 0.2, 0.1], [0.4, 0.35, 0.25], [0.1, 0.1, 0.8]])
_Q = np.array([0.3, 0.3, 0.4])
_PROBS_BAD = [
    None,
    "x",
    {"a": 1},
    np.array([0.5, 0.5]),  # 1-D
    np.array([[1.0], [1.0]]),  # one class
    np.array([[0.5, 0.6, 0.0]]),  # row sums to 1.1
    np.array([[-0.1, 0.6, 0.5]]),  # negative entry
    np.array([[np.nan, 0.5, 0.5]]),
    np.array([[np.inf, 0.0, 0.0]]),
]
_PRIOR_BAD = [
    None,
    "x",
    np.array([0.5, 0.5]),  # wrong length
    np.array([0.0, 0.5, 0.5]),  # a zero class
    np.array([-0.2, 0.6, 0.6]),
    np.array([0.5, 0.5, 0.5]),  # sums to 1.5
    np.array([np.nan, 0.5, 0.5]),
]
_CAN_KINDS = {
    "probs": "object",
    "prior": "object",
    "k": "int>=2",
    "tau": "float>=0",
    "alpha": "float>0",
    "iters": "int>=1",
    "mode": "choice:per_sample|batch",
    "renormalize": "bool",
}


def _can_kwargs():
    return dict(
        probs=_P.copy(),
        prior=_Q.copy(),
        k=2,
        tau=0.9,
        alpha=1.0,
        iters=2,
        mode="per_sample",
        renormalize=True,
    )


CALLS = [
    Call(
        lc.topk_uncertainty,
        lambda: dict(probs=_P.copy(), k=2, renormalize=True),
        {"probs": "object", "k": "int>=2", "renormalize": "bool"},
        bad={"probs": _PROBS_BAD, "k": [4]},  # k > number of classes
    ),
    Call(
        lc.confident_mask,
        lambda: dict(probs=_P.copy(), k=2, tau=0.9, renormalize=False),
        {"probs": "object", "k": "int>=2", "tau": "float>=0", "renormalize": "bool"},
        bad={"probs": _PROBS_BAD, "k": [4]},
    ),
    Call(
        lc.can_correct,
        _can_kwargs,
        _CAN_KINDS,
        bad={"probs": _PROBS_BAD, "prior": _PRIOR_BAD, "k": [4]},
    ),
    Call(
        lc.can_loop,
        _can_kwargs,
        _CAN_KINDS,
        bad={"probs": _PROBS_BAD, "prior": _PRIOR_BAD, "k": [4]},
    ),
    Call(
        lc.label_shift_correction,
        lambda: dict(
            probs=_P.copy(), train_prior=_Q.copy(), test_prior=_Q[::-1].copy()
        ),
        {"probs": "object", "train_prior": "object", "test_prior": "object"},
        bad={"probs": _PROBS_BAD, "train_prior": _PRIOR_BAD, "test_prior": _PRIOR_BAD},
    ),
    Call(
        lc.long_tail_counts,
        lambda: dict(n_classes=10, head=90, ratio=0.6, floor=5),
        {"n_classes": "int>=2", "head": "int>=1", "ratio": "prob", "floor": "int>=1"},
        bad={"ratio": [0.0], "floor": [91]},  # floor above head
    ),
    Call(
        lc.digits_scenario,
        lambda: dict(scenario="biased", seed=0, C=0.1, offset_sd=1.0, per_class=20),
        {
            "scenario": "choice:balanced|label_shift|biased",
            "seed": "int>=0",
            "C": "float>0",
            "offset_sd": "float>=0",
            "per_class": "int>=1|None",
        },
    ),
    Call(
        lc.scenario_accuracies,
        lambda: dict(
            scenario="balanced", seeds=[0], variants={"model": lambda d: d["probs"]}
        ),
        {
            "scenario": "choice:balanced|label_shift|biased",
            "seeds": "object",
            "variants": "object",
        },
        bad={
            "seeds": [None, "x", [], [-1], [0.5]],
            "variants": [None, 3, {"a": 3}, {"a": lambda d: d["probs"] * 2}],
        },
    ),
]

EXEMPT = {
    "kexue.losses.can.SCENARIOS": "a tuple constant (the scenario names)",
}
