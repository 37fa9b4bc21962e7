"""The one helper every demo goes through: ``interact(draw, **controls)``.

A demo is a pure function ``draw(**params) -> matplotlib.figure.Figure``. :func:`interact` shows it

* **in a live kernel** (JupyterLab, Colab): as ipywidgets controls that redraw the figure;
* **when the book is built** (``KEXUE_BOOK_BUILD=1``, set by the ``kexue.sphinxext`` extension): as a
  self-contained HTML element — the figure precomputed on a small grid of the controls (at most
  ``max_frames`` frames), native ``<input type="range">``/``<select>`` controls and a few lines of
  inline JavaScript that swap frames, with no kernel, CDN or external script. The default figure is
  also left as an ordinary ``image/png`` output, and is the ``<img>`` a reader without JavaScript sees;
* **outside IPython** (scripts, tests): it draws the default figure and returns the :class:`Demo`.

Controls are :class:`Slider` (numbers) and :class:`Choice` (any options).
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import itertools
import json
import os
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "Slider",
    "Choice",
    "Demo",
    "interact",
    "static_html",
    "figure_png",
    "MAX_FRAMES",
    "MAX_DEMO_BYTES",
]

MAX_FRAMES = 40  # frames per demo on the website
MAX_DEMO_BYTES = (
    3_000_000  # budget for one demo's HTML (frames included), checked by the tests
)
FRAME_DPI = 85


@dataclasses.dataclass
class Slider:
    """A numeric control over ``start..stop`` in steps of ``step``; ``value`` is the default."""

    start: float
    stop: float
    step: float
    value: float | None = None
    label: str | None = None

    def __post_init__(self):
        for k in ("start", "stop", "step"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(
                v, (int, float, np.integer, np.floating)
            ):
                raise TypeError(f"Slider {k} must be a number, got {type(v).__name__}")
        if not self.stop > self.start:
            raise ValueError(
                f"Slider needs stop > start, got start={self.start}, stop={self.stop}"
            )
        if not self.step > 0:
            raise ValueError(f"Slider step must be > 0, got {self.step}")
        n = round((self.stop - self.start) / self.step)
        if n > 10_000:
            raise ValueError(f"Slider has {n} positions; use a coarser step")
        self.values = [self._clean(self.start + k * self.step) for k in range(n + 1)]
        if self.value is None:
            self.value = self.values[0]
        if not self.start <= self.value <= self.stop:
            raise ValueError(
                f"Slider value must lie in [{self.start}, {self.stop}], got {self.value}"
            )
        self.value = min(self.values, key=lambda v: abs(v - self.value))

    def _clean(self, v):
        is_int = all(float(x).is_integer() for x in (self.start, self.step))
        return int(round(v)) if is_int else float(round(v, 10))

    def widget(self, name):
        import ipywidgets as w

        cls = w.IntSlider if isinstance(self.values[0], int) else w.FloatSlider
        return cls(
            min=self.values[0],
            max=self.values[-1],
            step=self.step,
            value=self.value,
            description=self.label or name,
            continuous_update=False,
        )


@dataclasses.dataclass
class Choice:
    """A control over a list of ``options`` (numbers or strings); ``value`` is the default."""

    options: Sequence[Any]
    value: Any = None
    label: str | None = None

    def __post_init__(self):
        self.options = list(self.options)
        if not self.options:
            raise ValueError("Choice needs at least one option")
        if self.value is None:
            self.value = self.options[0]
        if self.value not in self.options:
            raise ValueError(
                f"Choice value {self.value!r} is not one of the options {self.options}"
            )
        self.values = self.options

    def widget(self, name):
        import ipywidgets as w

        return w.Dropdown(
            options=self.options, value=self.value, description=self.label or name
        )


Control = Slider | Choice


def figure_png(fig, dpi: int = FRAME_DPI) -> bytes:
    """PNG bytes of a matplotlib figure (white background, readable in dark mode); closes the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(
            f"draw(...) must return a matplotlib Figure, got {type(fig).__name__}"
        )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _thin(values: list, default, n: int) -> list:
    """``n`` of ``values``, evenly spread, always including ``default``."""
    idx = sorted({int(round(p)) for p in np.linspace(0, len(values) - 1, n)})
    d = values.index(default)
    if d not in idx:
        idx[min(range(len(idx)), key=lambda k: abs(idx[k] - d))] = d
    return [values[k] for k in sorted(set(idx))]


def _grid(controls: dict[str, Control], max_frames: int) -> dict[str, list]:
    """Values per control for the static page: all of them, thinned (sliders only) to fit ``max_frames``."""
    grid = {k: list(c.values) for k, c in controls.items()}

    def size():
        return int(np.prod([len(v) for v in grid.values()])) if grid else 1

    while size() > max_frames:
        sliders = [
            k for k, c in controls.items() if isinstance(c, Slider) and len(grid[k]) > 1
        ]
        if not sliders:
            raise ValueError(
                f"the choices alone need {size()} frames > max_frames={max_frames}; "
                f"offer fewer options or raise max_frames"
            )
        k = max(sliders, key=lambda k: len(grid[k]))
        grid[k] = _thin(controls[k].values, controls[k].value, len(grid[k]) - 1)
    return grid


@dataclasses.dataclass
class Demo:
    """A demo: the drawing function, its controls, and (once rendered) the static frames."""

    draw: Callable
    controls: dict
    max_frames: int = MAX_FRAMES
    title: str = ""

    @property
    def defaults(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def figure(self, **params):
        p = {**self.defaults, **params}
        unknown = set(params) - set(self.controls)
        if unknown:
            raise ValueError(
                f"unknown control(s) {sorted(unknown)}; the demo has {sorted(self.controls)}"
            )
        return self.draw(**p)

    def _ipython_display_(self):  # displayed by interact() already
        return None


def static_html(demo: Demo, dpi: int = FRAME_DPI) -> tuple[str, bytes]:
    """Render the demo on its grid; return (self-contained HTML, PNG bytes of the default figure)."""
    grid = _grid(demo.controls, demo.max_frames)
    names = list(grid)
    frames = []
    default_png = None
    for combo in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, combo))
        png = figure_png(demo.figure(**params), dpi=dpi)
        frames.append(base64.b64encode(png).decode("ascii"))
        if params == demo.defaults:
            default_png = png
    if default_png is None:  # pragma: no cover - _grid always keeps defaults
        raise RuntimeError("the default parameters are not on the grid")
    uid = "kd-" + uuid.uuid4().hex[:10]
    parts = []
    for n in names:
        c, vals = demo.controls[n], grid[n]
        label = html.escape(c.label or n)
        pos = vals.index(c.value)
        if isinstance(c, Slider):
            parts.append(
                f'<label style="margin-right:1.2em">{label} <input type="range" min="0" max="{len(vals) - 1}" '
                f'step="1" value="{pos}" data-name="{html.escape(n)}" aria-label="{label}"> '
                f"<output>{html.escape(str(vals[pos]))}</output></label>"
            )
        else:
            opts = "".join(
                f'<option value="{k}"{" selected" if k == pos else ""}>{html.escape(str(v))}</option>'
                for k, v in enumerate(vals)
            )
            parts.append(
                f'<label style="margin-right:1.2em">{label} <select data-name="{html.escape(n)}" '
                f'aria-label="{label}">{opts}</select></label>'
            )
    sizes = [len(grid[n]) for n in names]
    labels = [[str(v) for v in grid[n]] for n in names]
    idx0 = frames.index(base64.b64encode(default_png).decode("ascii"))
    alt = html.escape(demo.title or "interactive figure")
    script = (
        "(function(){var r=document.getElementById('%s');"
        "var f=JSON.parse(r.querySelector('script.kexue-frames').textContent);"
        "var s=%s,l=%s,c=r.querySelectorAll('input,select'),im=r.querySelector('img');"
        "function u(){var k=0;for(var j=0;j<c.length;j++){var p=parseInt(c[j].value,10);k=k*s[j]+p;"
        "var o=c[j].parentNode.querySelector('output');if(o){o.textContent=l[j][p];}}"
        "im.src='data:image/png;base64,'+f[k];im.setAttribute('data-frame',k);}"
        "for(var j=0;j<c.length;j++){c[j].addEventListener('input',u);c[j].addEventListener('change',u);}})();"
    ) % (uid, json.dumps(sizes), json.dumps(labels))
    doc = (
        f'<div class="kexue-demo" id="{uid}" style="margin:0.5em 0">'
        f'<div class="kexue-demo-controls" style="font-size:0.9em;margin-bottom:0.3em">{"".join(parts)}</div>'
        f'<img class="kexue-demo-frame" data-frame="{idx0}" alt="{alt}" style="max-width:100%;background:white" '
        f'src="data:image/png;base64,{frames[idx0]}">'
        f'<script type="application/json" class="kexue-frames">{json.dumps(frames)}</script>'
        f"<script>{script}</script>"
        f'<div style="font-size:0.75em;color:#666">{len(frames)} precomputed frames; run the chapter '
        f"(Colab or Jupyter) for the live version with every value.</div></div>"
    )
    return doc, default_png


def _mode() -> str:
    if os.environ.get("KEXUE_BOOK_BUILD") == "1":
        return "static"
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return "script"
    ip = get_ipython()
    if ip is None or ip.__class__.__name__ == "TerminalInteractiveShell":
        return "script"
    return "live"


def interact(
    draw: Callable,
    *,
    max_frames: int = MAX_FRAMES,
    title: str = "",
    **controls: Control,
) -> Demo:
    """Show ``draw(**params)`` with one control per keyword (a :class:`Slider` or :class:`Choice`).

    Example::

        interact(draw_samples, steps=Choice([5, 10, 20, 50], value=20), eta=Slider(0, 1, 0.25))
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not controls:
        raise ValueError(
            "interact needs at least one control (e.g. eta=Slider(0, 1, 0.25))"
        )
    for k, c in controls.items():
        if not isinstance(c, (Slider, Choice)):
            raise TypeError(
                f"control {k!r} must be a Slider or a Choice, got {type(c).__name__}"
            )
    if not isinstance(max_frames, int) or max_frames < 1:
        raise ValueError(f"max_frames must be a positive int, got {max_frames!r}")
    demo = Demo(draw, dict(controls), max_frames, title)
    mode = _mode()
    if mode == "static":
        from IPython.display import display

        doc, png = static_html(demo)
        display(
            {
                "text/html": doc,
                "image/png": base64.b64encode(png).decode("ascii"),
                "text/plain": f"<interactive figure: {', '.join(controls)}>",
            },
            raw=True,
        )
    elif mode == "live":
        import ipywidgets as w
        import matplotlib.pyplot as plt
        from IPython.display import display

        ws = {k: c.widget(k) for k, c in controls.items()}
        out = w.Output()

        def redraw(**params):
            fig = demo.figure(**params)
            with out:
                out.clear_output(wait=True)
                display(fig)
            plt.close(fig)

        w.interactive_output(redraw, ws)
        display(w.VBox([w.HBox(list(ws.values())), out]))
    else:
        figure_png(demo.figure())
    return demo
