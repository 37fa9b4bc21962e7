"""Scale-family kernels and exact empirical fields (ode-construction chapter)."""

import math

import kexue.diffusion as kd
import numpy as np
import pytest
import torch
from kexue import data
from kexue.diffusion import fields as fl
from scipy import stats

KERNELS = [
    fl.GaussianKernel(),
    fl.PoissonKernel(),
    fl.RadialCDFKernel("exp"),
    fl.RadialCDFKernel("tanh"),
]


@pytest.mark.parametrize("d", [1, 2, 5])
def test_poisson_kernel_is_multivariate_cauchy(d):
    z = (
        torch.randn(
            20, d, dtype=torch.float64, generator=torch.Generator().manual_seed(d)
        )
        * 3
    )
    ref = stats.multivariate_t(loc=np.zeros(d), shape=np.eye(d), df=1).logpdf(z.numpy())
    ours = fl.PoissonKernel().log_q(z).numpy()
    np.testing.assert_allclose(ours - ours[0], ref - ref[0], atol=1e-10)


@pytest.mark.parametrize(
    "kernel, cdf",
    [
        (fl.PoissonKernel(), lambda r, d: stats.f(d, 1).cdf(r**2 / d)),
        (fl.RadialCDFKernel("exp"), lambda r, d: 1 - np.exp(-r)),
        (fl.RadialCDFKernel("tanh"), lambda r, d: np.tanh(r)),
        (fl.GaussianKernel(), lambda r, d: stats.chi(d).cdf(r)),
    ],
)
@pytest.mark.parametrize("d", [1, 3])
def test_sampled_radii_follow_the_kernel(kernel, cdf, d):
    r = (
        kernel.sample_z(20_000, d, generator=torch.Generator().manual_seed(0))
        .norm(dim=1)
        .numpy()
    )
    assert stats.kstest(r, lambda v: cdf(v, d)).pvalue > 1e-3


def test_radial_kernel_log_density_matches_its_sampler():
    """q(z) ∝ psi'(|z|)/|z|^(d-1): the histogram of |z| in d=3 follows psi'(r) =
    e^{-r}."""
    k = fl.RadialCDFKernel("exp")
    z = torch.tensor([[0.5, 0.0, 0.0], [0.0, 2.0, 0.0]], dtype=torch.float64)
    lq = k.log_q(z)
    assert (
        abs(
            float(lq[1] - lq[0])
            - ((-2.0 - 2 * math.log(2.0)) - (-0.5 - 2 * math.log(0.5)))
        )
        < 1e-12
    )


def test_pfgm_recipe_samples_the_cauchy_kernel():
    x0 = torch.zeros(20_000, 3, dtype=torch.float64)
    x_t, t = fl.pfgm_perturb_original(x0, generator=torch.Generator().manual_seed(0))
    r = ((x_t - x0).norm(dim=1) / t).numpy()
    assert stats.kstest(r**2 / 3, stats.f(3, 1).cdf).pvalue > 1e-3


def test_gaussian_field_is_minus_t_score():
    train = data.moons(50, seed=0).double()
    heat = kd.HeatSchedule(t_max=10.0)
    x = torch.randn(
        30, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(1)
    )
    ours = fl.empirical_velocity(x, 0.7, train, fl.GaussianKernel())
    ref = -0.7 * data.GaussianMixture(train, 0.0).score_t(x, 0.7, heat)
    torch.testing.assert_close(ours, ref, atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("kernel", KERNELS, ids=lambda k: k.name)
def test_exact_fields_reach_the_data(kernel):
    """Backwards from the exact prior the exact field lands on training points, except
    for the kernel's own mass beyond 0.01 at t_min (heavy Cauchy tails): compare
    with P(t_min |z| < 0.01)."""
    train = data.moons(100, seed=0).double()
    xT = fl.prior_sample(
        train, 20.0, kernel, 600, generator=torch.Generator().manual_seed(2)
    )
    out, info = fl.scale_ode_sample(train, kernel, xT, 20.0, t_min=1e-3)
    frac = float((torch.cdist(out, train).min(1).values < 1e-2).double().mean())
    z = kernel.sample_z(200_000, 2, generator=torch.Generator().manual_seed(3))
    expected = float((1e-3 * z.norm(dim=1) < 1e-2).double().mean())
    assert (
        abs(frac - expected) < 4 * math.sqrt(expected * (1 - expected) / 600) + 0.01
    ), (frac, expected)
    assert info["nfe"] > 10


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: fl.RadialCDFKernel("cos"), ValueError, "kind"),
        (
            lambda: fl.empirical_velocity(
                torch.zeros(3, 2, dtype=torch.float64),
                0.0,
                torch.zeros(4, 2, dtype=torch.float64),
                fl.GaussianKernel(),
            ),
            ValueError,
            "t must be > 0",
        ),
        (
            lambda: fl.empirical_velocity(
                torch.zeros(3, 2, dtype=torch.float64),
                1.0,
                torch.zeros(4, 3, dtype=torch.float64),
                fl.GaussianKernel(),
            ),
            ValueError,
            "dimension",
        ),
        (
            lambda: fl.empirical_velocity(
                torch.zeros(3, 2, dtype=torch.float64),
                1.0,
                torch.zeros(4, 2, dtype=torch.float64),
                "gauss",
            ),
            TypeError,
            "ScaleKernel",
        ),
        (
            lambda: fl.scale_ode_sample(
                torch.zeros(4, 2, dtype=torch.float64),
                fl.GaussianKernel(),
                torch.zeros(3, 2, dtype=torch.float64),
                1.0,
                t_min=2.0,
            ),
            ValueError,
            "t_min < T",
        ),
        (
            lambda: fl.prior_sample(
                torch.zeros(4, 2, dtype=torch.float64), -1.0, fl.GaussianKernel(), 3
            ),
            ValueError,
            "T must be > 0",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
