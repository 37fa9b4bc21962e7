"""Bad-input contract of kexue.losses.multilabel (chapter softmax/multilabel-nm)."""

import math

import torch
from contract import Call
from kexue.losses import multilabel as ml

F64 = torch.float64


def _ml():
    return dict(
        logits=torch.tensor([[0.5, -1.0, 2.0]], dtype=F64),
        targets=torch.tensor([[1.0, 0.0, 0.3]], dtype=F64),
    )


def _nm():
    return dict(
        logits=torch.tensor([[[0.5, -1.0, 2.0], [0.0, 1.0, 0.0]]], dtype=F64),
        targets=torch.tensor([[[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]]], dtype=F64),
    )


_SHAPE = torch.zeros(1, 4, dtype=F64)
_NAN = torch.tensor([[math.nan, 0.0, 0.0]], dtype=F64)
_PINF = torch.tensor([[math.inf, 0.0, 0.0]], dtype=F64)
_ML_BAD = {
    "logits": [_SHAPE, _NAN, _PINF, torch.zeros(3, dtype=F64)[:0]],
    "targets": [
        _SHAPE,
        torch.tensor([[1.5, 0.0, 0.0]], dtype=F64),
        torch.tensor([[-0.1, 0.0, 0.0]], dtype=F64),
        torch.tensor([[math.nan, 0.0, 0.0]], dtype=F64),
    ],
    "mask": [torch.ones(1, 3), torch.ones(1, 4, dtype=torch.bool), "x"],
    "eps": [0.5, -0.1],
}
_NM_BAD = {
    "logits": [
        torch.zeros(1, 2, 4, dtype=F64),
        torch.zeros(3, dtype=F64),
        torch.tensor([[[math.nan, 0, 0], [0, 0, 0]]], dtype=F64),
        torch.tensor([[[-math.inf] * 3, [0, 0, 0]]], dtype=F64),
    ],
    "targets": [
        torch.zeros(1, 2, 4, dtype=F64),
        torch.full((1, 2, 3), 0.5, dtype=F64),
        torch.tensor([[[1.2, -0.2, 0.0], [0, 1, 0]]], dtype=F64),
    ],
    "mask": [torch.ones(1, 2), torch.ones(1, 3, dtype=torch.bool), 1.0],
}

_NM_BAD_GRAD = {
    "logits": _NM_BAD["logits"][:2],
    "targets": _NM_BAD["targets"],
}


def _nm_call(fn):
    return Call(
        fn,
        lambda: dict(**_nm(), mask=None, check=True),
        {"logits": "tensor", "targets": "tensor", "mask": "object", "check": "bool"},
        bad=_NM_BAD,
    )


def _task():
    d = ml.tagging_task(8, 4, seeds=(0,), n_tasks=2, n_classes=3, dim=2)
    return d


def _train_kwargs():
    d = _task()
    return dict(
        x=d["x_train"][0],
        y=d["y_train"][0],
        loss="softmax CE",
        n_classes=3,
        steps=2,
        lr=0.1,
        progress=False,
    )


def _params():
    return {"w": torch.zeros(2, 3, 2), "b": torch.zeros(2, 3)}


CALLS = [
    Call(
        ml.multilabel_ce,
        lambda: dict(**_ml(), mask=None, eps=0.0, check=True),
        {
            "logits": "tensor",
            "targets": "tensor",
            "mask": "object",
            "eps": "float>=0",
            "check": "bool",
        },
        bad=_ML_BAD,
    ),
    Call(
        ml.multilabel_probs,
        lambda: dict(logits=torch.zeros(2, 3)),
        {"logits": "tensor"},
    ),
    Call(
        ml.multilabel_ce_floor,
        lambda: dict(targets=torch.tensor([[0.2, 1.0]]), mask=None),
        {"targets": "finite", "mask": "object"},
        bad={
            "targets": [torch.tensor([[1.5]]), torch.tensor(0.5)],
            "mask": [torch.ones(1, 2)],
        },
    ),
    _nm_call(ml.nm_softmax_ce),
    _nm_call(ml.nm_loss_analogue),
    _nm_call(ml.nm_loss_centered),
    Call(
        ml.nm_centered_floor,
        lambda: dict(targets=torch.tensor([[0.2, 0.8], [0.5, 0.5]])),
        {"targets": "finite"},
        bad={"targets": [torch.tensor([0.2, 0.8]), torch.tensor([[0.2, 0.2]])]},
    ),
    Call(
        ml.nm_analogue_optimum,
        lambda: dict(targets=torch.tensor([[0.2, 0.8], [0.5, 0.5]]), iters=5, tol=1e-9),
        {"targets": "finite", "iters": "int>=1", "tol": "float>0"},
        bad={"targets": [torch.tensor([[1.0, 0.0]]), torch.tensor([[0.3, 0.3]])]},
    ),
    Call(
        ml.nm_analogue_grad,
        lambda: dict(**_nm()),
        {"logits": "finite", "targets": "tensor"},
        bad=_NM_BAD_GRAD,
    ),
    Call(
        ml.categorical_kl,
        lambda: dict(
            targets=torch.tensor([[0.2, 0.8]]), logits=torch.zeros(1, 2), check=True
        ),
        {"targets": "finite", "logits": "tensor", "check": "bool"},
        bad={
            "targets": [torch.tensor([[0.2, 0.2]])],
            "logits": [torch.zeros(1, 3), torch.tensor([[math.nan, 0.0]])],
        },
    ),
    Call(
        ml.minimise_logits,
        lambda: dict(
            loss=ml.nm_softmax_ce,
            targets=torch.tensor([[0.2, 0.8]], dtype=F64),
            shift_invariant=True,
            max_iter=5,
        ),
        {
            "loss": "callable",
            "targets": "finite",
            "shift_invariant": "bool",
            "max_iter": "int>=1",
        },
    ),
    Call(
        ml.tagging_task,
        lambda: dict(n_train=4, n_test=2, seeds=(0,), n_tasks=2, n_classes=3, dim=2),
        {
            "n_train": "int>=1",
            "n_test": "int>=1",
            "seeds": "object",
            "n_tasks": "int>=1",
            "n_classes": "int>=2",
            "dim": "int>=1",
        },
        bad={"seeds": [[], "0", [-1], 3]},
    ),
    Call(
        ml.tagger_logits,
        lambda: dict(params=_params(), x=torch.zeros(4, 2)),
        {"params": "object", "x": "finite"},
        bad={
            "params": [None, {"w": torch.zeros(2, 3, 2)}, {"w": 1, "b": 2}],
            "x": [torch.zeros(4, 3)],
        },
    ),
    Call(
        ml.train_linear_tagger,
        _train_kwargs,
        {
            "x": "finite",
            "y": "object",
            "loss": "choice:softmax CE|attempt 1 (nm-l1)",
            "n_classes": "int>=2",
            "steps": "int>=1",
            "lr": "float>0",
            "progress": "bool",
        },
        bad={
            "y": [
                None,
                torch.zeros(8, 2),
                torch.zeros(7, 2, dtype=torch.long),
                torch.full((8, 2), 5, dtype=torch.long),
            ],
            "n_classes": [1],
        },
    ),
    Call(
        ml.target_margins,
        lambda: dict(logits=torch.zeros(4, 3), y=torch.zeros(4, dtype=torch.long)),
        {"logits": "tensor", "y": "object"},
        bad={
            "logits": [torch.zeros(4, 1), torch.zeros(5, 3)],
            "y": [
                None,
                torch.zeros(4),
                torch.full((4,), 3, dtype=torch.long),
                torch.zeros(4, dtype=torch.int32),
            ],
        },
    ),
    Call(
        ml.failure_figure,
        lambda: dict(delta=1.0, third=-10.0),
        {"delta": "object", "third": "object"},
        bad={"delta": [None, "1", math.nan, 50.0], "third": [None, math.inf, -100.0]},
    ),
]

EXEMPT = {
    "kexue.losses.multilabel.NM_LOSSES": "a dict of the three loss functions, each "
    "registered above",
}
