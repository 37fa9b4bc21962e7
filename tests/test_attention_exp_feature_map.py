"""exp_feature_map (chapter linear-attention-infinite): each map's kernel equals its
scalar approximant of e^x, and Performer's is unbiased-looking at large m."""

import math

import kexue.attention as ka
import pytest
import torch


def _qk(c=0.5):
    g = torch.Generator().manual_seed(0)
    return (c * torch.randn(7, 4, generator=g, dtype=torch.float64) for _ in range(2))


@pytest.mark.parametrize(
    ("method", "size"), [("taylor", 1), ("taylor", 3), ("limit", 2)]
)
def test_kernel_equals_scalar_approximant(method, size):
    q, k = _qk()
    phi, scalar, label = ka.exp_feature_map(method, size, 4)
    torch.testing.assert_close(phi(q) @ phi(k).T, scalar(q @ k.T), atol=1e-12, rtol=0)
    assert str(size) in label


def test_taylor_scalar_is_truncated_series():
    _, scalar, _ = ka.exp_feature_map("taylor", 2, 4)
    x = torch.tensor([0.5, -1.0], dtype=torch.float64)
    torch.testing.assert_close(scalar(x), 1 + x + x**2 / math.factorial(2))


def test_performer_returns_features_and_no_scalar():
    q, k = _qk(0.3)
    phi, scalar, label = ka.exp_feature_map("performer", 4096, 4, seed=1)
    assert scalar is None and label == "Performer m = 4096"
    assert phi(q).shape == (7, 4096)
    rel = (phi(q) @ phi(k).T / torch.exp(q @ k.T) - 1).abs().max()
    assert rel < 0.1  # m = 4096 features at |q.k| < 1: error ~ m^-1/2


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        ka.exp_feature_map("Taylor", 2, 4)
