"""Softmax and its relatives: logsumexp bounds and Renyi entropies (:mod:`.lse`), and
perturb-and-max distributions with their relaxed samples (:mod:`.perturb`).

Chapters: ``chapters/softmax/logsumexp`` and ``chapters/softmax/reparam-discrete``.
"""

# logsumexp chapter
from .lse import (
    Cases,
    LSEBounds,
    Sweep,
    convexity_gap,
    inequality_sweep,
    lipschitz_ratio,
    lse_bounds,
    lse_weighted_lower_bound,
    path_derivatives,
    random_cases,
    renyi_entropy,
    smooth_max,
)

__all__: list[str] = [
    # logsumexp chapter
    "Cases",
    "LSEBounds",
    "Sweep",
    "convexity_gap",
    "inequality_sweep",
    "lipschitz_ratio",
    "lse_bounds",
    "lse_weighted_lower_bound",
    "path_derivatives",
    "random_cases",
    "renyi_entropy",
    "smooth_max",
]
