"""kexue.nn: shapes, errors, and a seeded training loop that learns."""

import math

import kexue.diffusion as kd
import pytest
import torch
from kexue import nn


def test_time_mlp_shapes_and_features():
    m = nn.TimeMLP(dim=3, hidden=16, depth=2, n_freq=4)
    out = m(torch.randn(5, 3), torch.rand(5))
    assert out.shape == (5, 3)
    f = nn.fourier_time_features(torch.tensor([0.0, 0.5]), 3)
    assert f.shape == (2, 7)
    torch.testing.assert_close(f[0], torch.tensor([0.0, 0, 0, 0, 1, 1, 1]))
    # closed form at t = 0.5: sin/cos of 2^k pi / 2 for k = 0, 1, 2
    s, c = (
        [math.sin(2**k * math.pi / 2) for k in range(3)],
        [math.cos(2**k * math.pi / 2) for k in range(3)],
    )
    torch.testing.assert_close(f[1], torch.tensor([0.5, *s, *c]), atol=1e-6, rtol=0)


def test_small_unet_shapes_and_zero_init():
    m = nn.SmallUNet(channels=1, width=8)
    x = torch.randn(2, 1, 8, 8)
    out = m(x, torch.rand(2))
    assert out.shape == x.shape and torch.all(out == 0)  # output layer starts at zero


def test_train_is_seeded_and_learns():
    s = kd.DiscreteSchedule.linear(100)
    x = torch.randn(512, 2) * 0.1 + 1.0
    loss = lambda m, b, g: kd.dsm_loss(m, b, s, generator=g)  # noqa: E731
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        m = nn.TimeMLP(dim=2, hidden=32, depth=2)
        runs.append(
            nn.train(m, loss, x, steps=200, batch_size=128, lr=3e-3, progress=False)
        )
    assert runs[0] == runs[1]
    assert sum(runs[0][-20:]) / 20 < 0.7 * sum(runs[0][:20]) / 20


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: nn.TimeMLP(dim=0), ValueError, "dim must be >= 1"),
        (
            lambda: nn.TimeMLP(dim=2)(torch.randn(4, 3), torch.rand(4)),
            ValueError,
            r"shape \(B, 2\)",
        ),
        (
            lambda: nn.TimeMLP(dim=2)(torch.randn(4, 2), torch.rand(3)),
            ValueError,
            r"t must have shape \(4,\)",
        ),
        (
            lambda: nn.SmallUNet()(torch.randn(2, 1, 7, 7), torch.rand(2)),
            ValueError,
            "even H, W",
        ),
        (lambda: nn.SmallUNet(width=4), ValueError, "width must be >= 8"),
        (
            lambda: nn.train(
                nn.TimeMLP(),
                lambda *a: 0,
                torch.randn(4, 2),
                steps=0,
                batch_size=2,
                lr=1e-3,
            ),
            ValueError,
            "steps",
        ),
        (
            lambda: nn.train(
                nn.TimeMLP(),
                lambda *a: 0,
                torch.randn(4, 2),
                steps=1,
                batch_size=2,
                lr=0.0,
            ),
            ValueError,
            "lr",
        ),
        (
            lambda: nn.train(
                nn.TimeMLP(), lambda *a: 0, [1, 2], steps=1, batch_size=2, lr=1e-3
            ),
            TypeError,
            "data",
        ),
        (
            lambda: nn.train(
                nn.TimeMLP(),
                lambda m, b, g: torch.tensor(float("nan")),
                torch.randn(4, 2),
                steps=1,
                batch_size=2,
                lr=1e-3,
                progress=False,
            ),
            FloatingPointError,
            "loss became nan",
        ),
    ],
)
def test_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
