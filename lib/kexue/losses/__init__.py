"""Classification losses and divergences: multi-label cross-entropy and its "n m-way"
analogues (:mod:`.multilabel`), the GlobalPointer divergence (:mod:`.divergence`),
margin softmax (:mod:`.margin`) and CAN's prior re-balancing (:mod:`.can`).

Chapters: ``chapters/softmax/{multilabel-nm, globalpointer-kl, margin-softmax, can}``.
"""

# multilabel-nm
from .multilabel import (
    NM_LOSSES,
    categorical_kl,
    failure_figure,
    minimise_logits,
    multilabel_ce,
    multilabel_ce_floor,
    multilabel_probs,
    nm_analogue_grad,
    nm_analogue_optimum,
    nm_centered_floor,
    nm_loss_analogue,
    nm_loss_centered,
    nm_softmax_ce,
    tagger_logits,
    tagging_task,
    target_margins,
    train_linear_tagger,
)

__all__: list[str] = []
__all__ += [  # multilabel-nm
    "NM_LOSSES",
    "categorical_kl",
    "multilabel_ce",
    "multilabel_ce_floor",
    "multilabel_probs",
    "nm_analogue_grad",
    "nm_analogue_optimum",
    "nm_centered_floor",
    "nm_loss_analogue",
    "nm_loss_centered",
    "nm_softmax_ce",
    "minimise_logits",
    "failure_figure",
    "tagging_task",
    "tagger_logits",
    "target_margins",
    "train_linear_tagger",
]
