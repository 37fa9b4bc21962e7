"""kexue.attention.scale_laws: the entropy and JL chapters' sweeps, against peers."""

import math

import numpy as np
import pytest
import torch
from kexue.attention import scale_laws as sl
from kexue.attention import solve_scale_for_entropy
from scipy import stats


def test_sphere_points_norm_and_isotropy():
    x = sl.sphere_points(4000, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(
        x.norm(dim=1), torch.full((4000,), math.sqrt(8.0), dtype=x.dtype)
    )
    # E[x x^T] = I for radius sqrt(d): 4000 samples, entries have s.e. ~ 1/sqrt(4000)
    assert torch.allclose(x.T @ x / 4000, torch.eye(8, dtype=x.dtype), atol=0.1)


def test_entropy_scale_vs_n_matches_direct_solve():
    lam = sl.entropy_scale_vs_n([16, 64], 8, n_queries=5, seeds=[3])
    g = torch.Generator().manual_seed(3)
    q, k = sl.sphere_points(5, 8, generator=g), sl.sphere_points(64, 8, generator=g)
    direct = [float(solve_scale_for_entropy(q @ k[:m].T, 2.0).mean()) for m in (16, 64)]
    assert np.allclose(lam[0], direct, rtol=1e-8)


@pytest.mark.parametrize("keys", ["sphere", "gaussian"])
def test_approx_scale_vs_n_direct_and_below_exact(keys):
    kw = dict(target=1.5, n_queries=6, seeds=[2, 5], keys=keys)
    approx = sl.approx_scale_vs_n([16, 64], 8, **kw)
    g = torch.Generator().manual_seed(5)
    q = sl.sphere_points(6, 8, generator=g)
    k = (
        sl.sphere_points(64, 8, generator=g)
        if keys == "sphere"
        else torch.randn(64, 8, generator=g, dtype=torch.float64)
    )
    s = (q @ k.T)[:, :16]
    direct = float(((math.log(16) - 1.5) / (s.amax(-1) - s.mean(-1))).mean())
    assert approx[1, 0] == pytest.approx(direct, rel=1e-12)
    # eis-bound: H(lambda) >= log n - lambda gap, so each row's lambda* >= approx
    exact = sl.entropy_scale_vs_n([16, 64], 8, iters=50, **kw)
    assert (exact > approx).all()


def test_approx_scale_vs_n_rejects_unreachable_target():
    with pytest.raises(ValueError, match="target"):
        sl.approx_scale_vs_n([4, 16], 8, target=2.0)


def test_entropy_scale_vs_d_matches_direct_solve():
    lam = sl.entropy_scale_vs_d([4, 8], 32, n_queries=5, seeds=[1])
    g = torch.Generator().manual_seed(1)
    q = torch.randn(5, 8, generator=g, dtype=torch.float64)
    k = torch.randn(32, 8, generator=g, dtype=torch.float64)
    direct = []
    for d in (4, 8):
        qd = q[:, :d] / q[:, :d].norm(dim=1, keepdim=True) * math.sqrt(d)
        kd = k[:, :d] / k[:, :d].norm(dim=1, keepdim=True) * math.sqrt(d)
        direct.append(float(solve_scale_for_entropy(qd @ kd.T, 2.0).mean()))
    assert np.allclose(lam[0], direct, rtol=1e-8)


def test_fit_exponents_recovers_power():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    y = np.vstack([3 * x**0.5, 2 * x**-1.0])
    assert np.allclose(sl.fit_exponents(x, y), [0.5, -1.0])
    with pytest.raises(ValueError, match="x and y"):
        sl.fit_exponents(x, -y)


def test_max_abs_cos_by_dim_equals_direct_computation():
    ds = [3, 5, 9]
    got = sl.max_abs_cos_by_dim(30, ds, seed=1)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(9, 30, generator=g, dtype=torch.float64).T  # coordinate-major
    for d, m in zip(ds, got, strict=True):
        u = x[:, :d] / x[:, :d].norm(dim=1, keepdim=True)
        assert m == pytest.approx(float((u @ u.T).abs().fill_diagonal_(0).max()))


def test_first_passing_dim_equals_linear_scan_and_start_is_irrelevant():
    for seed in range(3):
        m = sl.max_abs_cos_by_dim(40, list(range(1, 80)), seed=seed)
        scan = 1 + int(np.flatnonzero(m < 0.5)[0])
        assert sl.first_passing_dim(40, seed=seed) == scan
        assert sl.first_passing_dim(40, seed=seed, d_start=10) == scan
    with pytest.raises(ValueError, match="d_start"):
        sl.first_passing_dim(4, seed=0, d_start=300, d_max=400)


def test_pair_exceed_prob_against_monte_carlo_and_beta():
    d = 10
    x = torch.randn(200_000, 2, d, generator=torch.Generator().manual_seed(0))
    c = torch.nn.functional.cosine_similarity(x[:, 0], x[:, 1], dim=-1).abs()
    mc = float((c >= 0.5).double().mean())
    p = float(sl.pair_exceed_prob(d))
    assert abs(mc - p) < 4 * math.sqrt(p * (1 - p) / 200_000)
    assert p == pytest.approx(stats.beta(0.5, (d - 1) / 2).sf(0.25))


def test_predicted_dim_pmf_is_a_distribution_and_quantile_consistent():
    d, pmf = sl.predicted_dim_pmf(256)
    assert pmf.min() >= 0 and pmf.sum() == pytest.approx(1.0)
    cdf = np.cumsum(pmf)
    q50 = sl.predicted_dim_quantile(256, 0.5)
    assert cdf[q50 - 1] >= 0.5 > cdf[q50 - 2]


def test_predicted_max_abs_cos_against_sampled_median():
    t = sl.predicted_max_abs_cos(64, 32)
    # P(max < t) = exp(-ln 2) = 1/2 under the Poisson law: C(64, 2) P(|cos| >= t) = ln 2
    assert float(sl.pair_exceed_prob(32, t)) * 64 * 63 / 2 == pytest.approx(math.log(2))
    m = [float(sl.max_abs_cos_by_dim(64, [32], seed=s)[0]) for s in range(200)]
    assert abs(np.mean(np.array(m) < t) - 0.5) < 0.15


def test_true_key_logits_laws():
    lg = sl.true_key_logits(4000, d=16, n_queries=50, noise=0.5, seed=0)
    assert lg.shape == (50, 4000)
    rest = lg[:, 1:].flatten()
    assert abs(float(rest.mean())) < 4 * 4 / math.sqrt(rest.numel())
    assert float(rest.std()) == pytest.approx(4.0, rel=0.02)
    assert float(lg[:, 0].mean()) == pytest.approx(16.0, abs=4 * 2 / math.sqrt(50))


def test_weight_keeping_factor_inverts_true_key_weight():
    lg = sl.true_key_logits(512, d=32, n_queries=20, seed=1)
    w = sl.true_key_weight(lg, 1.3, 32)
    assert sl.weight_keeping_factor(lg, w, 32) == pytest.approx(1.3, rel=1e-6)


def test_annealed_factor_is_one_at_n0_and_solves_its_equation():
    assert sl.annealed_factor(512, 32) == pytest.approx(1.0)
    g = sl.annealed_factor(8192, 32)
    r = math.sqrt(32)
    assert g * (r - g / 2) == pytest.approx(math.log(16) + (r - 0.5))


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: sl.sphere_points(0, 3), "m"),
        (lambda: sl.sphere_points(3, 3, generator=1), "generator"),
        (lambda: sl.entropy_scale_vs_n([64, 16], 8), "ns"),
        (lambda: sl.entropy_scale_vs_n([16], 8, keys="cube"), "keys"),
        (lambda: sl.entropy_scale_vs_d([8], 1), "n"),
        (lambda: sl.first_passing_dim(10, threshold=1.5), "threshold"),
        (lambda: sl.pair_exceed_prob(1), "d"),
        (lambda: sl.predicted_dim_quantile(10, 1.0), "q"),
        (lambda: sl.true_key_weight(torch.zeros(3), 1.0, 4), "logits"),
        (lambda: sl.weight_keeping_factor(torch.zeros(2, 3), 1.5, 4), "weight"),
        (lambda: sl.annealed_factor(1e30, 4), "annealed"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_true_key_logits_alignment_rho():
    lg = sl.true_key_logits(64, d=16, n_queries=400, noise=0.5, seed=0, rho=0.7)
    assert float(lg[:, 0].mean()) == pytest.approx(0.7 * 16, abs=4 * 2 / 20)
    base = sl.true_key_logits(64, d=16, n_queries=400, noise=0.5, seed=0)
    assert torch.equal(lg[:, 1:], base[:, 1:])  # only key 0 moves
    with pytest.raises(ValueError, match="rho"):
        sl.true_key_logits(64, d=16, rho=-1.0)


def test_annealed_factor_with_rho_solves_its_equation():
    assert sl.annealed_factor(512, 64, rho=0.7) == pytest.approx(1.0)
    g, a = sl.annealed_factor(32768, 128, rho=0.7), 0.7 * math.sqrt(128)
    assert g * (a - g / 2) == pytest.approx(math.log(64) + (a - 0.5))
    assert sl.annealed_factor(8192, 32, rho=1.0) == sl.annealed_factor(8192, 32)
    with pytest.raises(ValueError, match="rho"):
        sl.annealed_factor(8192, 32, rho=0.0)
