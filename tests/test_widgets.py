"""kexue.widgets: controls, the frame grid and its budget, the static page element, and
the three modes (live mode driven through real ipywidgets objects, no kernel)."""

import base64
import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from kexue import widgets as W  # noqa: E402


def draw(a, kind):
    fig, ax = plt.subplots(figsize=(3, 2))
    x = np.linspace(0, 6, 200)
    ax.plot(x, np.sin(a * x) if kind == "sin" else np.cos(a * x))
    ax.set_title(f"{kind} {a}")
    return fig


def demo(**kw):
    return W.Demo(
        draw,
        dict(a=W.Slider(0.5, 3.0, 0.1, value=1.0), kind=W.Choice(["sin", "cos"])),
        **kw,
    )


def test_slider_values_and_default():
    s = W.Slider(0, 1, 0.25, value=0.6)
    assert s.values == [0.0, 0.25, 0.5, 0.75, 1.0] and s.value == 0.5
    assert W.Slider(1, 10, 1).values == list(range(1, 11))


def test_grid_respects_budget_and_keeps_defaults():
    d = demo()
    for budget in [40, 10, 4]:
        grid = W._grid(d.controls, budget)
        assert np.prod([len(v) for v in grid.values()]) <= budget
        assert 1.0 in grid["a"] and grid["kind"] == ["sin", "cos"]
    with pytest.raises(ValueError, match="choices alone"):
        W._grid(d.controls, 1)


def test_static_html_is_self_contained_and_within_budget():
    d = demo()
    doc, png = W.static_html(d)
    frames = re.search(
        r'<script type="application/json" class="kexue-frames">(.*?)</script>', doc
    ).group(1)
    n_frames = frames.count('"') // 2
    assert n_frames <= W.MAX_FRAMES and n_frames == np.prod(
        [len(v) for v in W._grid(d.controls, W.MAX_FRAMES).values()]
    )
    assert len(doc.encode()) <= W.MAX_DEMO_BYTES
    assert (
        'src="http' not in doc and "<script src" not in doc
    )  # no external script or image
    assert 'type="range"' in doc and "<select" in doc
    shown = re.search(r'<img[^>]*src="data:image/png;base64,([^"]+)"', doc).group(1)
    assert base64.b64decode(shown) == png  # the visible frame is the default figure
    assert png.startswith(b"\x89PNG")


def test_frames_differ_between_parameters():
    d = demo()
    a = W.figure_png(d.figure(a=1.0, kind="sin"))
    b = W.figure_png(d.figure(a=2.0, kind="sin"))
    assert a != b


def test_script_mode_draws_default(monkeypatch):
    monkeypatch.delenv("KEXUE_BOOK_BUILD", raising=False)
    calls = []
    out = W.interact(
        lambda a: calls.append(a) or draw(a, "sin"), a=W.Slider(0, 1, 0.5, value=0.5)
    )
    assert calls == [0.5] and isinstance(out, W.Demo)


def test_static_mode_displays_html_and_png(monkeypatch):
    shown = []
    monkeypatch.setenv("KEXUE_BOOK_BUILD", "1")
    monkeypatch.setattr(
        "IPython.display.display", lambda obj, raw=False: shown.append(obj)
    )
    W.interact(
        draw, a=W.Slider(0.5, 1.5, 0.5, value=1.0), kind=W.Choice(["sin", "cos"])
    )
    (bundle,) = shown
    assert (
        set(bundle) == {"text/html", "image/png", "text/plain"}
        and "kexue-demo" in bundle["text/html"]
    )


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: W.Slider(1, 0, 0.1), ValueError, "stop must be > start"),
        (lambda: W.Slider(0, 1, 0), ValueError, "step must be > 0"),
        (lambda: W.Slider(0, 1, 0.1, value=2), ValueError, "value must lie"),
        (lambda: W.Slider("0", 1, 0.1), TypeError, "start must be a real number"),
        (lambda: W.Slider(0, float("inf"), 1), ValueError, "stop must be finite"),
        (lambda: W.Slider(0, 1, 0.6), ValueError, "step must divide"),
        (lambda: W.Slider(0, 1, 0.3), ValueError, "step must divide"),
        (lambda: W.Choice([]), ValueError, "at least one"),
        (lambda: W.Choice("abc"), TypeError, "options must be a list"),
        (lambda: W.Choice(["a", "b", "a"]), ValueError, "distinct"),
        (lambda: W.Choice([[1], [2]]), TypeError, "numbers or strings"),
        (lambda: W.Choice([1, 2], value=3), ValueError, "not one of"),
        (lambda: W.interact(draw), ValueError, "at least one control"),
        (lambda: W.interact(42, a=W.Slider(0, 1, 0.5)), TypeError, "callable"),
        (lambda: W.interact(draw, a=[1, 2]), TypeError, "must be a Slider or a Choice"),
        (
            lambda: W.interact(lambda a: 1, a=W.Slider(0, 1, 0.5)),
            TypeError,
            "fig must be a matplotlib Figure",
        ),
        (lambda: demo().figure(b=1), ValueError, "unknown control"),
        (lambda: demo().figure(a=9.0), ValueError, "a must lie in"),
        (lambda: demo().figure(kind="tan"), ValueError, "kind must be one of"),
    ],
)
def test_errors(call, exc, match, monkeypatch):
    monkeypatch.delenv("KEXUE_BOOK_BUILD", raising=False)
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize(
    "start, stop, step",
    [
        (0, 1, 0.25),
        (0.05, 2.85, 0.4),
        (0.05, 0.95, 0.15),
        (0, 1, 0.1),
        (1, 6, 1),
        (-3, 3, 0.2),
        (0, 0.003, 0.001),
        (1e-3, 1.001, 0.05),
    ],
)
def test_slider_ends_exactly_at_stop(start, stop, step):
    """The grid runs from start to stop in equal steps: never past stop, never short."""
    s = W.Slider(start, stop, step)
    v = np.array(s.values, dtype=float)
    assert v[0] == start and v[-1] == stop and (v <= stop).all()
    assert np.allclose(np.diff(v), step, rtol=1e-8, atol=0)
    assert len(v) == round((stop - start) / step) + 1


def test_slider_widget_readout_shows_the_step():
    assert W.Slider(0, 0.01, 0.001).widget("x").readout_format == ".3f"
    assert W.Slider(1, 6, 1).widget("n").__class__.__name__ == "IntSlider"


def _static_doc(**kw):
    d = W.Demo(
        draw, dict(a=W.Slider(0.5, 1.5, 0.5, value=1.0), kind=W.Choice(["sin"])), **kw
    )
    return W.static_html(d)[0]


def test_static_ids_are_deterministic_and_unique_on_a_page():
    W._IDS.clear()
    first, second = _static_doc(), _static_doc()
    ids = [re.search(r'id="(kd-[^"]+)"', d).group(1) for d in (first, second)]
    assert ids[0] != ids[1] and ids[1] == ids[0] + "-2"
    W._IDS.clear()
    assert _static_doc() == first  # same content, same HTML
    # ... and in two fresh processes (what two builds of a page see)
    code = (
        "import sys; sys.path.insert(0, 'tests'); import test_widgets as t; "
        "print(t._static_doc())"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1] and 'id="kd-' in runs[0]


def test_static_html_enforces_the_byte_budget(monkeypatch):
    monkeypatch.setattr(W, "MAX_DEMO_BYTES", 2_000)
    with pytest.raises(ValueError, match="MAX_DEMO_BYTES"):
        _static_doc()


# ---- live mode: the real ipywidgets objects, driven by setting .value (no kernel) ----


@pytest.fixture
def live(monkeypatch):
    """interact() in live mode; returns (demo, calls, displayed)."""
    shown = []
    monkeypatch.setattr(W, "_mode", lambda: "live")
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    calls = []

    def traced(a, kind):
        calls.append((a, kind))
        if kind == "tan" and a > 2:
            raise ZeroDivisionError(f"no tangent at a={a}")
        return draw(a, "sin" if kind == "tan" else kind)

    demo = W.interact(
        traced,
        a=W.Slider(0.5, 3.0, 0.1, value=1.0),
        kind=W.Choice(["sin", "cos", "tan"]),
    )
    return demo, calls, shown


def _png(out):
    (item,) = [o for o in out.outputs if o["output_type"] == "display_data"]
    return base64.b64decode(item["data"]["image/png"])


def _stderr(out):
    return "".join(o["text"] for o in out.outputs if o.get("name") == "stderr")


def test_live_mode_builds_widgets_and_redraws_on_change(live):
    import ipywidgets

    demo, calls, shown = live
    (box,) = shown
    assert isinstance(box, ipywidgets.VBox) and demo.output in box.children
    a, kind = demo.widgets["a"], demo.widgets["kind"]
    assert isinstance(a, ipywidgets.FloatSlider) and (a.min, a.max) == (0.5, 3.0)
    assert isinstance(kind, ipywidgets.Dropdown) and kind.value == "sin"
    assert calls == [(1.0, "sin")]
    first = _png(demo.output)
    assert first.startswith(b"\x89PNG")

    a.value = 2.0
    assert calls[-1] == (2.0, "sin") and _png(demo.output) != first
    kind.value = "cos"
    assert calls[-1] == (2.0, "cos")
    # a value the front end sends with float noise is snapped to the grid
    a.value = 0.1 * 12  # 1.2000000000000002
    assert calls[-1] == (1.2, "cos")
    n = len(calls)
    a.value, kind.value = 1.0, "sin"  # back to the default: cached, not redrawn
    assert _png(demo.output) == first and len(calls) == n + 1


def test_live_mode_shows_the_traceback_when_draw_raises(live):
    demo, calls, _ = live
    open_before = set(plt.get_fignums())
    demo.widgets["kind"].value = "tan"  # a = 1.0: draws
    assert _png(demo.output)
    demo.widgets["a"].value = 2.5  # raises inside draw
    assert calls[-1] == (2.5, "tan")
    err = _stderr(demo.output)
    assert "ZeroDivisionError: no tangent at a=2.5" in err and "Traceback" in err
    assert "draw(a=2.5, kind='tan') raised" in err
    assert not [o for o in demo.output.outputs if o["output_type"] == "display_data"]
    assert set(plt.get_fignums()) == open_before  # no figure left open
    demo.widgets["a"].value = 1.5  # recovers
    assert _png(demo.output) and not _stderr(demo.output)


def test_live_mode_shows_what_draw_prints_and_a_wrong_return(monkeypatch):
    monkeypatch.setattr(W, "_mode", lambda: "live")
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: None)

    def chatty(n):
        print(f"n = {n}")
        return draw(n, "sin") if n < 3 else "not a figure"

    demo = W.interact(chatty, n=W.Slider(1, 4, 1))
    assert demo.output.outputs[0] == {
        "output_type": "stream",
        "name": "stdout",
        "text": "n = 1\n",
    }
    demo.widgets["n"].value = 3
    assert "fig must be a matplotlib Figure" in _stderr(demo.output)
