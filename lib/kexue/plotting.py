"""Small matplotlib helpers shared by the chapters' figures.

White backgrounds (readable in the website's dark mode). Every helper checks its
arguments first: data must be finite (a NaN point would silently vanish from the plot)
and shaped as the docstring says; ``ax`` must be a matplotlib ``Axes``.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like

from ._validate import check_int, check_positive, check_real

__all__ = ["figure", "scatter2d", "trajectories2d", "image_grid"]


def _data(x, name: str, shape: tuple) -> np.ndarray:
    """``x`` (tensor or array-like of numbers) as a float array of ``shape`` (None: any
    size), finite; a clear error naming ``name`` otherwise."""
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(
            f"{name} must be a tensor or array of numbers, got {type(x).__name__}"
        )
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    try:
        a = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a tensor or array of numbers, got {type(x).__name__}"
        ) from err
    want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
    if a.ndim != len(shape) or any(
        s is not None and s != d for s, d in zip(shape, a.shape, strict=False)
    ):
        raise ValueError(f"{name} must have shape {want}, got {tuple(a.shape)}")
    if not np.isfinite(a).all():
        bad = int((~np.isfinite(a)).sum())
        raise ValueError(
            f"{name} must be finite, got {bad} NaN/inf entries of {a.size} "
            f"(they would silently vanish from the plot)"
        )
    return a


def _axes(ax) -> Axes:
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    return ax


def _title(title) -> None:
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")


def figure(ncols: int = 1, nrows: int = 1, size: float = 3.2, **kw):
    """``plt.subplots`` with the book's sizing and a white face colour.

    Each panel is ``size`` inches tall and ``1.1 * size`` wide. Returns ``(fig, ax)``
    for one panel, else ``(fig, axes)`` with ``axes`` a flat array of ``nrows * ncols``.
    Other keywords go to ``plt.subplots`` (not ``figsize``, ``facecolor``, ``squeeze``).
    """
    ncols = check_int(ncols, "ncols", min_value=1)
    nrows = check_int(nrows, "nrows", min_value=1)
    size = check_positive(size, "size")
    fixed = {"figsize", "facecolor", "squeeze"} & set(kw)
    if fixed:
        raise TypeError(
            f"{', '.join(sorted(fixed))} is set by figure(); use ncols, nrows and size"
        )
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
    """Generated 2-D ``samples`` (N, 2) in colour over a grey ``reference`` set (M, 2).

    The view is the square ``[-lim, lim]^2``; ``s`` is the marker size. Returns ``ax``.
    """
    _axes(ax)
    x = _data(samples, "samples", (None, 2))
    r = None if reference is None else _data(reference, "reference", (None, 2))
    lim = check_positive(lim, "lim")
    s = check_positive(s, "s")
    _title(title)
    if r is not None:
        ax.scatter(r[:, 0], r[:, 1], s=s, c="0.8", linewidths=0, label="data")
    ax.scatter(x[:, 0], x[:, 1], s=s, c="tab:blue", linewidths=0, label="samples")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def trajectories2d(ax, traj, *, n: int = 12, color: str = "tab:red"):
    """Paths of the first ``n`` particles of a trajectory ``traj`` (S+1, B, 2).

    Each path runs from its start (hollow marker) to its end (filled). Returns ``ax``.
    """
    _axes(ax)
    t = _data(traj, "traj", (None, None, 2))
    if t.shape[0] < 1:
        raise ValueError(f"traj must hold at least one time, got shape {t.shape}")
    n = check_int(n, "n", min_value=1)
    if not isinstance(color, str) or not is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour name, got {color!r}")
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
    """Show ``images`` (N, 1, H, W) in a grid of ``nrow`` columns.

    Grey levels run from ``lo`` to ``hi`` (values outside are clipped). Returns ``ax``.
    """
    _axes(ax)
    x = _data(images, "images", (None, 1, None, None))
    nrow = check_int(nrow, "nrow", min_value=1)
    lo, hi = check_real(lo, "lo"), check_real(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got lo={lo}, hi={hi}")
    _title(title)
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
