"""kexue.widgets: controls, the frame grid and its budget, the static page element, and the three modes."""

import base64
import re

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
        (lambda: W.Slider(1, 0, 0.1), ValueError, "stop > start"),
        (lambda: W.Slider(0, 1, 0), ValueError, "step must be > 0"),
        (lambda: W.Slider(0, 1, 0.1, value=2), ValueError, "value must lie"),
        (lambda: W.Slider("0", 1, 0.1), TypeError, "number"),
        (lambda: W.Choice([]), ValueError, "at least one"),
        (lambda: W.Choice([1, 2], value=3), ValueError, "not one of"),
        (lambda: W.interact(draw), ValueError, "at least one control"),
        (lambda: W.interact(42, a=W.Slider(0, 1, 0.5)), TypeError, "callable"),
        (lambda: W.interact(draw, a=[1, 2]), TypeError, "Slider or a Choice"),
        (
            lambda: W.interact(lambda a: 1, a=W.Slider(0, 1, 0.5)),
            TypeError,
            "matplotlib Figure",
        ),
        (lambda: demo().figure(b=1), ValueError, "unknown control"),
    ],
)
def test_errors(call, exc, match, monkeypatch):
    monkeypatch.delenv("KEXUE_BOOK_BUILD", raising=False)
    with pytest.raises(exc, match=match):
        call()
