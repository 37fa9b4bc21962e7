"""Attention: one ``attention()`` (PyTorch's fused kernel when it can, the explicit math
beside it), masks, scale rules, linear attention and feature maps, position encodings,
and the masks chapter's toy tasks.

Modules: :mod:`.core`, :mod:`.masks`, :mod:`.scale`, :mod:`.linear`, :mod:`.position`,
:mod:`.tasks`. The position probe, which trains a :class:`kexue.nn.Transformer`, sits
one layer
up in :mod:`kexue.attention.probe` and is imported explicitly
(``from kexue.attention import probe``), so that the dependency runs one way:
``attention.{core, masks, position}`` <- ``nn.transformer`` <- ``attention.probe``.
"""

from .core import (
    BACKENDS,
    NORMALIZATIONS,
    MultiHeadAttention,
    attention,
    attention_logits,
    attention_weights,
    normalize_logits,
    repeat_kv,
)
from .linear import (
    PerformerFeatures,
    draw_gaussian_projection,
    elu_plus_one,
    exp_feature_map,
    exp_kernel,
    exp_limit_features,
    feature_dim,
    kernel_attention,
    linear_attention,
    numerical_rank,
    positive_random_features,
    taylor_features,
)
from .masks import (
    causal_mask,
    combine_masks,
    full_mask,
    mask_to_bias,
    padding_mask,
    permutation_lm_inputs,
    permutation_mask,
    prefix_lm_mask,
    prefix_lm_mask_from_lengths,
    to_torch_mha_mask,
    visible_keys,
)
from .position import (
    POSITIONS,
    RelativePositionBias,
    alibi_bias,
    alibi_slopes,
    apply_rotary,
    rope_angles,
    sinusoidal_position_embedding,
    t5_relative_bucket,
)
from .scale import (
    entropy_invariant_scale,
    entropy_lower_bound,
    jl_min_dim,
    jl_scale_factor,
    kappa_log_scale,
    per_query_scale,
    softmax_entropy,
    solve_scale_for_entropy,
    standard_scale,
)
from .tasks import (
    greedy_generate,
    permutation_lm_logits,
    permutation_lm_loss,
    progressions,
    seq2seq_loss,
    seq2seq_pairs,
    seq2seq_segments,
    seq2seq_target_ce,
)

__all__ = [
    n
    for n in dir()
    if not n.startswith("_")
    and n
    not in ("core", "linear", "masks", "position", "scale", "tasks", "annotations")
]
