"""DDIM and DDPM samplers: step-by-step agreement with diffusers, identities, inversion,
shapes, errors."""

import kexue.diffusion as kd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from kexue.data import GaussianMixture

pytest.importorskip("diffusers")
from diffusers_oracle import ddim_scheduler, ddpm_scheduler  # noqa: E402


def _state(seed, shape=(4, 3, 5)):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, generator=g, dtype=torch.float64) for _ in range(3)]


@pytest.mark.parametrize("n_steps", [10, 50, 1000])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
def test_ddim_step_matches_diffusers(n_steps, eta):
    sch = ddim_scheduler()
    ours = kd.DiscreteSchedule(sch.alphas_cumprod)
    sch.set_timesteps(n_steps)
    ks = [int(k) for k in sch.timesteps]
    for n in sorted({0, 1, len(ks) // 2, len(ks) - 2, len(ks) - 1}):
        x, eps, z = _state(n)
        k = ks[n]
        ref = sch.step(eps, k, x, eta=eta, variance_noise=z)
        i, j = k + 1, (ks[n + 1] + 1 if n + 1 < len(ks) else 0)
        got, x0 = kd.ddim_step(x, eps, i, j, ours, eta=eta, noise=z)
        torch.testing.assert_close(got, ref.prev_sample, atol=1e-10, rtol=1e-10)
        torch.testing.assert_close(x0, ref.pred_original_sample, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize(
    "variance_type, var", [("fixed_small", "posterior"), ("fixed_large", "beta")]
)
@pytest.mark.parametrize("k", [999, 500, 1, 0])
def test_ddpm_step_matches_diffusers(variance_type, var, k):
    sch = ddpm_scheduler(variance_type)
    ours = kd.DiscreteSchedule(sch.alphas_cumprod)
    x, eps, _ = _state(k)
    ref = sch.step(eps, k, x, generator=torch.Generator().manual_seed(7)).prev_sample
    z = torch.randn(x.shape, generator=torch.Generator().manual_seed(7), dtype=x.dtype)
    got, _ = kd.ddpm_step(x, eps, k + 1, ours, var=var, noise=z)
    torch.testing.assert_close(got, ref, atol=1e-10, rtol=1e-10)


def test_alphas_cumprod_float32_agreement():
    import diffusers

    ref = diffusers.DDIMScheduler(num_train_timesteps=1000).alphas_cumprod
    torch.testing.assert_close(
        kd.DiscreteSchedule.linear().alphas_cumprod.float(), ref, atol=1e-6, rtol=1e-5
    )


def test_eta_one_full_chain_is_ddpm():
    """ddim_sample(eta=1, every step) and ddpm_sample draw the same noise in the same
    order: same result."""
    s = kd.DiscreteSchedule.linear(100)
    model = lambda x, t: torch.tanh(x) * (1 - t[:, None])  # noqa: E731  a fixed, smooth dummy model
    x = torch.randn(
        64, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    a = kd.ddpm_sample(model, x, s, generator=torch.Generator().manual_seed(1))
    b = kd.ddim_sample(
        model, x, s, steps=100, eta=1.0, generator=torch.Generator().manual_seed(1)
    )
    torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_eta_one_step_mean_and_variance_are_ddpm_posterior():
    s = kd.DiscreteSchedule.cosine(1000)
    i = 400
    x, eps, _ = _state(3)
    mean, _ = kd.ddim_step(x, eps, i, i - 1, s, eta=1.0, noise=torch.zeros_like(x))
    x0 = kd.eps_to_x0(x, eps, i, s)
    a_t, a_s = s.signal[i], s.signal[i - 1]
    alpha, b_t, b_s = a_t / a_s, s.noise[i], s.noise[i - 1]
    ddpm_mean = a_s * x0 + alpha * b_s**2 / b_t**2 * (
        x - a_t * x0
    )  # Gaussian conditioning
    torch.testing.assert_close(mean, ddpm_mean, atol=1e-12, rtol=1e-12)
    torch.testing.assert_close(
        s.ddim_sigma(i, i - 1) ** 2, b_s**2 - alpha**2 * b_s**4 / b_t**2
    )


@settings(max_examples=15, deadline=None)
@given(
    i=st.integers(2, 1000),
    frac=st.floats(0.0, 0.99),
    eta=st.floats(0.0, 1.0),
    x0=st.floats(-3, 3),
)
def test_x0_conditioned_step_preserves_marginal(i, frac, eta, x0):
    """Given the true x0 (true eps), a DDIM step maps p(x_i|x0) onto p(x_j|x0) for every
    eta (eq. ddim-match)."""
    s = kd.DiscreteSchedule.linear()
    j = int(frac * i)
    n = 40_000
    g = torch.Generator().manual_seed(i)
    x_i, eps = kd.q_sample(
        torch.full((n, 1), x0, dtype=torch.float64), i, s, generator=g
    )
    x_j, _ = kd.ddim_step(x_i, eps, i, j, s, eta=eta, generator=g)
    se = float(s.noise[j]) / n**0.5 + 1e-12
    assert abs(float(x_j.mean()) - float(s.signal[j]) * x0) < 5 * se
    if j > 0:
        assert abs(float(x_j.std()) / float(s.noise[j]) - 1) < 5 / (2 * n) ** 0.5


def _gaussian_oracle(sched):
    g = GaussianMixture(
        torch.tensor([[1.0, -0.5]]), torch.tensor([[[0.3, 0.1], [0.1, 0.2]]])
    )
    return g, g.eps_model(sched)


def test_ddim_round_trip_with_exact_model():
    s = kd.DiscreteSchedule.linear()
    dist, model = _gaussian_oracle(s)
    x0 = dist.sample(256, generator=torch.Generator().manual_seed(0))
    errs = []
    for steps in [50, 1000]:
        back = kd.ddim_sample(
            model, kd.ddim_invert(model, x0, s, steps=steps), s, steps=steps, eta=0.0
        )
        errs.append(float((back - x0).norm(dim=1).max()))
    assert errs[1] < errs[0] / 5
    assert errs[1] < 1e-2  # data scale ~0.5: under 2 % after 1000 steps


def test_exact_model_reproduces_gaussian_data():
    s = kd.DiscreteSchedule.linear()
    dist, model = _gaussian_oracle(s)
    z = torch.randn(
        20_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    x = kd.ddim_sample(model, z, s, steps=1000, eta=0.0)
    torch.testing.assert_close(x.mean(0), dist.means[0], atol=0.02, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), dist.covs[0], atol=0.02, rtol=0)


@pytest.mark.parametrize("shape", [(7, 2), (3, 1, 8, 8)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_sampler_shapes_and_dtypes(shape, dtype):
    s = kd.DiscreteSchedule.linear(50)
    model = lambda x, t: 0.1 * x  # noqa: E731
    x = torch.randn(shape, dtype=dtype)
    traj = kd.Trajectory()
    for out in [
        kd.ddim_sample(model, x, s, steps=5, eta=0.5, callback=traj),
        kd.ddpm_sample(model, x, s),
        kd.ddim_invert(model, x, s, steps=5),
    ]:
        assert (
            out.shape == x.shape
            and out.dtype == dtype
            and torch.all(torch.isfinite(out))
        )
    assert traj.stack().shape == (6, *shape)


def test_sampling_is_seeded():
    s = kd.DiscreteSchedule.linear(50)
    model = lambda x, t: 0.1 * x  # noqa: E731
    x = torch.randn(5, 2)
    a = kd.ddim_sample(
        model, x, s, steps=10, eta=1.0, generator=torch.Generator().manual_seed(3)
    )
    b = kd.ddim_sample(
        model, x, s, steps=10, eta=1.0, generator=torch.Generator().manual_seed(3)
    )
    assert torch.equal(a, b)


def test_slerp_keeps_unit_variance():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(2, 100_000, generator=g, dtype=torch.float64)
    mids = kd.slerp(z1, z2, [0.0, 0.3, 0.5, 1.0])
    assert mids.shape == (4, 100_000)
    torch.testing.assert_close(mids[0], z1)
    torch.testing.assert_close(mids[-1], z2, atol=1e-12, rtol=0)
    assert abs(float(mids[2].var()) - 1) < 0.02


S = kd.DiscreteSchedule.linear(100)
X = torch.zeros(4, 2)
GOOD = lambda x, t: x  # noqa: E731


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: kd.ddim_step(X, X, 50, 40, S, eta=-0.1),
            ValueError,
            "eta must be >= 0",
        ),
        (lambda: kd.ddim_step(X, X, 50, 50, S), ValueError, "j < i"),
        (lambda: kd.ddim_step(X, X, 50, 40, S, sigma=5.0), ValueError, "exceeds noise"),
        (
            lambda: kd.ddim_step(X, torch.zeros(4, 3), 50, 40, S),
            ValueError,
            "eps must have the shape",
        ),
        (
            lambda: kd.ddim_step(X, X, 50, 40, S, noise=torch.zeros(3, 2), eta=1.0),
            ValueError,
            "noise must have the shape",
        ),
        (lambda: kd.ddim_step(X.long(), X.long(), 50, 40, S), TypeError, "floating"),
        (lambda: kd.ddim_step([0.0], X, 50, 40, S), TypeError, "torch.Tensor"),
        (lambda: kd.ddim_step(X, X, 500, 40, S), ValueError, "i must be <= 100"),
        (lambda: kd.ddim_step(X, X, 50, 40, "linear"), TypeError, "DiscreteSchedule"),
        (
            lambda: kd.ddim_sample(GOOD, X, S, eta=1.5),
            ValueError,
            r"eta must be in \[0, 1\]",
        ),
        (lambda: kd.ddim_sample(GOOD, X, S, eta=-1.0), ValueError, "eta must be >= 0"),
        (
            lambda: kd.ddim_sample(GOOD, X, S, timesteps=[50, 60, 0]),
            ValueError,
            "strictly decreasing",
        ),
        (
            lambda: kd.ddim_sample(GOOD, X, S, timesteps=[150, 0]),
            ValueError,
            r"\[0, 100\]",
        ),
        (
            lambda: kd.ddim_sample(GOOD, X, S, timesteps=[50, 10]),
            ValueError,
            "end at 0",
        ),
        (
            lambda: kd.ddim_sample(lambda x, t: x[:, :1], X, S, steps=2),
            ValueError,
            "shaped like",
        ),
        (lambda: kd.ddim_invert(GOOD, X, S, steps=0), ValueError, "steps must be >= 1"),
        (lambda: kd.ddpm_step(X, X, 10, S, var="large"), ValueError, "var must be"),
        (lambda: kd.ddpm_step(X, X, 0, S), ValueError, "i >= 1"),
        (lambda: kd.q_sample(X, 101, S), ValueError, "i must be <= 100"),
        (lambda: kd.q_sample(X, torch.tensor([1, 2]), S), ValueError, "index tensor"),
        (
            lambda: kd.q_sample(X, torch.tensor([1.0, 2.0, 3.0, 4.0]), S),
            TypeError,
            "integer tensor",
        ),
        (lambda: kd.x0_to_eps(X, X, 0, S), ValueError, "undefined at i = 0"),
        (
            lambda: kd.slerp(torch.zeros(3), torch.zeros(3), 1.5),
            ValueError,
            r"\[0, 1\]",
        ),
        (lambda: kd.Trajectory().stack(), ValueError, "empty"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
