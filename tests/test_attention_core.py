"""kexue.attention.attention: agreement with PyTorch's SDPA and MultiheadAttention, the
two paths agree, no leakage under causal/prefix masks, numerical stability, and every
documented error."""

import math

import kexue.attention as ka
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st


def qkv(b=2, hq=4, hk=4, lq=6, lk=6, d=8, dv=5, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(b, hq, lq, d, generator=g, dtype=dtype),
        torch.randn(b, hk, lk, d, generator=g, dtype=dtype),
        torch.randn(b, hk, lk, dv, generator=g, dtype=dtype),
    )


def sdpa_gqa(q, k, v, **kw):
    rep = q.shape[-3] // k.shape[-3]
    return F.scaled_dot_product_attention(
        q, k.repeat_interleave(rep, -3), v.repeat_interleave(rep, -3), **kw
    )


@pytest.mark.parametrize("backend", ["auto", "math"])
@pytest.mark.parametrize("hk", [4, 2, 1])
def test_matches_sdpa_plain_and_causal_equal_lengths(backend, hk):
    q, k, v = qkv(hk=hk)
    torch.testing.assert_close(
        ka.attention(q, k, v, backend=backend), sdpa_gqa(q, k, v), atol=1e-12, rtol=0
    )
    torch.testing.assert_close(
        ka.attention(q, k, v, is_causal=True, backend=backend),
        sdpa_gqa(q, k, v, is_causal=True),
        atol=1e-12,
        rtol=0,
    )


@pytest.mark.parametrize("backend", ["auto", "math"])
@pytest.mark.parametrize("lq,lk", [(3, 7), (7, 7), (1, 5)])
def test_causal_is_bottom_right_for_unequal_lengths(backend, lq, lk):
    q, k, v = qkv(lq=lq, lk=lk)
    from torch.nn.attention.bias import causal_lower_right

    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_lower_right(lq, lk))
    torch.testing.assert_close(
        ka.attention(q, k, v, is_causal=True, backend=backend), ref, atol=1e-12, rtol=0
    )
    # KV-cache equivalence: the last lq rows of the full causal self-attention
    qf = torch.cat([torch.randn(2, 4, lk - lq, 8, dtype=torch.float64), q], dim=2)
    full = ka.attention(qf, k, v, is_causal=True)
    torch.testing.assert_close(
        ka.attention(q, k, v, is_causal=True, backend=backend),
        full[:, :, lk - lq :],
        atol=1e-12,
        rtol=0,
    )


def test_top_left_mask_reproduces_torch_is_causal_for_unequal_lengths():
    q, k, v = qkv(lq=3, lk=7)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)  # PyTorch: top-left
    out = ka.attention(q, k, v, mask=ka.causal_mask(3, 7, align="top_left"))
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    assert not torch.allclose(
        ka.attention(q, k, v, is_causal=True), ref
    )  # ours is bottom-right


MASKS = {
    "causal": lambda n: ka.causal_mask(n),
    "prefix": lambda n: ka.prefix_lm_mask_from_lengths(n // 2, n),
    "permutation": lambda n: ka.permutation_mask(
        torch.randperm(n, generator=torch.Generator().manual_seed(1))
    ),
    "padding": lambda n: ka.padding_mask([n, n - 2], n),
    "random": lambda n: (
        torch.rand(n, n, generator=torch.Generator().manual_seed(2)) < 0.6
    ),
}


@pytest.mark.parametrize("name", MASKS)
@pytest.mark.parametrize("backend", ["auto", "math"])
def test_explicit_masks_match_sdpa_forward_and_grad(name, backend):
    q, k, v = (t.requires_grad_() for t in qkv())
    m = MASKS[name](6)
    out = ka.attention(q, k, v, mask=m, backend=backend)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
    live = m.any(-1, keepdim=True).expand_as(ref[..., :1]) if m.ndim == 2 else None
    ref = ref.masked_fill(~live, 0.0) if live is not None else ref
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    g1 = torch.autograd.grad(out.sum(), (q, k, v))
    g2 = torch.autograd.grad(ref.sum(), (q, k, v))
    for a, b in zip(g1, g2, strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


@pytest.mark.parametrize("backend", ["auto", "math"])
def test_bias_and_mask_together_match_sdpa_float_mask(backend):
    q, k, v = qkv(hk=2)
    bias = torch.randn(4, 6, 6, dtype=torch.float64)
    m = ka.causal_mask(6)
    ref = sdpa_gqa(q, k, v, attn_mask=bias.masked_fill(~m, float("-inf")))
    torch.testing.assert_close(
        ka.attention(q, k, v, bias=bias, is_causal=True, backend=backend),
        ref,
        atol=1e-12,
        rtol=0,
    )
    torch.testing.assert_close(
        ka.attention(q, k, v, bias=bias, mask=m, backend=backend),
        ref,
        atol=1e-12,
        rtol=0,
    )


def test_float32_agreement_and_returned_weights():
    q, k, v = qkv(dtype=torch.float32)
    out, w = ka.attention(q, k, v, is_causal=True, return_weights=True)
    torch.testing.assert_close(
        out,
        F.scaled_dot_product_attention(q, k, v, is_causal=True),
        atol=1e-6,
        rtol=1e-5,
    )
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 4, 6), atol=1e-6, rtol=0)
    assert torch.all(w.triu(1) == 0)


@pytest.mark.parametrize("backend", ["auto", "math"])
def test_per_query_scale_equals_explicit_row_scaling(backend):
    q, k, v = qkv()
    m = ka.causal_mask(6) & ka.padding_mask([6, 4], 6)
    s = ka.per_query_scale(m, 8).to(torch.float64)  # (B, 1, Lq, 1)
    logits = (q @ k.transpose(-2, -1)) * s
    w = torch.softmax(logits.masked_fill(~m, float("-inf")), -1)
    torch.testing.assert_close(
        ka.attention(q, k, v, mask=m, scale=s, backend=backend),
        w @ v,
        atol=1e-12,
        rtol=0,
    )


def test_scalar_scale_is_passed_through():
    q, k, v = qkv()
    torch.testing.assert_close(
        ka.attention(q, k, v, scale=0.3),
        F.scaled_dot_product_attention(q, k, v, scale=0.3),
        atol=1e-12,
        rtol=0,
    )


@pytest.mark.parametrize("backend", ["auto", "math"])
@pytest.mark.parametrize("norm", ka.NORMALIZATIONS)
def test_rows_that_see_nothing_are_zero_not_nan(backend, norm):
    if backend == "auto" and norm != "softmax":
        backend = "math"
    q, k, v = qkv(lq=5, lk=3)
    out = ka.attention(
        q, k, v, is_causal=True, normalization=norm, backend=backend
    )  # rows 0,1 see nothing
    assert torch.isfinite(out).all()
    assert torch.all(out[:, :, :2] == 0) and torch.any(out[:, :, 2:] != 0)
    m = torch.zeros(6, 6, dtype=torch.bool)
    out = ka.attention(*qkv(), mask=m, normalization=norm, backend=backend)
    assert torch.all(out == 0)
    bias = torch.full((6, 6), float("-inf"), dtype=torch.float64)
    assert torch.all(
        ka.attention(*qkv(), bias=bias, normalization=norm, backend=backend) == 0
    )


def test_normalizations():
    b = torch.randn(3, 7, dtype=torch.float64)
    torch.testing.assert_close(ka.normalize_logits(b), torch.softmax(b, -1))
    torch.testing.assert_close(
        ka.normalize_logits(b, normalization="l2").norm(dim=-1),
        torch.ones(3, dtype=torch.float64),
    )
    torch.testing.assert_close(
        ka.normalize_logits(b, normalization="exp_mean"), b.exp() / 7
    )
    torch.testing.assert_close(
        ka.normalize_logits(b, normalization="relu2_mean"), b.relu() ** 2 / 7
    )
    m = torch.rand(3, 7, generator=torch.Generator().manual_seed(0)) < 0.5
    for norm in ka.NORMALIZATIONS:
        assert torch.all(ka.normalize_logits(b, mask=m, normalization=norm)[~m] == 0)


@pytest.mark.parametrize("backend", ["auto", "math"])
def test_large_logits_are_stable(backend):
    q, k, v = qkv()
    q = q * 1e2 / q.norm(dim=-1, keepdim=True)
    k = k * 1e2 / k.norm(dim=-1, keepdim=True)  # logits up to +-1e4
    out = ka.attention(q, k, v, scale=1.0, backend=backend)
    assert torch.isfinite(out).all()
    ref = torch.softmax((q @ k.transpose(-2, -1)), -1) @ v
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype,tol", [(torch.float16, 1e-2), (torch.bfloat16, 4e-2)])
@pytest.mark.parametrize("backend", ["auto", "math"])
def test_half_precision_matches_float64_reference(dtype, tol, backend):
    q, k, v = qkv()
    ref = ka.attention(q, k, v, is_causal=True)
    out = ka.attention(
        q.to(dtype), k.to(dtype), v.to(dtype), is_causal=True, backend=backend
    )
    assert out.dtype == dtype and torch.isfinite(out).all()
    torch.testing.assert_close(out.double(), ref, atol=tol, rtol=tol)


def test_matches_torch_multihead_attention_given_same_weights():
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(16, 4, batch_first=True).double().eval()
    ours = ka.MultiHeadAttention(16, 4).double()
    ours.copy_from_torch_mha(mha)
    x = torch.randn(2, 7, 16, dtype=torch.float64)
    m = ka.prefix_lm_mask_from_lengths(3, 7)
    ref, ref_w = mha(
        x,
        x,
        x,
        attn_mask=ka.to_torch_mha_mask(m),
        need_weights=True,
        average_attn_weights=False,
    )
    out, w = ours(x, mask=m, return_weights=True)
    torch.testing.assert_close(out, ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(w, ref_w, atol=1e-12, rtol=0)
    torch.testing.assert_close(
        ours(x, mask=m), ref, atol=1e-12, rtol=0
    )  # fast path too


@pytest.mark.parametrize("backend", ["auto", "math"])
def test_dropout_is_unbiased_and_rescaled(backend):
    # E[dropout(w)] = w, so the mean over R runs estimates attention without dropout;
    # error model: per entry the standard error sd/sqrt(R) (estimated from the runs);
    # 4.5 sigma over 240 entries. A dropout without the 1/(1-p) rescale is off by p*out.
    q, k, v = qkv()
    torch.manual_seed(0)
    runs = torch.stack(
        [ka.attention(q, k, v, dropout_p=0.3, backend=backend) for _ in range(400)]
    )
    ref = ka.attention(q, k, v)
    se = runs.std(0) / math.sqrt(len(runs))
    assert float(((runs.mean(0) - ref) / se).abs().max()) < 4.5
    unscaled = runs.mean(0) * 0.7  # the test can fail: no 1/(1-p) rescale
    assert float(((unscaled - ref) / se).abs().max()) > 4.5
    assert not torch.equal(runs[0], runs[1])  # dropout is on


# ----------------------------------------------------------------------------- leakage
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(2, 10),
    t=st.integers(0, 9),
    seed=st.integers(0, 10_000),
    backend=st.sampled_from(["auto", "math"]),
)
def test_causal_mask_never_leaks_the_future(n, t, seed, backend):
    t = t % n
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 2, n, 4, generator=g, dtype=torch.float64)
    y = x.clone()
    y[:, :, t + 1 :] = torch.randn(
        y[:, :, t + 1 :].shape, generator=g, dtype=torch.float64
    )
    a = ka.attention(x, x, x, is_causal=True, backend=backend)
    b = ka.attention(y, y, y, is_causal=True, backend=backend)
    torch.testing.assert_close(a[:, :, : t + 1], b[:, :, : t + 1], atol=1e-12, rtol=0)
    if t + 1 < n:
        assert not torch.allclose(
            a[:, :, t + 1 :], b[:, :, t + 1 :]
        )  # the test can fail


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(3, 10),
    s=st.integers(1, 9),
    t=st.integers(0, 9),
    seed=st.integers(0, 10_000),
)
def test_prefix_mask_never_leaks_later_targets(n, s, t, seed):
    s = 1 + s % (n - 1)  # source length in 1..n-1
    t = s + t % (n - s)  # a target position
    m = ka.prefix_lm_mask_from_lengths(s, n)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, 1, n, 4, generator=g, dtype=torch.float64)
    y = x.clone()
    y[:, :, t + 1 :] = torch.randn(
        y[:, :, t + 1 :].shape, generator=g, dtype=torch.float64
    )
    a, b = ka.attention(x, x, x, mask=m), ka.attention(y, y, y, mask=m)
    torch.testing.assert_close(a[:, :, : t + 1], b[:, :, : t + 1], atol=1e-12, rtol=0)
    z = x.clone()
    z[:, :, s - 1] += 1.0  # changing the last source token changes every source output
    c = ka.attention(z, z, z, mask=m)
    assert torch.all((c[0, 0, :s] - a[0, 0, :s]).abs().amax(-1) > 0)


# ------------------------------------------------------------------------------ errors
Q, K, V = qkv()
ERRORS = [
    (dict(q=Q, k=K[..., :4], v=V), ValueError, "feature dim"),
    (dict(q=Q, k=K[:, :3], v=V[:, :3]), ValueError, "multiple of the key/value heads"),
    (dict(q=Q, k=K, v=V[:, :, :5]), ValueError, "k and v"),
    (dict(q=Q, k=K, v=V.float()), TypeError, "dtype"),
    (dict(q=Q.long(), k=K, v=V), TypeError, "q must have a floating dtype"),
    (dict(q=[1.0], k=K, v=V), TypeError, "q must be a torch.Tensor"),
    (
        dict(q=Q, k=K, v=V, mask=torch.ones(6, 6)),
        TypeError,
        "mask must have dtype torch.bool",
    ),
    (
        dict(q=Q, k=K, v=V, mask=torch.ones(5, 6, dtype=torch.bool)),
        ValueError,
        "mask of shape",
    ),
    (
        dict(q=Q, k=K, v=V, mask=torch.ones(3, 1, 6, 6, dtype=torch.bool)),
        ValueError,
        "mask of shape",
    ),
    (
        dict(q=Q, k=K, v=V, bias=torch.ones(6, 6, dtype=torch.bool)),
        TypeError,
        "bias must have a floating dtype",
    ),
    (dict(q=Q, k=K, v=V, bias=torch.ones(6, 5)), ValueError, "bias of shape"),
    (dict(q=Q, k=K, v=V, scale=0.0), ValueError, "scale must be > 0"),
    (dict(q=Q, k=K, v=V, scale=-1.0), ValueError, "scale must be > 0"),
    (dict(q=Q, k=K, v=V, scale="big"), TypeError, "scale must be"),
    (dict(q=Q, k=K, v=V, scale=torch.zeros(6, 1)), ValueError, "scale must be > 0"),
    (dict(q=Q, k=K, v=V, scale=torch.ones(6, 2)), ValueError, "scale of shape"),
    (
        dict(q=Q, k=K, v=V, normalization="sparsemax"),
        ValueError,
        "normalization must be one of",
    ),
    (dict(q=Q, k=K, v=V, backend="flash"), ValueError, "backend must be one of"),
    (
        dict(q=Q, k=K, v=V, backend="sdpa", return_weights=True),
        ValueError,
        "backend='sdpa'",
    ),
    (dict(q=Q, k=K, v=V, dropout_p=1.0), ValueError, "dropout_p"),
]


@pytest.mark.parametrize(
    "kwargs,exc,msg", ERRORS, ids=[e[2] + str(i) for i, e in enumerate(ERRORS)]
)
def test_documented_errors(kwargs, exc, msg):
    with pytest.raises(exc, match=msg.replace("(", r"\(").replace("[", r"\[")):
        ka.attention(**kwargs)


def test_module_errors():
    with pytest.raises(ValueError, match="divisible"):
        ka.MultiHeadAttention(10, 4)
    with pytest.raises(ValueError, match="n_kv_heads"):
        ka.MultiHeadAttention(16, 4, n_kv_heads=3)
    with pytest.raises(ValueError, match="normalization"):
        ka.MultiHeadAttention(16, 4, normalization="l1")
    with pytest.raises(TypeError, match="mha"):
        ka.MultiHeadAttention(16, 4).copy_from_torch_mha(torch.nn.Linear(2, 2))


def test_repeat_kv_maps_query_head_h_to_key_head_h_over_group():
    k = torch.randn(2, 3, 5, 4, dtype=torch.float64)
    r = ka.repeat_kv(k, 4)  # (2, 12, 5, 4)
    for h in range(12):
        assert torch.equal(r[:, h], k[:, h // 4])  # SDPA's enable_gqa rule
    assert ka.repeat_kv(k, 1) is k


@pytest.mark.parametrize("backend", ["auto", "math"])
def test_nan_bias_propagates_and_plus_inf_bias_is_rejected(backend):
    q, k, v = qkv(lq=3, lk=3)
    bias = torch.full((3, 3), float("-inf"), dtype=torch.float64)
    bias[:, 0] = float("nan")  # the only visible key of every row carries NaN
    out = ka.attention(q, k, v, bias=bias, backend=backend)
    assert torch.isnan(out).all()  # NaN in, NaN out: never read as "blocked" (zeros)
    with pytest.raises(ValueError, match=r"bias must not contain \+inf"):
        ka.attention(q, k, v, bias=torch.full((3, 3), float("inf")).double())
