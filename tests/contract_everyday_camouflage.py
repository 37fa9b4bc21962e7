"""Bad-input contract of the camouflage chapter's module (kexue.everyday.camouflage)."""

import torch
from contract import Call
from kexue.everyday import camouflage as C

F64 = torch.float64


def _c():
    return torch.linspace(-0.5, 1.0, 7, dtype=F64)


def _bg():
    return torch.tensor([0.3, 0.3, 0.6, 0.6], dtype=F64)


_PATCHES = torch.tensor([0.3, 0.8], dtype=F64)
_W = torch.tensor([0.8, 0.2], dtype=F64)
_BAD_BG = [torch.zeros(2, 2, dtype=F64), "0.3", None]
_BAD_W = [torch.tensor([0.5, 0.6], dtype=F64), torch.tensor([1.0], dtype=F64)]
_BAD_KAPPA = [0.0, 1.5, None, "0.5"]
_RATES = {"kappa": "object", "moving_fraction": "prob", "motion_catch": "prob"}

CALLS = [
    Call(
        C.survival_prob,
        lambda: dict(
            colour=_c(),
            background=_PATCHES,
            s=0.1,
            kappa=0.5,
            moving_fraction=0.2,
            motion_catch=0.5,
            weights=_W,
        ),
        {"colour": "finite", "background": "object", "s": "float>0", **_RATES},
        bad={"background": _BAD_BG, "weights": _BAD_W, "kappa": _BAD_KAPPA},
    ),
    Call(
        C.gaussian_selection_step,
        lambda: dict(
            mean=0.1,
            var=0.01,
            background=0.3,
            s=0.2,
            kappa=0.5,
            moving_fraction=0.3,
            motion_catch=0.5,
        ),
        {"var": "float>0", "s": "float>0", **_RATES},
        bad={
            "mean": [None, "0.1", float("nan")],
            "background": [None, float("inf"), _PATCHES],
            "kappa": _BAD_KAPPA,
        },
    ),
    Call(
        C.gaussian_selection_recursion,
        lambda: dict(
            mean0=0.1,
            var0=0.01,
            backgrounds=_bg(),
            s=0.2,
            mutation_sd=0.02,
            kappa=0.5,
            moving_fraction=0.0,
            motion_catch=0.5,
        ),
        {
            "var0": "float>0",
            "backgrounds": "finite",
            "s": "float>0",
            "mutation_sd": "float>=0",
            **_RATES,
        },
        bad={
            "mean0": [None, float("nan")],
            "backgrounds": [torch.zeros(2, 2, dtype=F64), torch.zeros(0, dtype=F64)],
            "kappa": _BAD_KAPPA,
        },
    ),
    Call(
        C.equilibrium_variance,
        lambda: dict(s=0.2, mutation_sd=0.02),
        {"s": "float>0", "mutation_sd": "float>=0"},
    ),
    Call(
        C.simulate_selection,
        lambda: dict(
            backgrounds=_bg(),
            s=0.2,
            mutation_sd=0.02,
            n_prey=20,
            mean0=0.3,
            sd0=0.05,
            kappa=0.5,
            moving_fraction=0.1,
            motion_catch=0.5,
            weights=None,
            generator=torch.Generator().manual_seed(0),
        ),
        {
            "backgrounds": "finite",
            "s": "float>0",
            "mutation_sd": "float>=0",
            "n_prey": "int>=2",
            "sd0": "float>0",
            "generator": "generator|None",
            **_RATES,
        },
        bad={
            "backgrounds": [torch.zeros(2, 2, 2, dtype=F64)],
            "mean0": [None, float("inf")],
            "weights": [torch.tensor([0.5, 0.5], dtype=F64)],
            "kappa": _BAD_KAPPA,
        },
    ),
    Call(
        C.colour_histogram,
        lambda: dict(
            colours=torch.zeros(3, 5, dtype=F64), edges=torch.linspace(-1, 1, 5)
        ),
        {"colours": "finite", "edges": "finite"},
        bad={
            "colours": [torch.zeros(5, dtype=F64)],
            "edges": [torch.tensor([1.0, 0.0]), torch.tensor([0.0])],
        },
    ),
    Call(
        C.optimal_colour,
        lambda: dict(background=_PATCHES, s=0.1, weights=_W, n_grid=101),
        {"s": "float>0", "n_grid": "int>=3"},
        bad={"background": _BAD_BG, "weights": _BAD_W},
    ),
]

EXEMPT = {
    "kexue.everyday.camouflage.SelectionStep": "a NamedTuple of results, built by "
    "gaussian_selection_step",
    "kexue.everyday.camouflage.Recursion": "a NamedTuple of results, built by "
    "gaussian_selection_recursion",
    "kexue.everyday.camouflage.Simulation": "a NamedTuple of results, built by "
    "simulate_selection",
}
