"""Tests of kexue.diffusion.sde_study (sde chapter): each against an independent
computation."""

import math

import kexue.diffusion as kd
import pytest
import torch
from kexue import data, metrics
from kexue.diffusion import sde_study

VP = kd.VPSchedule()
RING = data.ring_mixture(8, radius=2.0, std=0.15)


def test_moment_gaussian_matches_sample_moments():
    g = sde_study.moment_gaussian(RING)
    x = RING.sample(200_000, generator=torch.Generator().manual_seed(0))
    cov = torch.cov(x.T)
    # closed form for the ring: (r^2/2 + s^2) I
    eye = torch.eye(2, dtype=torch.float64)
    assert torch.allclose(g.covs[0], (2.0**2 / 2 + 0.15**2) * eye, atol=1e-12)
    # sample covariance within ~5 s.e. (s.e. of a variance ~ var * sqrt(2/n))
    assert torch.allclose(cov, g.covs[0], atol=5 * 2.02 * math.sqrt(2 / 2e5))
    assert torch.allclose(g.means[0], torch.zeros(2, dtype=torch.float64), atol=1e-12)


def test_score_errors_exact_model_and_gaussian_data():
    gen = torch.Generator().manual_seed(1)
    r = sde_study.score_errors(RING.eps_model(VP), RING, VP, (0.2, 0.7), 4000, gen)
    for row in r.values():
        assert row["net"] < 1e-20  # the exact predictor has no error
        assert row["se_diff"] > 0
    assert r[0.2]["gauss"] > 0.3 and r[0.7]["gauss"] < 0.01  # the rival's profile
    # for Gaussian data the moment-matched rival is exact
    one = data.GaussianMixture([[0.5, -1.0]], [0.3])
    r1 = sde_study.score_errors(one.eps_model(VP), one, VP, [0.3], 2000, gen)
    assert r1[0.3]["gauss"] < 1e-20
    # target error against the closed form E|eps - eps*|^2 / E|eps*|^2 via x0 posterior
    assert r1[0.3]["target"] > 0


def test_one_mode_spread_against_simulation():
    one = data.GaussianMixture([[1.0]], [0.15**2])
    z = one.marginal(1.0, VP).sample(40_000, generator=torch.Generator().manual_seed(2))
    for steps, spacing in ((10, "uniform"), (20, "uniform"), (10, "quadratic")):
        x, _ = kd.reverse_sde_sample(
            one.eps_model(VP),
            z,
            VP,
            steps=steps,
            spacing=spacing,
            generator=torch.Generator().manual_seed(3),
        )
        sim = float(x.std()) / 0.15
        pred = sde_study.one_mode_spread(VP, steps, 0.15, spacing)["ratio"]
        # s.e. of a std ratio from n samples: ratio / sqrt(2 n)
        assert abs(sim - pred) < 5 * max(sim, pred) / math.sqrt(2 * len(z)) + 1e-3


def test_few_step_spreads_matches_direct_calls():
    z = RING.marginal(1.0, VP).sample(300, generator=torch.Generator().manual_seed(4))
    oracle = RING.eps_model(VP)
    r = sde_study.few_step_spreads(oracle, z, VP, RING.means, 0.15, (10,), seeds=(5,))
    x, _ = kd.reverse_sde_sample(
        oracle, z, VP, steps=10, generator=torch.Generator().manual_seed(5)
    )
    assert r[10]["sde"][0] == metrics.mode_stats(x, RING.means, 0.15)
    xo, _ = kd.pf_ode_sample(oracle, z, VP, method="euler", steps=10)
    assert r[10]["ode"] == metrics.mode_stats(xo, RING.means, 0.15)


def test_sampler_sw_shapes_and_exact_model():
    su = kd.VPSchedule.su_quadratic()
    two = data.GaussianMixture([[1.0, 0.0], [-1.0, 0.0]], [0.1, 0.1])
    x_test = two.sample(200, generator=torch.Generator().manual_seed(6))
    r = sde_study.sampler_sw(two.eps_model(su), su, x_test, 100, seeds=(0, 1))
    assert set(r) >= {"DDPM, 500 steps", "SDE Euler-Maruyama, 500", "ODE euler, 20"}
    for row in r.values():
        assert len(row["sw"]) == 2 and all(0 <= v < 0.5 for v in row["sw"])


@pytest.mark.parametrize(
    "call",
    [
        lambda: sde_study.moment_gaussian("ring"),
        lambda: sde_study.score_errors(None, RING, VP, [0.2]),
        lambda: sde_study.score_errors(RING.eps_model(VP), RING, VP, []),
        lambda: sde_study.score_errors(RING.eps_model(VP), RING, VP, [2.0]),
        lambda: sde_study.one_mode_spread(VP, 0, 0.15),
        lambda: sde_study.one_mode_spread("vp", 10, 0.15),
        lambda: sde_study.one_mode_spread(VP, 10, -1.0),
    ],
)
def test_bad_input(call):
    with pytest.raises((ValueError, TypeError)):
        call()


def test_few_step_spreads_batched_is_stacked_call():
    z = RING.marginal(1.0, VP).sample(200, generator=torch.Generator().manual_seed(4))
    oracle = RING.eps_model(VP)
    r = sde_study.few_step_spreads(
        oracle, z, VP, RING.means, 0.15, (10,), seeds=(5, 6), batched=True
    )
    x, _ = kd.reverse_sde_sample(
        oracle, z.repeat(2, 1), VP, steps=10, generator=torch.Generator().manual_seed(5)
    )
    for j, block in enumerate(x.chunk(2)):
        assert r[10]["sde"][j] == metrics.mode_stats(block, RING.means, 0.15)
    with pytest.raises(TypeError, match="batched"):
        sde_study.few_step_spreads(oracle, z, VP, RING.means, 0.15, (3,), batched=1)


def test_sampler_sw_batched_blocks_and_options():
    su = kd.VPSchedule.su_quadratic()
    two = data.GaussianMixture([[1.0, 0.0], [-1.0, 0.0]], [0.1, 0.1])
    x_test = two.sample(200, generator=torch.Generator().manual_seed(6))
    kw = dict(ddpm_steps=None, sde_steps=(20,), ode_runs=(("euler", 10),))
    r = sde_study.sampler_sw(
        two.eps_model(su), su, x_test, 50, (0, 1, 2), batched=True, **kw
    )
    assert set(r) == {"SDE Euler-Maruyama, 20", "ODE euler, 10"}
    z = torch.randn(150, 2, generator=torch.Generator().manual_seed(100))
    xo, _ = kd.pf_ode_sample(two.eps_model(su), z, su, method="euler", steps=10)
    expect = [metrics.sliced_wasserstein(b, x_test) for b in xo.split(50)]
    assert r["ODE euler, 10"]["sw"] == expect
    with pytest.raises(ValueError, match="ode_runs"):
        sde_study.sampler_sw(two.eps_model(su), su, x_test, 50, ode_runs=(("rk4", 5),))


def test_score_errors_se_net_is_the_per_sample_standard_error():
    oracle = RING.eps_model(VP)

    def wrong(x, t):  # the exact predictor at the wrong time: a per-sample error
        return oracle(x, 0.5 * t)

    r = sde_study.score_errors(
        wrong, RING, VP, [0.3], 3000, torch.Generator().manual_seed(8)
    )
    gen = torch.Generator().manual_seed(8)  # the same draws, recomputed here
    xt, _ = VP.perturb(RING.sample(3000, generator=gen), 0.3, generator=gen)
    exact, b = RING.score_t(xt, 0.3, VP), float(VP.noise(0.3))
    t = torch.full((3000,), 0.3, dtype=torch.float64)
    per = ((-wrong(xt, t) / b - exact) ** 2).sum(1) / (exact**2).sum(1).mean()
    assert math.isclose(r[0.3]["net"], float(per.mean()), rel_tol=1e-9)
    assert math.isclose(
        r[0.3]["se_net"], float(per.std()) / math.sqrt(3000), rel_tol=1e-9
    )
    assert r[0.3]["se_net"] > 0
