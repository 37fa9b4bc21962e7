"""Classification losses and divergences: multi-label cross-entropy and its "n m-way"
analogues (:mod:`.multilabel`), the GlobalPointer divergence (:mod:`.divergence`),
margin softmax (:mod:`.margin`) and CAN's prior re-balancing (:mod:`.can`).

Chapters: ``chapters/softmax/{multilabel-nm, globalpointer-kl, margin-softmax, can}``.
"""

# can: classification with alternating normalisation (chapter softmax/can)
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

__all__: list[str] = [
    # can
    "SCENARIOS",
    "can_correct",
    "can_loop",
    "confident_mask",
    "digits_scenario",
    "label_shift_correction",
    "long_tail_counts",
    "scenario_accuracies",
    "topk_uncertainty",
]
