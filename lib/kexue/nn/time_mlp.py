"""A time-conditioned MLP: the epsilon-model of the 2-D diffusion experiments (ddim
chapter, "Experiment").
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .._validate import check_int, check_tensor

__all__ = ["TimeMLP", "fourier_time_features"]


def fourier_time_features(t: torch.Tensor, n_freq: int) -> torch.Tensor:
    """``[t, sin(2^k pi t), cos(2^k pi t)]`` for k < n_freq; t (B,) in [0, 1] -> (B, 1 +
    2 n_freq).
    """
    check_tensor(t, "t", ndim=1)
    n_freq = check_int(n_freq, "n_freq", min_value=0)
    freqs = (
        2.0 ** torch.arange(n_freq, dtype=t.dtype, device=t.device)
    ) * math.pi  # (F,)
    ang = t[:, None] * freqs  # (B, F)
    return torch.cat([t[:, None], ang.sin(), ang.cos()], dim=1)


class TimeMLP(nn.Module):
    """``eps_theta(x, t)``: an MLP on ``[x, fourier(t)]`` with SiLU activations.

    Inputs: x (B, dim), t (B,) float in [0, 1] (the book's models see ``t = i/T``).
    Output (B, dim). Fourier features of ``t`` (rather than an embedding of the integer
    step) train much faster for small MLPs.
    """

    def __init__(
        self, dim: int = 2, hidden: int = 128, depth: int = 3, n_freq: int = 8
    ):
        super().__init__()
        self.dim = check_int(dim, "dim", min_value=1)
        check_int(hidden, "hidden", min_value=1)
        check_int(depth, "depth", min_value=1)
        self.n_freq = check_int(n_freq, "n_freq", min_value=0)
        layers, width = [], dim + 1 + 2 * n_freq
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``(B, dim), (B,) -> (B, dim)``; inside training loops NaN propagates."""
        check_tensor(x, "x", ndim=2)
        if x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (B, {self.dim}), got {tuple(x.shape)}")
        check_tensor(t, "t", ndim=1)
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
        p = next(self.parameters())
        h = torch.cat(
            [x.to(p.dtype), fourier_time_features(t.to(p.dtype), self.n_freq)], dim=1
        )
        return self.net(h).to(x.dtype)
