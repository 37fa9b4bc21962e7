"""A small Pre-LN Transformer built on :mod:`kexue.attention` (for the attention part's
experiments).

``Transformer(cfg)(tokens (B, L), mask=..., is_causal=..., positions=...)`` -> logits
``(B, L, n_out)``. Masks follow :func:`kexue.attention.attention` (bool, ``True`` = may
attend). ``positions`` (``(L,)`` or ``(B, L)`` integer ids) override ``0..L-1``: the
permutation-LM trick of chapter *attention/masks* feeds permuted inputs together with
their original position ids. Positions are passed to every block explicitly (no state is
stored on a module).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..attention._checks import (
    check_bool,
    check_choice,
    check_int,
    check_int_tensor,
    has_values,
)
from ..attention.core import NORMALIZATIONS, MultiHeadAttention
from ..attention.position import (
    POSITIONS,
    RelativePositionBias,
    alibi_bias,
    sinusoidal_position_embedding,
)

__all__ = ["TransformerConfig", "Transformer"]


@dataclasses.dataclass
class TransformerConfig:
    """Sizes and switches; ``position`` in :data:`kexue.attention.position.POSITIONS`,
    ``normalization`` in ``NORMALIZATIONS``; ``n_out`` defaults to ``vocab_size`` (a
    language-model head). ``target_positions``: add a second position embedding (where
    the next token to predict sits); ``toeplitz_gate``: ``O = (A ⊙ C) V`` with a learned
    Toeplitz ``C`` of half-width ``p`` (Luo et al. 2022)."""

    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    max_len: int = 64
    position: str = "learned"
    normalization: str = "softmax"
    n_out: int | None = None
    target_positions: bool = False
    toeplitz_gate: int | None = None

    def __post_init__(self):
        check_int(self.vocab_size, "vocab_size", min_value=1)
        check_int(self.d_model, "d_model", min_value=1)
        check_int(self.n_heads, "n_heads", min_value=1)
        check_int(self.n_layers, "n_layers", min_value=1)
        check_int(self.max_len, "max_len", min_value=1)
        check_choice(self.position, "position", POSITIONS)
        check_choice(self.normalization, "normalization", NORMALIZATIONS)
        if self.n_out is not None:
            check_int(self.n_out, "n_out", min_value=1)
        check_bool(self.target_positions, "target_positions")
        if self.toeplitz_gate is not None:
            check_int(self.toeplitz_gate, "toeplitz_gate", min_value=0)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads "
                f"({self.n_heads})"
            )
        if self.position == "sinusoidal" and self.d_model % 2:
            raise ValueError(
                f"position='sinusoidal' needs an even d_model, got {self.d_model}"
            )
        if self.position == "rope" and (self.d_model // self.n_heads) % 2:
            raise ValueError(
                "position='rope' needs an even head dim d_model / n_heads, got "
                f"{self.d_model // self.n_heads}"
            )
        if self.n_out is None:
            self.n_out = self.vocab_size


class _Block(nn.Module):
    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(
            cfg.d_model,
            cfg.n_heads,
            normalization=cfg.normalization,
            rotary=cfg.position == "rope",
            toeplitz_gate=cfg.toeplitz_gate,
        )
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, 4 * cfg.d_model),
            nn.GELU(),
            nn.Linear(4 * cfg.d_model, cfg.d_model),
        )

    def forward(self, x, mask, bias, is_causal, positions, weights=None):
        kw = dict(mask=mask, bias=bias, is_causal=is_causal, positions=positions)
        if weights is None:
            x = x + self.attn(self.ln1(x), **kw)  # Pre-LN residual
        else:  # also collect the (B, H, L, L) attention weights
            a, w = self.attn(self.ln1(x), return_weights=True, **kw)
            x = x + a
            weights.append(w)
        return x + self.mlp(self.ln2(x))


def _check_ids(ids, name, b, n, high):
    check_int_tensor(ids, name, min_ndim=1)
    if ids.shape not in ((n,), (b, n)):
        raise ValueError(
            f"{name} must have shape ({n},) or ({b}, {n}), got {tuple(ids.shape)}"
        )
    if (
        ids.numel()
        and has_values(ids)
        and (int(ids.min()) < 0 or int(ids.max()) >= high)
    ):
        raise ValueError(
            f"{name} must lie in [0, {high}), got [{int(ids.min())}, {int(ids.max())}]"
        )
    return ids


class Transformer(nn.Module):
    """Token embedding, position scheme, ``n_layers`` Pre-LN blocks, final LayerNorm and
    a linear head."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
        if not isinstance(cfg, TransformerConfig):
            raise TypeError(
                f"cfg must be a TransformerConfig, got {type(cfg).__name__}"
            )
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.abs = (
            nn.Embedding(cfg.max_len, cfg.d_model)
            if cfg.position == "learned"
            else None
        )
        if cfg.position == "sinusoidal":
            self.register_buffer(
                "sin", sinusoidal_position_embedding(cfg.max_len, cfg.d_model)
            )
        self.tgt = (
            nn.Embedding(cfg.max_len, cfg.d_model) if cfg.target_positions else None
        )
        self.rel = RelativePositionBias(cfg.n_heads) if cfg.position == "t5" else None
        self.blocks = nn.ModuleList(_Block(cfg) for _ in range(cfg.n_layers))
        self.ln = nn.LayerNorm(cfg.d_model)
        self.head = nn.Linear(cfg.d_model, cfg.n_out)

    def forward(
        self,
        tokens,
        *,
        mask=None,
        is_causal=False,
        positions=None,
        target_positions=None,
        return_weights=False,
    ):
        """Logits ``(B, L, n_out)`` for integer ``tokens (B, L)``; with
        ``return_weights`` also the list of per-layer weights ``(B, H, L, L)``.

        ``positions``: integer ``(L,)`` or ``(B, L)`` in ``[0, max_len)`` (learned,
        sinusoidal, rope). ``target_positions`` (with ``cfg.target_positions``): the
        position of the token each step must predict, added as a second embedding (the
        permutation-LM fix of chapter *attention/masks*). NaN cannot enter (integer
        inputs).
        """
        check_int_tensor(tokens, "tokens")
        if tokens.ndim != 2:
            raise ValueError(
                f"tokens must have shape (B, L), got {tuple(tokens.shape)}"
            )
        b, n = tokens.shape
        if n < 1 or b < 1:
            raise ValueError(
                f"tokens must be non-empty (B, L), got {tuple(tokens.shape)}"
            )
        if n > self.cfg.max_len:
            raise ValueError(f"tokens has length {n} > max_len {self.cfg.max_len}")
        if has_values(tokens) and (
            int(tokens.min()) < 0 or int(tokens.max()) >= self.cfg.vocab_size
        ):
            raise ValueError(
                f"tokens must lie in [0, vocab_size={self.cfg.vocab_size}), got "
                f"[{int(tokens.min())}, {int(tokens.max())}]"
            )
        is_causal = check_bool(is_causal, "is_causal")
        return_weights = check_bool(return_weights, "return_weights")
        if positions is not None:
            if self.cfg.position in ("t5", "alibi"):
                raise ValueError(
                    f"position={self.cfg.position!r} does not support custom positions"
                )
            _check_ids(positions, "positions", b, n, self.cfg.max_len)
        pos = torch.arange(n, device=tokens.device) if positions is None else positions
        x = self.tok(tokens)  # (B, L, D)
        if self.abs is not None:
            x = x + self.abs(pos)
        if self.cfg.position == "sinusoidal":
            x = x + self.sin[pos]
        if self.tgt is not None:
            if target_positions is None:
                raise ValueError(
                    "this model was built with target_positions=True: pass "
                    "target_positions="
                )
            _check_ids(target_positions, "target_positions", b, n, self.cfg.max_len)
            x = x + self.tgt(target_positions)
        elif target_positions is not None:
            raise ValueError(
                "target_positions given but the model was built without "
                "target_positions=True"
            )
        bias = None
        if self.rel is not None:
            bias = self.rel(n)  # (H, L, L)
        if self.cfg.position == "alibi":
            bias = alibi_bias(self.cfg.n_heads, n, bidirectional=not is_causal).to(
                x.device, x.dtype
            )
        rope_pos = positions if self.cfg.position == "rope" else None
        weights = [] if return_weights else None
        for blk in self.blocks:
            x = blk(x, mask, bias, is_causal, rope_pos, weights)
        logits = self.head(self.ln(x))  # (B, L, n_out)
        return (logits, weights) if return_weights else logits
