"""Bad-input contract of the logsumexp chapter's module (kexue.softmax.lse)."""

import math

import torch
from contract import Call
from kexue.softmax import lse as L

F64 = torch.float64


def _x():
    return torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -math.inf]], dtype=F64)


def _p():
    return torch.tensor([[0.5, 0.25, 0.25], [0.5, 0.5, 0.0]], dtype=F64)


_NOT_PROB = [
    torch.tensor([[0.5, 0.6, -0.1], [0.5, 0.5, 0.0]], dtype=F64),  # negative entry
    torch.tensor([[0.5, 0.25, 0.5], [0.5, 0.5, 0.0]], dtype=F64),  # sums to 1.25
    torch.tensor([0.5, 0.5], dtype=F64),  # wrong shape
]
_ALL_MASKED = torch.full((2, 3), -math.inf, dtype=F64)
_BAD_ORDER = [None, "2.0", math.nan, -math.inf, True]
_BAD_DIM = {"dim": ["x", 2.5, None, 2, -3]}
_BAD_S = [torch.tensor([0.2, 1.5], dtype=F64), torch.ones(3, dtype=F64) / 2, 1.5, -0.1]

CALLS = [
    Call(
        L.smooth_max,
        lambda: dict(x=_x(), tau=0.5, dim=-1),
        {"x": "finite", "tau": "float>0", "dim": "object"},
        bad={"x": [_ALL_MASKED, torch.zeros(0, dtype=F64)], **_BAD_DIM},
    ),
    Call(
        L.lse_bounds,
        lambda: dict(x=_x(), tau=1.0, dim=1),
        {"x": "finite", "tau": "float>0", "dim": "object"},
        bad={"x": [_ALL_MASKED], **_BAD_DIM},
    ),
    Call(
        L.renyi_entropy,
        lambda: dict(p=_p(), t=2.0, dim=-1),
        {"p": "finite", "t": "object", "dim": "object"},  # t = math.inf is legal
        bad={
            "p": _NOT_PROB[:2],
            "t": _BAD_ORDER
            + [-1.0, torch.tensor([1.0, -1.0], dtype=F64), torch.ones(3, dtype=F64)],
            **_BAD_DIM,
        },
    ),
    Call(
        L.lse_weighted_lower_bound,
        lambda: dict(x=_x(), p=_p(), t=2.0, tau=1.0, dim=-1),
        {
            "x": "finite",
            "p": "finite",
            "t": "object",
            "tau": "float>0",
            "dim": "object",
        },
        bad={
            "x": [_ALL_MASKED],
            "p": _NOT_PROB,
            "t": _BAD_ORDER + [0.5, 0.0],
            **_BAD_DIM,
        },
    ),
    Call(
        L.lipschitz_ratio,
        lambda: dict(x=_x(), y=_x() + 1, dim=-1),
        {"x": "finite", "y": "finite", "dim": "object"},
        bad={"y": [torch.zeros(2, 3, dtype=F64), torch.zeros(3, dtype=F64)]},
    ),
    Call(
        L.path_derivatives,
        lambda: dict(x=_x(), y=_x() - 1, s=torch.tensor([0.2, 0.7], dtype=F64)),
        {"x": "finite", "y": "finite", "s": "object"},
        bad={"y": [torch.zeros(2, 3, dtype=F64)], "s": _BAD_S + [None, "a"]},
    ),
    Call(
        L.convexity_gap,
        lambda: dict(x=_x(), y=_x() * 2, s=0.3, dim=-1),
        {"x": "finite", "y": "finite", "s": "prob", "dim": "object"},
        bad={"s": _BAD_S, "y": [torch.zeros(2, 3, dtype=F64)]},
    ),
    Call(
        L.random_cases,
        lambda: dict(n_cases=5, n_max=4, sigma=2.0, generator=torch.Generator()),
        {
            "n_cases": "int>=1",
            "n_max": "int>=2",
            "sigma": "float>0",
            "generator": "generator|None",
        },
    ),
    Call(
        L.inequality_sweep,
        lambda: dict(cases=L.random_cases(4, generator=torch.Generator())),
        {"cases": "object"},
        bad={"cases": [None, (1, 2), "cases"]},
    ),
]

EXEMPT = {
    "kexue.softmax.lse.LSEBounds": "a NamedTuple of results, built by lse_bounds",
    "kexue.softmax.lse.Cases": "a NamedTuple of random cases, built by random_cases",
    "kexue.softmax.lse.Sweep": "a NamedTuple of slacks, built by inequality_sweep",
}
