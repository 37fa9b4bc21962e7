"""Bad-input contract of the GlobalPointer divergence chapter (losses.divergence)."""

import torch
from contract import Call
from kexue.losses import divergence as dv


def _logits():
    g = torch.Generator().manual_seed(0)
    return torch.randn(3, 4, generator=g), torch.randn(3, 4, generator=g)


def _probs():
    s, t = _logits()
    return torch.softmax(s, -1), torch.softmax(t, -1)


_V = [("none", 0.0), ("globalpointer", 0.1)]
_SMALL = dict(
    seeds=(0,),
    n_train=16,
    n_test=8,
    n_labels=3,
    hidden=4,
    steps=2,
    batch_size=4,
    progress=False,
)


def _result():
    return dv.rdrop_multilabel(_V, **_SMALL)


CALLS = [
    Call(
        dv.symmetric_kl,
        lambda: dict(zip(("p", "q"), _probs(), strict=True), dim=-1),
        {"p": "finite", "q": "finite", "dim": "int>=-2"},
        bad={
            "p": [torch.full((3, 4), 0.3), -torch.softmax(torch.ones(3, 4), -1)],
            "q": [torch.ones(3, 5) / 5, torch.ones(3, 4, dtype=torch.float64) / 4],
            "dim": [2, -3],
        },
    ),
    Call(
        dv.symmetric_kl_logits,
        lambda: dict(zip(("s", "t"), _logits(), strict=True), dim=-1, form="stable"),
        {"s": "finite", "t": "finite", "dim": "int>=-2", "form": "choice:stable|inner"},
        bad={"t": [torch.ones(4), torch.ones(3, 4, dtype=torch.float64)], "dim": [2]},
    ),
    Call(
        dv.binary_symmetric_kl_logits,
        lambda: dict(zip(("s", "t"), _logits(), strict=True), form="stable"),
        {"s": "finite", "t": "finite", "form": "choice:stable|inner"},
        bad={"t": [torch.ones(3)], "s": [torch.empty(0)]},
    ),
    Call(
        dv.globalpointer_divergence,
        lambda: dict(
            zip(("s", "t"), _logits(), strict=True),
            mask=torch.ones(4, dtype=torch.bool),
            dim=-1,
        ),
        {"s": "finite", "t": "finite", "mask": "object", "dim": "object"},
        bad={
            "mask": ["x", torch.ones(5, dtype=torch.bool), torch.full((4,), 0.5)],
            "dim": [(), (0, 0), 2, "x", (0, 5)],
            "t": [torch.ones(4)],
        },
    ),
    Call(
        dv.divergence_properties,
        lambda: dict(fn=dv.globalpointer_divergence, n=3, n_pairs=4, scale=2.0, seed=0),
        {
            "fn": "callable",
            "n": "int>=2",
            "n_pairs": "int>=1",
            "scale": "float>0",
            "seed": "int>=0",
        },
        bad={"fn": [lambda s, t: s, lambda s, t: "x"]},
    ),
    Call(
        dv.teacher_multilabel,
        lambda: dict(
            n_train=8,
            n_test=4,
            n_features=3,
            n_labels=2,
            rate=0.25,
            teacher_width=4,
            seed=0,
        ),
        {
            "n_train": "int>=2",
            "n_test": "int>=1",
            "n_features": "int>=1",
            "n_labels": "int>=1",
            "rate": "prob",
            "teacher_width": "int>=1",
            "seed": "int>=0",
        },
        bad={"rate": [0.0, 1.0]},
    ),
    Call(
        dv.rdrop_multilabel,
        lambda: dict(variants=_V, **_SMALL, rate=0.25, dropout=0.2, lr=1e-3),
        {
            "variants": "object",
            "seeds": "object",
            "n_train": "int>=2",
            "n_test": "int>=1",
            "n_labels": "int>=2",
            "rate": "prob",
            "hidden": "int>=1",
            "dropout": "prob",
            "steps": "int>=1",
            "batch_size": "int>=1",
            "lr": "float>0",
            "progress": "bool",
        },
        bad={
            "variants": [
                "none",
                [],
                [("none", 0.5)],
                [("globalpointer", 0.0)],
                [("kl", 0.1)],
                [("none",)],
                [("softmax", -1.0)],
            ],
            "seeds": ["0", [], [0, 0], [-1], [1.5]],
            "dropout": [1.0],
            "rate": [0.0],
        },
    ),
    Call(
        dv.RDropResult.paired,
        lambda: dict(self=_result(), metric="test_f1", variant=1, baseline=0),
        {
            "metric": "choice:test_f1|train_f1|test_f1_tuned|threshold|test_ap|"
            "predicted_positives|test_gp_div|test_softmax_div",
            "variant": "int>=0",
            "baseline": "int>=0",
        },
        name="kexue.losses.divergence.RDropResult.paired",
        bad={"variant": [2], "baseline": [5]},
    ),
    Call(
        dv.RDropResult.t_stat,
        lambda: dict(self=_result(), metric="test_f1", variant=1, baseline=0),
        {
            "metric": "choice:test_f1|train_f1|test_f1_tuned|threshold|test_ap|"
            "predicted_positives|test_gp_div|test_softmax_div",
            "variant": "int>=0",
            "baseline": "int>=0",
        },
        name="kexue.losses.divergence.RDropResult.t_stat",
        bad={"variant": [2], "baseline": [5]},
    ),
    Call(
        dv.rdrop_figure,
        lambda: dict(result=_result(), t_crit=2.0),
        {"result": "object", "t_crit": "float>0"},
        bad={"result": [None, "x", {"test_f1": 1}]},
    ),
    Call(
        dv.shift_figure,
        lambda: dict(shift=1.0, noise=0.5, n=4, seed=0),
        {"shift": "object", "noise": "float>=0", "n": "int>=2", "seed": "int>=0"},
        bad={"shift": ["1", None, float("nan"), True]},
    ),
]

EXEMPT = {
    "kexue.losses.divergence.RDropResult": "a frozen dataclass of results; built by "
    "rdrop_multilabel, which validates everything that goes into it",
    "kexue.losses.divergence.THRESHOLDS": "a constant grid of decision thresholds",
}
