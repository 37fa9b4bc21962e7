"""Small matplotlib helpers shared by the chapters' figures (white backgrounds: readable in dark mode)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

__all__ = ["figure", "scatter2d", "trajectories2d", "image_grid"]


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def figure(ncols: int = 1, nrows: int = 1, size: float = 3.2, **kw):
    """``plt.subplots`` with the book's sizing and a white face colour; returns (fig, axes)."""
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(size * ncols * 1.1, size * nrows),
        facecolor="white",
        squeeze=False,
        **kw,
    )
    return fig, (axes[0, 0] if nrows == ncols == 1 else axes.ravel())


def scatter2d(
    ax,
    samples,
    reference=None,
    *,
    lim: float = 3.0,
    title: str | None = None,
    s: float = 2.0,
):
    """Generated 2-D ``samples`` (N, 2) in colour over a grey ``reference`` set (M, 2)."""
    if reference is not None:
        r = _np(reference)
        ax.scatter(r[:, 0], r[:, 1], s=s, c="0.8", linewidths=0, label="data")
    x = _np(samples)
    ax.scatter(x[:, 0], x[:, 1], s=s, c="tab:blue", linewidths=0, label="samples")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def trajectories2d(ax, traj, *, n: int = 12, color: str = "tab:red"):
    """Paths of the first ``n`` particles of a trajectory (S+1, B, 2): start (hollow) to end (filled)."""
    t = _np(traj)
    for k in range(min(n, t.shape[1])):
        ax.plot(t[:, k, 0], t[:, k, 1], "-", lw=0.8, color=color, alpha=0.8)
        ax.plot(t[0, k, 0], t[0, k, 1], "o", ms=3, mfc="white", mec=color)
        ax.plot(t[-1, k, 0], t[-1, k, 1], "o", ms=3, color=color)
    return ax


def image_grid(
    ax,
    images,
    *,
    nrow: int = 8,
    lo: float = -1.0,
    hi: float = 1.0,
    title: str | None = None,
):
    """Show (N, 1, H, W) images in a grid of ``nrow`` columns."""
    x = _np(images)
    n, _, h, w = x.shape
    rows = int(np.ceil(n / nrow))
    canvas = np.full((rows * (h + 1) + 1, nrow * (w + 1) + 1), lo, dtype=float)
    for k in range(n):
        r, c = divmod(k, nrow)
        canvas[
            1 + r * (h + 1) : 1 + r * (h + 1) + h, 1 + c * (w + 1) : 1 + c * (w + 1) + w
        ] = x[k, 0]
    ax.imshow(np.clip(canvas, lo, hi), cmap="gray_r", vmin=lo, vmax=hi)
    ax.set(xticks=[], yticks=[])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
