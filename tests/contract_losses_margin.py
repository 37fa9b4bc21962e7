"""Bad-input contract of losses.margin (chapter softmax/margin-softmax)."""

import math

import torch
from contract import Call
from kexue.losses import margin as mg

_G = torch.Generator().manual_seed(0)
_Z = torch.randn(12, 3, generator=_G, dtype=torch.float64)
_Y = torch.arange(12) % 3
_C = torch.randn(3, 3, generator=_G, dtype=torch.float64)
_X = torch.randn(12, 4, generator=_G)
_LABELS_BAD = [
    "x",
    _Y.float(),
    _Y.to(torch.int32),
    _Y[:5],
    _Y - 1,
    torch.tensor([0] + [1] * 11),  # class 0 has a single sample
]
_REAL_BAD = [None, "0.1", math.nan, math.inf]
_NETS = mg.fit_margin_nets(
    _X, _Y, margins=[0.0], seeds=[0], steps=1, hidden=4, dim=2, progress=False
)


def _loss_call(fn, first):
    return Call(
        fn,
        lambda: {
            first: torch.rand(4, 3),
            "target": torch.tensor([0, 2, 1, 0]),
            "margin": 0.2,
            "scale": 8.0,
            "reduction": "mean",
        },
        {
            first: "tensor",
            "target": "object",
            "margin": "object",
            "scale": "float>0",
            "reduction": "choice:mean|sum|none",
        },
        bad={
            first: [torch.rand(4), torch.rand(4, 1)],
            "target": [
                None,
                "x",
                torch.tensor([0.0, 1, 1, 0]),
                torch.tensor([0, 1]),
                torch.tensor([0, 3, 1, 0]),
            ],
            "margin": _REAL_BAD,
        },
    )


CALLS = [
    Call(
        mg.normalized_chord,
        lambda: dict(x=torch.randn(5, 3), y=torch.randn(5, 3), dim=-1),
        {"x": "finite", "y": "finite", "dim": "object"},
        bad={
            "x": [torch.zeros(5, 3), torch.randn(4, 3), torch.tensor(1.0)],
            "dim": [None, 2.5, 5],
        },
    ),
    Call(
        mg.cosine_matrix,
        lambda: dict(a=torch.randn(5, 3), b=torch.randn(4, 3)),
        {"a": "finite", "b": "finite"},
        bad={"a": [torch.randn(5), torch.zeros(2, 3)], "b": [torch.randn(4, 2)]},
    ),
    _loss_call(mg.margin_ce_from_distance, "dist"),
    _loss_call(mg.am_softmax_loss, "cos"),
    Call(
        mg.recall_at_1,
        lambda: dict(z=_Z, labels=_Y),
        {"z": "finite", "labels": "object"},
        bad={"z": [_Z[:1], _Z[0], torch.zeros(12, 3)], "labels": _LABELS_BAD[:5]},
    ),
    Call(
        mg.retrieval_metrics,
        lambda: dict(z=_Z, labels=_Y, centres=_C),
        {"z": "finite", "labels": "object", "centres": "finite"},
        bad={"labels": _LABELS_BAD + [_Y + 1], "centres": [_C[:, :2], _C[0]]},
    ),
    Call(
        mg.misretrieved,
        lambda: dict(z=_Z, labels=_Y, centres=_C, z2_right=False),
        {"z": "finite", "labels": "object", "centres": "finite", "z2_right": "bool"},
        bad={"labels": _LABELS_BAD, "centres": [_C[:, :2], _C[:2]]},
    ),
    Call(
        mg.sufficient_condition_triples,
        lambda: dict(
            z=_Z,
            labels=_Y,
            centres=_C,
            metric="chord",
            max_anchors=4,
            generator=torch.Generator().manual_seed(0),
        ),
        {
            "z": "finite",
            "labels": "object",
            "centres": "finite",
            "metric": "choice:chord|1-cos",
            "max_anchors": "int>=1|None",
            "generator": "generator|None",
        },
        bad={"labels": _LABELS_BAD[:5], "centres": [_C[:, :2], _C[:2]]},
    ),
    Call(
        mg.fit_margin_nets,
        lambda: dict(
            x=_X,
            y=_Y,
            margins=[0.0, 0.1],
            seeds=[0],
            scales=[4.0],
            steps=2,
            batch_size=4,
            hidden=4,
            dim=2,
            lr=1e-2,
            progress=False,
        ),
        {
            "x": "finite",
            "y": "object",
            "margins": "object",
            "seeds": "object",
            "scales": "object",
            "steps": "int>=1",
            "batch_size": "int>=1",
            "hidden": "int>=1",
            "dim": "int>=2",
            "lr": "float>0",
            "progress": "bool",
        },
        bad={
            "y": [None, _Y.float(), _Y[:4], _Y - 1],
            "margins": ["0.1", [], [-0.1], [math.nan], [None]],
            "seeds": [0, [], [-1], [0, 0], [1.5]],
            "scales": [[], [0.0], [-1.0], ["x"]],
        },
    ),
    Call(
        _NETS.embed,
        lambda: dict(x=_X),
        {"x": "finite"},
        name="kexue.losses.margin.MarginNets.embed",
        bad={"x": [_X[:, :3], _X[0]]},
    ),
    Call(
        mg.paired_differences,
        lambda: dict(values=[[1.0, 2.0, 3.0], [2.0, 2.5, 4.0]], baseline=0, bar=3.0),
        {"values": "object", "baseline": "int>=0", "bar": "float>0"},
        bad={
            "values": [None, "x", [1.0, 2.0], [[1.0]], [[math.nan, 1.0]]],
            "baseline": [2],
        },
    ),
]

EXEMPT = {
    "kexue.losses.margin.MarginNets": "a result container built by fit_margin_nets "
    "(which validates everything); not meant to be constructed by hand",
    "kexue.losses.margin.MarginNets.unit_centres": "takes no arguments",
}
