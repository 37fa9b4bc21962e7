"""Tests of kexue.diffusion.heat, .construction, .testfn (ode-direct, ode-construction,
test-functions chapters): each against an independent computation or a closed form."""

import math

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue import data, metrics
from kexue.diffusion import construction, fields, heat, testfn
from scipy import stats


def test_mixture_log_prob_t_matches_marginal_and_is_differentiable_in_t():
    ring = data.ring_mixture(8, radius=2.0, std=0.15)
    sched = kd.HeatSchedule(t_max=20.0)
    x = torch.randn(
        50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    t = torch.full((50,), 0.7, dtype=torch.float64, requires_grad=True)
    lp = heat.mixture_log_prob_t(ring, x, t)
    torch.testing.assert_close(lp.detach(), ring.marginal(0.7, sched).log_prob(x))
    (d_t,) = torch.autograd.grad(lp.sum(), t)
    h = 1e-5
    fd = (
        ring.marginal(0.7 + h, sched).log_prob(x)
        - ring.marginal(0.7 - h, sched).log_prob(x)
    ) / (2 * h)
    torch.testing.assert_close(d_t, fd, atol=1e-6, rtol=1e-6)


def test_mixture_log_prob_t_rejects_full_covariances():
    mix = data.GaussianMixture([[0.0, 0.0]], [[[1.0, 0.5], [0.5, 1.0]]])
    with pytest.raises(ValueError, match="mix"):
        heat.mixture_log_prob_t(mix, torch.zeros(3, 2), torch.ones(3))


def test_prior_kl_gaussian_data_closed_form():
    # data N(0, s^2 I): p_T = N(0, (s^2 + sigma^2) I); KL of two isotropic Gaussians
    s2, sigma, d = 0.8, 1.5, 2
    mix = data.GaussianMixture([[0.0, 0.0]], [s2])
    v = sigma**2 + s2
    exact = d / 2 * (sigma**2 / v - 1 + math.log(v / sigma**2))
    assert heat.prior_kl(mix, sigma) == pytest.approx(exact, rel=1e-9)
    mix1 = data.GaussianMixture([[0.0]], [s2])
    assert heat.prior_kl(mix1, sigma) == pytest.approx(exact / 2, rel=1e-9)


def test_nn_gap_sees_copies_and_not_fresh_draws():
    train, held = data.moons(300, seed=0).double(), data.moons(300, seed=1).double()
    copies = heat.nn_gap(train[:200] + 1e-4, train, held)
    assert copies["on_train"] == 1.0 and copies["z"] < -10
    fresh = heat.nn_gap(data.moons(1000, seed=2).double(), train, held)
    assert abs(fresh["z"]) < 4
    with pytest.raises(ValueError, match="held_out"):
        heat.nn_gap(train, train, held[:10])


def test_copy_excess_matches_nn_gap_and_scales_with_copies():
    train, ref = data.moons(300, seed=0).double(), data.moons(4000, seed=1).double()
    helds = [data.moons(300, seed=k).double() for k in range(10, 16)]
    fresh = data.moons(4000, seed=2).double()
    idx = torch.randint(0, 300, (4000,), generator=torch.Generator().manual_seed(3))
    ex = heat.copy_excess(
        {"fresh": fresh, "copies": train[idx]}, train, ref, helds, idx, shares=(0.2,)
    )
    # independent: nn_gap on one held-out set, the sampler's gap less the reference's
    want = heat.nn_gap(fresh, train, helds[2])["gap"]
    want -= heat.nn_gap(ref, train, helds[2])["gap"]
    assert float(ex["fresh"][2]) == pytest.approx(want, abs=1e-12)
    full = float(ex["copies"].mean())
    assert full < 0 and abs(float(ex["fresh"].mean())) < 0.05 * abs(full)
    # 20% of the same copies: 0.2 x the full-copy excess, up to which 800 are drawn
    assert float(ex["20% copies"].mean()) / full == pytest.approx(0.2, abs=0.03)
    with pytest.raises(ValueError, match="held_sets"):
        heat.copy_excess({"f": fresh}, train, ref, [train[:10]], idx)
    with pytest.raises(ValueError, match="copy_idx"):
        heat.copy_excess({"f": fresh}, train, ref, helds, idx[:10])
    with pytest.raises(TypeError, match="samples"):
        heat.copy_excess([fresh], train, ref, helds, idx)


def test_log_time_net_and_times():
    net = heat.LogTimeNet(torch.nn.Linear(3, 2), 1e-3, 20.0)
    net.net = type(
        "N", (torch.nn.Module,), {"forward": lambda self, x, tau: x * tau[:, None]}
    )()
    x = torch.ones(4, 2)
    t = torch.tensor([1e-3, 1.0, 20.0, 0.1])
    out = net(x, t)
    tau = torch.log(t / 1e-3) / math.log(20.0 / 1e-3)
    torch.testing.assert_close(out, x / torch.sqrt(1 + t[:, None] ** 2) * tau[:, None])
    tt = heat.log_uniform_times(10_000, 1e-3, 20.0, torch.Generator().manual_seed(0))
    assert tt.min() >= 1e-3 and tt.max() <= 20.0
    # log t uniform: KS against the uniform law on [log t_min, log t_max]
    a, b = math.log(1e-3), math.log(20.0)
    assert (
        stats.kstest(torch.log(tt).numpy(), stats.uniform(a, b - a).cdf).pvalue > 1e-3
    )
    with pytest.raises(ValueError, match="t_min"):
        heat.log_uniform_times(3, 2.0, 1.0)


def test_train_sizes_is_the_device_preset_and_float32_net_keeps_float64_io():
    from kexue import device, nn

    for which in ("cpu", "gpu"):
        sizes = device.preset("ode-direct", which)
        assert {"train_steps", "hidden", "batch", "lr", "n_gen", "n_copy"} <= set(sizes)
    assert heat.train_sizes() == device.preset("ode-direct")
    # the chapter trains float32 weights on float64 data: the wrapper must return
    # float64, equal to the float64 copy of the same weights to float32 precision
    net = heat.LogTimeNet(nn.TimeMLP(dim=2, hidden=8, depth=2), 1e-3, 20.0)
    x = torch.randn(
        5, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    t = torch.tensor([1e-3, 0.01, 0.5, 3.0, 20.0], dtype=torch.float64)
    out32 = net(x, t)
    assert out32.dtype == torch.float64
    torch.testing.assert_close(out32, net.double()(x, t), atol=1e-5, rtol=1e-5)


def test_empirical_log_prob_t_is_the_kernel_mixture():
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.5]], dtype=torch.float64)
    x = torch.randn(
        20, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    t = torch.full((20,), 0.3, dtype=torch.float64)
    lp = construction.empirical_log_prob_t(x, t, pts, fields.GaussianKernel())
    # the Gaussian kernel's log_q omits log(2 pi); add it back and compare with scipy
    ref = np.log(
        np.mean(
            [
                stats.multivariate_normal(p.numpy(), 0.09 * np.eye(2)).pdf(x.numpy())
                for p in pts
            ],
            axis=0,
        )
    )
    np.testing.assert_allclose(lp.numpy() - math.log(2 * math.pi), ref, rtol=1e-10)


def test_landing_uniformity_rejects_a_collapse():
    train = data.moons(100, seed=0).double()
    uniform = train[
        torch.randint(0, 100, (500,), generator=torch.Generator().manual_seed(0))
    ]
    assert construction.landing_uniformity(uniform, train)["p"] > 1e-3
    collapsed = train[
        torch.randint(0, 10, (500,), generator=torch.Generator().manual_seed(0))
    ]
    assert construction.landing_uniformity(collapsed, train)["p"] < 1e-3


def test_landing_count_terms():
    pts = torch.tensor([[0.0, 0.0], [3.0, 0.0]], dtype=torch.float64)
    k = fields.GaussianKernel()
    x_T = fields.prior_sample(
        pts, 5.0, k, 40, generator=torch.Generator().manual_seed(0)
    )
    out, _ = fields.scale_ode_sample(pts, k, x_T, 5.0, t_min=1e-3)
    c = construction.landing_count(pts, k, x_T, out, 5.0, 0.01, t_min=1e-3, n_check=8)
    # Gaussian tail beyond 10 sigma: expected ~ 0, exact region [0, 0]
    assert c["off"] == 0 and c["expected"] < 1e-15 and c["binom"] < 1e-15
    assert c["tol"] == c["binom"] + c["flips"] and 0 <= c["flips"] <= 8
    # samples moved off the data are all counted; Poisson kernel: a wide region
    far = out + 1.0
    c = construction.landing_count(pts, k, x_T, far, 5.0, 0.01, t_min=1e-3, n_check=4)
    assert c["off"] == 40 and c["flips"] == 4  # the re-solved points land back on
    cp = construction.landing_count(
        pts, fields.PoissonKernel(), x_T, out, 5.0, 0.01, t_min=1e-3, n_check=1
    )
    p_off = 1 / math.sqrt(101)  # d = 2 Cauchy: P(|z| > 10)
    assert cp["expected"] == pytest.approx(40 * p_off)
    lo, hi = stats.binom(40, p_off).ppf([5e-5, 1 - 5e-5])
    assert cp["binom"] == pytest.approx(max(hi - 40 * p_off, 40 * p_off - lo))


def test_lambda_flow_1d_conserves_the_stream_function():
    x0 = torch.randn(
        3000, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    free = construction.lambda_flow_1d(x0, 0.0, t0=1.0, t1=2.0)
    torch.testing.assert_close(free, 2 * x0, atol=1e-9, rtol=1e-9)  # x / t: x_t = t z
    lam = 0.1
    sunk = construction.lambda_flow_1d(x0, lam, t0=1.0, t1=2.0)
    v = torch.erf(x0.abs() / math.sqrt(2)) - lam  # psi_1(|x0|) - lam' (t1 - t0)
    alive = v > 1e-3
    pred = 2 * math.sqrt(2) * torch.erfinv(v[alive])  # psi_2^{-1}
    torch.testing.assert_close(sunk.abs()[alive], pred, atol=1e-4, rtol=1e-4)  # RK4
    assert float(sunk.abs()[v < 0].max()) < 2e-3  # swallowed by the sink at 0
    assert torch.equal(torch.sign(sunk[alive]), torch.sign(x0[alive]))


def test_kernel_paths_are_monotone_in_one_dimension():
    pts = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    t, xs = construction.kernel_paths_1d(
        pts, fields.GaussianKernel(), T=3.0, n_paths=20
    )
    order = torch.argsort(xs[0])
    assert bool((xs[:, order].diff(dim=1) >= -1e-9).all())  # paths never cross
    assert t[0] == pytest.approx(3.0) and t[-1] == pytest.approx(1e-3)


def test_grid_density_sampler_and_l1():
    grid = np.linspace(-5, 5, 2001)
    p = stats.norm.pdf(grid, 0.5, 0.7)
    x = testfn.sample_grid_density(p, grid, 20_000, seed=0)
    assert stats.kstest(x, stats.norm(0.5, 0.7).cdf).pvalue > 1e-3
    q = stats.norm.pdf(grid, 0.6, 0.7)
    exact = 2 * (2 * stats.norm.cdf(0.05 / 0.7) - 1)  # L1 of two shifted Gaussians
    assert testfn.density_l1(p, q, grid) == pytest.approx(exact, rel=1e-4)


def test_noise_floor_has_the_law_of_histogrammed_samples():
    # the multinomial floor against histograms of actual samples from the same law
    grid = np.linspace(-3, 3, 401)
    p = stats.norm.pdf(grid, -1, 0.3)
    fast = testfn.histogram_noise_floor(p, grid, 5000, draws=2000, seed=1)
    slow = np.array(
        [
            metrics.histogram_l1(
                testfn.sample_grid_density(p, grid, 5000, k), p, grid=grid
            )
            for k in range(400)
        ]
    )
    se = np.hypot(fast.std() / 2000**0.5, slow.std() / 400**0.5)
    assert abs(fast.mean() - slow.mean()) < 4 * se
    assert 0.85 < fast.std() / slow.std() < 1.15  # sd of a 400-draw sd: about 4 %


def test_noise_floor_tends_to_the_binning_bias_and_ignores_mass_outside():
    # with n -> infinity only the deterministic bin-average vs bin-centre error is left;
    # half of this law lies right of value_range, and the floor renormalises like
    # np.histogram(density=True) over the bins
    grid = np.linspace(-2, 4, 601)
    p = stats.norm.pdf(grid, 1.0, 0.5)
    edges = np.linspace(-2, 1, 31)
    mass = np.diff(stats.norm.cdf(edges, 1.0, 0.5))
    centres = (edges[1:] + edges[:-1]) / 2
    exact = np.abs(mass / mass.sum() / 0.1 - stats.norm.pdf(centres, 1.0, 0.5)).sum()
    floor = testfn.histogram_noise_floor(
        p, grid, 10**12, draws=3, bins=30, value_range=(-2.0, 1.0)
    )
    np.testing.assert_allclose(floor, exact * 0.1, rtol=1e-3)


def test_weak_form_on_a_straight_path_is_the_trapezoid_rule():
    # x_t = t on [0, 1], two identical particles: phi = x^2 gives phi(x_1) - phi(x_0)
    # = 1, int f phi' dt = int 2t dt = 1 for f = 1 (trapezoid exact on linear), and
    # int g2 phi'' dt = 2 g2: with f = 0 the coefficient is 1 / (2 g2)
    t = torch.linspace(0, 1, 11, dtype=torch.float64)
    paths = torch.stack([t, t], dim=1)
    phi = (lambda y: y**2, lambda y: 2 * y, lambda y: 2 + 0 * y)
    one = lambda x, t: torch.ones_like(x)  # noqa: E731
    zero = lambda x, t: torch.zeros_like(x)  # noqa: E731
    assert testfn.weak_form_gap(paths, 0.1, one, 0.0, phi) == pytest.approx((0, 0))
    assert testfn.weak_form_gap(paths, 0.1, zero, 1.0, phi) == pytest.approx((0, 0))
    c = testfn.weak_form_coefficient(paths, 0.1, zero, 0.25, phi)
    assert c == pytest.approx((2.0, 0.0))


def test_weak_form_on_ou_particles_gives_one_half():
    x0 = 0.5 * torch.randn(
        20_000, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    gen = torch.Generator().manual_seed(1)
    paths = kd.simulate_sde(
        lambda x, t: -x, 1.0, x0, dt=1e-3, steps=1000, save_every=10, generator=gen
    )[:, :, 0]
    kw = dict(dt_saved=1e-2, drift=lambda x, t: -x, g2=1.0)
    for phi in (
        (lambda y: y**2, lambda y: 2 * y, lambda y: 2 + 0 * y),
        (torch.cos, lambda y: -torch.sin(y), lambda y: -torch.cos(y)),
    ):
        gap, se = testfn.weak_form_gap(paths, phi=phi, **kw)
        assert abs(gap) < 4 * se
        c, c_se = testfn.weak_form_coefficient(paths, phi=phi, **kw)
        assert abs(c - 0.5) < 4 * c_se and c_se < 0.01
        assert testfn.weak_form_gap(paths, phi=phi, coef=c, **kw)[0] == pytest.approx(
            0.0, abs=1e-12
        )
        assert abs(testfn.weak_form_gap(paths, phi=phi, coef=1.0, **kw)[0]) > 20 * se


def test_pf_ode_particles_follow_the_ou_law():
    # OU dx = -x dt + g dw from N(0, 0.5^2): p_t = N(0, v_t),
    # v_t = 0.25 e^-2t + g^2/2 (1 - e^-2t)
    g2, grid = 1.0, np.linspace(-6, 6, 1201)
    times = np.linspace(0, 1, 101)
    v = 0.25 * np.exp(-2 * times) + g2 / 2 * (1 - np.exp(-2 * times))
    P = np.stack([stats.norm.pdf(grid, 0, np.sqrt(vk)) for vk in v])
    x0 = np.random.default_rng(0).normal(0, 0.5, 5000)
    xs = testfn.pf_ode_particles_1d(lambda x, t: -x, g2, x0, grid, times, P)
    # the flow map is linear: x_t = x_0 sqrt(v_t / v_0)
    np.testing.assert_allclose(xs[-1], x0 * np.sqrt(v[-1] / v[0]), rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_radial_cdf_and_pdf_match_samplers_and_each_other(d):
    from scipy import integrate

    kernels = [
        fields.GaussianKernel(),
        fields.PoissonKernel(),
        fields.RadialCDFKernel("exp"),
        fields.RadialCDFKernel("tanh"),
    ]
    for k in kernels:
        z = k.sample_z(20_000, d, torch.Generator().manual_seed(d)).norm(dim=1)
        p = stats.kstest(z.numpy(), lambda r, k=k: construction.radial_cdf(k, r, d))
        assert p.pvalue > 1e-3, k.name
        for r in (0.3, 1.0, 4.0):  # the pdf is the derivative of the cdf
            area = integrate.quad(lambda u, k=k: construction.radial_pdf(k, u, d), 0, r)
            cdf = construction.radial_cdf(k, r, d)
            assert area[0] == pytest.approx(float(cdf), abs=1e-9), k.name
    # Poisson = multivariate Cauchy: |z|^2 / d ~ F(d, 1) (scipy), a different route
    r = np.array([0.2, 1.0, 7.0])
    ref = stats.f(d, 1).cdf(r**2 / d)
    got = construction.radial_cdf(fields.PoissonKernel(), r, d)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_prior_tv_sees_a_shift_and_vanishes_for_one_point_at_zero():
    k = fields.PoissonKernel()
    origin = torch.zeros(1, 2, dtype=torch.float64)
    tv0, _ = construction.prior_tv(origin, 5.0, k, 500, 0)
    assert tv0 == pytest.approx(0.0, abs=1e-12)  # p_T is the centred prior
    shifted = torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    g = fields.GaussianKernel()
    tv, se = construction.prior_tv(shifted, 5.0, g, 4000, 0)
    # two Gaussians N(0, 25 I) and N(e1, 25 I): TV = 2 Phi(1/10) - 1
    exact = 2 * stats.norm.cdf(0.1) - 1
    assert abs(tv - exact) < 4 * se
