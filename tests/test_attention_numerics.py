"""Numerical holes of review section 3.1, each with a test that fails on the old code:
half-precision logits on the explicit path (NaN at |logit| ~ 1e5), Performer features
without a max-stabiliser (NaN at |q| ~ 10 in float32), and solve_scale_for_entropy on an
unreachable target (returned 1.6e60)."""

import math

import kexue.attention as ka
import pytest
import torch
import torch.nn.functional as F

D64 = torch.float64
UNIT_ROUNDOFF = {
    torch.float16: 2.0**-11,
    torch.bfloat16: 2.0**-8,
    torch.float32: 2.0**-24,
}


def _unit(*shape, seed):
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=D64)
    return x / x.norm(dim=-1, keepdim=True)


# ----------------------------------------------------------------------------- half
# precision
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
@pytest.mark.parametrize("max_logit", [1e2, 1e4, 1e5])
@pytest.mark.parametrize("causal", [False, True])
def test_explicit_path_in_half_precision_does_not_overflow(dtype, max_logit, causal):
    # unit rows scaled so that |q . k| <= max_logit (fp16 overflows above 65,504)
    c = math.sqrt(max_logit)
    q = (c * _unit(2, 4, 16, 8, seed=0)).to(dtype)
    k = (c * _unit(2, 4, 16, 8, seed=1)).to(dtype)
    v = torch.randn(2, 4, 16, 8, generator=torch.Generator().manual_seed(2)).to(dtype)
    # reference: float64 on the same (rounded) inputs, so input rounding is not counted
    ref = ka.attention(q.double(), k.double(), v.double(), scale=1.0, is_causal=causal)
    # error model: the float32 work adds ~(d + L) 2^-24 relative, then one rounding of
    # the output (a convex combination of v rows) to `dtype`: |err| <= u max|v|
    tol = UNIT_ROUNDOFF[dtype] * float(v.abs().max()) * (1 + 1e-3)
    sdpa = F.scaled_dot_product_attention(q, k, v, scale=1.0, is_causal=causal)
    outs = {
        "math": ka.attention(q, k, v, scale=1.0, is_causal=causal, backend="math"),
        "weights": ka.attention(
            q, k, v, scale=1.0, is_causal=causal, return_weights=True
        )[0],
    }
    for name, out in outs.items():
        assert out.dtype == dtype, name
        assert torch.isfinite(out).all(), name
        assert float((out.double() - ref).abs().max()) <= tol, name
        # the peer in the same dtype is held to the same bound, so the two agree to 2 u
        assert float((out.double() - sdpa.double()).abs().max()) <= 2 * tol, name
    assert float((sdpa.double() - ref).abs().max()) <= tol


@pytest.mark.parametrize("normalization", ["l2", "relu2_mean"])
def test_other_normalizations_in_fp16_stay_finite_at_large_logits(normalization):
    q = (300.0 * _unit(1, 2, 8, 8, seed=3)).half()  # |logit| up to 9e4 > 65,504
    k = (300.0 * _unit(1, 2, 8, 8, seed=4)).half()
    v = torch.randn(1, 2, 8, 4, generator=torch.Generator().manual_seed(5)).half()
    w = ka.attention_weights(q, k, scale=1.0, normalization="l2")
    assert torch.isfinite(w).all()
    if normalization == "l2":
        out = ka.attention(q, k, v, scale=1.0, normalization="l2")
        ref = ka.attention(
            q.double(), k.double(), v.double(), scale=1.0, normalization="l2"
        )
        tol = UNIT_ROUNDOFF[torch.float16] * float(v.abs().max()) * (1 + 1e-3)
        assert float((out.double() - ref).abs().max()) <= tol
    else:  # relu(b)^2/n ~ 1e9 is beyond fp16 by itself; the float32 weights are not
        logits = ka.attention_logits(q, k, scale=1.0)
        w = ka.normalize_logits(logits, normalization="relu2_mean")
        assert w.dtype == torch.float32 and torch.isfinite(w).all()


def test_logits_are_computed_in_at_least_float32():
    q = torch.full((1, 1, 8), 100.0).half()
    k = torch.full((1, 1, 8), 90.0).half()  # q . k = 72,000 > fp16 max
    logits = ka.attention_logits(q, k, scale=1.0)
    assert logits.dtype == torch.float32 and float(logits) == 72000.0
    assert ka.normalize_logits(logits.half()).dtype == torch.float32
    assert ka.attention_logits(q.double(), k.double(), scale=1.0).dtype == D64


# -----------------------------------------------------------------------------
# Performer
def _performer_parts(q, k, v, omega, stab_q=None, stab_k=None):
    fq = ka.positive_random_features(q, omega, stabilize=stab_q)
    fk = ka.positive_random_features(k, omega, stabilize=stab_k)
    return fq @ (fk.transpose(-2, -1) @ v), fq @ fk.sum(-2)[..., None]  # N, D


def test_performer_attention_is_finite_at_large_norms_in_float32():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 32, 8, generator=g) * 10 / math.sqrt(8)  # |x| ~ 10
    pf = ka.PerformerFeatures(8, 64)
    raw = pf(x)  # the exact phi overflows for some rows
    assert not torch.isfinite(raw).all() or not bool((raw > 0).all())
    out = ka.linear_attention(x, x, x, pf)  # uses pf.query / pf.key
    assert torch.isfinite(out).all()
    x64 = x.double()
    ref = ka.linear_attention(x64, x64, x64, pf.double())
    # error model: exp(e) in float32 carries a relative error ~ |e| 2^-24 for exponents
    # e = omega x - |x|^2/2 - c; two such factors in each term, max|v| = max|x| scales
    # it
    om = pf.omega.double()
    expo = (x64 @ om.T - x64.square().sum(-1, keepdim=True) / 2).abs().max()
    tol = 4 * float(expo) * UNIT_ROUNDOFF[torch.float32] * float(x64.abs().max())
    assert float((out.double() - ref).abs().max()) <= tol


def test_stabilised_estimator_equals_the_exact_phi_estimator_draw_by_draw():
    g = torch.Generator().manual_seed(1)
    q = 0.5 * torch.randn(3, 12, 4, generator=g, dtype=D64)
    k = 0.5 * torch.randn(3, 12, 4, generator=g, dtype=D64)
    v = torch.randn(3, 12, 2, generator=g, dtype=D64)
    for _ in range(5):
        om = ka.draw_gaussian_projection(4, 32, generator=g)
        n0, d0 = _performer_parts(q, k, v, om)
        n1, d1 = _performer_parts(q, k, v, om, "query", "key")
        torch.testing.assert_close(n1 / d1, n0 / d0, atol=1e-12, rtol=1e-12)
        # the test can fail: a per-row factor on the keys does not cancel
        n2, d2 = _performer_parts(q, k, v, om, "query", "query")
        assert float((n2 / d2 - n0 / d0).abs().max()) > 1e-3


def _ratio_of_means_z(q, k, v, exact, draws, m, seed):
    """Max |z| of the ratio-of-means estimate of softmax attention from ``draws`` draws
    of the exact phi: N and D are unbiased, and the delta method gives the standard
    error sd(N - r D) / (sqrt(S) mean(D)) of mean(N) / mean(D) around r."""
    g = torch.Generator().manual_seed(seed)
    parts = [
        _performer_parts(q, k, v, ka.draw_gaussian_projection(4, m, generator=g))
        for _ in range(draws)
    ]
    n = torch.stack([p[0] for p in parts])
    d = torch.stack([p[1] for p in parts])
    r = n.mean(0) / d.mean(0)
    se = (n - exact * d).std(0) / (math.sqrt(draws) * d.mean(0))
    return float(((r - exact) / se).abs().max())


def test_performer_estimates_exact_softmax_attention_statistically():
    g = torch.Generator().manual_seed(2)
    q = 0.4 * torch.randn(16, 4, generator=g, dtype=D64)
    k = 0.4 * torch.randn(16, 4, generator=g, dtype=D64)
    v = torch.randn(16, 3, generator=g, dtype=D64)
    exact = ka.attention(q, k, v, scale=1.0)
    # 48 entries, each |z| > 4.5 with probability 7e-6: the bound fails by chance ~3e-4
    assert _ratio_of_means_z(q, k, v, exact, draws=400, m=64, seed=3) < 4.5
    # the test can fail: softmax at a 10 % different scale is rejected
    wrong = ka.attention(q, k, v, scale=1.1)
    assert _ratio_of_means_z(q, k, v, wrong, draws=400, m=64, seed=3) > 4.5


# ----------------------------------------------------------------------------- entropy
# scale
def test_unreachable_entropy_target_raises():
    tie = torch.tensor([[1.0, 1.0, 0.0, -1.0]], dtype=D64)  # H > log 2 at every scale
    with pytest.raises(ValueError, match="target 0.1 is unreachable"):
        ka.solve_scale_for_entropy(tie, 0.1)
    with pytest.raises(ValueError, match="scores must be finite"):
        ka.solve_scale_for_entropy(torch.tensor([[1.0, float("nan"), 0.0]]), 0.5)
    lam = ka.solve_scale_for_entropy(tie, math.log(2) + 1e-3)  # just reachable
    h = ka.softmax_entropy(lam[:, None] * tie)
    assert abs(float(h) - (math.log(2) + 1e-3)) < 1e-8
