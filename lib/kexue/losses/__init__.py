"""Classification losses and divergences: multi-label cross-entropy and its "n m-way"
analogues (:mod:`.multilabel`), the GlobalPointer divergence (:mod:`.divergence`),
margin softmax (:mod:`.margin`) and CAN's prior re-balancing (:mod:`.can`).

Chapters: ``chapters/softmax/{multilabel-nm, globalpointer-kl, margin-softmax, can}``.
"""

__all__: list[str] = []
