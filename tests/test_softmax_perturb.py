"""kexue.softmax.perturb (chapter reparam-discrete) against scipy and torch peers.

Statistical tests use a stated false-alarm rate: each Monte-Carlo comparison is a
chi-square or Kolmogorov-Smirnov test that rejects at p < 1e-4 (seeded, so each either
passes every run or fails every run; with ~30 such tests a correct library fails one
with probability ~3e-3 over the choice of seeds). Quadrature tolerances come from the
a posteriori bound ``perturb_max_error`` (validated against scipy.integrate.quad here)
or from the Euler-Maclaurin remainder of ``post_rule_error``.
"""

import math

import mpmath as mp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kexue.softmax import perturb as pm
from scipy import integrate, stats

ALPHA = 1e-4  # false-alarm rate of every statistical test below
FULL_SUPPORT = [n for n in pm.NOISES if n != "uniform"]
MU = torch.tensor([1.0, 0.5, -0.3, 2.0], dtype=torch.float64)


def _freq(idx, n):
    return torch.bincount(idx.reshape(-1), minlength=n).double().numpy()


# ------------------------------------------------------------------ noise pieces
@pytest.mark.parametrize("noise", pm.NOISES)
def test_log_cdf_matches_scipy_and_mpmath(noise):
    dist = pm.noise_dist(noise)
    x = np.linspace(-30, 30, 601)
    ours = pm.noise_log_cdf(noise)(torch.tensor(x)).numpy()
    ref = dist.logcdf(x)
    assert np.array_equal(np.isfinite(ref), np.isfinite(ours))
    f = np.isfinite(ref)  # relative 1e-12 on log F (absolute near log F = 0)
    assert np.allclose(ours[f], ref[f], rtol=1e-12, atol=1e-13)
    # far tails, where scipy itself under/overflows: 50-digit mpmath
    mp.mp.dps = 50
    exact = {
        "gumbel": lambda t: -mp.exp(-t),
        "gumbel_min": lambda t: mp.log(-mp.expm1(-mp.exp(t))),
        "normal": lambda t: mp.log(mp.ncdf(t)) if t < 0 else mp.log1p(-mp.ncdf(-t)),
        "logistic": lambda t: -mp.log1p(mp.exp(-t)),
        "laplace": lambda t: t - mp.log(2) if t < 0 else mp.log1p(-mp.exp(-t) / 2),
        "cauchy": lambda t: mp.log(mp.mpf(1) / 2 + mp.atan(t) / mp.pi),
        "uniform": lambda t: mp.log(min(max(t, 0), 1)) if t > 0 else -mp.inf,
    }[noise]
    for t in (-1e4, -700.0, -35.0, 35.0, 700.0, 1e4):
        got, want = (
            float(pm.noise_log_cdf(noise)(torch.tensor(t, dtype=torch.float64))),
            exact(mp.mpf(t)),
        )
        if want < -1e15 or want == -mp.inf:
            # F = 0 in any float; ours may stop at a finite, still hopeless value
            # (Gumbel: -e^50 below x = -50; normal: log F(-40) = -805 below -40)
            assert got < -800
        elif noise == "normal" and t < -40:
            assert got < -800
        else:
            assert got == pytest.approx(float(want), rel=1e-12, abs=1e-300), t
    cdf = pm.noise_cdf(noise)(torch.tensor(x)).numpy()
    assert np.allclose(cdf, dist.cdf(x), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("noise", pm.NOISES)
def test_log_cdf_gradient_finite_at_extremes(noise):
    x = torch.tensor([-1e4, -800.0, -60.0, 0.5, 60.0, 800.0, 1e4], requires_grad=True)
    (g,) = torch.autograd.grad(pm.noise_log_cdf(noise)(x).clamp(min=-1e30).sum(), x)
    assert torch.isfinite(g).all()


@pytest.mark.parametrize("noise", pm.NOISES)
def test_sampler_follows_scipy_distribution(noise):
    g = torch.Generator().manual_seed(1)
    eps = pm.sample_noise(noise, (20_000,), g).numpy()
    assert stats.kstest(eps, pm.noise_dist(noise).cdf).pvalue > ALPHA
    # power: the same test rejects a neighbouring scale
    assert stats.kstest(1.2 * eps, pm.noise_dist(noise).cdf).pvalue < 1e-6
    one = torch.zeros(1, dtype=torch.float64)  # a single entry always wins
    assert pm.perturb_max_sample(one, noise, 5).eq(0).all()


# -------------------------------------------------------------------- nodes
def test_nodes_and_weights():
    e, w = pm.noise_ppf_nodes("normal", 64)
    x, wl = np.polynomial.legendre.leggauss(64)
    assert np.allclose(e, stats.norm.ppf((x + 1) / 2), rtol=1e-13, atol=1e-14)
    assert np.allclose(w, wl / 2, rtol=1e-12) and math.isclose(w.sum(), 1.0)
    e, w = pm.noise_ppf_nodes("gumbel", 9, "post")
    assert np.allclose(e, stats.gumbel_r.ppf(np.arange(1, 10) / 10)) and np.allclose(
        w, 1 / 9
    )
    e, w = pm.noise_ppf_nodes("uniform", 4, "midpoint")
    assert np.allclose(e, [0.125, 0.375, 0.625, 0.875])
    with pytest.raises(ValueError, match="rule"):
        pm.noise_ppf_nodes("normal", 8, "simpson")
    with pytest.raises(ValueError, match="noise"):
        pm.noise_ppf_nodes("gumbel_r", 8)


# --------------------------------------------------------- quadrature vs oracles
def test_gumbel_is_softmax_within_the_error_bound():
    g = torch.Generator().manual_seed(0)
    mu = 2 * torch.randn(50, 6, generator=g, dtype=torch.float64)
    p = pm.perturb_max_probs(mu, "gumbel", 256)
    bound = pm.perturb_max_error(mu, "gumbel", 256)
    assert ((p - torch.softmax(mu, -1)).abs() <= bound).all()
    # the catalogue's figure for this mu: 256 Gauss-Legendre nodes give < 1e-8
    assert (
        pm.perturb_max_probs(MU, "gumbel", 256) - torch.softmax(MU, -1)
    ).abs().max() < 1e-8


def test_the_softmax_check_rejects_normal_and_logistic():
    for noise in ("normal", "logistic", "gumbel_min"):
        s, gap = pm.best_softmax_scale(MU[None], noise)
        bound = float(pm.perturb_max_error(MU, noise, 256, scale=s).max())
        assert gap > 1e3 * bound, (noise, gap, bound)


@pytest.mark.parametrize("noise", pm.NOISES)
def test_quadrature_matches_scipy_quad(noise):
    mu = torch.tensor([0.3, -0.4, 0.9, 0.0, -1.2], dtype=torch.float64)
    p = pm.perturb_max_probs(mu, noise, 512)
    ref = pm.perturb_max_probs_quad(mu.numpy(), noise)
    bound = pm.perturb_max_error(mu, noise, 512).numpy()
    # the oracle's own accuracy: epsabs 1e-13 per integral, 1e-11 relative
    assert np.all(np.abs(p.numpy() - ref) <= bound + 1e-10), (p, ref)


def test_library_quad_matches_an_inline_quad_in_t():
    # independent of perturb_max_probs_quad: integrate over t with scipy's ppf
    d = np.array([0.5, -0.7])  # mu_i - mu_j for the two others

    def f(t):
        return np.prod(stats.norm.cdf(d + stats.norm.ppf(t)))

    ref = integrate.quad(f, 0, 1, epsabs=1e-13, limit=200)[0]
    mu = torch.tensor([0.0, -0.5, 0.7], dtype=torch.float64)
    assert pm.perturb_max_probs_quad(mu.numpy(), "normal")[0] == pytest.approx(
        ref, abs=1e-10
    )


def test_two_entry_closed_forms():
    d = torch.linspace(-6, 6, 25, dtype=torch.float64)
    mu = torch.stack([d, torch.zeros_like(d)], -1)
    for noise in ("gumbel", "gumbel_min"):  # differences of two Gumbels are logistic
        p = pm.perturb_max_probs(mu, noise, 512)[:, 0]
        assert torch.allclose(p, torch.sigmoid(d), atol=1e-7)
    p = pm.perturb_max_probs(mu, "normal", 512)[:, 0]
    # a losing entry of light-tailed noise wins only near t = 1: the error grows with
    # the gap, and the a posteriori bound follows it
    bound = pm.perturb_max_error(mu, "normal", 512)[:, 0]
    ref = torch.tensor(stats.norm.cdf(d.numpy() / math.sqrt(2)))
    assert ((p - ref).abs() <= bound).all()
    p = pm.perturb_max_probs(mu, "logistic", 512)[:, 0]
    assert not torch.allclose(p, torch.sigmoid(d), atol=1e-3)


def test_gumbel_min_closed_form():
    g = torch.Generator().manual_seed(4)
    mu = torch.randn(20, 5, generator=g, dtype=torch.float64)
    closed = pm.gumbel_min_probs(mu)
    quad = pm.perturb_max_probs(mu, "gumbel_min", 512)
    err = pm.perturb_max_error(mu, "gumbel_min", 512)
    assert ((closed - quad).abs() <= err + 2**4 * 1e-15).all()
    assert not torch.allclose(closed, torch.softmax(mu, -1), atol=1e-2)
    with pytest.raises(ValueError, match="mu"):
        pm.gumbel_min_probs(torch.zeros(13, dtype=torch.float64))


def test_post_rule_error_predicts_the_bias():
    p = torch.softmax(MU, -1)
    for k in (100, 1000):
        q = pm.perturb_max_probs(MU, "gumbel", k, "post")
        a, h = 1 / p - 1, 1 / (k + 1)
        rem = 2 * (a * (a - 1) * (a - 2) * (a - 3) * (a - 4)).abs() * h**5 / 30240 / k
        rem = rem + 1e-15
        assert ((q - p - pm.post_rule_error(p, k)).abs() <= rem).all()
        # it loses (n - 2)/(2K) of mass to first order
        assert float(1 - q.sum()) == pytest.approx(2 / (2 * k), rel=0.05)
    # the midpoint rule has no 1/K term: the prediction is wrong for it
    q = pm.perturb_max_probs(MU, "gumbel", 1000, "midpoint")
    assert (q - p - pm.post_rule_error(p, 1000)).abs().max() > 1e-5


@pytest.mark.parametrize("noise", pm.NOISES)
def test_quantile_integrand_gauss_legendre_reproduces_probs(noise):
    mu = 1.5 * torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(5)).double()
    x, w = np.polynomial.legendre.leggauss(48)  # numpy's nodes, not the module's
    g = pm.quantile_integrand(mu, noise, (x + 1) / 2, scale=1.3)
    assert g.shape == (2, 3, 4, 48) and g.dtype == torch.float64
    p = (g * torch.tensor(w / 2)).sum(-1)
    q = pm.perturb_max_probs(mu, noise, 48, "gauss-legendre", scale=1.3)
    assert torch.allclose(p, q, rtol=0, atol=1e-13)


def test_quantile_integrand_closed_forms_and_end_values():
    t = np.linspace(0.0, 1.0, 11)
    a = (1 / torch.softmax(MU, -1) - 1)[:, None]  # Gumbel: g_i = t^a_i, eq. rd-gumbel
    g = pm.quantile_integrand(MU, "gumbel", t)
    assert torch.allclose(g, torch.tensor(t) ** a, rtol=1e-12, atol=1e-15)
    for noise in FULL_SUPPORT:  # unbounded noise: g_i(0) = 0 and g_i(1) = 1
        ends = pm.quantile_integrand(MU, noise, [0.0, 1.0])
        assert ends[:, 0].tolist() == [0.0] * 4 and ends[:, 1].tolist() == [1.0] * 4
    # uniform noise, every gap to the winner above 1: each g_i is constant 0 or 1
    g = pm.quantile_integrand(MU, "uniform", t)
    assert (g == torch.tensor([0.0, 0.0, 0.0, 1.0])[:, None]).all()
    # uniform, two logits: g_1(t) = clip(t - 0.3, 0, 1), g_2(t) = clip(t + 0.3, 0, 1)
    g = pm.quantile_integrand(torch.tensor([0.0, 0.3]).double(), "uniform", t)
    assert torch.allclose(g[0], torch.tensor(np.clip(t - 0.3, 0, 1)), atol=1e-15)
    assert torch.allclose(g[1], torch.tensor(np.clip(t + 0.3, 0, 1)), atol=1e-15)
    # float32 in, float32 out; scale is a temperature
    g32 = pm.quantile_integrand(MU.float(), "normal", t, scale=2.0)
    assert g32.dtype == torch.float32
    assert torch.allclose(g32.double(), pm.quantile_integrand(MU / 2, "normal", t))
    with pytest.raises(ValueError, match="t"):
        pm.quantile_integrand(MU, "normal", [0.5, 1.5])


def test_post_rule_first_order_is_set_by_the_end_values():
    # K (Q_K - p) -> p - (g(0) + g(1))/2 (eq. rd-post-first); the remainder is
    # (K+1) x the trapezoid error, <= h [(n-1)(n-2)/12 + 2(n-1)/8] for uniform noise
    k = 1000
    cases = [
        (
            "uniform",
            torch.tensor([0.0, 0.3, -0.5]).double(),
            (2 / 12 + 4 / 8) / (k + 1),
        ),
        ("uniform", MU, 1e-9),  # constant integrands: the rule is exact
        ("uniform", torch.tensor([0.1, -0.4, 0.6, 0.0]).double(), 1.25 / (k + 1)),
        ("cauchy", MU, 1e-3),  # unbounded: (p - 1/2), remainder O(h^a)-like
    ]
    for noise, mu, tol in cases:
        p = torch.tensor(pm.perturb_max_probs_quad(mu, noise))
        q = pm.perturb_max_probs(mu, noise, k, "post")
        ends = pm.quantile_integrand(mu, noise, [0.0, 1.0])
        assert ((k * (q - p) - (p - ends.sum(-1) / 2)).abs() <= tol + 1e-8).all()
    # the rival (p - 1/2) fails for uniform noise: the rule is exact on MU
    q = pm.perturb_max_probs(MU, "uniform", k, "post")
    assert (
        float((q - torch.tensor(pm.perturb_max_probs_quad(MU, "uniform"))).abs().max())
        < 1e-12
    )
    assert float(1 - q.sum()) == pytest.approx(0.0, abs=1e-12)


def test_renormalize_sums_to_one():
    q = pm.perturb_max_probs(MU, "normal", 50, "post", renormalize=True)
    assert float(q.sum()) == pytest.approx(1.0, abs=1e-14)


# ------------------------------------------------------------- Monte Carlo
@pytest.mark.parametrize("noise", pm.NOISES)
def test_monte_carlo_agrees_with_quadrature(noise):
    mu = torch.tensor([0.2, -0.3, 0.6, 0.0], dtype=torch.float64)
    g = torch.Generator().manual_seed(7)
    n = 200_000
    counts = _freq(pm.perturb_max_sample(mu, noise, n, generator=g), 4)
    p = pm.perturb_max_probs(mu, noise, 512).numpy()
    pos = p > 1e-12
    assert np.all(counts[~pos] == 0)
    exp = n * p[pos] / p[pos].sum()
    assert stats.chisquare(counts[pos], exp).pvalue > ALPHA


def test_monte_carlo_test_has_power():
    # the same chi-square test rejects the wrong law (softmax for normal noise)
    g = torch.Generator().manual_seed(7)
    counts = _freq(pm.perturb_max_sample(MU, "normal", 200_000, generator=g), 4)
    exp = 200_000 * torch.softmax(MU, -1).numpy()
    assert stats.chisquare(counts, exp).pvalue < 1e-10


def test_batched_sample_shape_and_scale_is_a_temperature():
    mu = torch.zeros(3, 2, 5, dtype=torch.float64)
    assert pm.perturb_max_sample(mu, "normal", 7).shape == (7, 3, 2)
    p1 = pm.perturb_max_probs(MU, "laplace", 128, scale=2.5)
    p2 = pm.perturb_max_probs(MU / 2.5, "laplace", 128)
    assert torch.allclose(p1, p2, atol=1e-15)
    g = torch.Generator().manual_seed(3)
    counts = _freq(pm.perturb_max_sample(MU, "laplace", 100_000, 2.5, g), 4)
    exp = 100_000 * p1.numpy() / p1.numpy().sum()  # p1 sums to 1 - O(1e-7)
    assert stats.chisquare(counts, exp).pvalue > ALPHA


# -------------------------------------------- relaxed samples vs gumbel_softmax
def test_hard_samples_have_the_law_of_torch_gumbel_softmax():
    n = 100_000
    logits = MU.expand(n, 4)
    torch.manual_seed(11)
    ref = torch.nn.functional.gumbel_softmax(logits, tau=1.0, hard=True)
    ours = pm.perturb_softmax(
        logits, "gumbel", hard=True, generator=torch.Generator().manual_seed(12)
    )
    table = np.stack([ref.sum(0).numpy(), ours.sum(0).numpy()])
    assert stats.chi2_contingency(table).pvalue > ALPHA
    # and both agree with softmax
    exp = n * torch.softmax(MU, -1).numpy()
    assert stats.chisquare(ours.sum(0).numpy(), exp).pvalue > ALPHA
    # power: normal noise is rejected by the same two-sample test
    other = pm.perturb_softmax(
        logits, "normal", hard=True, generator=torch.Generator().manual_seed(13)
    )
    table = np.stack([ref.sum(0).numpy(), other.sum(0).numpy()])
    assert stats.chi2_contingency(table).pvalue < 1e-10


def test_soft_samples_have_the_law_of_torch_gumbel_softmax():
    n = 20_000
    logits = MU.expand(n, 4)
    torch.manual_seed(21)
    ref = torch.nn.functional.gumbel_softmax(logits, tau=0.5)[:, 0]
    ours = pm.perturb_softmax(
        logits, tau=0.5, generator=torch.Generator().manual_seed(2)
    )
    assert stats.ks_2samp(ref.numpy(), ours[:, 0].numpy()).pvalue > ALPHA
    rival = pm.perturb_softmax(
        logits, tau=0.8, generator=torch.Generator().manual_seed(2)
    )
    assert stats.ks_2samp(ref.numpy(), rival[:, 0].numpy()).pvalue < 1e-10


def test_straight_through_gradient_is_the_soft_gradient():
    mu = MU.clone().requires_grad_()
    w = torch.arange(4.0, dtype=torch.float64)
    hard = pm.perturb_softmax(mu, hard=True, generator=torch.Generator().manual_seed(0))
    assert set(hard.detach().tolist()) <= {0.0, 1.0} and hard.sum() == 1
    (g_hard,) = torch.autograd.grad((hard * w).sum(), mu)
    soft = pm.perturb_softmax(mu, generator=torch.Generator().manual_seed(0))
    (g_soft,) = torch.autograd.grad((soft * w).sum(), mu)
    assert torch.allclose(g_hard, g_soft)


# ------------------------------------------------------- properties (hypothesis)
_vec = st.lists(st.floats(-4, 4), min_size=2, max_size=6)


@settings(max_examples=40, deadline=None)
@given(_vec, st.sampled_from(FULL_SUPPORT), st.floats(-1e4, 1e4))
def test_probability_order_and_shift_invariance(values, noise, c):
    mu = torch.tensor(values, dtype=torch.float64)
    p = pm.perturb_max_probs(mu, noise, 128)
    err = pm.perturb_max_error(mu, noise, 128)
    assert (p >= 0).all() and abs(float(p.sum()) - 1) <= float(err.sum())
    # strict order (full support): p_i > p_j whenever mu_i > mu_j by a margin
    i, j = int(mu.argmax()), int(mu.argmin())
    if mu[i] - mu[j] > 1e-3:
        assert p[i] > p[j]
    # shift: only differences enter; round-off of (mu_i + c) - (mu_j + c) is |c| eps
    shifted = pm.perturb_max_probs(mu + c, noise, 128)
    assert torch.allclose(shifted, p, atol=50 * (abs(c) + 8) * 2.3e-16)


def test_uniform_noise_breaks_strict_order():
    mu = torch.tensor([0.0, -2.0, -3.0], dtype=torch.float64)
    p = pm.perturb_max_probs(mu, "uniform", 64)
    assert p.tolist() == [1.0, 0.0, 0.0]  # p_2 = p_3 although mu_2 > mu_3


# ------------------------------------------------------------- numerics
@pytest.mark.parametrize("noise", pm.NOISES)
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16])
def test_large_gaps_and_low_precision(noise, dtype):
    mu = torch.tensor([0.0, 1e4, -1e4, 3.0], dtype=dtype, requires_grad=True)
    if dtype == torch.float16:
        mu = torch.tensor([0.0, 6e4, -6e4, 3.0], dtype=dtype, requires_grad=True)
    p = pm.perturb_max_probs(mu, noise, 64)
    assert p.dtype == dtype and torch.isfinite(p).all()
    (g,) = torch.autograd.grad((p * torch.arange(4.0, dtype=dtype)).sum(), mu)
    p = p.detach().double()
    # Cauchy's heavy tails leave each loser P ~ 1/(pi gap) (1.6e-5 for the last, by
    # an adaptive quad), which 64 nodes do not resolve; the others give exact 0 and 1
    assert float(p[1]) == pytest.approx(1.0, abs=1e-3)
    if noise != "cauchy":
        assert p.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert torch.isfinite(g).all()


@pytest.mark.parametrize("noise", pm.NOISES)
def test_float32_against_float64(noise):
    mu = torch.tensor([[1.0, 0.5, -0.3, 2.0], [0.0, 30.0, -30.0, 1.0]])
    p32 = pm.perturb_max_probs(mu, noise, 64)
    p64 = pm.perturb_max_probs(mu.double(), noise, 64)
    assert torch.allclose(p32.double(), p64, atol=2e-6)


@pytest.mark.parametrize("noise", FULL_SUPPORT)
def test_gradcheck(noise):
    mu = torch.tensor([0.4, -0.2, 1.1], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda m: pm.perturb_max_probs(m, noise, 16), (mu,))


def test_gradcheck_uniform_away_from_kinks():
    # gaps chosen so that no node e_k + mu_i - mu_j sits on a kink (0 or 1)
    mu = torch.tensor([0.4, 0.137, 0.913], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda m: pm.perturb_max_probs(m, "uniform", 7), (mu,)
    )


def test_gumbel_jacobian_is_softmax_jacobian():
    jac = torch.autograd.functional.jacobian(
        lambda m: pm.perturb_max_probs(m, "gumbel", 512), MU
    )
    p = torch.softmax(MU, -1)
    assert torch.allclose(jac, torch.diag(p) - torch.outer(p, p), atol=1e-9)


def test_dim_argument_and_batches():
    mu = torch.randn(4, 3, 2, generator=torch.Generator().manual_seed(0)).double()
    p = pm.perturb_max_probs(mu, "normal", 32, dim=1)
    q = pm.perturb_max_probs(mu.transpose(1, 2), "normal", 32).transpose(1, 2)
    assert torch.allclose(p, q, atol=1e-15)
    assert torch.allclose(
        pm.gumbel_min_probs(mu, dim=1).sum(1), torch.ones(4, 2).double()
    )


def test_best_scale():
    s, gap = pm.best_softmax_scale(MU[None], "gumbel")
    assert s == pytest.approx(1.0, abs=1e-3) and gap < 1e-6
    s, gap = pm.best_softmax_scale(MU[None], "normal")
    assert 1.0 < s < 1.6 and gap > 5e-3
    with pytest.raises(TypeError, match="bounds"):
        pm.best_softmax_scale(MU[None], "normal", bounds=[0.1, 2])
    with pytest.raises(ValueError, match="bounds"):
        pm.best_softmax_scale(MU[None], "normal", bounds=(2.0, 1.0))


def test_errors_name_the_argument():
    with pytest.raises(TypeError, match="mu"):
        pm.perturb_max_probs(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="mu"):
        pm.perturb_max_probs(torch.tensor([1.0, math.nan]))
    with pytest.raises(ValueError, match="dim"):
        pm.perturb_max_probs(MU, dim=1)
    with pytest.raises(ValueError, match="p"):
        pm.post_rule_error(torch.tensor([0.0, 1.0]), 10)
    with pytest.raises(ValueError, match="mu"):
        pm.perturb_max_probs_quad([[1.0, 2.0]])
