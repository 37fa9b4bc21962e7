"""kexue.diffusion.DiscreteSchedule against diffusers' schedulers, its identities, and
its errors."""

import math

import pytest
import torch
from kexue.diffusion import DiscreteSchedule

diffusers = pytest.importorskip("diffusers")


@pytest.mark.parametrize(
    "name, ours",
    [
        ("linear", DiscreteSchedule.linear),
        ("squaredcos_cap_v2", DiscreteSchedule.cosine),
    ],
)
def test_alphas_cumprod_match_diffusers(name, ours):
    ref = diffusers.DDPMScheduler(
        num_train_timesteps=1000, beta_schedule=name
    ).alphas_cumprod
    got = ours(1000).alphas_cumprod
    assert got.shape == ref.shape
    torch.testing.assert_close(got.float(), ref, atol=1e-6, rtol=1e-5)


def test_signal_noise_conventions():
    s = DiscreteSchedule.linear()
    assert s.signal[0] == 1 and s.noise[0] == 0
    torch.testing.assert_close(s.signal[1:] ** 2, s.alphas_cumprod, atol=0, rtol=1e-15)
    torch.testing.assert_close(
        s.signal**2 + s.noise**2, torch.ones(1001, dtype=torch.float64)
    )
    assert torch.all(s.signal[1:] < s.signal[:-1])


def test_su_linear_is_close_to_exp_quadratic():
    s = DiscreteSchedule.su_linear(1000)
    u = torch.arange(1001, dtype=torch.float64) / 1000
    assert float((s.signal - torch.exp(-5 * u**2)).abs().max()) < 2e-3
    t = torch.arange(1, 1001, dtype=torch.float64)
    assert torch.all(s.signal[1:].log() < -0.005 * t * (t + 1) / 1000)


def test_posterior_variance_matches_diffusers():
    from diffusers_oracle import ddpm_scheduler

    sch = ddpm_scheduler()
    ours = DiscreteSchedule(sch.alphas_cumprod)
    for k in [1, 2, 10, 500, 999]:
        torch.testing.assert_close(
            ours.posterior_var(k + 1),
            sch._get_variance(k).double(),
            atol=1e-14,
            rtol=1e-10,
        )


def test_leading_timesteps_match_diffusers():
    sch = diffusers.DDIMScheduler(num_train_timesteps=1000)
    for n in [10, 50, 1000]:
        sch.set_timesteps(n)
        assert DiscreteSchedule.linear().timesteps(n, "leading") == [
            int(k) + 1 for k in sch.timesteps
        ] + [0]


@pytest.mark.parametrize("spacing", ["uniform", "leading", "quadratic"])
@pytest.mark.parametrize("steps", [1, 5, 50, 1000])
def test_timesteps_are_valid(spacing, steps):
    s = DiscreteSchedule.linear()
    ts = s.timesteps(steps, spacing)
    assert s.validate_timesteps(ts) == ts
    assert len(ts) - 1 <= steps
    if spacing == "uniform":
        assert ts[0] == 1000 and len(ts) == steps + 1


def test_ddim_sigma_formula_and_ddpm_limit():
    s = DiscreteSchedule.cosine(200)
    i, j = 150, 90
    expected = (
        s.noise[j] / s.noise[i] * torch.sqrt(1 - (s.signal[i] / s.signal[j]) ** 2)
    )
    torch.testing.assert_close(s.ddim_sigma(i, j, 0.7), 0.7 * expected)
    # eta = 1 on consecutive steps: DDPM's posterior std  bbar_{t-1} beta_t / bbar_t
    beta = math.sqrt(1 - float(s.signal[i] / s.signal[i - 1]) ** 2)
    assert math.isclose(
        float(s.ddim_sigma(i, i - 1)),
        float(s.noise[i - 1]) * beta / float(s.noise[i]),
        rel_tol=1e-12,
    )


@pytest.mark.parametrize(
    "bad, match",
    [
        ([0.9, 0.0], r"\(0, 1\]"),
        ([1.2, 0.5], r"\(0, 1\]"),
        ([0.5, float("nan")], r"\(0, 1\]"),
        ([0.5, 0.9], "non-increasing"),
        ([], "non-empty"),
        ([[0.5]], "1-D"),
    ],
)
def test_bad_alphas_cumprod(bad, match):
    with pytest.raises(ValueError, match=match):
        DiscreteSchedule(bad)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: DiscreteSchedule.from_betas([0.1, 1.0]), ValueError, r"\[0, 1\)"),
        (lambda: DiscreteSchedule.linear(0), ValueError, "T must be >= 1"),
        (lambda: DiscreteSchedule.linear(10.5), TypeError, "T must be an int"),
        (lambda: DiscreteSchedule.linear(beta_start=-1.0), ValueError, "beta_start"),
        (lambda: DiscreteSchedule.cosine(max_beta=1.0), ValueError, "max_beta"),
        (lambda: DiscreteSchedule(["a"]), TypeError, "alphas_cumprod"),
        (
            lambda: DiscreteSchedule.linear().timesteps(0),
            ValueError,
            "steps must be >= 1",
        ),
        (
            lambda: DiscreteSchedule.linear().timesteps(2000),
            ValueError,
            "steps must be <= 1000",
        ),
        (
            lambda: DiscreteSchedule.linear().timesteps(10, "cosine"),
            ValueError,
            "spacing must be one of",
        ),
        (
            lambda: DiscreteSchedule.linear().validate_timesteps([500, 600, 0]),
            ValueError,
            "strictly decreasing",
        ),
        (
            lambda: DiscreteSchedule.linear().validate_timesteps([1001, 0]),
            ValueError,
            r"\[0, 1000\]",
        ),
        (
            lambda: DiscreteSchedule.linear().validate_timesteps([500, 100]),
            ValueError,
            "end at 0",
        ),
        (
            lambda: DiscreteSchedule.linear().validate_timesteps([500]),
            ValueError,
            "at least two",
        ),
        (
            lambda: DiscreteSchedule.linear().validate_timesteps([500.5, 0]),
            TypeError,
            "int",
        ),
        (lambda: DiscreteSchedule.linear().ddim_sigma(5, 5), ValueError, "j < i"),
        (
            lambda: DiscreteSchedule.linear().ddim_sigma(5, 4, -0.1),
            ValueError,
            "eta must be >= 0",
        ),
        (lambda: DiscreteSchedule.linear().t_of(1001), ValueError, "i must be <= 1000"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
