"""Classification losses and divergences: multi-label cross-entropy and its "n m-way"
analogues (:mod:`.multilabel`), the GlobalPointer divergence (:mod:`.divergence`),
margin softmax (:mod:`.margin`) and CAN's prior re-balancing (:mod:`.can`).

Chapters: ``chapters/softmax/{multilabel-nm, globalpointer-kl, margin-softmax, can}``.
"""

from .can import (
    SCENARIOS,
    can_correct,
    can_loop,
    confident_mask,
    digits_scenario,
    label_shift_correction,
    long_tail_counts,
    scenario_accuracies,
    topk_uncertainty,
)
from .divergence import (
    RDropResult,
    binary_symmetric_kl_logits,
    divergence_properties,
    globalpointer_divergence,
    rdrop_figure,
    rdrop_multilabel,
    shift_figure,
    symmetric_kl,
    symmetric_kl_logits,
    teacher_multilabel,
)
from .margin import (
    MarginNets,
    am_softmax_loss,
    cosine_matrix,
    fit_margin_nets,
    margin_ce_from_distance,
    misretrieved,
    normalized_chord,
    paired_differences,
    recall_at_1,
    retrieval_metrics,
    sufficient_condition_triples,
)

__all__: list[str] = [
    # can
    "topk_uncertainty",
    "confident_mask",
    "can_correct",
    "can_loop",
    "label_shift_correction",
    "long_tail_counts",
    "digits_scenario",
    "scenario_accuracies",
    "SCENARIOS",
    # divergence
    "symmetric_kl",
    "symmetric_kl_logits",
    "binary_symmetric_kl_logits",
    "globalpointer_divergence",
    "divergence_properties",
    "teacher_multilabel",
    "RDropResult",
    "rdrop_multilabel",
    "rdrop_figure",
    "shift_figure",
    # margin
    "normalized_chord",
    "cosine_matrix",
    "margin_ce_from_distance",
    "am_softmax_loss",
    "recall_at_1",
    "retrieval_metrics",
    "misretrieved",
    "sufficient_condition_triples",
    "MarginNets",
    "fit_margin_nets",
    "paired_differences",
]
