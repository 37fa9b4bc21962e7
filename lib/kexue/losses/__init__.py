"""Classification losses and divergences: multi-label cross-entropy and its "n m-way"
analogues (:mod:`.multilabel`), the GlobalPointer divergence (:mod:`.divergence`),
margin softmax (:mod:`.margin`) and CAN's prior re-balancing (:mod:`.can`).

Chapters: ``chapters/softmax/{multilabel-nm, globalpointer-kl, margin-softmax, can}``.
"""

# margin-softmax
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

__all__: list[str] = []
# margin-softmax
__all__ += [
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
