"""One attention function with two paths side by side: PyTorch's fused kernel and the
explicit math.

Layout is SDPA's: ``q (..., Hq, Lq, d)``, ``k (..., Hk, Lk, d)``,
``v (..., Hk, Lk, dv)`` with ``Hq % Hk == 0`` (grouped-query attention when ``Hk < Hq``;
query head ``h`` uses key/value head ``h // (Hq // Hk)``, SDPA's ``enable_gqa`` rule).
Tensors without a head axis ``(..., L, d)`` work too.

Semantics (identical on both paths, pinned by ``tests/test_attention_core.py``):

* ``mask``: bool, ``True`` = may attend, broadcastable to ``(..., Hq, Lq, Lk)``.
* ``bias``: float, added to the scaled logits (relative-position bias, ALiBi); ``-inf``
  entries block.
* ``is_causal``: **bottom-right aligned** (query ``i`` is position ``i + Lk - Lq``; see
  :func:`kexue.attention.masks.causal_mask`). PyTorch's own ``is_causal`` is top-left
  aligned; we hand it to SDPA only when ``Lq == Lk``, where the two agree.
* ``scale``: ``None`` (``1/sqrt(d)``), a positive number, or a positive tensor
  broadcastable to ``(..., Lq, 1)`` (one scale per query, e.g. the entropy-invariant
  ``log n_i``); a tensor scale is folded into ``q`` so that the fast path still applies.
* A query that may see no key returns a zero vector (and zero weights), never NaN.
* Precision: the explicit path computes logits, weights and ``weights @ v`` in at least
  float32 (``torch.promote_types(dtype, float32)``) and casts the result back to the
  input dtype, so fp16/bf16 logits beyond 65,504 do not overflow (SDPA does the same
  internally).
* NaN/inf inside ``q``, ``k``, ``v`` or ``bias`` is not checked: these functions run
  inside training loops and let NaN propagate as torch does (a NaN bias entry is never
  read as "blocked"). ``bias`` may hold ``-inf`` (block) but not ``+inf``.

Chapters: *attention/masks* (the masks), *attention/entropy-invariant-softmax*
(per-query scales), *attention/relative-position-flaw* (the ``normalization`` options).
"""

from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F

from ._checks import (
    check_bool,
    check_choice,
    check_int,
    check_int_tensor,
    check_tensor,
    has_values,
)
from .masks import causal_mask
from .position import apply_rotary

__all__ = [
    "attention",
    "attention_logits",
    "normalize_logits",
    "attention_weights",
    "repeat_kv",
    "NORMALIZATIONS",
    "BACKENDS",
    "MultiHeadAttention",
]

NORMALIZATIONS = ("softmax", "l2", "exp_mean", "relu2_mean")
BACKENDS = ("auto", "sdpa", "math")


# ------------------------------------------------------------------------------------
# validation
def _check_qkv(q, k, v, names=("q", "k", "v")):
    for name, t in zip(names, (q, k, v), strict=True):
        check_tensor(t, name)
        if t.ndim < 2:
            raise ValueError(
                f"{name} must have shape (..., L, d), got {tuple(t.shape)}"
            )
    nq, nk, nv = names
    if not (q.dtype == k.dtype == v.dtype):
        raise TypeError(
            f"{nq}, {nk}, {nv} must share a dtype, got {q.dtype}, {k.dtype}, {v.dtype}"
        )
    if not (q.device == k.device == v.device):
        raise ValueError(
            f"{nq}, {nk}, {nv} must be on one device, got {q.device}, {k.device}, "
            f"{v.device}"
        )
    if not (q.ndim == k.ndim == v.ndim):
        raise ValueError(
            f"{nq}, {nk}, {nv} must have the same number of dimensions, got shapes "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    if q.shape[-1] < 1:
        raise ValueError(f"{nq} must have a feature dim >= 1, got {tuple(q.shape)}")
    if k.shape[-2] < 1:
        raise ValueError(
            f"{nk} must have at least one key (Lk >= 1), got {tuple(k.shape)}"
        )
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"{nq} and {nk} must have the same feature dim, got {nq} {tuple(q.shape)} "
            f"and {nk} {tuple(k.shape)}"
        )
    if k.shape[:-1] != v.shape[:-1]:
        raise ValueError(
            f"{nk} and {nv} must agree except in the last dim (heads, Lk), got {nk} "
            f"{tuple(k.shape)} and {nv} {tuple(v.shape)}"
        )
    if q.ndim >= 3:
        hq, hk = q.shape[-3], k.shape[-3]
        if hk < 1 or hq % hk != 0:
            raise ValueError(
                f"the number of query heads of {nq} ({hq}) must be a multiple of the "
                f"key/value heads of {nk} ({hk})"
            )
        if q.shape[:-3] != k.shape[:-3]:
            raise ValueError(
                f"{nq} and {nk} must share batch dims, got {nq} {tuple(q.shape)} and "
                f"{nk} {tuple(k.shape)}"
            )


def _check_broadcast(t, target: tuple, name: str):
    try:
        out = torch.broadcast_shapes(t.shape, target)
    except RuntimeError:
        out = None
    if out != torch.Size(target):
        raise ValueError(
            f"{name} of shape {tuple(t.shape)} does not broadcast to {target}"
        )


def _check_scale(scale, q):
    if scale is None:
        return 1.0 / math.sqrt(q.shape[-1])
    if isinstance(scale, torch.Tensor):
        if not scale.is_floating_point():
            raise TypeError(f"scale must be a float tensor, got {scale.dtype}")
        _check_broadcast(scale, tuple(q.shape[:-1]) + (1,), "scale")
        if has_values(scale) and (
            not bool((scale > 0).all()) or not bool(torch.isfinite(scale).all())
        ):
            raise ValueError("scale must be > 0 and finite everywhere")
        return scale
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        raise TypeError(
            f"scale must be None, a number or a tensor, got {type(scale).__name__}"
        )
    if not (float(scale) > 0 and math.isfinite(float(scale))):
        raise ValueError(f"scale must be > 0 and finite, got {scale}")
    return float(scale)


def _logit_shape(q, k):
    lead = tuple(q.shape[:-1])
    return lead + (k.shape[-2],)  # (..., Hq, Lq, Lk)


def _check_mask(mask, target, name="mask"):
    if mask is None:
        return
    if not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"{name} must be a bool torch.Tensor, got {type(mask).__name__}"
        )
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must have dtype torch.bool (True = may attend), got {mask.dtype}; "
            "pass additive float terms as bias="
        )
    _check_broadcast(mask, target, name)


def _check_bias(bias, target):
    if bias is None:
        return
    if not isinstance(bias, torch.Tensor):
        raise TypeError(f"bias must be a float torch.Tensor, got {type(bias).__name__}")
    if not bias.is_floating_point():
        raise TypeError(
            f"bias must have a floating dtype, got {bias.dtype}; pass boolean masks as "
            "mask="
        )
    _check_broadcast(bias, target, "bias")
    if has_values(bias) and bool(torch.isposinf(bias).any()):
        raise ValueError("bias must not contain +inf (use -inf to block a key)")


def _check_mask_bias(mask, bias, q, k):
    target = _logit_shape(q, k)
    _check_mask(mask, target)
    _check_bias(bias, target)


def _work_dtype(dtype):
    """The dtype of the explicit path: at least float32 (fp16/bf16 are promoted)."""
    return torch.promote_types(dtype, torch.float32)


# ------------------------------------------------------------------------------------
# the explicit math
def repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    """``(..., Hk, L, d) -> (..., Hk*n_rep, L, d)``: each key/value head serves
    ``n_rep`` query heads (GQA)."""
    check_tensor(x, "x", min_ndim=3, floating=False)
    n_rep = check_int(n_rep, "n_rep", min_value=1)
    return x if n_rep == 1 else x.repeat_interleave(n_rep, dim=-3)


def _logits(q, k, s, bias):
    work = _work_dtype(q.dtype)
    if q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        k = repeat_kv(k, q.shape[-3] // k.shape[-3])
    qs = q.to(work) * (s.to(work) if isinstance(s, torch.Tensor) else s)
    logits = qs @ k.to(work).transpose(-2, -1)  # (..., Hq, Lq, Lk); per-query-row scale
    return logits if bias is None else logits + bias.to(work)


def attention_logits(q, k, *, scale=None, bias=None) -> torch.Tensor:
    """``scale * q @ k^T + bias``, shape ``(..., Hq, Lq, Lk)`` (grouped k heads are
    repeated).

    ``q (..., Hq, Lq, d)``, ``k (..., Hk, Lk, d)``; computed and returned in at least
    float32 (``torch.promote_types(q.dtype, float32)``), so half-precision logits do not
    overflow.
    """
    _check_qkv(q, k, k, names=("q", "k", "k"))
    _check_bias(bias, _logit_shape(q, k))
    return _logits(q, k, _check_scale(scale, q), bias)


def _normalize(b, mask, normalization):
    work = _work_dtype(b.dtype)
    b = b.to(work)
    if mask is not None:
        b = b.masked_fill(~mask, float("-inf"))
    allowed = b != float("-inf")  # NaN stays "allowed": it propagates, never blocks
    if normalization in ("softmax", "l2"):
        m = b.amax(-1, keepdim=True)
        m = torch.where(m == float("-inf"), torch.zeros_like(m), m)  # dead rows
        e = torch.exp(b - m)  # masked -> exp(-inf) = 0; row max -> 1, no overflow
        den = (
            e.sum(-1, keepdim=True)
            if normalization == "softmax"
            else (e * e).sum(-1, keepdim=True).sqrt()
        )
        return e / torch.where(den > 0, den, torch.ones_like(den))
    n = allowed.sum(-1, keepdim=True).clamp(min=1).to(work)
    # No row-dependent shift here: subtracting the row max would re-introduce a
    # normalisation.
    num = torch.exp(b) if normalization == "exp_mean" else torch.relu(b).square()
    return torch.where(allowed, num, torch.zeros_like(num)) / n


def normalize_logits(
    logits: torch.Tensor, *, mask=None, normalization: str = "softmax"
) -> torch.Tensor:
    """Turn float logits ``(..., Lq, Lk)`` into weights row by row.

    ``softmax``: ``e^b / sum e^b``. ``l2``: ``e^b / sqrt(sum e^(2b))`` (post 9105, eq.
    ``rpf-l2``). ``exp_mean``: ``e^b / n`` and ``relu2_mean``: ``relu(b)^2 / n``, with
    ``n`` the number of visible keys (un-normalised attention, GAU-style; ``exp_mean``
    has no max shift by design and overflows for logits above ~88 in float32). Masked
    entries (``mask`` False, or logits ``-inf``) are exactly 0; a row with no visible
    key is all 0. Computed and returned in at least float32. NaN logits propagate (not
    checked).
    """
    check_tensor(logits, "logits", min_ndim=1)
    _check_mask(mask, tuple(logits.shape))
    check_choice(normalization, "normalization", NORMALIZATIONS)
    return _normalize(logits, mask, normalization)


def _allowed(mask, is_causal, lq, lk, device):
    if not is_causal:
        return mask
    cm = causal_mask(lq, lk, device=device)
    return cm if mask is None else mask & cm


def attention_weights(
    q,
    k,
    *,
    mask=None,
    bias=None,
    is_causal=False,
    scale=None,
    normalization: str = "softmax",
) -> torch.Tensor:
    """The weight matrix ``(..., Hq, Lq, Lk)`` of the math path (for plots and tests),
    in q's dtype (computed in at least float32)."""
    _check_qkv(q, k, k, names=("q", "k", "k"))
    _check_mask_bias(mask, bias, q, k)
    is_causal = check_bool(is_causal, "is_causal")
    s = _check_scale(scale, q)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    allowed = _allowed(mask, is_causal, q.shape[-2], k.shape[-2], q.device)
    return _normalize(_logits(q, k, s, bias), allowed, normalization).to(q.dtype)


# ------------------------------------------------------------------------------------
# the one entry point
def attention(
    q,
    k,
    v,
    *,
    mask=None,
    bias=None,
    scale=None,
    is_causal: bool = False,
    normalization: str = "softmax",
    dropout_p: float = 0.0,
    return_weights: bool = False,
    backend: str = "auto",
):
    """Scaled dot-product attention ``(..., Hq, Lq, dv)``; with ``return_weights`` also
    the weights ``(..., Hq, Lq, Lk)``, both in q's dtype.

    ``backend="auto"`` calls ``torch.nn.functional.scaled_dot_product_attention``
    whenever the request is expressible in its terms (softmax, no weights requested) and
    the explicit math otherwise; ``"sdpa"`` insists on the fused kernel (``ValueError``
    if impossible); ``"math"`` forces the explicit path (computed in at least float32).
    See the module docstring for the semantics of each argument; NaN in the inputs
    propagates.
    """
    _check_qkv(q, k, v)
    _check_mask_bias(mask, bias, q, k)
    s = _check_scale(scale, q)
    is_causal = check_bool(is_causal, "is_causal")
    return_weights = check_bool(return_weights, "return_weights")
    check_choice(normalization, "normalization", NORMALIZATIONS)
    check_choice(backend, "backend", BACKENDS)
    if (
        isinstance(dropout_p, bool)
        or not isinstance(dropout_p, numbers.Real)
        or not 0 <= dropout_p < 1
    ):
        raise ValueError(f"dropout_p must be a number in [0, 1), got {dropout_p!r}")
    lq, lk = q.shape[-2], k.shape[-2]

    fast = normalization == "softmax" and not return_weights
    if backend == "sdpa" and not fast:
        raise ValueError(
            "backend='sdpa' needs normalization='softmax' and return_weights=False"
        )
    if fast and backend != "math":
        if isinstance(
            s, torch.Tensor
        ):  # per-query scale: fold into q, keep the fast path
            q, s = q * s.to(q.dtype), 1.0
        sdpa_causal = is_causal and mask is None and bias is None and lq == lk
        allowed = None if sdpa_causal else _allowed(mask, is_causal, lq, lk, q.device)
        attn_mask = allowed
        if bias is not None:
            attn_mask = bias.to(q.dtype)
            if allowed is not None:
                attn_mask = attn_mask.masked_fill(~allowed, float("-inf"))
        gqa = q.ndim >= 3 and k.shape[-3] != q.shape[-3]
        out = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=float(dropout_p),
            is_causal=sdpa_causal,
            scale=s,
            enable_gqa=gqa,
        )
        if (
            attn_mask is not None
        ):  # rows that see nothing: zeros, whatever the kernel did
            live = (
                attn_mask.any(-1, keepdim=True)
                if attn_mask.dtype == torch.bool
                else (attn_mask != float("-inf")).any(-1, keepdim=True)
            )
            if not has_values(live) or not bool(live.all()):
                out = out.masked_fill(~live, 0.0)
        return out

    # explicit math, the readable twin of the line above (in at least float32)
    work = _work_dtype(q.dtype)
    if q.ndim >= 3 and k.shape[-3] != q.shape[-3]:
        n_rep = q.shape[-3] // k.shape[-3]
        k, v = repeat_kv(k, n_rep), repeat_kv(v, n_rep)  # (..., Hq, Lk, d)
    allowed = _allowed(mask, is_causal, lq, lk, q.device)
    logits = _logits(q, k, s, bias)  # (..., Hq, Lq, Lk)
    w = _normalize(logits, allowed, normalization)
    w_drop = F.dropout(w, p=float(dropout_p)) if dropout_p > 0 else w
    out = (w_drop @ v.to(work)).to(q.dtype)  # (..., Hq, Lq, dv)
    return (out, w.to(q.dtype)) if return_weights else out


# ------------------------------------------------------------------------------------
class MultiHeadAttention(torch.nn.Module):
    """Projections around :func:`attention`, ``(B, L, d_model) -> (B, L, d_model)``.

    Separate ``q_proj``, ``k_proj``, ``v_proj``, ``o_proj`` (``nn.Linear``) so
    per-matrix init schemes are easy; ``n_kv_heads < n_heads`` gives grouped-query
    attention. ``rotary=True`` rotates queries and keys by RoPE
    (:func:`kexue.attention.position.apply_rotary`) at the ``positions`` passed to
    :meth:`forward`. ``toeplitz_gate=p`` multiplies the weights elementwise by a learned
    Toeplitz matrix per head, ``c_ij = g_h(clip(i - j, -p, p))`` (initialised to 1),
    i.e. ``O = (A ⊙ C) V`` (Luo et al. 2022; chapter
    *attention/relative-position-flaw*); it runs on the explicit path.
    """

    def __init__(
        self,
        d_model: int,
        n_heads: int,
        *,
        n_kv_heads: int | None = None,
        bias: bool = True,
        normalization: str = "softmax",
        rotary: bool = False,
        toeplitz_gate: int | None = None,
    ):
        super().__init__()
        d_model = check_int(d_model, "d_model", min_value=1)
        n_heads = check_int(n_heads, "n_heads", min_value=1)
        if d_model % n_heads != 0:
            raise ValueError(
                f"d_model ({d_model}) must be divisible by n_heads ({n_heads})"
            )
        n_kv_heads = (
            n_heads
            if n_kv_heads is None
            else check_int(n_kv_heads, "n_kv_heads", min_value=1)
        )
        if n_heads % n_kv_heads != 0:
            raise ValueError(
                f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})"
            )
        bias = check_bool(bias, "bias")
        check_choice(normalization, "normalization", NORMALIZATIONS)
        self.rotary = check_bool(rotary, "rotary")
        if toeplitz_gate is not None:
            toeplitz_gate = check_int(toeplitz_gate, "toeplitz_gate", min_value=0)
        self.d_model = d_model
        self.n_heads, self.n_kv_heads, self.head_dim = (
            n_heads,
            n_kv_heads,
            d_model // n_heads,
        )
        if self.rotary and self.head_dim % 2:
            raise ValueError(
                f"rotary needs an even head dim, got d_model/n_heads = {self.head_dim}"
            )
        self.normalization = normalization
        self.q_proj = torch.nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = torch.nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = torch.nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.o_proj = torch.nn.Linear(d_model, d_model, bias=bias)
        self.toeplitz_gate = toeplitz_gate
        self.gate = (
            None
            if toeplitz_gate is None
            else torch.nn.Parameter(torch.ones(n_heads, 2 * toeplitz_gate + 1))
        )

    def gate_matrix(self, n_q: int, n_k: int) -> torch.Tensor:
        """The ``(H, n_q, n_k)`` Toeplitz gate ``c_ij = g_h(clip(i' - j, -p, p))``
        (bottom-right aligned ``i'``)."""
        if self.gate is None:
            raise ValueError("gate_matrix needs a module built with toeplitz_gate=p")
        n_q = check_int(n_q, "n_q", min_value=1)
        n_k = check_int(n_k, "n_k", min_value=1)
        p = self.toeplitz_gate
        rel = (
            torch.arange(n_q, device=self.gate.device)[:, None] + (n_k - n_q)
        ) - torch.arange(n_k, device=self.gate.device)
        return self.gate[:, rel.clamp(-p, p) + p]

    def _heads(self, x, h):  # (B, L, h*hd) -> (B, h, L, hd)
        b, n, _ = x.shape
        return x.view(b, n, h, self.head_dim).transpose(1, 2)

    def _check_input(self, x, name):
        check_tensor(x, name, ndim=3)
        if x.shape[-1] != self.d_model:
            raise ValueError(
                f"{name} must have shape (B, L, d_model={self.d_model}), got "
                f"{tuple(x.shape)}"
            )
        w = self.q_proj.weight
        if x.dtype != w.dtype:
            raise TypeError(
                f"{name} has dtype {x.dtype} but the module's weights are {w.dtype} "
                f"(convert one: module.to({x.dtype}) or {name}.to({w.dtype}))"
            )

    def forward(
        self,
        x,
        *,
        context=None,
        mask=None,
        bias=None,
        is_causal=False,
        scale=None,
        return_weights=False,
        positions=None,
    ):
        """``x (B, Lq, d_model)``, ``context (B, Lk, d_model)`` (default ``x``) ->
        ``(B, Lq, d_model)``; with ``return_weights`` also ``(B, H, Lq, Lk)``.
        ``positions``:
        integer ``(L,)`` or ``(B, L)`` RoPE positions (``rotary=True`` and
        self-attention
        only; default ``0..L-1``). ``mask``, ``bias``, ``is_causal``, ``scale`` as in
        :func:`attention`. NaN in ``x`` propagates."""
        self._check_input(x, "x")
        if context is not None:
            self._check_input(context, "context")
            if context.shape[0] != x.shape[0]:
                raise ValueError(
                    f"context must have the batch size of x ({x.shape[0]}), got "
                    f"{tuple(context.shape)}"
                )
        return_weights = check_bool(return_weights, "return_weights")
        if positions is not None:
            if not self.rotary:
                raise ValueError("positions needs a module built with rotary=True")
            if context is not None:
                raise ValueError("positions applies to self-attention (context=None)")
            check_int_tensor(positions, "positions", min_ndim=1)
            b, n = x.shape[:2]
            if positions.shape not in ((n,), (b, n)):
                raise ValueError(
                    f"positions must have shape ({n},) or ({b}, {n}), got "
                    f"{tuple(positions.shape)}"
                )
        ctx = x if context is None else context
        q = self._heads(self.q_proj(x), self.n_heads)  # (B, H, Lq, hd)
        k = self._heads(self.k_proj(ctx), self.n_kv_heads)  # (B, Hk, Lk, hd)
        v = self._heads(self.v_proj(ctx), self.n_kv_heads)
        if self.rotary:
            pos = positions
            if pos is not None and pos.ndim == 2:
                pos = pos[:, None, :]  # (B, 1, L) broadcasts over heads
            q, k = apply_rotary(q, pos), apply_rotary(k, pos)
        if self.gate is None:
            res = attention(
                q,
                k,
                v,
                mask=mask,
                bias=bias,
                is_causal=is_causal,
                scale=scale,
                normalization=self.normalization,
                return_weights=return_weights,
            )
            out, w = res if return_weights else (res, None)
        else:  # O = (A ⊙ C) V, explicit path
            w = attention_weights(
                q,
                k,
                mask=mask,
                bias=bias,
                is_causal=is_causal,
                scale=scale,
                normalization=self.normalization,
            )  # (B, H, Lq, Lk)
            w = w * self.gate_matrix(q.shape[-2], k.shape[-2]).to(w.dtype)
            if k.shape[-3] != q.shape[-3]:
                v = repeat_kv(v, q.shape[-3] // k.shape[-3])
            out = w @ v
        b, _, n, _ = out.shape
        out = self.o_proj(out.transpose(1, 2).reshape(b, n, -1))  # (B, Lq, d_model)
        return (out, w) if return_weights else out

    @torch.no_grad()
    def copy_from_torch_mha(self, mha: torch.nn.MultiheadAttention) -> None:
        """Load the weights of a ``torch.nn.MultiheadAttention`` (same width and heads,
        packed in-projection)."""
        if not isinstance(mha, torch.nn.MultiheadAttention):
            raise TypeError(
                f"mha must be a torch.nn.MultiheadAttention, got {type(mha).__name__}"
            )
        if (
            mha.num_heads != self.n_heads
            or mha.embed_dim != self.q_proj.in_features
            or self.n_kv_heads != self.n_heads
        ):
            raise ValueError(
                "mha must have the same d_model and n_heads (and this module no "
                "grouped heads)"
            )
        if mha.in_proj_weight is None:
            raise ValueError(
                "mha must use a packed in_proj_weight (kdim == vdim == embed_dim)"
            )
        for proj, w in zip(
            (self.q_proj, self.k_proj, self.v_proj),
            mha.in_proj_weight.chunk(3),
            strict=True,
        ):
            proj.weight.copy_(w)
        if mha.in_proj_bias is not None and self.q_proj.bias is not None:
            for proj, b in zip(
                (self.q_proj, self.k_proj, self.v_proj),
                mha.in_proj_bias.chunk(3),
                strict=True,
            ):
                proj.bias.copy_(b)
        self.o_proj.weight.copy_(mha.out_proj.weight)
        if self.o_proj.bias is not None and mha.out_proj.bias is not None:
            self.o_proj.bias.copy_(mha.out_proj.bias)
