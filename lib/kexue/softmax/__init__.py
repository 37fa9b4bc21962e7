"""Softmax and its relatives: logsumexp bounds and Renyi entropies (:mod:`.lse`), and
perturb-and-max distributions with their relaxed samples (:mod:`.perturb`).

Chapters: ``chapters/softmax/logsumexp`` and ``chapters/softmax/reparam-discrete``.
"""

__all__: list[str] = []
