"""kexue.metrics against scipy's 1-D Wasserstein distance, and basic properties."""

import numpy as np
import pytest
import torch
from kexue import data, metrics
from scipy.stats import wasserstein_distance


@pytest.mark.parametrize("n, m", [(100, 100), (137, 59)])
def test_sliced_w1_in_one_dimension_equals_scipy(n, m):
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, (n, 1)), rng.normal(0.5, 2, (m, 1))
    got = metrics.sliced_wasserstein(x, y, p=1, projections=np.ones((1, 1)))
    assert got == pytest.approx(wasserstein_distance(x[:, 0], y[:, 0]), rel=1e-12)


def test_sliced_w2_equal_sizes_is_sorted_matching():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(200, 1)), rng.normal(size=(200, 1)) + 1
    expected = np.sqrt(np.mean((np.sort(x[:, 0]) - np.sort(y[:, 0])) ** 2))
    assert metrics.sliced_wasserstein(
        x, y, projections=np.ones((1, 1))
    ) == pytest.approx(expected, rel=1e-12)


def test_sliced_w2_properties():
    x = data.moons(2000, seed=0)
    assert metrics.sliced_wasserstein(x, x) == 0.0
    shifted = metrics.sliced_wasserstein(x, x + torch.tensor([1.0, 0.0]), n_proj=2000)
    assert shifted == pytest.approx(
        np.sqrt(0.5), rel=0.05
    )  # E[(theta . e1)^2] = 1/2 in 2-D
    near = metrics.sliced_wasserstein(x, data.moons(2000, seed=1))
    far = metrics.sliced_wasserstein(x, data.swiss_roll(2000, seed=1))
    assert near < far


def test_mmd():
    x, y = data.moons(500, seed=0), data.moons(500, seed=1)
    assert abs(metrics.mmd2_rbf(x, y)) < 0.01
    assert metrics.mmd2_rbf(x, y + 2.0) > 0.1


def test_mode_stats_on_exact_samples():
    ring = data.ring_mixture(8, 2.0, 0.1)
    st = metrics.mode_stats(
        ring.sample(8000, generator=torch.Generator().manual_seed(0)), ring.means, 0.1
    )
    assert (
        st["modes_covered"] == 8
        and st["tv"] < 0.03
        and abs(st["std_ratio"] - 1) < 0.03
        and st["outlier_frac"] < 1e-3
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: metrics.sliced_wasserstein(np.zeros((5, 2)), np.zeros((5, 3))),
            "same dimension",
        ),
        (
            lambda: metrics.sliced_wasserstein(np.zeros(5), np.zeros(5)),
            r"shape \(N, D\)",
        ),
        (
            lambda: metrics.sliced_wasserstein(
                np.full((5, 2), np.nan), np.zeros((5, 2))
            ),
            "NaN",
        ),
        (
            lambda: metrics.sliced_wasserstein(
                np.zeros((5, 2)), np.zeros((5, 2)), projections=np.ones((3, 4))
            ),
            "projections",
        ),
        (
            lambda: metrics.sliced_wasserstein(
                np.zeros((5, 2)), np.zeros((5, 2)), n_proj=0
            ),
            "n_proj must be >= 1",
        ),
        (
            lambda: metrics.mmd2_rbf(
                np.zeros((5, 2)), np.zeros((5, 2)), bandwidths=(0.0,)
            ),
            "bandwidths",
        ),
        (lambda: metrics.mmd2_rbf(np.zeros((1, 2)), np.zeros((5, 2))), "at least 2"),
        (
            lambda: metrics.mode_stats(np.zeros((5, 2)), np.zeros((3, 2)), -1.0),
            "std must be > 0",
        ),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_histogram_l1_against_a_density_and_against_samples():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200_000)
    grid = np.linspace(-3, 3, 601)
    normal = np.exp(-(grid**2) / 2) / np.sqrt(2 * np.pi)
    assert (
        metrics.histogram_l1(x, normal, grid=grid) < 0.02
    )  # its own density: only binning and noise
    assert (
        metrics.histogram_l1(
            x, np.exp(-((grid - 1) ** 2) / 2) / np.sqrt(2 * np.pi), grid=grid
        )
        > 0.5
    )
    assert metrics.histogram_l1(x, rng.normal(size=200_000)) < 0.02
    with pytest.raises(ValueError, match="same length"):
        metrics.histogram_l1(x, normal[:-1], grid=grid)


def test_paired_difference_is_scipys_paired_t():
    from scipy import stats

    rng = np.random.default_rng(0)
    shared = rng.normal(size=6)  # what two runs on the same seeds share
    a = shared + rng.normal(0.3, 0.1, size=6)
    b = shared + rng.normal(0.0, 0.1, size=6)
    m, se = metrics.paired_difference(a, b)
    assert m == pytest.approx(float(np.mean(a - b)), rel=1e-12)
    assert m / se == pytest.approx(stats.ttest_rel(a, b).statistic, rel=1e-10)
    # the unpaired standard error would be swamped by the shared part
    unpaired = np.sqrt(a.var(ddof=1) / 6 + b.var(ddof=1) / 6)
    assert unpaired > 3 * se
