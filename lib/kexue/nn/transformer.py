"""A small Pre-LN Transformer built on :mod:`kexue.attention` (for the attention part's experiments).

``Transformer(cfg)(tokens (B, L), mask=..., is_causal=..., positions=...) -> logits (B, L, n_out)``.
Masks follow :func:`kexue.attention.attention` (bool, ``True`` = may attend). ``positions`` (``(L,)`` or
``(B, L)`` integer ids) override ``0..L-1``: the permutation-LM trick of chapter *attention/masks* feeds
permuted inputs together with their original position ids.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..attention.core import NORMALIZATIONS, MultiHeadAttention
from ..attention.position import (
    RelativePositionBias,
    alibi_bias,
    apply_rotary,
    sinusoidal_position_embedding,
)

__all__ = ["TransformerConfig", "Transformer", "POSITIONS"]

POSITIONS = ("learned", "sinusoidal", "rope", "t5", "alibi", "none")


@dataclasses.dataclass
class TransformerConfig:
    """Sizes and switches; ``n_out`` defaults to ``vocab_size`` (a language-model head)."""

    vocab_size: int
    d_model: int = 64
    n_heads: int = 4
    n_layers: int = 2
    max_len: int = 64
    position: str = "learned"
    normalization: str = "softmax"
    n_out: int | None = None
    target_positions: bool = (
        False  # add a second position embedding: where the next token to predict sits
    )
    toeplitz_gate: int | None = (
        None  # O = (A ⊙ C) V with a learned Toeplitz C of half-width p (Luo et al. 2022)
    )

    def __post_init__(self):
        if self.position not in POSITIONS:
            raise ValueError(
                f"position must be one of {POSITIONS}, got {self.position!r}"
            )
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {self.normalization!r}"
            )
        if self.d_model % self.n_heads:
            raise ValueError(
                f"d_model ({self.d_model}) must be divisible by n_heads ({self.n_heads})"
            )
        if self.n_out is None:
            self.n_out = self.vocab_size


class _Rotary(nn.Module):
    """RoPE with positions supplied per call (set by the Transformer before each forward)."""

    def __init__(self):
        super().__init__()
        self.positions = None

    def forward(self, x):  # x: (B, H, L, hd)
        pos = self.positions
        if pos is not None and pos.ndim == 2:
            pos = pos[:, None, :]  # (B, 1, L) broadcasts over heads
        return apply_rotary(x, pos)


class _Block(nn.Module):
    def __init__(self, cfg: TransformerConfig, rotary):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(cfg.d_model), nn.LayerNorm(cfg.d_model)
        self.attn = MultiHeadAttention(
            cfg.d_model,
            cfg.n_heads,
            normalization=cfg.normalization,
            rotary=rotary,
            toeplitz_gate=cfg.toeplitz_gate,
        )
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, 4 * cfg.d_model),
            nn.GELU(),
            nn.Linear(4 * cfg.d_model, cfg.d_model),
        )

    def forward(self, x, mask, bias, is_causal, weights=None):
        if weights is None:
            x = x + self.attn(
                self.ln1(x), mask=mask, bias=bias, is_causal=is_causal
            )  # Pre-LN residual
        else:  # also collect the (B, H, L, L) attention weights
            a, w = self.attn(
                self.ln1(x),
                mask=mask,
                bias=bias,
                is_causal=is_causal,
                return_weights=True,
            )
            x = x + a
            weights.append(w)
        return x + self.mlp(self.ln2(x))


class Transformer(nn.Module):
    """Token embedding, position scheme, ``n_layers`` Pre-LN blocks, final LayerNorm and a linear head."""

    def __init__(self, cfg: TransformerConfig):
        super().__init__()
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
        self.rotary = _Rotary() if cfg.position == "rope" else None
        self.blocks = nn.ModuleList(
            _Block(cfg, self.rotary) for _ in range(cfg.n_layers)
        )
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
        """Logits ``(B, L, n_out)``; with ``return_weights`` also the list of per-layer weights ``(B, H, L, L)``.

        ``target_positions`` (with ``cfg.target_positions``): the position of the token each step must predict,
        added as a second embedding (the permutation-LM fix of chapter *attention/masks*).
        """
        b, n = tokens.shape
        if n > self.cfg.max_len:
            raise ValueError(f"tokens has length {n} > max_len {self.cfg.max_len}")
        pos = torch.arange(n, device=tokens.device) if positions is None else positions
        x = self.tok(tokens)  # (B, L, D)
        if self.abs is not None:
            x = x + self.abs(pos)
        if self.cfg.position == "sinusoidal":
            x = x + self.sin[pos]
        if self.tgt is not None:
            if target_positions is None:
                raise ValueError(
                    "this model was built with target_positions=True: pass target_positions="
                )
            x = x + self.tgt(target_positions)
        elif target_positions is not None:
            raise ValueError(
                "target_positions given but the model was built without target_positions=True"
            )
        bias = None
        if self.rel is not None:
            if positions is not None:
                raise ValueError("position='t5' does not support custom positions")
            bias = self.rel(n)  # (H, L, L)
        if self.cfg.position == "alibi":
            if positions is not None:
                raise ValueError("position='alibi' does not support custom positions")
            bias = alibi_bias(self.cfg.n_heads, n, bidirectional=not is_causal).to(
                x.device, x.dtype
            )
        if self.rotary is not None:
            self.rotary.positions = pos
        weights = [] if return_weights else None
        for blk in self.blocks:
            x = blk(x, mask, bias, is_causal, weights)
        logits = self.head(self.ln(x))  # (B, L, n_out)
        return (logits, weights) if return_weights else logits
