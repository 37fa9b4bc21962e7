"""kexue.attention linear attention, feature maps and positions: exact identities,
unbiasedness, error falling with the feature dimension, RoPE's relative property, and
the position probe."""

import math

import kexue.attention as ka
import kexue.attention.probe as probe
import pytest
import scipy.stats
import torch
import torch.nn.functional as F

D64 = torch.float64


def rand(*shape, seed=0, scale=1.0):
    return scale * torch.randn(
        *shape, generator=torch.Generator().manual_seed(seed), dtype=D64
    )


def test_kernel_attention_with_exp_kernel_is_softmax_attention():
    q, k, v = rand(2, 10, 4, seed=1), rand(2, 12, 4, seed=2), rand(2, 12, 3, seed=3)
    ref = F.scaled_dot_product_attention(q, k, v, scale=1.0)
    torch.testing.assert_close(
        ka.kernel_attention(q, k, v, ka.exp_kernel), ref, atol=1e-12, rtol=0
    )
    torch.testing.assert_close(
        ka.attention(q, k, v, scale=1.0), ref, atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("chunk", [1, 4, 64])
def test_linear_attention_equals_its_quadratic_kernel_form(causal, chunk):
    q, k, v = (
        rand(3, 2, 11, 4, seed=1),
        rand(3, 2, 11, 4, seed=2),
        rand(3, 2, 11, 5, seed=3),
    )
    phi = ka.elu_plus_one
    mask = ka.causal_mask(11, align="top_left") if causal else None
    ref = ka.kernel_attention(
        q, k, v, lambda a, b: phi(a) @ phi(b).transpose(-2, -1), mask=mask
    )
    out = ka.linear_attention(q, k, v, phi, causal=causal, chunk_size=chunk)
    torch.testing.assert_close(out, ref, atol=1e-10, rtol=0)


@pytest.mark.parametrize("order", [0, 1, 2, 3])
@pytest.mark.parametrize("symmetric", [False, True])
def test_taylor_features_give_the_truncated_series(order, symmetric):
    q, k = rand(7, 3, seed=1, scale=0.5), rand(9, 3, seed=2, scale=0.5)
    fq, fk = (
        ka.taylor_features(q, order, symmetric=symmetric),
        ka.taylor_features(k, order, symmetric=symmetric),
    )
    s = q @ k.T
    ref = sum(s**m / math.factorial(m) for m in range(order + 1))
    torch.testing.assert_close(fq @ fk.T, ref * torch.ones_like(s), atol=1e-12, rtol=0)
    method = "taylor_symmetric" if symmetric else "taylor"
    assert fq.shape[-1] == ka.feature_dim(3, method, order)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_limit_features(n):
    q, k = rand(5, 3, seed=1), rand(6, 3, seed=2)
    fq, fk = ka.exp_limit_features(q, n), ka.exp_limit_features(k, n)
    torch.testing.assert_close(fq @ fk.T, (1 + q @ k.T / n) ** n, atol=1e-12, rtol=0)
    assert fq.shape[-1] == ka.feature_dim(3, "limit", n) == 4**n


@pytest.mark.parametrize("orthogonal", [False, True])
def test_performer_features_are_unbiased(orthogonal):
    q, k = rand(4, seed=1, scale=0.4), rand(4, seed=2, scale=0.4)
    g = torch.Generator().manual_seed(0)
    est = torch.stack(
        [
            ka.positive_random_features(q, w) @ ka.positive_random_features(k, w)
            for w in (
                ka.draw_gaussian_projection(4, 8, orthogonal=orthogonal, generator=g)
                for _ in range(2000)
            )
        ]
    )
    se = est.std() / math.sqrt(len(est))
    assert abs(float(est.mean()) - math.exp(float(q @ k))) < 4 * float(se)


def test_orthogonal_projection_blocks_and_chi_norms():
    w = ka.draw_gaussian_projection(
        6, 6 * 300, generator=torch.Generator().manual_seed(0)
    )
    blk = w[:6] / w[:6].norm(dim=1, keepdim=True)
    torch.testing.assert_close(blk @ blk.T, torch.eye(6, dtype=D64), atol=1e-12, rtol=0)
    assert (
        scipy.stats.kstest(w.norm(dim=1).numpy(), scipy.stats.chi(6).cdf).pvalue > 1e-3
    )


def _rel_err(phi, n=64, d=4, c=0.6, seed=0):
    q, k, v = (
        rand(n, d, seed=seed),
        rand(n, d, seed=seed + 1),
        rand(n, d, seed=seed + 2),
    )
    q, k = c * q / d**0.25, c * k / d**0.25
    exact = ka.attention(q, k, v, scale=1.0)
    approx = ka.linear_attention(q, k, v, phi)
    return float((approx - exact).norm() / exact.norm())


def test_error_falls_with_feature_dimension():
    taylor = [_rel_err(lambda x, o=o: ka.taylor_features(x, o)) for o in (2, 4, 6)]
    assert taylor[0] > taylor[1] > taylor[2]
    limit = [_rel_err(lambda x, n=n: ka.exp_limit_features(x, n)) for n in (2, 4)]
    assert limit[0] > limit[1]
    perf = [
        sum(_rel_err(ka.PerformerFeatures(4, m, seed=s).double()) for s in range(5)) / 5
        for m in (16, 256, 4096)
    ]
    assert perf[0] > perf[1] > perf[2]


def test_rank_of_linear_attention_is_at_most_the_feature_dim():
    q, k = rand(64, 4, seed=1), rand(64, 4, seed=2)
    assert ka.numerical_rank(ka.elu_plus_one(q) @ ka.elu_plus_one(k).T) == 4
    assert ka.numerical_rank(torch.exp(q @ k.T)) > 32


@pytest.mark.parametrize(
    "call,exc,msg",
    [
        (
            lambda: ka.linear_attention(
                rand(3, 4), rand(3, 5), rand(3, 2), ka.elu_plus_one
            ),
            ValueError,
            "feature dim",
        ),
        (
            lambda: ka.linear_attention(
                rand(3, 4), rand(5, 4), rand(5, 2), ka.elu_plus_one, causal=True
            ),
            ValueError,
            "Lq == Lk",
        ),
        (lambda: ka.feature_dim(4, "fourier", 2), ValueError, "method"),
        (
            lambda: ka.positive_random_features(rand(3, 4), rand(8, 5)),
            ValueError,
            "omega",
        ),
        (lambda: ka.taylor_features(rand(3, 4), -1), ValueError, "order"),
        (lambda: ka.apply_rotary(rand(3, 5)), ValueError, "even"),
        (lambda: probe.ProbeConfig(position="shaw"), ValueError, "position"),
        (lambda: probe.ProbeConfig(normalization="l1"), ValueError, "normalization"),
    ],
)
def test_linear_and_position_errors(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


# --------------------------------------------------------------------------- positions
def test_sinusoidal_closed_form():
    pe = ka.sinusoidal_position_embedding(10, 6).double()
    p, i = 7, 2
    assert math.isclose(pe[p, 2 * i], math.sin(p / 10000 ** (2 * i / 6)), abs_tol=1e-6)
    assert math.isclose(
        pe[p, 2 * i + 1], math.cos(p / 10000 ** (2 * i / 6)), abs_tol=1e-6
    )


def test_rope_is_relative_and_equals_complex_rotation():
    q, k = rand(1, 8, seed=1), rand(1, 8, seed=2)
    dots = [
        float(
            ka.apply_rotary(q, torch.tensor([m + s]))
            @ ka.apply_rotary(k, torch.tensor([3 + s])).T
        )
        for m, s in [(5, 0), (5, 11), (5, 100)]
    ]
    assert max(dots) - min(dots) < 1e-10
    pos = torch.arange(6)
    x = rand(6, 8, seed=3)
    z = torch.view_as_complex(x.view(6, 4, 2).contiguous()) * torch.polar(
        torch.ones(6, 4, dtype=D64), ka.rope_angles(pos, 8)
    )
    torch.testing.assert_close(
        ka.apply_rotary(x, pos), torch.view_as_real(z).reshape(6, 8), atol=1e-12, rtol=0
    )


@pytest.mark.parametrize("base", [10000.0, 500.0])
def test_rope_matches_the_diffusers_implementation(base):
    # peer: diffusers' interleaved-pair RoPE (the Flux/CogVideoX convention, unbind -1)
    from diffusers.models.embeddings import apply_rotary_emb, get_1d_rotary_pos_embed

    # diffusers rounds x to float32 before multiplying by its float64 cos/sin: feed
    # float32-representable values so that both sides compute the same float64 products
    x = rand(2, 3, 9, 8, seed=4).float().double()
    pos = torch.tensor([0, 1, 2, 5, 7, 11, 40, 41, 100])
    cos, sin = get_1d_rotary_pos_embed(
        8, pos.numpy(), theta=base, use_real=True, freqs_dtype=D64
    )  # (L, d), float64
    ref = apply_rotary_emb(x, (cos, sin), use_real=True, use_real_unbind_dim=-1)
    # diffusers returns cos/sin rounded to float32: each output x1 cos - x2 sin then
    # carries at most 2^-24 (|x1| + |x2|) <= 2^-23 max|x| of error (ours is float64)
    tol = 2.0**-23 * float(x.abs().max())
    assert float((ka.apply_rotary(x, pos, base=base) - ref).abs().max()) <= tol
    # the test can fail: the other pairing convention (halves, unbind -2) differs
    other = apply_rotary_emb(x, (cos, sin), use_real=True, use_real_unbind_dim=-2)
    assert not torch.allclose(ka.apply_rotary(x, pos, base=base), other)


def test_numerical_rank_is_torch_matrix_rank():
    q, k = rand(64, 4, seed=1), rand(64, 4, seed=2)
    a = ka.elu_plus_one(q) @ ka.elu_plus_one(k).T
    for rtol in (1e-10, 1e-3, 0.5):
        assert ka.numerical_rank(a, rtol=rtol) == int(
            torch.linalg.matrix_rank(a, rtol=rtol)
        )
    with pytest.raises(ValueError, match="a must be finite"):
        ka.numerical_rank(torch.tensor([[1.0, float("inf")], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="rtol"):
        ka.numerical_rank(a, rtol=float("nan"))


def test_t5_buckets_pinned():
    rel = torch.tensor([-200, -128, -20, -8, -1, 0, 1, 7, 8, 20, 127, 128, 500])
    got = ka.t5_relative_bucket(rel).tolist()
    assert got == [15, 15, 10, 8, 1, 0, 17, 23, 24, 26, 31, 31, 31]
    assert ka.t5_relative_bucket(rel, bidirectional=False).tolist() == [
        31,
        31,
        17,
        8,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    ]


@pytest.mark.parametrize(
    "position,norm,markers,passes",
    [
        ("rope", "softmax", False, False),
        ("none", "softmax", False, False),
        ("t5", "softmax", False, False),
        ("alibi", "softmax", False, False),
        ("alibi", "softmax", True, True),
        ("learned", "softmax", False, True),
        ("rope", "l2", False, True),
        ("rope", "softmax", True, True),
    ],
)
def test_position_probe(position, norm, markers, passes):
    torch.set_num_threads(1)
    r = probe.run_position_probe(
        probe.ProbeConfig(
            n=8, position=position, normalization=norm, markers=markers, steps=200
        ),
        progress=False,
    )
    if passes:
        assert r.accuracy == 1.0 and not r.rows_identical
    else:
        assert r.rows_identical and abs(r.loss - math.log(8)) < 1e-3


def test_alibi_slopes_and_bias():
    torch.testing.assert_close(
        ka.alibi_slopes(8).double(),
        torch.tensor([2.0**-k for k in range(1, 9)], dtype=D64),
    )
    torch.testing.assert_close(
        ka.alibi_slopes(6).double(),
        torch.tensor([2**-2, 2**-4, 2**-6, 2**-8, 2**-1, 2**-3], dtype=D64),
    )
    b = ka.alibi_bias(4, 5).double()
    s = ka.alibi_slopes(4).double()
    for i in range(5):
        for j in range(i + 1):
            assert math.isclose(b[1, i, j], -s[1] * (i - j), abs_tol=1e-7)
    bb = ka.alibi_bias(4, 5, bidirectional=True).double()
    torch.testing.assert_close(bb, bb.transpose(-1, -2))
    torch.testing.assert_close(
        ka.alibi_bias(4, 3, 5), ka.alibi_bias(4, 5)[:, 2:]
    )  # bottom-right rows
    q, k, v = (
        rand(1, 4, 5, 8, seed=1),
        rand(1, 4, 5, 8, seed=2),
        rand(1, 4, 5, 8, seed=3),
    )
    ref = F.scaled_dot_product_attention(
        q, k, v, attn_mask=b.masked_fill(~ka.causal_mask(5), float("-inf"))
    )
    torch.testing.assert_close(
        ka.attention(q, k, v, bias=b, is_causal=True), ref, atol=1e-12, rtol=0
    )


def test_performer_redraw_is_seeded_and_changes_omega():
    pf = ka.PerformerFeatures(4, 8, seed=0).double()
    old = pf.omega.clone()
    pf.redraw(torch.Generator().manual_seed(5))
    assert pf.omega.dtype == D64 and not torch.equal(pf.omega, old)
    again = ka.PerformerFeatures(4, 8, seed=0).double()
    again.redraw(torch.Generator().manual_seed(5))
    assert torch.equal(pf.omega, again.omega)


def test_relative_position_bias_reads_the_table_at_the_t5_bucket():
    torch.manual_seed(0)
    rpb = ka.RelativePositionBias(3, num_buckets=8, max_distance=16)
    b = rpb(4, 6)
    assert b.shape == (3, 4, 6)
    for i in range(4):
        for j in range(6):
            bucket = int(
                ka.t5_relative_bucket(
                    torch.tensor(j - i), num_buckets=8, max_distance=16
                )
            )
            assert torch.equal(b[:, i, j], rpb.table.weight[bucket])


def test_position_probe_batch_layout():
    tok, tgt = probe.position_probe_batch(3)
    assert tok.tolist() == [[0, 0, 0]] and tgt.tolist() == [0, 1, 2]
    tok, _ = probe.position_probe_batch(3, markers=True)
    assert tok.tolist() == [[1, 0, 0, 0, 2]]
