"""Peers the library review found missing: diffusers' DDIMInverseScheduler and
"trailing" spacing, torchsde's Euler-Maruyama, POT's sliced Wasserstein in 2-D; and the
public names no test named."""

import math

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue import data, metrics
from kexue.diffusion import fields

F64 = torch.float64
T = 1000


def _eps_model(x, t):
    """A deterministic, nonlinear stand-in for a network: eps(x, t) = tanh(x) (1 +
    t)."""
    return torch.tanh(x) * (1 + t.reshape(-1, *([1] * (x.ndim - 1))))


def _linear_f64(cls, **kw):

    sch = cls(
        num_train_timesteps=T,
        beta_schedule="linear",
        beta_start=1e-4,
        beta_end=0.02,
        clip_sample=False,
        set_alpha_to_one=True,
        steps_offset=0,
        **kw,
    )
    sch.betas = sch.betas.double()
    sch.alphas = 1.0 - sch.betas
    sch.alphas_cumprod = torch.cumprod(sch.alphas, dim=0)
    for name in ("initial_alpha_cumprod", "final_alpha_cumprod"):
        if hasattr(sch, name):
            setattr(sch, name, torch.tensor(1.0, dtype=F64))
    return sch


@pytest.mark.parametrize("n_steps", [10, 50])
def test_ddim_invert_matches_diffusers_inverse_scheduler(n_steps):
    """A whole inversion loop: diffusers queries the model at the target level t and
    moves from t - T/n to t (DDIMInverseScheduler.step), exactly the ddim_invert
    docstring's claim."""
    pytest.importorskip("diffusers")
    import diffusers

    sch = _linear_f64(diffusers.DDIMInverseScheduler, timestep_spacing="leading")
    sch.set_timesteps(n_steps)
    ks = [int(k) for k in sch.timesteps]  # ascending, e.g. 0, 100, ..., 900
    x0 = torch.randn(3, 2, 4, generator=torch.Generator().manual_seed(0), dtype=F64)
    ref = x0.clone()
    for k in ks:
        t = torch.full((3,), (k + 1) / T, dtype=F64)
        ref = sch.step(_eps_model(ref, t), k, ref).prev_sample
    ours = kd.ddim_invert(
        _eps_model,
        x0,
        kd.DiscreteSchedule(
            sch.alphas_cumprod
        ),  # diffusers' own (float32-rounded) betas
        timesteps=[k + 1 for k in reversed(ks)] + [0],
    )
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    # can fail: querying the model at the start level instead gives a different map
    assert float((ours - x0).abs().max()) > 1e-3


def test_uniform_spacing_is_diffusers_trailing_and_the_full_loop_agrees():
    pytest.importorskip("diffusers")
    import diffusers

    ours = kd.DiscreteSchedule(_linear_f64(diffusers.DDIMScheduler).alphas_cumprod)
    for n in (1, 7, 10, 50, 999):
        sch = _linear_f64(diffusers.DDIMScheduler, timestep_spacing="trailing")
        sch.set_timesteps(n)
        assert ours.timesteps(n, "uniform")[:-1] == [int(k) + 1 for k in sch.timesteps]
    # a full deterministic DDIM loop, 10 trailing steps
    sch = _linear_f64(diffusers.DDIMScheduler, timestep_spacing="trailing")
    sch.set_timesteps(10)
    x = torch.randn(4, 3, generator=torch.Generator().manual_seed(1), dtype=F64)
    ref = x.clone()
    for k in sch.timesteps:
        t = torch.full((4,), (int(k) + 1) / T, dtype=F64)
        ref = sch.step(_eps_model(ref, t), int(k), ref, eta=0.0).prev_sample
    got = kd.ddim_sample(_eps_model, x, ours, steps=10, spacing="uniform")
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)


def _torchsde_em(f, g, y0, ts, seed):
    torchsde = pytest.importorskip("torchsde")

    class SDE(torch.nn.Module):
        noise_type, sde_type = "diagonal", "ito"

        def f(self, t, y):
            return f(float(t), y)

        def g(self, t, y):
            return g(float(t)) * torch.ones_like(y)

    torch.manual_seed(seed)
    h = float(ts[1] - ts[0])
    return torchsde.sdeint(SDE(), y0, ts, method="euler", dt=h)[-1]


@pytest.mark.parametrize("which", ["forward_sde_simulate", "simulate_sde"])
def test_euler_maruyama_has_torchsde_law(which):
    """Our EM and torchsde's ``sdeint(method="euler")`` on the same grid have the same
    law: mean and std agree within 4 standard errors (N = 20000, SE of the std ~ std
    / sqrt(2N)), and a two-sample KS test does not reject at 1e-3. The twin: EM with
    g h instead of g sqrt(h) (a classic slip) is rejected by the same comparison."""
    from scipy.stats import ks_2samp

    vp, n, steps = kd.VPSchedule(), 20_000, 20
    x0 = torch.full((n, 1), 1.5, dtype=F64)
    ts = torch.linspace(0.0, 0.5, steps + 1, dtype=F64)
    f = lambda t, y: float(vp.drift_coef(t)) * y  # noqa: E731
    g = lambda t: math.sqrt(float(vp.diffusion_sq(t)))  # noqa: E731
    ref = _torchsde_em(f, g, x0, ts, seed=1)[:, 0]
    gen = torch.Generator().manual_seed(2)
    if which == "forward_sde_simulate":
        ours = kd.forward_sde_simulate(x0, vp, steps=steps, t_end=0.5, generator=gen)
    else:
        # the generic EM with a time-dependent drift through its t argument
        drift = lambda x, t: f(t, x)  # noqa: E731
        ours = kd.simulate_sde(drift, g, x0, dt=0.5 / steps, steps=steps, generator=gen)
    ours = ours[:, 0]
    se_mean, se_std = (
        float(ref.std()) / math.sqrt(n),
        float(ref.std()) / math.sqrt(2 * n),
    )
    assert abs(float(ours.mean() - ref.mean())) < 4 * math.sqrt(2) * se_mean
    assert abs(float(ours.std() - ref.std())) < 4 * math.sqrt(2) * se_std
    assert ks_2samp(ours.numpy(), ref.numpy()).pvalue > 1e-3
    h = 0.5 / steps
    wrong = kd.simulate_sde(
        lambda x, t: f(t, x),
        lambda t: g(t) * math.sqrt(h),
        x0,
        dt=h,
        steps=steps,
        generator=gen,
    )[:, 0]
    assert ks_2samp(wrong.numpy(), ref.numpy()).pvalue < 1e-6


@pytest.mark.parametrize("n, m, p", [(200, 200, 2), (150, 230, 2), (100, 80, 1)])
def test_sliced_wasserstein_2d_matches_pot(n, m, p):
    """The same directions through POT's ``ot.sliced_wasserstein_distance``, also for
    unequal sample sizes (our exact merged-quantile 1-D transport vs POT's
    wasserstein_1d)."""
    ot = pytest.importorskip("ot")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2))
    y = rng.normal(size=(m, 2)) * [1.5, 0.7] + [0.3, -0.2]
    theta = metrics.random_directions(2, 64, seed=3)
    ours = metrics.sliced_wasserstein(x, y, p=p, projections=theta)
    ref = ot.sliced_wasserstein_distance(x, y, projections=theta, p=p)
    assert ours == pytest.approx(float(ref), rel=1e-9)
    # and against a 1-D exact W1 from scipy along one direction (p = 1)
    from scipy.stats import wasserstein_distance

    e = np.array([[1.0], [0.0]])
    w1 = metrics.sliced_wasserstein(x, y, p=1, projections=e)
    assert w1 == pytest.approx(wasserstein_distance(x[:, 0], y[:, 0]), rel=1e-9)


# --------------------------------------------------------------------------------------
# names
def test_step_alpha_is_the_one_step_ratio_and_composes():
    d = kd.DiscreteSchedule.linear(50)
    alphas = (
        1 - torch.linspace(1e-4, 0.02, 50, dtype=F64)
    ).sqrt()  # DDPM's per-step alpha
    for i in (1, 10, 50):
        assert float(d.step_alpha(i, i - 1)) == pytest.approx(float(alphas[i - 1]))
    # a skipped step is the product of the one-step ratios
    assert float(d.step_alpha(30, 10)) == pytest.approx(float(alphas[10:30].prod()))


def test_sigma_ve_log_snr_prior_std_against_closed_forms():
    vp, ve = kd.VPSchedule(), kd.VESchedule(0.01, 50.0)
    t = torch.tensor([0.1, 0.5, 0.9], dtype=F64)
    log_a = -0.25 * t**2 * 19.9 - 0.5 * t * 0.1
    a, b = torch.exp(log_a), torch.sqrt(1 - torch.exp(2 * log_a))
    torch.testing.assert_close(vp.sigma_ve(t), b / a, rtol=1e-12, atol=0)
    torch.testing.assert_close(
        vp.log_snr(t), torch.log(a**2 / b**2), rtol=1e-12, atol=0
    )
    assert float(vp.log_snr(0.0)) == math.inf
    torch.testing.assert_close(ve.sigma_ve(t), 0.01 * 5000.0**t, rtol=1e-12, atol=0)
    assert vp.prior_std() == pytest.approx(math.sqrt(1 - math.exp(-0.5 * 20.1)))
    assert ve.prior_std() == pytest.approx(50.0)
    assert kd.HeatSchedule(7.0).prior_std() == 7.0


def test_perturb_and_cont_conversions_are_inverse():
    vp, g = kd.VPSchedule(), torch.Generator().manual_seed(0)
    x0 = torch.randn(6, 3, generator=g, dtype=F64)
    t = torch.linspace(0.1, 0.9, 6, dtype=F64)
    x_t, eps = vp.perturb(x0, t, generator=g)
    a, b = vp.signal(t)[:, None], vp.noise(t)[:, None]
    torch.testing.assert_close(x_t, a * x0 + b * eps, rtol=1e-14, atol=0)
    torch.testing.assert_close(kd.continuous.cont_eps_to_x0(x_t, eps, t, vp), x0)
    torch.testing.assert_close(kd.continuous.cont_x0_to_eps(x_t, x0, t, vp), eps)


def test_coef_picks_and_broadcasts():
    d = kd.DiscreteSchedule.linear(20)
    like = torch.zeros(3, 2, 5, dtype=torch.float32)
    c = kd.forward.coef(d.signal, torch.tensor([0, 5, 20]), like)
    assert c.shape == (3, 1, 1) and c.dtype == torch.float32
    torch.testing.assert_close(c.flatten(), d.signal[[0, 5, 20]].float())
    assert float(kd.forward.coef(d.noise, 0, like)) == 0.0


def test_sample_times_time_grid_and_constants():
    vp = kd.VPSchedule(t_min=0.01)
    s = kd.sample_times(vp, 20_000, generator=torch.Generator().manual_seed(0))
    assert float(s.min()) >= 0.01 and float(s.max()) <= 1.0
    # uniform on [0.01, 1]: mean 0.505 with SE 0.99 / sqrt(12 * 20000) = 0.002
    assert abs(float(s.mean()) - 0.505) < 4 * 0.99 / math.sqrt(12 * 20_000)
    grid = kd.time_grid(vp, 4)
    assert grid == pytest.approx([1.0, 0.7525, 0.505, 0.2575, 0.01])
    q = kd.time_grid(vp, 4, spacing="quadratic")
    assert q[0] == 1.0 and q[-1] == 0.01 and q[2] == pytest.approx(0.01 + 0.99 / 4)
    assert kd.schedules.SPACINGS == ("uniform", "leading", "quadratic")
    assert set(kd.PF_METHODS) == {"euler", "heun", "ddim", "dopri5"}
    assert set(kd.ode.ODE_METHODS) == {"euler", "heun", "ddim", "dopri5"}
    assert set(kd.distill.FORMS) == {"L1", "L2", "L2-lam*L1", "L3"}
    assert set(data.toy.TWO_D) == {"moons", "swiss_roll", "gaussians"}


def test_nfe_counter_counts_and_checks():
    calls = []
    c = kd.NFECounter(lambda x, t: calls.append(t) or 2 * x)
    x = torch.ones(3, 2)
    torch.testing.assert_close(c(x, 0.25), 2 * x)
    c(x, torch.tensor([0.1, 0.2, 0.3]))
    assert c.nfe == 2 and calls[0].shape == (3,) and float(calls[0][0]) == 0.25
    with pytest.raises(ValueError, match="model"):
        kd.NFECounter(lambda x, t: x[:, :1])(x, 0.5)


def test_empirical_posterior_mean_and_log_time_field():
    """Two data points +-1 in 1-D, Gaussian kernel: E[x0 | x_t = x] = tanh(x / t^2)."""
    dat = torch.tensor([[-1.0], [1.0]], dtype=F64)
    x = torch.linspace(-2, 2, 9, dtype=F64)[:, None]
    k = fields.GaussianKernel()
    for t in (0.5, 1.0, 2.0):
        m = fields.empirical_posterior_mean(x, t, dat, k)
        torch.testing.assert_close(m, torch.tanh(x / t**2), rtol=1e-12, atol=1e-12)
    field = fields.LogTimeField(dat, k)
    torch.testing.assert_close(field(math.log(0.5), x), x - torch.tanh(x / 0.25))
    assert field.nfe == 1


def test_random_directions_are_unit_and_uniform():
    th = metrics.random_directions(3, 20_000, seed=0)
    np.testing.assert_allclose(np.linalg.norm(th, axis=0), 1.0, rtol=1e-12)
    # uniform on the sphere: each coordinate has mean 0 and variance 1/3 (SE 0.3 /
    # sqrt(N))
    assert np.all(np.abs(th.mean(1)) < 4 * math.sqrt(1 / 3) / math.sqrt(20_000))
    assert np.all(np.abs((th**2).mean(1) - 1 / 3) < 4 * 0.3 / math.sqrt(20_000))


def test_clip_x0_is_diffusers_clip_sample():
    """clip_x0 = c against DDIMScheduler(clip_sample=True, clip_sample_range=c): 10
    trailing steps from a start whose x0_hat leaves the box, so the clamp matters."""
    pytest.importorskip("diffusers")
    import diffusers

    ours = kd.DiscreteSchedule(_linear_f64(diffusers.DDIMScheduler).alphas_cumprod)
    x = 3 * torch.randn(64, 2, generator=torch.Generator().manual_seed(2), dtype=F64)
    got = {}
    for c in (None, 0.5):
        sch = _linear_f64(diffusers.DDIMScheduler, timestep_spacing="trailing")
        if c is not None:
            sch.register_to_config(clip_sample=True, clip_sample_range=c)
        sch.set_timesteps(10)
        ref = x.clone()
        for k in sch.timesteps:
            t = torch.full((64,), (int(k) + 1) / T, dtype=F64)
            ref = sch.step(_eps_model(ref, t), int(k), ref, eta=0.0).prev_sample
        got[c] = kd.ddim_sample(_eps_model, x, ours, steps=10, clip_x0=c)
        torch.testing.assert_close(got[c], ref, rtol=1e-10, atol=1e-10)
    assert float(got[0.5].abs().max()) <= 0.5 + 1e-12  # the last step returns x0_hat
    assert float((got[0.5] - got[None]).abs().max()) > 0.1  # the clamp changed things
