"""Bad-input contract of kexue.attention (and its probe) and kexue.nn: one valid call
per public function and method (see tests/contract.py for the kinds).

Attention, layers and losses run inside training loops: their float data arguments are
kind ``tensor`` (NaN propagates, as the docstrings say); functions a reader calls once
per experiment (``solve_scale_for_entropy``, ``numerical_rank``) take ``finite`` data.
"""

from __future__ import annotations

import kexue.attention as ka
import kexue.attention.probe as probe
import torch
from contract import Call
from kexue import nn

D64 = torch.float64


def _t(*shape, seed=0, scale=1.0, dtype=D64):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(*shape, generator=g, dtype=dtype)


def _qkv():
    return dict(
        q=_t(1, 2, 4, 8, seed=0), k=_t(1, 2, 5, 8, seed=1), v=_t(1, 2, 5, 3, seed=2)
    )


def _mha(**kw):
    torch.manual_seed(0)
    return ka.MultiHeadAttention(8, 2, **kw).double()


def _tf_cfg(**kw):
    base = dict(vocab_size=5, d_model=8, n_heads=2, n_layers=1, max_len=6)
    base.update(kw)
    return nn.TransformerConfig(**base)


def _tf(**kw):
    torch.manual_seed(0)
    return nn.Transformer(_tf_cfg(**kw))


def _probe_result():
    cfg = probe.ProbeConfig(n=3, d_model=8, n_heads=2, n_layers=1, steps=1)
    return probe.run_position_probe(cfg, progress=False)


def _toks():
    return torch.tensor([[0, 1, 2, 3], [4, 3, 2, 1]])


MASK = ka.causal_mask(4, 5)
BAD_MASKS = [torch.ones(4, 5), torch.ones(3, 5, dtype=torch.bool), [[True]]]
PF = ka.PerformerFeatures(8, 16).double()
_tiny = torch.nn.Linear(2, 2)


def K(**kw):
    """make_kwargs from a dict of values or zero-argument factories."""
    return lambda: {
        k: (v() if callable(v) and not isinstance(v, torch.nn.Module) else v)
        for k, v in kw.items()
    }


B = "bool"
T = "tensor"
NORMS = "choice:softmax|l2|exp_mean|relu2_mean"
INTS = "object"  # integer id tensors: explicit bad values

BAD_IDS = [
    torch.zeros(4),
    torch.zeros(4, dtype=torch.bool),
    "0123",
]  # None may be legal


def _qkv_kw(_keep=("q", "k", "v"), **extra):
    def make():
        d = {n: t for n, t in _qkv().items() if n in _keep}
        d.update({k: (v() if callable(v) else v) for k, v in extra.items()})
        return d

    return make


CALLS = [
    # ------------------------------------------------------------------ core
    Call(
        ka.attention,
        _qkv_kw(
            mask=MASK,
            bias=lambda: _t(4, 5, seed=3),
            scale=0.5,
            is_causal=False,
            normalization="softmax",
            dropout_p=0.0,
            return_weights=False,
            backend="auto",
        ),
        {
            "q": T,
            "k": T,
            "v": T,
            "mask": "object",
            "bias": "tensor|None",
            "scale": "float>0|None",
            "is_causal": B,
            "normalization": NORMS,
            "dropout_p": "prob",
            "return_weights": B,
            "backend": "choice:auto|sdpa|math",
        },
        bad={
            "mask": BAD_MASKS,
            "q": [_t(1, 2, 4, 7), _t(8), _t(1, 3, 4, 8), _t(1, 2, 4, 8).float()],
            "k": [_t(1, 2, 0, 8), _t(2, 2, 5, 8)],
            "v": [_t(1, 2, 4, 3)],
            "bias": [torch.full((4, 5), float("inf"), dtype=D64), _t(4, 4)],
            "scale": [torch.zeros(4, 1, dtype=D64), torch.ones(4, 2, dtype=D64), True],
            "dropout_p": [1.0],
        },
    ),
    Call(
        ka.attention_logits,
        _qkv_kw(("q", "k"), scale=0.5, bias=lambda: _t(4, 5, seed=3)),
        {"q": T, "k": T, "scale": "float>0|None", "bias": "tensor|None"},
        bad={"q": [_t(1, 2, 4, 7), _t(3)], "bias": [_t(4, 4)]},
    ),
    Call(
        lambda q, k: ka.attention_logits(q, k),
        _qkv_kw(("q", "k")),
        {"q": T, "k": T},
        name="kexue.attention.core.attention_logits[no-scale]",
    ),
    Call(
        ka.normalize_logits,
        K(
            logits=lambda: _t(3, 5),
            mask=lambda: ka.causal_mask(3, 5),
            normalization="l2",
        ),
        {"logits": T, "mask": "object", "normalization": NORMS},
        bad={
            "mask": [torch.ones(3, 5), torch.ones(2, 5, dtype=torch.bool)],
            "logits": [torch.zeros(())],
        },
    ),
    Call(
        ka.attention_weights,
        _qkv_kw(
            ("q", "k"),
            mask=MASK,
            bias=lambda: _t(4, 5, seed=3),
            is_causal=True,
            scale=0.5,
            normalization="softmax",
        ),
        {
            "q": T,
            "k": T,
            "mask": "object",
            "bias": "tensor|None",
            "is_causal": B,
            "scale": "float>0|None",
            "normalization": NORMS,
        },
        bad={"mask": BAD_MASKS, "q": [_t(1, 2, 4, 7)]},
    ),
    Call(
        ka.repeat_kv,
        K(x=lambda: _t(1, 2, 4, 8), n_rep=2),
        {"x": "object", "n_rep": "int>=1"},
        bad={"x": [None, "x", _t(4, 8)]},
    ),
    Call(
        ka.MultiHeadAttention,
        K(
            d_model=8,
            n_heads=2,
            n_kv_heads=1,
            bias=True,
            normalization="l2",
            rotary=True,
            toeplitz_gate=2,
        ),
        {
            "d_model": "int>=1",
            "n_heads": "int>=1",
            "n_kv_heads": "int>=1|None",
            "bias": B,
            "normalization": NORMS,
            "rotary": B,
            "toeplitz_gate": "int>=0|None",
        },
        bad={"n_heads": [3], "n_kv_heads": [3]},
    ),
    Call(
        lambda **kw: _mha(rotary=True)(**kw),
        K(
            x=lambda: _t(2, 4, 8),
            context=None,
            mask=lambda: ka.causal_mask(4),
            bias=None,
            is_causal=False,
            scale=None,
            return_weights=False,
            positions=lambda: torch.tensor([3, 4, 5, 6]),
        ),
        {
            "x": T,
            "mask": "object",
            "bias": "tensor|None",
            "is_causal": B,
            "scale": "float>0|None",
            "return_weights": B,
            "positions": "object",
        },
        name="kexue.attention.core.MultiHeadAttention.forward",
        bad={
            "x": [_t(2, 4, 6), _t(4, 8), _t(2, 4, 8).float()],
            "mask": BAD_MASKS,
            "positions": BAD_IDS
            + [torch.arange(5), torch.arange(8).view(2, 4)[:, None]],
        },
    ),
    Call(
        lambda **kw: _mha()(**kw),
        K(x=lambda: _t(2, 4, 8), context=lambda: _t(2, 5, 8, seed=1)),
        {"x": T, "context": "tensor|None"},
        name="kexue.attention.core.MultiHeadAttention.forward[context]",
        bad={"context": [_t(3, 5, 8), _t(2, 5, 7)]},
    ),
    Call(
        lambda **kw: _mha(toeplitz_gate=2).gate_matrix(**kw),
        K(n_q=3, n_k=5),
        {"n_q": "int>=1", "n_k": "int>=1"},
        name="kexue.attention.core.MultiHeadAttention.gate_matrix",
    ),
    Call(
        lambda **kw: _mha().copy_from_torch_mha(**kw),
        K(mha=lambda: torch.nn.MultiheadAttention(8, 2).double()),
        {"mha": "object"},
        name="kexue.attention.core.MultiHeadAttention.copy_from_torch_mha",
        bad={"mha": [None, _tiny, torch.nn.MultiheadAttention(8, 4)]},
    ),
    # ------------------------------------------------------------------ linear
    Call(
        ka.linear_attention,
        K(
            q=lambda: _t(2, 6, 4),
            k=lambda: _t(2, 6, 4, seed=1),
            v=lambda: _t(2, 6, 3, seed=2),
            feature_map=lambda: ka.elu_plus_one,
            causal=True,
            eps=0.0,
            chunk_size=4,
        ),
        {
            "q": T,
            "k": T,
            "v": T,
            "feature_map": "callable",
            "causal": B,
            "eps": "float>=0",
            "chunk_size": "int>=1",
        },
        bad={
            "q": [_t(2, 6, 5), _t(2, 5, 4)],
            "v": [_t(2, 5, 3)],
            "feature_map": [lambda x: x, lambda x: x.sum(-1), lambda x: [1.0]],
        },
    ),
    Call(
        ka.kernel_attention,
        K(
            q=lambda: _t(2, 6, 4),
            k=lambda: _t(2, 5, 4, seed=1),
            v=lambda: _t(2, 5, 3, seed=2),
            kernel=lambda: ka.exp_kernel,
            mask=lambda: ka.causal_mask(6, 5),
        ),
        {"q": T, "k": T, "v": T, "kernel": "callable", "mask": "object"},
        bad={
            "kernel": [lambda a, b: a, lambda a, b: 1.0],
            "mask": [torch.ones(6, 5), torch.ones(6, 4, dtype=torch.bool)],
            "v": [_t(2, 4, 3)],
        },
    ),
    Call(
        ka.exp_kernel,
        K(q=lambda: _t(3, 4), k=lambda: _t(5, 4, seed=1)),
        {"q": T, "k": T},
        bad={"q": [_t(3, 5), _t(4)], "k": [_t(5, 4).float()]},
    ),
    Call(ka.elu_plus_one, K(x=lambda: _t(3, 4)), {"x": T}),
    Call(
        ka.draw_gaussian_projection,
        K(
            d=4,
            m=6,
            orthogonal=True,
            generator=lambda: torch.Generator().manual_seed(0),
            dtype=D64,
        ),
        {
            "d": "int>=1",
            "m": "int>=1",
            "orthogonal": B,
            "generator": "generator|None",
            "dtype": "object",
        },
        bad={"dtype": [torch.int64, "float64", None]},
    ),
    Call(
        ka.positive_random_features,
        K(x=lambda: _t(2, 5, 8), omega=lambda: PF.omega.clone(), stabilize="key"),
        {"x": T, "omega": T, "stabilize": "object"},
        bad={"omega": [_t(16, 7), _t(16)], "stabilize": ["row", 1], "x": [_t(2, 5, 7)]},
    ),
    Call(
        ka.PerformerFeatures,
        K(d=4, m=8, orthogonal=False, seed=1),
        {"d": "int>=1", "m": "int>=1", "orthogonal": B, "seed": "int>=0"},
    ),
    Call(
        lambda **kw: ka.PerformerFeatures(4, 8).redraw(**kw),
        K(generator=lambda: torch.Generator().manual_seed(1)),
        {"generator": "generator|None"},
        name="kexue.attention.linear.PerformerFeatures.redraw",
    ),
    Call(PF.forward, K(x=lambda: _t(3, 8)), {"x": T}, bad={"x": [_t(3, 7)]}),
    Call(PF.query, K(x=lambda: _t(3, 8)), {"x": T}, bad={"x": [_t(3, 7)]}),
    Call(PF.key, K(x=lambda: _t(3, 8)), {"x": T}, bad={"x": [_t(3, 7), _t(8)]}),
    Call(
        ka.taylor_features,
        K(x=lambda: _t(3, 2), order=2, symmetric=True),
        {"x": T, "order": "int>=0", "symmetric": B},
        bad={"x": [torch.zeros(0, 2, dtype=D64)]},
    ),
    Call(ka.exp_limit_features, K(x=lambda: _t(3, 2), n=2), {"x": T, "n": "int>=1"}),
    Call(
        ka.feature_dim,
        K(d=4, method="taylor", param=2),
        {
            "d": "int>=1",
            "method": "choice:taylor|taylor_symmetric|limit|performer|elu",
            "param": "int>=0",
        },
    ),
    Call(
        ka.exp_feature_map,
        K(method="taylor", size=2, d=4, seed=0),
        {
            "method": "choice:taylor|limit|performer",
            "size": "int>=1",
            "d": "int>=1",
            "seed": "int>=0",
        },
    ),
    Call(
        ka.numerical_rank,
        K(a=lambda: _t(5, 4), rtol=1e-8),
        {"a": "finite", "rtol": "prob"},
        bad={"a": [_t(5), _t(2, 5, 4)], "rtol": [0.0, 1.0]},
    ),
    # ------------------------------------------------------------------ masks
    Call(
        ka.causal_mask,
        K(n_q=3, n_k=5, align="top_left", device="cpu"),
        {
            "n_q": "int>=1",
            "n_k": "int>=1|None",
            "align": "choice:bottom_right|top_left",
            "device": "object",
        },
        bad={"device": [3, "nodevice"]},
    ),
    Call(
        ka.full_mask,
        K(n_q=3, n_k=5, device=None),
        {"n_q": "int>=1", "n_k": "int>=1|None", "device": "object"},
        bad={"device": [3]},
    ),
    Call(
        ka.padding_mask,
        K(lengths=[3, 1], n=4, device=None),
        {"lengths": "object", "n": "int>=1", "device": "object"},
        bad={
            "lengths": [None, "ab", [1.5], [5], [-1], [[1, 2]], {"a": 1}],
            "device": [3],
        },
    ),
    Call(
        ka.prefix_lm_mask,
        K(segment_ids=lambda: torch.tensor([0, 0, 1, 1])),
        {"segment_ids": "object"},
        bad={
            "segment_ids": [
                None,
                "ab",
                torch.tensor([0.0, 1.0]),
                torch.tensor([0, 2]),
                torch.tensor(0),
            ]
        },
    ),
    Call(
        ka.prefix_lm_mask_from_lengths,
        K(n_prefix=2, n_total=5, device=None),
        {"n_prefix": "int>=0", "n_total": "int>=1", "device": "object"},
        bad={"n_prefix": [6], "device": [3]},
    ),
    Call(
        ka.permutation_mask,
        K(order=lambda: torch.tensor([2, 0, 1]), include_self=False),
        {"order": "object", "include_self": B},
        bad={
            "order": [
                None,
                "ab",
                torch.tensor([0.0, 1.0]),
                torch.tensor([0, 0, 1]),
                torch.zeros(0, dtype=torch.long),
            ]
        },
    ),
    Call(
        ka.permutation_lm_inputs,
        K(tokens=_toks, order=lambda: torch.tensor([2, 0, 3, 1]), bos_id=9),
        {"tokens": "object", "order": "object", "bos_id": "int>=0"},
        bad={
            "tokens": [None, "ab", _toks().float(), torch.tensor([1, 2, 3, 4])],
            "order": [
                None,
                "ab",
                torch.tensor([0.0, 1.0, 2.0, 3.0]),
                torch.tensor([0, 0, 1, 2]),
                torch.tensor([0, 1, 2]),
            ],
        },
    ),
    Call(
        lambda masks: ka.combine_masks(*masks),
        K(masks=lambda: [None, ka.causal_mask(3), ka.full_mask(3)]),
        {"masks": "object"},
        name="kexue.attention.masks.combine_masks",
        bad={"masks": [[torch.ones(3, 3)], [ka.causal_mask(3), "x"]]},
    ),
    Call(
        ka.mask_to_bias,
        K(mask=lambda: ka.causal_mask(3), dtype=torch.float32),
        {"mask": "object", "dtype": "object"},
        bad={
            "mask": [None, torch.ones(3, 3), "x"],
            "dtype": [torch.int64, "float", None],
        },
    ),
    Call(
        ka.to_torch_mha_mask,
        K(mask=lambda: ka.causal_mask(3)),
        {"mask": "object"},
        bad={"mask": [None, torch.ones(3, 3)]},
    ),
    Call(
        ka.visible_keys,
        K(mask=lambda: ka.causal_mask(3)),
        {"mask": "object"},
        bad={"mask": [None, torch.ones(3, 3)]},
    ),
    # ------------------------------------------------------------------ position
    Call(
        ka.sinusoidal_position_embedding,
        K(n=5, d=6, base=100.0),
        {"n": "int>=1", "d": "int>=2", "base": "float>0"},
        bad={"d": [5]},
    ),
    Call(
        ka.rope_angles,
        K(positions=lambda: torch.arange(5), d=6, base=100.0),
        {"positions": "object", "d": "int>=2", "base": "float>0"},
        bad={"positions": BAD_IDS + [None], "d": [5]},
    ),
    Call(
        ka.apply_rotary,
        K(x=lambda: _t(2, 5, 6), positions=lambda: torch.arange(5), base=100.0),
        {"x": T, "positions": "object", "base": "float>0"},
        bad={
            "x": [_t(2, 5, 5), _t(6)],
            "positions": [
                torch.zeros(5),
                torch.arange(4),
                torch.arange(5)[:, None],
                "p",
            ],
        },
    ),
    Call(
        ka.t5_relative_bucket,
        K(
            relative_position=lambda: torch.arange(-5, 5),
            bidirectional=False,
            num_buckets=16,
            max_distance=64,
        ),
        {
            "relative_position": "object",
            "bidirectional": B,
            "num_buckets": "int>=4",
            "max_distance": "int>=1",
        },
        bad={"relative_position": BAD_IDS + [None], "max_distance": [4]},
    ),
    Call(
        ka.RelativePositionBias,
        K(n_heads=2, bidirectional=True, num_buckets=8, max_distance=16),
        {
            "n_heads": "int>=1",
            "bidirectional": B,
            "num_buckets": "int>=4",
            "max_distance": "int>=1",
        },
        bad={"max_distance": [2]},
    ),
    Call(
        lambda **kw: ka.RelativePositionBias(2)(**kw),
        K(n_q=3, n_k=4),
        {"n_q": "int>=1", "n_k": "int>=1|None"},
        name="kexue.attention.position.RelativePositionBias.forward",
    ),
    Call(ka.alibi_slopes, K(n_heads=6), {"n_heads": "int>=1"}),
    Call(
        ka.alibi_bias,
        K(n_heads=4, n_q=3, n_k=5, bidirectional=True),
        {
            "n_heads": "int>=1",
            "n_q": "int>=1",
            "n_k": "int>=1|None",
            "bidirectional": B,
        },
    ),
    # ------------------------------------------------------------------ scale
    Call(ka.standard_scale, K(d=64), {"d": "int>=1"}),
    Call(
        ka.entropy_invariant_scale,
        K(n=100, d=64, train_len=512),
        {"n": "float>0", "d": "int>=1", "train_len": "int>=2"},
        bad={"n": [0.5, torch.tensor([0.5, 3.0]), torch.tensor([True])]},
    ),
    Call(
        ka.kappa_log_scale,
        K(n=100, d=64, kappa=1.5),
        {"n": "float>0", "d": "int>=1", "kappa": "float>0"},
        bad={"n": [0.5, torch.tensor([float("nan")])]},
    ),
    Call(
        ka.per_query_scale,
        K(
            mask=lambda: ka.causal_mask(5),
            d=16,
            rule="entropy",
            train_len=64,
            min_scale=1e-3,
            kappa=None,
        ),
        {
            "mask": "object",
            "d": "int>=1",
            "rule": "choice:entropy|standard|kappa",
            "train_len": "int>=2",
            "min_scale": "float>0",
            "kappa": "float>0|None",
        },
        bad={"mask": [None, torch.ones(5, 5)]},
    ),
    Call(
        ka.softmax_entropy,
        K(logits=lambda: _t(3, 5), mask=lambda: ka.causal_mask(3, 5), dim=-1),
        {"logits": T, "mask": "object", "dim": "int>=-2"},
        bad={
            "mask": [torch.ones(3, 5), torch.ones(2, 5, dtype=torch.bool)],
            "dim": [2],
        },
    ),
    Call(
        ka.entropy_lower_bound,
        K(scores=lambda: _t(3, 5), lam=2.0),
        {"scores": T, "lam": "float>=0"},
        bad={"lam": [torch.tensor([-1.0, 1.0, 1.0]), torch.tensor([1, 2, 3])]},
    ),
    Call(
        ka.solve_scale_for_entropy,
        K(scores=lambda: _t(3, 6), target=1.0, iters=60),
        {"scores": "finite", "target": "float>0", "iters": "int>=1"},
        bad={
            "target": [2.0, torch.tensor([1.0, 2.0])],
            "scores": [
                torch.ones(2, 6, dtype=D64),
                torch.tensor([[1.0, 1.0, 1.0, -1.0, 0.0, 0.0]]),  # H > log 3 > 1.0
                _t(3, 1),
            ],
            "iters": [3],
        },
    ),
    Call(
        ka.jl_scale_factor,
        K(n=lambda: torch.tensor([1.0, 100.0, 4096.0]), train_len=512),
        {"n": T, "train_len": "int>=2"},
        bad={
            "n": [
                0.5,
                -1.0,
                float("nan"),
                torch.tensor([0.5]),
                torch.tensor([float("inf")]),
            ]
        },
    ),
    Call(
        ka.jl_min_dim,
        K(n=100, eps=0.5),
        {"n": "int>=1", "eps": "prob"},
        bad={"eps": [0.0, 1.0]},
    ),
    # ------------------------------------------------------------------ tasks
    Call(ka.seq2seq_segments, K(length=3), {"length": "int>=1"}),
    Call(
        ka.seq2seq_pairs,
        K(n=4, seed=0, task="reverse", length=3, vocab=10),
        {
            "n": "int>=1",
            "seed": "int>=0",
            "task": "choice:reverse|sort|random",
            "length": "int>=1",
            "vocab": "int>=2",
        },
    ),
    Call(
        ka.seq2seq_loss,
        K(mask=lambda: ka.prefix_lm_mask(ka.seq2seq_segments(3)), length=3),
        {"mask": "object", "length": "int>=1"},
        bad={"mask": [None, torch.ones(9, 9), ka.causal_mask(8)], "length": [2]},
    ),
    Call(
        ka.seq2seq_target_ce,
        K(
            model=lambda: _tf(vocab_size=12, max_len=9),
            mask=lambda: ka.prefix_lm_mask(ka.seq2seq_segments(3)),
            seqs=lambda: ka.seq2seq_pairs(2, 0, "sort", length=3),
            length=3,
        ),
        {"model": "callable", "mask": "object", "seqs": "object", "length": "int>=1"},
        bad={
            "mask": [None, torch.ones(9, 9), ka.causal_mask(8)],
            "seqs": [
                None,
                ka.seq2seq_pairs(2, 0, "sort", length=3).float(),
                torch.zeros(2, 5, dtype=torch.long),
            ],
            "length": [2],
        },
    ),
    Call(
        ka.greedy_generate,
        K(
            model=lambda: _tf(vocab_size=12, max_len=9),
            mask=lambda: ka.causal_mask(9),
            seqs=lambda: ka.seq2seq_pairs(2, 0, "reverse", length=3),
            length=3,
        ),
        {"model": "callable", "mask": "object", "seqs": "object", "length": "int>=1"},
        bad={
            "mask": [None, torch.ones(9, 9), ka.causal_mask(4)],
            "seqs": [
                None,
                ka.seq2seq_pairs(2, 0, "reverse", length=3).float(),
                torch.zeros(2, 3, dtype=torch.long),
            ],
        },
    ),
    Call(
        ka.progressions,
        K(count=3, seed=1, n=5, base=10),
        {"count": "int>=1", "seed": "int>=0", "n": "int>=1", "base": "int>=2"},
    ),
    Call(
        ka.permutation_lm_logits,
        K(
            model=lambda: _tf(
                vocab_size=11, max_len=6, n_out=10, target_positions=True
            ),
            batch=lambda: ka.progressions(2, 0, 5),
            order=lambda: torch.tensor([4, 2, 0, 1, 3]),
            with_target=True,
            bos_id=10,
        ),
        {
            "model": "callable",
            "batch": "object",
            "order": "object",
            "with_target": B,
            "bos_id": "int>=0",
        },
        bad={
            "batch": [None, ka.progressions(2, 0, 5).float()],
            "order": [None, torch.tensor([0, 0, 1, 2, 3])],
            "bos_id": [11],
        },
    ),
    Call(
        ka.permutation_lm_loss,
        K(with_target=False, bos_id=10, n_classes=10),
        {"with_target": B, "bos_id": "int>=0", "n_classes": "int>=1"},
    ),
    # ------------------------------------------------------------------ probe
    Call(
        probe.ProbeConfig,
        K(
            n=4,
            d_model=8,
            n_heads=2,
            n_layers=1,
            position="rope",
            normalization="l2",
            markers=True,
            same_markers=False,
            causal=False,
            toeplitz_gate=None,
            steps=2,
            lr=1e-3,
            seed=0,
        ),
        {
            "n": "int>=2",
            "d_model": "int>=1",
            "n_heads": "int>=1",
            "n_layers": "int>=1",
            "position": "choice:learned|sinusoidal|rope|t5|alibi|none",
            "normalization": NORMS,
            "markers": B,
            "same_markers": B,
            "causal": B,
            "toeplitz_gate": "int>=0|None",
            "steps": "int>=1",
            "lr": "float>0",
            "seed": "int>=0",
        },
        bad={"n_heads": [3]},
    ),
    Call(
        probe.position_probe_batch,
        K(n=4, markers=True, same_markers=False),
        {"n": "int>=1", "markers": B, "same_markers": B},
    ),
    Call(
        probe.mirror_gap,
        K(result=_probe_result),
        {"result": "object"},
        bad={"result": [None, probe.ProbeConfig()]},
    ),
    Call(
        probe.row_gap,
        K(result=_probe_result),
        {"result": "object"},
        bad={"result": [None, probe.ProbeConfig()]},
    ),
    Call(
        probe.class_probabilities,
        K(result=_probe_result),
        {"result": "object"},
        bad={"result": [None, probe.ProbeConfig()]},
    ),
    Call(
        probe.run_position_probe,
        K(
            config=lambda: probe.ProbeConfig(
                n=3, d_model=8, n_heads=2, n_layers=1, steps=1
            ),
            progress=False,
        ),
        {"config": "object", "progress": B},
        bad={"config": [None, {"n": 3}, nn.TransformerConfig(vocab_size=3)]},
    ),
    # ------------------------------------------------------------------ nn
    Call(
        nn.TransformerConfig,
        K(
            vocab_size=5,
            d_model=8,
            n_heads=2,
            n_layers=1,
            max_len=6,
            position="rope",
            normalization="softmax",
            n_out=None,
            target_positions=False,
            toeplitz_gate=None,
        ),
        {
            "vocab_size": "int>=1",
            "d_model": "int>=1",
            "n_heads": "int>=1",
            "n_layers": "int>=1",
            "max_len": "int>=1",
            "position": "choice:learned|sinusoidal|rope|t5|alibi|none",
            "normalization": NORMS,
            "n_out": "int>=1|None",
            "target_positions": B,
            "toeplitz_gate": "int>=0|None",
        },
        bad={"n_heads": [3], "d_model": [6]},
    ),
    Call(
        nn.Transformer,
        K(cfg=_tf_cfg),
        {"cfg": "object"},
        bad={"cfg": [None, {"vocab_size": 5}, probe.ProbeConfig()]},
    ),
    Call(
        lambda **kw: _tf(target_positions=True)(**kw),
        K(
            tokens=_toks,
            mask=lambda: ka.causal_mask(4),
            is_causal=False,
            positions=lambda: torch.tensor([1, 2, 3, 4]),
            target_positions=lambda: torch.tensor([[2, 3, 4, 5], [1, 2, 3, 4]]),
            return_weights=True,
        ),
        {
            "tokens": "object",
            "mask": "object",
            "is_causal": B,
            "positions": "object",
            "target_positions": "object",
            "return_weights": B,
        },
        name="kexue.nn.transformer.Transformer.forward",
        bad={
            "tokens": BAD_IDS
            + [
                None,
                torch.tensor([1, 2]),
                torch.tensor([[0, 5]]),
                torch.tensor([[-1, 0]]),
                torch.zeros(1, 7, dtype=torch.long),
                torch.zeros(1, 0, dtype=torch.long),
            ],
            "mask": BAD_MASKS,
            "positions": BAD_IDS
            + [torch.arange(4)[:, None], torch.arange(3), torch.tensor([0, 1, 2, 6])],
            "target_positions": BAD_IDS + [torch.arange(5)],
        },
    ),
    Call(
        nn.TimeMLP,
        K(dim=2, hidden=8, depth=1, n_freq=2),
        {"dim": "int>=1", "hidden": "int>=1", "depth": "int>=1", "n_freq": "int>=0"},
    ),
    Call(
        lambda **kw: nn.TimeMLP(dim=2, hidden=8, depth=1)(**kw),
        K(x=lambda: _t(3, 2, dtype=torch.float32), t=lambda: torch.rand(3)),
        {"x": T, "t": T},
        name="kexue.nn.time_mlp.TimeMLP.forward",
        bad={"x": [_t(3, 3), _t(2)], "t": [torch.rand(2), torch.rand(3, 1)]},
    ),
    Call(
        nn.fourier_time_features,
        K(t=lambda: torch.rand(4), n_freq=3),
        {"t": T, "n_freq": "int>=0"},
        bad={"t": [torch.rand(4, 1)]},
    ),
    Call(
        nn.SmallUNet,
        K(channels=1, width=8, n_freq=2),
        {"channels": "int>=1", "width": "int>=8", "n_freq": "int>=0"},
    ),
    Call(
        lambda **kw: nn.SmallUNet(channels=1, width=8)(**kw),
        K(x=lambda: torch.randn(2, 1, 4, 4), t=lambda: torch.rand(2)),
        {"x": T, "t": T},
        name="kexue.nn.unet.SmallUNet.forward",
        bad={
            "x": [
                torch.randn(2, 2, 4, 4),
                torch.randn(2, 1, 3, 3),
                torch.randn(1, 4, 4),
            ],
            "t": [torch.rand(3)],
        },
    ),
    Call(
        nn.train,
        K(
            model=lambda: torch.nn.Linear(2, 1),
            loss_fn=lambda: lambda m, b, g: m(b).square().mean(),
            data=lambda: torch.randn(8, 2),
            steps=2,
            batch_size=4,
            lr=1e-3,
            seed=0,
            progress=False,
            desc="x",
            weight_decay=0.0,
        ),
        {
            "model": "object",
            "loss_fn": "callable",
            "data": "object",
            "steps": "int>=1",
            "batch_size": "int>=1",
            "lr": "float>0",
            "seed": "int>=0",
            "progress": B,
            "desc": "object",
            "weight_decay": "float>=0",
        },
        bad={
            "model": [None, "m", torch.nn.ReLU()],
            "loss_fn": [
                lambda m, b, g: 0.0,
                lambda m, b, g: m(b),
                lambda m, b, g: torch.tensor(1.0),
            ],
            "data": [None, [1.0, 2.0], torch.zeros(0, 2)],
            "desc": [None, 3],
        },
    ),
]

EXEMPT = {
    "kexue.attention.core.NORMALIZATIONS": "a constant: the normalization names",
    "kexue.attention.core.BACKENDS": "a constant: the tuple of backend names",
    "kexue.attention.position.POSITIONS": "a constant: the tuple of position schemes",
    "kexue.attention.probe.ProbeResult": "a plain result record that "
    "run_position_probe "
    "returns; readers never build one",
}
