"""kexue.data: toy sets, digits, and the Gaussian-mixture oracle against
torch.distributions."""

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue import data
from torch.distributions import Categorical, MixtureSameFamily, MultivariateNormal


def _mix():
    means = torch.tensor([[0.0, 0.0], [2.0, 1.0], [-1.5, 2.0]], dtype=torch.float64)
    covs = torch.tensor(
        [
            [[0.5, 0.1], [0.1, 0.3]],
            [[0.2, 0.0], [0.0, 0.4]],
            [[0.3, -0.1], [-0.1, 0.3]],
        ],
        dtype=torch.float64,
    )
    w = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    return data.GaussianMixture(means, covs, w), MixtureSameFamily(
        Categorical(w), MultivariateNormal(means, covs)
    )


def test_log_prob_and_score_match_torch_distributions():
    ours, ref = _mix()
    x = (
        torch.randn(
            50, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
        )
        * 2
    )
    torch.testing.assert_close(
        ours.log_prob(x), ref.log_prob(x), atol=1e-10, rtol=1e-10
    )
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(ref.log_prob(xr).sum(), xr)
    torch.testing.assert_close(ours.score(x), g, atol=1e-10, rtol=1e-10)


def test_samples_have_the_mixture_moments():
    ours, ref = _mix()
    x = ours.sample(200_000, generator=torch.Generator().manual_seed(1))
    w, mu, c = ours.weights, ours.means, ours.covs
    mean = (w[:, None] * mu).sum(0)
    cov = (w[:, None, None] * (c + mu[:, :, None] * mu[:, None, :])).sum(0) - mean[
        :, None
    ] * mean[None]
    torch.testing.assert_close(mean, ref.mean)
    torch.testing.assert_close(x.mean(0), mean, atol=0.01, rtol=0)
    torch.testing.assert_close(torch.cov(x.T), cov, atol=0.02, rtol=0)


def test_noised_mixture_is_the_law_of_a_x0_plus_b_eps():
    ours, _ = _mix()
    g = torch.Generator().manual_seed(2)
    x0 = ours.sample(200_000, generator=g)
    a, b = 0.6, 0.8
    xt = a * x0 + b * torch.randn(x0.shape, generator=g, dtype=torch.float64)
    noised = ours.noised(a, b)
    mean = (noised.weights[:, None] * noised.means).sum(0)
    torch.testing.assert_close(xt.mean(0), mean, atol=0.01, rtol=0)
    torch.testing.assert_close(
        noised.covs[0], a * a * ours.covs[0] + b * b * torch.eye(2, dtype=torch.float64)
    )


def test_discrete_eps_model_is_the_posterior_mean_of_the_noise():
    """E[eps | x_i = x] by Monte Carlo from independent draws of (x0, eps) given x_i
    (the exact posterior of x0, computed with Kalman gains, not with the score): eps
    = (x - a x0) / b averaged. The old test restated eps_model's own formula (-noise
    * noised(...).score)."""
    ours, _ = _mix()
    s = kd.DiscreteSchedule.linear(100)
    i, m = 37, 40_000
    a, b = float(s.signal[i]), float(s.noise[i])
    x = torch.randn(
        3, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    got = ours.eps_model(s)(x, torch.full((3,), i / 100, dtype=torch.float64))
    vp_like = kd.CustomSchedule.from_discrete(s)  # same (a, b) at t = i / T
    for k in range(3):
        xs = x[k : k + 1].expand(m, 2)
        x0 = ours.posterior_sample(
            xs, i / 100, vp_like, generator=torch.Generator().manual_seed(k)
        )
        eps = (xs - a * x0) / b
        se = eps.std(0) / m**0.5
        assert torch.all((eps.mean(0) - got[k]).abs() < 4 * se), (eps.mean(0), got[k])
    # can fail: the eps-model of another noise level is far outside these error bars
    other = ours.eps_model(s)(x, torch.full((3,), 0.8, dtype=torch.float64))
    assert float((other - got).abs().max()) > 0.1


def test_ring_and_toy_sets():
    r = data.ring_mixture(8, 2.0, 0.1)
    torch.testing.assert_close(
        r.means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64)
    )
    for name in ["moons", "swiss_roll", "gaussians"]:
        x = data.two_d(name, 500, seed=3)
        assert (
            x.shape == (500, 2)
            and x.dtype == torch.float32
            and torch.all(torch.isfinite(x))
        )
    assert not torch.equal(data.moons(300, seed=4), data.moons(300, seed=5))
    assert torch.equal(data.moons(300, seed=4), data.moons(300, seed=4))
    imgs, y = data.digits_images()
    assert (
        imgs.shape == (1797, 1, 8, 8)
        and float(imgs.min()) == -1.0
        and float(imgs.max()) == 1.0
        and y.shape == (1797,)
    )


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: data.GaussianMixture([0.0, 1.0], 1.0),
            ValueError,
            r"means must have shape \(K, D\)",
        ),
        (
            lambda: data.GaussianMixture([[0.0, 1.0]], [[1.0, 2.0, 3.0]]),
            ValueError,
            "covs must be",
        ),
        (
            lambda: data.GaussianMixture([[0.0, 1.0]], [[[1.0, 2.0], [0.0, 1.0]]]),
            ValueError,
            "symmetric",
        ),
        (
            lambda: data.GaussianMixture([[0.0, 1.0]], [[[1.0, 2.0], [2.0, 1.0]]]),
            ValueError,
            "positive semi-definite",
        ),
        (
            lambda: data.GaussianMixture([[0.0], [1.0]], 1.0, [1.0, -1.0]),
            ValueError,
            "weights",
        ),
        (lambda: data.ring_mixture(8, 2.0, 0.0), ValueError, "std must be > 0"),
        (
            lambda: _mix()[0].score(torch.zeros(3, 5, dtype=torch.float64)),
            ValueError,
            r"shape \(N, 2\)",
        ),
        (lambda: _mix()[0].noised(0.0, 1.0), ValueError, "signal must be > 0"),
        (
            lambda: _mix()[0].eps_model(kd.DiscreteSchedule.linear(10))(
                torch.zeros(2, 2), torch.zeros(2)
            ),
            ValueError,
            "singular at t = 0",
        ),
        (lambda: data.two_d("spiral", 10), ValueError, "name must be one of"),
        (lambda: data.moons(1), ValueError, "n must be >= 2"),
        (lambda: data.digits((1.0, -1.0)), ValueError, "low < high"),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_randn_for_follows_the_tensor_and_repeats_with_a_cpu_generator():
    from kexue._validate import randn_for

    like = torch.empty(3, 2, dtype=torch.float64, device="meta")  # any non-CPU device
    out = randn_for(like, torch.Generator().manual_seed(0))
    assert (
        out.device.type == "meta" and out.dtype == torch.float64 and out.shape == (3, 2)
    )
    cpu = torch.zeros(4, dtype=torch.float32)
    a, b = (
        randn_for(cpu, torch.Generator().manual_seed(1)),
        randn_for(cpu, torch.Generator().manual_seed(1)),
    )
    assert torch.equal(a, b) and a.dtype == torch.float32


def test_moons_lie_on_scikit_learns_arcs():
    """Noiseless draws lie on the two arcs of make_moons (the peer), unstandardised."""
    from sklearn.datasets import make_moons

    curve, _ = make_moons(
        n_samples=4000, noise=0.0, shuffle=False
    )  # grid, step pi/2000
    x = data.moons(2000, noise=0.0, standardize=False, seed=1).double().numpy()
    gap = np.sqrt(((x[:, None, :2] - curve[None]) ** 2).sum(-1)).min(1)
    assert gap.max() < 1e-3  # half the grid step (8e-4) plus float32 round-off
    off = data.moons(2000, noise=0.0, standardize=False, seed=1).double().numpy() + 0.05
    gap_off = np.sqrt(((off[:, None] - curve[None]) ** 2).sum(-1)).min(1)
    assert gap_off.max() > 2e-2  # the check can fail: shifted points are off the arcs


def test_moons_are_independent_draws_not_a_grid():
    """Angles uniform on [0, pi] (KS), arcs chosen at random (binomial), and the
    standardisation exact: mean 0 and variance 1 within Monte-Carlo error."""
    from scipy import stats

    n = 20_000
    x = data.moons(n, noise=0.0, standardize=False, seed=2).double().numpy()
    outer = (
        np.abs((x**2).sum(1) - 1) < 1e-5
    )  # on the unit circle: the outer arc (float32)
    inner = np.abs(((1 - x[:, 0]) ** 2 + (0.5 - x[:, 1]) ** 2) - 1) < 1e-5
    assert np.all(outer ^ inner)  # the arcs do not meet
    ang = np.concatenate(
        [
            np.arctan2(x[outer, 1], x[outer, 0]),
            np.arctan2(0.5 - x[~outer, 1], 1 - x[~outer, 0]),
        ]
    )
    assert stats.kstest(ang / np.pi, "uniform").pvalue > 1e-3
    assert abs(outer.mean() - 0.5) < 4 * 0.5 / np.sqrt(n)
    z = data.moons(n, noise=0.1, seed=3).double().numpy()
    se_mean = 1 / np.sqrt(n)
    assert np.all(np.abs(z.mean(0)) < 4 * se_mean)
    se_var = np.sqrt((z**4).mean(0) - 1) / np.sqrt(n)
    assert np.all(np.abs(z.var(0) - 1) < 4 * se_var)


def test_two_moons_draws_do_not_share_points():
    """make_moons puts every draw on the same grid of angles, so two noiseless draws
    coincide point for point; independent draws share (almost) none."""
    from sklearn.datasets import make_moons

    def shared(a, b):
        return np.isin(a.round(5).view("c8")[:, 0], b.round(5).view("c8")[:, 0]).mean()

    grid = [make_moons(n_samples=2000, noise=0.0, random_state=s)[0] for s in (0, 1)]
    assert shared(*(g.astype(np.float32) for g in grid)) > 0.99  # the rival is caught
    ours = [
        data.moons(2000, noise=0.0, seed=s, standardize=False).numpy() for s in (0, 1)
    ]
    assert shared(*ours) < 0.01
