"""Bad-input contract of kexue.widgets, kexue.plotting and kexue.device.

One valid call per public function, class and method, and the kind of each argument
(see ``tests/contract.py``); ``bad`` lists the values no generic kind derives (a
string as a list of options, a shape with 3 columns, a step that does not divide the
range, ...).
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402
from contract import Call  # noqa: E402
from kexue import device, plotting, widgets  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

NAN, INF = math.nan, math.inf


def _fig():
    """A figure outside pyplot (the harness's rejected calls never close it)."""
    fig = Figure(figsize=(1, 1))
    fig.add_subplot().plot([0, 1])
    return fig


def _ax():
    return Figure(figsize=(1, 1)).add_subplot()


def _draw(a=0.5, kind="sin"):
    return _fig()


def _demo():
    return widgets.Demo(_draw, {"a": widgets.Slider(0, 1, 0.5)}, max_frames=4)


def _with_nan(shape):
    x = torch.zeros(shape)
    x.view(-1)[0] = NAN
    return x


_SLIDER = widgets.Slider(0, 1, 0.25)
_CHOICE = widgets.Choice(["sin", "cos"])
_THREADS = torch.get_num_threads()  # a valid thread count that changes nothing

CALLS = [
    # ---- widgets ----
    Call(
        widgets.Slider,
        lambda: dict(start=0, stop=1, step=0.25, value=0.5, label="eta"),
        {"step": "float>0"},
        bad={
            "start": [None, "0", NAN, INF, 1.0, 2.0],
            "stop": [None, "1", NAN, INF, 0.0, -1.0],
            "step": [0.3, 0.6, 2.0],  # does not divide 1 (or runs past stop)
            "value": ["0.5", NAN, -0.1, 1.5],
            "label": [3, ["eta"]],
        },
    ),
    Call(
        _SLIDER.widget,
        lambda: dict(name="eta"),
        {"name": "object"},
        name="kexue.widgets.Slider.widget",
        bad={"name": [None, 3, ""]},
    ),
    Call(
        _SLIDER.snap,
        lambda: dict(v=0.3),
        {"v": "object"},
        name="kexue.widgets.Slider.snap",
        bad={"v": [None, "0.3", NAN, INF]},
    ),
    Call(
        widgets.Choice,
        lambda: dict(options=["sin", "cos"], value="cos", label="f"),
        {},
        bad={
            "options": [None, "abc", b"ab", [], ["a", "a"], [[1], [2]], {"a": 1}, 3],
            "value": ["tan", 3],
            "label": [3],
        },
    ),
    Call(
        _CHOICE.widget,
        lambda: dict(name="kind"),
        {"name": "object"},
        name="kexue.widgets.Choice.widget",
        bad={"name": [None, 3, ""]},
    ),
    Call(
        widgets.Demo,
        lambda: dict(
            draw=_draw, controls={"a": widgets.Slider(0, 1, 0.5)}, max_frames=4
        ),
        {"draw": "callable", "max_frames": "int>=1"},
        bad={
            "controls": [None, {}, {"a": [0, 1]}, [widgets.Slider(0, 1, 0.5)]],
            "title": [3],
        },
    ),
    Call(
        _demo().figure,
        lambda: dict(a=1.0),
        {"a": "object"},
        name="kexue.widgets.Demo.figure",
        bad={"a": [None, "1", NAN, 2.0, -1.0]},
    ),
    Call(
        widgets.static_html,
        lambda: dict(demo=_demo(), dpi=20),
        {"dpi": "int>=1"},
        bad={"demo": [None, "demo", _draw]},
    ),
    Call(
        widgets.figure_png,
        lambda: dict(fig=_fig(), dpi=20),
        {"dpi": "int>=1"},
        bad={"fig": [None, "fig", _ax()]},
    ),
    Call(
        widgets.interact,
        lambda: dict(draw=_draw, a=widgets.Slider(0, 1, 0.5), max_frames=4),
        {"draw": "callable", "max_frames": "int>=1"},
        bad={"a": [None, [0, 1], 0.5], "title": [3]},
    ),
    # ---- plotting ----
    Call(
        plotting.figure,
        lambda: dict(ncols=2, nrows=1, size=1.0),
        {"ncols": "int>=1", "nrows": "int>=1", "size": "float>0"},
    ),
    Call(
        plotting.scatter2d,
        lambda: dict(
            ax=_ax(),
            samples=torch.randn(5, 2),
            reference=torch.randn(7, 2),
            lim=2.0,
            title="t",
            s=1.0,
        ),
        {"lim": "float>0", "s": "float>0"},
        bad={
            "ax": [None, "ax", _fig()],
            "samples": [
                None,
                "abc",
                {"a": 1},
                torch.zeros(5, 3),
                torch.zeros(5),
                _with_nan((5, 2)),
                torch.full((5, 2), INF),
            ],
            "reference": ["abc", torch.zeros(4, 3), _with_nan((4, 2))],
            "title": [3],
        },
    ),
    Call(
        plotting.trajectories2d,
        lambda: dict(ax=_ax(), traj=torch.randn(4, 3, 2), n=2, color="tab:red"),
        {"n": "int>=1"},
        bad={
            "ax": [None, "ax"],
            "traj": [
                None,
                "abc",
                torch.zeros(4, 3),
                torch.zeros(4, 3, 3),
                torch.zeros(0, 3, 2),
                _with_nan((4, 3, 2)),
            ],
            "color": [None, 3, "no-such-colour"],
        },
    ),
    Call(
        plotting.image_grid,
        lambda: dict(
            ax=_ax(), images=torch.rand(5, 1, 4, 4), nrow=2, lo=0.0, hi=1.0, title="t"
        ),
        {"nrow": "int>=1"},
        bad={
            "ax": [None, "ax"],
            "images": [
                None,
                "abc",
                torch.zeros(5, 4, 4),
                torch.zeros(5, 3, 4, 4),
                _with_nan((5, 1, 4, 4)),
            ],
            "lo": [None, "0", NAN, INF, 1.0, 2.0],
            "hi": [None, "1", NAN, INF, 0.0, -1.0],
            "title": [3],
        },
    ),
    # ---- device ----
    Call(device.get_device, lambda: {}, {}),
    Call(device.scale, lambda: {}, {}),
    Call(device.seed_all, lambda: dict(seed=0), {"seed": "int>=0"}),
    Call(device.set_threads, lambda: dict(n=_THREADS), {"n": "int>=1"}),
    Call(
        device.preset,
        lambda: dict(chapter="ddim", which="cpu"),
        {
            "chapter": "choice:" + "|".join(sorted(device.PRESETS)),
            "which": "choice:cpu|gpu|None",
        },
    ),
    Call(
        device.setup,
        lambda: dict(seed=0, threads=_THREADS, verbose=False),
        {"seed": "int>=0", "threads": "int>=1|None", "verbose": "bool"},
    ),
]

EXEMPT = {
    "kexue.widgets.MAX_FRAMES": "a constant: the frame budget of one static demo",
    "kexue.widgets.MAX_DEMO_BYTES": "a constant: the byte budget of one demo's HTML",
    "kexue.device.PRESETS": "a constant: the experiment sizes per chapter and scale",
}
