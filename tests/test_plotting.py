"""kexue.plotting: what each helper draws (read back from the matplotlib artists), and
the inputs it refuses instead of drawing something else."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from kexue import plotting  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("ncols, nrows", [(1, 1), (3, 1), (2, 2)])
def test_figure_sizes_panels_and_white_face(ncols, nrows):
    fig, ax = plotting.figure(ncols=ncols, nrows=nrows, size=2.0)
    assert tuple(fig.get_size_inches()) == pytest.approx(
        (2.0 * ncols * 1.1, 2.0 * nrows)
    )
    assert to_rgba(fig.get_facecolor()) == to_rgba("white")
    if ncols == nrows == 1:
        assert isinstance(ax, Axes)
    else:
        assert ax.shape == (ncols * nrows,) and all(isinstance(a, Axes) for a in ax)


def test_figure_passes_other_keywords_and_refuses_its_own():
    _, axes = plotting.figure(ncols=2, sharey=True)
    assert axes[0].get_shared_y_axes().joined(axes[0], axes[1])
    with pytest.raises(TypeError, match="figsize"):
        plotting.figure(figsize=(3, 3))


def test_scatter2d_plots_reference_then_samples_at_their_coordinates():
    g = torch.Generator().manual_seed(0)
    x, ref = torch.randn(50, 2, generator=g), torch.randn(80, 2, generator=g).numpy()
    _, ax = plotting.figure()
    out = plotting.scatter2d(ax, x, ref, lim=2.5, title="moons", s=4.0)
    assert out is ax
    grey, blue = ax.collections
    np.testing.assert_array_equal(grey.get_offsets(), ref)
    np.testing.assert_allclose(blue.get_offsets(), x.numpy(), rtol=1e-7)
    assert to_rgba(grey.get_facecolor()[0]) == to_rgba("0.8")
    assert blue.get_sizes()[0] == 4.0
    assert ax.get_xlim() == (-2.5, 2.5) and ax.get_ylim() == (-2.5, 2.5)
    assert ax.get_title() == "moons"
    _, ax2 = plotting.figure()
    plotting.scatter2d(ax2, x)  # no reference: one collection
    assert len(ax2.collections) == 1


def test_scatter2d_refuses_three_columns_and_nan():
    """It used to plot columns 0-1 of an (N, 3) array and drop NaN points silently."""
    _, ax = plotting.figure()
    with pytest.raises(ValueError, match=r"samples must have shape \(\*, 2\)"):
        plotting.scatter2d(ax, torch.zeros(5, 3))
    x = torch.zeros(5, 2)
    x[2, 1] = float("nan")
    with pytest.raises(ValueError, match="samples must be finite, got 1 NaN/inf"):
        plotting.scatter2d(ax, x)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plotting.scatter2d(None, torch.zeros(5, 2))
    assert not ax.collections  # nothing was drawn


def test_trajectories2d_draws_each_path_and_its_ends():
    traj = torch.cumsum(torch.ones(6, 5, 2), dim=0)  # (S+1, B, 2)
    traj[:, :, 1] *= torch.arange(5.0)
    _, ax = plotting.figure()
    plotting.trajectories2d(ax, traj, n=3, color="tab:green")
    lines = ax.get_lines()
    assert len(lines) == 3 * 3  # path, start marker, end marker for 3 of 5 particles
    for k in range(3):
        path, start, end = lines[3 * k : 3 * k + 3]
        np.testing.assert_array_equal(path.get_xydata(), traj[:, k].numpy())
        np.testing.assert_array_equal(start.get_xydata()[0], traj[0, k].numpy())
        np.testing.assert_array_equal(end.get_xydata()[0], traj[-1, k].numpy())
        assert to_rgba(start.get_markerfacecolor()) == to_rgba("white")
        assert to_rgba(end.get_markerfacecolor()) == to_rgba("tab:green")
    _, ax2 = plotting.figure()
    plotting.trajectories2d(ax2, traj, n=50)  # n larger than the batch: all 5
    assert len(ax2.get_lines()) == 3 * 5


def test_image_grid_places_each_image_and_clips():
    imgs = torch.linspace(-2, 2, 5 * 3 * 2).reshape(5, 1, 3, 2)  # N=5, H=3, W=2
    _, ax = plotting.figure()
    plotting.image_grid(ax, imgs, nrow=2, lo=-1.0, hi=1.0, title="digits")
    (im,) = ax.get_images()
    canvas = np.asarray(im.get_array())
    assert canvas.shape == (3 * (3 + 1) + 1, 2 * (2 + 1) + 1)  # 3 rows of 2, 1-px gaps
    for k in range(5):
        r, c = divmod(k, 2)
        block = canvas[1 + r * 4 : 1 + r * 4 + 3, 1 + c * 3 : 1 + c * 3 + 2]
        np.testing.assert_allclose(block, imgs[k, 0].clamp(-1, 1).numpy(), rtol=1e-6)
    assert canvas.min() == -1.0 and canvas.max() == 1.0
    assert im.get_clim() == (-1.0, 1.0) and ax.get_title() == "digits"
    empty = canvas[1 + 2 * 4 : 1 + 2 * 4 + 3, 1 + 3 : 1 + 3 + 2]  # slot 6 is unused
    assert (empty == -1.0).all()


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda ax: plotting.image_grid(ax, torch.zeros(4, 8, 8)),
            ValueError,
            "images",
        ),
        (
            lambda ax: plotting.image_grid(ax, torch.zeros(4, 1, 2, 2), lo=1, hi=0),
            ValueError,
            "lo must be < hi",
        ),
        (lambda ax: plotting.trajectories2d(ax, torch.zeros(3, 2)), ValueError, "traj"),
        (
            lambda ax: plotting.trajectories2d(ax, torch.zeros(3, 2, 2), color="nope"),
            ValueError,
            "color",
        ),
        (lambda ax: plotting.figure(ncols=0), ValueError, "ncols"),
        (lambda ax: plotting.figure(size=float("nan")), ValueError, "size"),
    ],
)
def test_bad_input_names_the_argument(call, exc, match):
    _, ax = plotting.figure()
    with pytest.raises(exc, match=match):
        call(ax)
