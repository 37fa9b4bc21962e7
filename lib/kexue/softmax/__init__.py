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

# reparam-discrete (perturb-and-max)
from .perturb import (
    NOISES,
    RULES,
    best_softmax_scale,
    gumbel_min_probs,
    noise_cdf,
    noise_dist,
    noise_log_cdf,
    noise_ppf_nodes,
    perturb_max_error,
    perturb_max_probs,
    perturb_max_probs_quad,
    perturb_max_sample,
    perturb_softmax,
    post_rule_error,
    quantile_integrand,
    sample_noise,
    softmax_gap,
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
    # reparam-discrete chapter
    "NOISES",
    "RULES",
    "best_softmax_scale",
    "gumbel_min_probs",
    "noise_cdf",
    "noise_dist",
    "noise_log_cdf",
    "noise_ppf_nodes",
    "perturb_max_error",
    "perturb_max_probs",
    "perturb_max_probs_quad",
    "perturb_max_sample",
    "perturb_softmax",
    "post_rule_error",
    "quantile_integrand",
    "sample_noise",
    "softmax_gap",
]
