"""A small convolutional U-Net epsilon-model for the image variants (8x8 digits, 28x28
MNIST).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .._validate import check_int, check_tensor
from .time_mlp import fourier_time_features

__all__ = ["SmallUNet"]


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, t_dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.norm1 = nn.GroupNorm(min(8, c_out), c_out)
        self.norm2 = nn.GroupNorm(min(8, c_out), c_out)
        self.time = nn.Linear(t_dim, c_out)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, temb):  # x (B, C, H, W), temb (B, t_dim)
        h = F.silu(self.norm1(self.conv1(x)))
        h = h + self.time(temb)[:, :, None, None]
        h = F.silu(self.norm2(self.conv2(h)))
        return h + self.skip(x)


class SmallUNet(nn.Module):
    """Two-level U-Net: (B, C, H, W) images and (B,) times in [0, 1] -> predicted noise
    (B, C, H, W).

    H and W must be even. ``width`` channels at full resolution, ``2 * width`` at half
    resolution.
    """

    def __init__(self, channels: int = 1, width: int = 32, n_freq: int = 8):
        super().__init__()
        self.channels = check_int(channels, "channels", min_value=1)
        w = check_int(width, "width", min_value=8)
        self.n_freq = check_int(n_freq, "n_freq", min_value=0)
        t_dim = 1 + 2 * n_freq
        self.t_mlp = nn.Sequential(
            nn.Linear(t_dim, 4 * w), nn.SiLU(), nn.Linear(4 * w, 4 * w)
        )
        self.inp = nn.Conv2d(channels, w, 3, padding=1)
        self.down = _Block(w, w, 4 * w)
        self.mid = _Block(w, 2 * w, 4 * w)
        self.up = _Block(3 * w, w, 4 * w)
        self.out = nn.Conv2d(w, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W), (B,) -> (B, C, H, W)``; runs inside training loops: NaN
        propagates."""
        check_tensor(x, "x", ndim=4)
        if x.shape[1] != self.channels or x.shape[2] % 2 or x.shape[3] % 2:
            raise ValueError(
                f"x must have shape (B, {self.channels}, H, W) with even H, W; got "
                f"{tuple(x.shape)}"
            )
        check_tensor(t, "t", ndim=1)
        if t.shape[0] != x.shape[0]:
            raise ValueError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
        temb = self.t_mlp(fourier_time_features(t.to(x.dtype), self.n_freq))  # (B, 4w)
        h0 = self.down(self.inp(x), temb)  # (B, w, H, W)
        h1 = self.mid(F.avg_pool2d(h0, 2), temb)  # (B, 2w, H/2, W/2)
        h = torch.cat(
            [F.interpolate(h1, scale_factor=2, mode="nearest"), h0], 1
        )  # (B, 3w, H, W)
        return self.out(self.up(h, temb))
