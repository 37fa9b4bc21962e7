"""Softmax and its relatives: logsumexp bounds and Renyi entropies (:mod:`.lse`), and
perturb-and-max distributions with their relaxed samples (:mod:`.perturb`).

Chapters: ``chapters/softmax/logsumexp`` and ``chapters/softmax/reparam-discrete``.
"""

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

__all__: list[str] = []
__all__ += [  # reparam-discrete
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
