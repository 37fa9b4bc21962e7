"""kexue.diffusion.score_study (score-matching chapter): the plug-in bias study and the
Gauss-Hermite objectives, against closed forms.
"""

import kexue.diffusion as kd
import pytest
import torch
from kexue import data
from kexue.diffusion import score_study

VP = kd.VPSchedule()


def test_quadrature_matches_closed_form_for_gaussian_data_and_affine_model():
    m, s, t, k, c = 0.3, 0.8, 0.3, -0.7, 0.2
    gauss = data.GaussianMixture([[m]], [s * s])
    a, b = float(VP.signal(t)), float(VP.noise(t))
    v = a * a * s * s + b * b
    L_sm, L_csm, msq = score_study.quadrature_objectives(
        gauss, lambda x: k * x + c, t, VP, n_nodes=40
    )
    # x_t ~ N(am, v), score = -(x - am)/v: E[(score - kx - c)^2] in closed form
    mean_err = -(k * a * m + c)
    slope = -1 / v - k
    assert L_sm == pytest.approx(slope**2 * v + mean_err**2, rel=1e-12)
    assert L_csm - L_sm == pytest.approx(1 / b**2 - 1 / v, rel=1e-12)
    assert msq == pytest.approx(1 / v, rel=1e-12)


def test_plugin_bias_with_source_is_unbiased_and_independent_is_not():
    ring = data.ring_mixture(8, radius=2.0, std=0.15)
    x = torch.tensor([[1.2, 0.9]], dtype=torch.float64)
    study = score_study.ratio_bias_study(
        ring, x, 0.1, VP, [1, 4], reps=3000, generator=torch.Generator().manual_seed(0)
    )
    for n in (1, 4):
        bias, se = study["with source", n]
        assert bias < 4 * se
        bias, se = study["independent", n]
        assert bias > 10 * se


def test_bad_input_names_the_argument():
    ring = data.ring_mixture(8)
    pts = torch.zeros(3, 2, dtype=torch.float64)
    with pytest.raises(ValueError, match="n"):
        score_study.plugin_bias_field(ring, pts, 0.1, VP, 0)
    with pytest.raises(TypeError, match="with_source"):
        score_study.plugin_bias_field(ring, pts, 0.1, VP, 2, with_source="yes")
    with pytest.raises(TypeError, match="mixture"):
        score_study.plugin_bias_field(object(), pts, 0.1, VP, 2)
    with pytest.raises(ValueError, match="x must have shape"):
        score_study.ratio_bias_study(ring, pts, 0.1, VP, [1])
    with pytest.raises(TypeError, match="model"):
        score_study.quadrature_objectives(
            data.GaussianMixture([[0.0]], [1.0]), 3, 0.1, VP
        )


def test_plugin_bias_theory_against_monte_carlo_expectations():
    ring = data.ring_mixture(8, radius=2.0, std=0.15)
    t = 0.3  # moderate noise: the w^2 average has a light enough tail for MC
    x = torch.tensor([[1.2, 0.9], [0.0, -1.5]], dtype=torch.float64)
    bias_1, coef = score_study.plugin_bias_theory(ring, x, t, VP)
    a, b = float(VP.signal(t)), float(VP.noise(t))
    x0 = ring.sample(400_000, generator=torch.Generator().manual_seed(0))
    d = x[:, None] - a * x0  # (G, N, D)
    w = torch.exp(-(d**2).sum(-1) / (2 * b * b)) / (2 * torch.pi * b * b)  # (G, N)
    s = ring.score_t(x, t, VP)
    g = w[..., None] ** 2 * (-d / b**2 - s[:, None])  # (G, N, D)
    mc = -g.mean(1) / w.mean(1)[:, None] ** 2
    se = g.std(1) / len(x0) ** 0.5 / w.mean(1)[:, None] ** 2
    assert torch.all((mc - coef).abs() < 5 * se)  # first-order error of the ratio
    # n = 1: the estimate averages -(x - a x0)/b^2 over x0 ~ p0 (data mean 0)
    assert torch.allclose(bias_1, -x / b**2 - s, atol=1e-12)


def test_plugin_bias_theory_predicts_the_measured_bias():
    ring = data.ring_mixture(8, radius=2.0, std=0.15)
    x = torch.tensor([[1.2, 0.9]], dtype=torch.float64)
    bias_1, coef = score_study.plugin_bias_theory(ring, x, 0.1, VP)
    g = torch.Generator().manual_seed(1)
    bias, se = score_study.plugin_bias_field(
        ring, x, 0.1, VP, 1, reps=4000, generator=g
    )
    assert torch.all((bias - bias_1).abs() < 4 * se)
    bias, se = score_study.plugin_bias_field(
        ring, x, 0.1, VP, 256, reps=6000, generator=g
    )
    assert torch.all((256 * bias - coef).abs() < 4 * 256 * se)  # O(1/n^2) is smaller
    with pytest.raises(ValueError, match="x must have shape"):
        score_study.plugin_bias_theory(ring, torch.zeros(2, 3), 0.1, VP)


def test_plugin_bias_size_is_the_mean_bias_length_in_noise_units():
    ring = data.ring_mixture(8, radius=2.0, std=0.15)
    pts = torch.tensor([[1.2, 0.9], [-0.9, 1.2]], dtype=torch.float64)  # rotated by 90
    size, err = score_study.plugin_bias_size(
        ring, pts, 0.1, VP, 4, reps=500, generator=torch.Generator().manual_seed(2)
    )
    bias, se = score_study.plugin_bias_field(
        ring, pts, 0.1, VP, 4, reps=500, generator=torch.Generator().manual_seed(2)
    )
    b = float(VP.noise(0.1))
    assert size == pytest.approx(float(b * bias.norm(dim=1).mean()), rel=1e-12)
    assert err == pytest.approx(float(b * se.norm(dim=1).pow(2).sum().sqrt() / 2))
