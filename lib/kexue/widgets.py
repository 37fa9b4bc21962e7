"""The one helper every demo goes through: ``interact(draw, **controls)``.

A demo is a pure function ``draw(**params) -> matplotlib.figure.Figure``.
:func:`interact` shows it

* **in a live kernel** (JupyterLab, Colab): as ipywidgets controls (7.x API, so Colab's
  preinstalled ipywidgets 7.7.1 renders them) that redraw the figure; an exception in
  ``draw`` replaces the figure with its traceback;
* **when the book is built** (``KEXUE_BOOK_BUILD=1``, set by the ``kexue.sphinxext``
  extension): as a self-contained HTML element — the figure precomputed on a small grid
  of the controls (at most ``max_frames`` frames), native ``<input type="range">`` /
  ``<select>`` controls and a few lines of inline JavaScript that swap frames, with no
  kernel, CDN or external script. The default figure is also left as an ordinary
  ``image/png`` output, and is the ``<img>`` a reader without JavaScript sees. Element
  ids are content hashes, so every build writes the same HTML;
* **outside IPython** (scripts, tests): it draws the default figure and returns the
  :class:`Demo`.

Controls are :class:`Slider` (numbers) and :class:`Choice` (a list of options).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import html
import io
import itertools
import json
import os
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._validate import check_int

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


def _check_label(label) -> None:
    if label is not None and not isinstance(label, str):
        raise TypeError(f"label must be a str or None, got {type(label).__name__}")


def _check_name(name) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty str, got {name!r}")


def _number(v, name: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(v).__name__}")
    if not np.isfinite(float(v)):
        raise ValueError(f"{name} must be finite, got {v}")
    return v


def _decimals(step: float) -> int:
    """Decimal places needed to print multiples of ``step`` exactly (at most 10)."""
    for k in range(11):
        if abs(round(step, k) - step) <= 1e-12 * max(1.0, abs(step)):
            return k
    return 10


@dataclasses.dataclass
class Slider:
    """A numeric control over ``start, start + step, ..., stop``; ``value`` the default.

    ``step`` must divide ``stop - start`` (to a relative 1e-9), so the last position is
    exactly ``stop``: the control never runs past its maximum nor stops short of it. A
    ``value`` between two positions snaps to the nearest one.
    """

    start: float
    stop: float
    step: float
    value: float | None = None
    label: str | None = None

    def __post_init__(self):
        for k in ("start", "stop", "step"):
            _number(getattr(self, k), k)
        if not self.stop > self.start:
            raise ValueError(
                f"stop must be > start, got start={self.start}, stop={self.stop}"
            )
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step}")
        span = (self.stop - self.start) / self.step
        n = round(span)
        if abs(span - n) > 1e-9 * max(1.0, span):
            raise ValueError(
                f"step must divide stop - start = {self.stop - self.start} "
                f"(got step={self.step}: {span:.4g} steps); the last position must "
                f"be stop"
            )
        if n > 10_000:
            raise ValueError(f"step gives {n} positions (> 10000); use a coarser step")
        _check_label(self.label)
        # integer positions when start and step are whole numbers (stop then is too)
        self._int = all(float(x).is_integer() for x in (self.start, self.step))
        self._decimals = max(_decimals(float(self.step)), _decimals(float(self.start)))
        self.values = [self._clean(self.start + k * self.step) for k in range(n)]
        self.values.append(self._clean(self.stop))
        if self.value is None:
            self.value = self.values[0]
        _number(self.value, "value")
        if not self.start <= self.value <= self.stop:
            raise ValueError(
                f"value must lie in [{self.start}, {self.stop}], got {self.value}"
            )
        self.value = self.snap(self.value)

    def _clean(self, v):
        return int(round(v)) if self._int else float(round(v, 10))

    def snap(self, v):
        """The grid position nearest to ``v``."""
        _number(v, "v")
        return min(self.values, key=lambda g: abs(g - v))

    def widget(self, name):
        """The ipywidgets control (``IntSlider``/``FloatSlider``, 7.x API)."""
        import ipywidgets as w

        _check_name(name)
        common = dict(
            min=self.values[0],
            max=self.values[-1],
            step=self.step,
            value=self.value,
            description=self.label or name,
            continuous_update=False,
        )
        if self._int:
            return w.IntSlider(**common)
        return w.FloatSlider(readout_format=f".{self._decimals}f", **common)


@dataclasses.dataclass
class Choice:
    """A control over a list of distinct ``options`` (numbers or strings).

    ``value`` is the default (the first option if not given).
    """

    options: Sequence[Any]
    value: Any = None
    label: str | None = None

    def __post_init__(self):
        if isinstance(self.options, (str, bytes)) or not isinstance(
            self.options, (list, tuple, range)
        ):
            raise TypeError(
                f"options must be a list or tuple of options, got "
                f"{type(self.options).__name__} {self.options!r:.40}"
                + (
                    " (wrap a single string in a list)"
                    if isinstance(self.options, str)
                    else ""
                )
            )
        self.options = list(self.options)
        if not self.options:
            raise ValueError("options must hold at least one option, got []")
        seen = []
        for o in self.options:
            if not isinstance(o, (str, int, float, np.integer, np.floating)) or (
                isinstance(o, bool)
            ):
                raise TypeError(
                    f"options must be numbers or strings, got {type(o).__name__}"
                )
            if o in seen:
                raise ValueError(f"options must be distinct, got {o!r} twice")
            seen.append(o)
        _check_label(self.label)
        if self.value is None:
            self.value = self.options[0]
        if self.value not in self.options:
            raise ValueError(
                f"value {self.value!r} is not one of the options {self.options}"
            )
        self.values = self.options

    def widget(self, name):
        """The ipywidgets ``Dropdown`` (7.x API)."""
        import ipywidgets as w

        _check_name(name)
        return w.Dropdown(
            options=self.options, value=self.value, description=self.label or name
        )


Control = Slider | Choice


def figure_png(fig, dpi: int = FRAME_DPI) -> bytes:
    """PNG bytes of a matplotlib figure (white background, readable in dark mode).

    Closes the figure. ``fig`` is what a demo's ``draw(**params)`` returns.
    """
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise TypeError(
            f"fig must be a matplotlib Figure (what draw(...) must return), "
            f"got {type(fig).__name__}"
        )
    dpi = check_int(dpi, "dpi", min_value=1)
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
    """Values per control for the static page: all of them, thinned (sliders only) to
    fit ``max_frames``."""
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
    """A demo: the drawing function and its controls.

    In live mode :func:`interact` also stores the ipywidgets controls (``widgets``, one
    per control name) and the ``output`` widget that shows the figure, or the traceback
    when ``draw`` raises.
    """

    draw: Callable
    controls: dict
    max_frames: int = MAX_FRAMES
    title: str = ""
    widgets: dict | None = dataclasses.field(default=None, repr=False, compare=False)
    output: Any = dataclasses.field(default=None, repr=False, compare=False)

    def __post_init__(self):
        if not callable(self.draw):
            raise TypeError(f"draw must be callable, got {type(self.draw).__name__}")
        if not isinstance(self.controls, dict):
            raise TypeError(
                f"controls must be a dict name -> Slider/Choice, "
                f"got {type(self.controls).__name__}"
            )
        if not self.controls:
            raise ValueError(
                "controls must hold at least one control (e.g. eta=Slider(0, 1, 0.25))"
            )
        for k, c in self.controls.items():
            if not isinstance(k, str) or not k.isidentifier():
                raise TypeError(f"controls keys must be identifiers, got {k!r}")
            if not isinstance(c, (Slider, Choice)):
                raise TypeError(
                    f"controls[{k!r}] must be a Slider or a Choice, "
                    f"got {type(c).__name__}"
                )
        self.max_frames = check_int(self.max_frames, "max_frames", min_value=1)
        if not isinstance(self.title, str):
            raise TypeError(f"title must be a str, got {type(self.title).__name__}")

    @property
    def defaults(self) -> dict:
        return {k: c.value for k, c in self.controls.items()}

    def figure(self, **params):
        """``draw`` at the defaults, overridden by ``params`` (each a value its control
        offers)."""
        unknown = set(params) - set(self.controls)
        if unknown:
            raise ValueError(
                f"unknown control(s) {sorted(unknown)}; "
                f"the demo has {sorted(self.controls)}"
            )
        for k, v in params.items():
            c = self.controls[k]
            if isinstance(c, Slider):
                _number(v, k)
                if not c.start <= v <= c.stop:
                    raise ValueError(f"{k} must lie in [{c.start}, {c.stop}], got {v}")
            elif v not in c.options:
                raise ValueError(f"{k} must be one of {c.options}, got {v!r}")
        return self.draw(**{**self.defaults, **params})

    def _ipython_display_(self):  # displayed by interact() already
        return None


_IDS: dict[str, int] = {}  # element ids handed out in this process (repeats numbered)


def _element_id(frames: list[str], names: list[str], labels: list) -> str:
    """A content hash, so every build writes the same HTML; a repeat gets -2, -3."""
    h = hashlib.sha256(json.dumps([names, labels, frames]).encode()).hexdigest()[:12]
    _IDS[h] = _IDS.get(h, 0) + 1
    return f"kd-{h}" if _IDS[h] == 1 else f"kd-{h}-{_IDS[h]}"


def static_html(demo: Demo, dpi: int = FRAME_DPI) -> tuple[str, bytes]:
    """Render the demo on its grid; return (self-contained HTML, default figure's PNG).

    Raises ``ValueError`` if the HTML exceeds ``MAX_DEMO_BYTES``.
    """
    if not isinstance(demo, Demo):
        raise TypeError(f"demo must be a kexue.widgets.Demo, got {type(demo).__name__}")
    dpi = check_int(dpi, "dpi", min_value=1)
    grid = _grid(demo.controls, demo.max_frames)
    names = list(grid)
    frames = []
    default_png = None
    for combo in itertools.product(*(grid[n] for n in names)):
        params = dict(zip(names, combo, strict=True))
        png = figure_png(demo.figure(**params), dpi=dpi)
        frames.append(base64.b64encode(png).decode("ascii"))
        if params == demo.defaults:
            default_png = png
    if default_png is None:  # pragma: no cover - _grid always keeps defaults
        raise RuntimeError("the default parameters are not on the grid")
    sizes = [len(grid[n]) for n in names]
    labels = [[str(v) for v in grid[n]] for n in names]
    uid = _element_id(frames, names, labels)
    parts = []
    for n in names:
        c, vals = demo.controls[n], grid[n]
        label, name = html.escape(c.label or n), html.escape(n)
        pos = vals.index(c.value)
        if isinstance(c, Slider):
            parts.append(
                f'<label style="margin-right:1.2em">{label} <input type="range" '
                f'min="0" max="{len(vals) - 1}" step="1" value="{pos}" '
                f'data-name="{name}" aria-label="{label}"> '
                f"<output>{html.escape(str(vals[pos]))}</output></label>"
            )
        else:
            opts = "".join(
                f'<option value="{k}"{" selected" if k == pos else ""}>'
                f"{html.escape(str(v))}</option>"
                for k, v in enumerate(vals)
            )
            parts.append(
                f'<label style="margin-right:1.2em">{label} <select '
                f'data-name="{name}" aria-label="{label}">{opts}</select></label>'
            )
    idx0 = frames.index(base64.b64encode(default_png).decode("ascii"))
    alt = html.escape(demo.title or "interactive figure")
    script = "".join(
        [
            f"(function(){{var r=document.getElementById('{uid}');",
            "var f=JSON.parse(r.querySelector('script.kexue-frames').textContent);",
            f"var s={json.dumps(sizes)},l={json.dumps(labels)},",
            "c=r.querySelectorAll('input,select'),im=r.querySelector('img');",
            "function u(){var k=0;for(var j=0;j<c.length;j++){",
            "var p=parseInt(c[j].value,10);k=k*s[j]+p;",
            "var o=c[j].parentNode.querySelector('output');",
            "if(o){o.textContent=l[j][p];}}",
            "im.src='data:image/png;base64,'+f[k];im.setAttribute('data-frame',k);}",
            "for(var j=0;j<c.length;j++){c[j].addEventListener('input',u);",
            "c[j].addEventListener('change',u);}})();",
        ]
    )
    doc = (
        f'<div class="kexue-demo" id="{uid}" style="margin:0.5em 0">'
        '<div class="kexue-demo-controls" style="font-size:0.9em;margin-bottom:0.3em">'
        f"{''.join(parts)}</div>"
        f'<img class="kexue-demo-frame" data-frame="{idx0}" alt="{alt}" '
        'style="max-width:100%;background:white" '
        f'src="data:image/png;base64,{frames[idx0]}">'
        '<script type="application/json" class="kexue-frames">'
        f"{json.dumps(frames)}</script>"
        f"<script>{script}</script>"
        f'<div style="font-size:0.75em;color:#666">{len(frames)} precomputed frames; '
        "run the chapter (Colab or Jupyter) for the live version with every value."
        "</div></div>"
    )
    if len(doc.encode()) > MAX_DEMO_BYTES:
        raise ValueError(
            f"demo renders to {len(doc.encode())} bytes of HTML > MAX_DEMO_BYTES="
            f"{MAX_DEMO_BYTES}; lower max_frames or the figure size"
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


LIVE_DPI = 100
_CACHE_SIZE = 64  # figures kept per live demo (moving a control back redraws nothing)


def _stream(name: str, text: str) -> dict:
    return {"output_type": "stream", "name": name, "text": text}


def _render_live(demo: Demo, params: dict, out, cache: OrderedDict) -> None:
    """Draw ``params`` into the ``out`` widget: the figure, or the traceback if ``draw``
    raises.

    The outputs are set on the widget itself (its ``outputs`` trait, ipywidgets 7 and
    8), so nothing depends on which cell the kernel is executing when a control moves.
    Front ends render that trait: JupyterLab's output widget, and Colab's widget
    manager, whose ``OutputView`` re-renders on ``change:outputs``
    (googlecolab/colab-cdn-widget-manager, ``src/outputs.ts``).
    """
    import matplotlib.pyplot as plt

    try:
        key = tuple(params.items())
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in cache:
        cache.move_to_end(key)
        out.outputs = cache[key]
        return
    before = set(plt.get_fignums())
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            png = figure_png(demo.figure(**params), dpi=LIVE_DPI)
    except Exception as err:  # noqa: BLE001 - shown to the reader, not swallowed
        for num in set(plt.get_fignums()) - before:
            plt.close(num)
        call = ", ".join(f"{k}={v!r}" for k, v in params.items())
        text = (
            f"draw({call}) raised {type(err).__name__}; the figure was not redrawn.\n"
            + traceback.format_exc()
        )
        shown = [_stream("stdout", printed.getvalue())] if printed.getvalue() else []
        out.outputs = tuple([*shown, _stream("stderr", text)])
        return
    shown = [_stream("stdout", printed.getvalue())] if printed.getvalue() else []
    call = ", ".join(f"{k}={v!r}" for k, v in params.items())
    image = {
        "output_type": "display_data",
        "data": {
            "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": f"<figure: {call}>",
        },
        "metadata": {},
    }
    out.outputs = tuple([*shown, image])
    if key is not None:
        cache[key] = out.outputs
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def _live(demo: Demo) -> None:
    """Build and wire the ipywidgets controls and output of ``demo`` (no display)."""
    import ipywidgets as w

    ws = {k: c.widget(k) for k, c in demo.controls.items()}
    out = w.Output()
    cache: OrderedDict = OrderedDict()

    def redraw(change=None):
        params = {}
        for k, c in demo.controls.items():
            v = ws[k].value
            params[k] = c.snap(v) if isinstance(c, Slider) else v
        _render_live(demo, params, out, cache)

    for wd in ws.values():
        wd.observe(redraw, names="value")
    demo.widgets, demo.output = ws, out
    redraw()


def interact(
    draw: Callable,
    *,
    max_frames: int = MAX_FRAMES,
    title: str = "",
    **controls: Control,
) -> Demo:
    """Show ``draw(**params)`` with one control per keyword (a :class:`Slider` or
    :class:`Choice`); return the :class:`Demo`.

    In live mode an exception raised by ``draw`` replaces the figure with its traceback
    (the reader sees why nothing changed); in script mode it propagates.

    Example::

        interact(draw_samples, steps=Choice([5, 10, 20, 50], value=20),
                 eta=Slider(0, 1, 0.25))
    """
    if not callable(draw):
        raise TypeError(f"draw must be callable, got {type(draw).__name__}")
    if not controls:
        raise ValueError(
            "interact needs at least one control (e.g. eta=Slider(0, 1, 0.25))"
        )
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
        from IPython.display import display

        _live(demo)
        display(w.VBox([w.HBox(list(demo.widgets.values())), demo.output]))
    else:
        figure_png(demo.figure())
    return demo
