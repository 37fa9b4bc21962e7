"""Every chapter in _toc.yml: stamped, clean, names its source, uses the helpers, runs
in a fresh kernel within its budget, and (one chapter, run twice) prints the same
outputs every time."""

import contextlib
import json
import os
import re
import time

import nbformat
import pytest
from conftest import ROOT, toc_chapters
from nbclient import NotebookClient

CHAPTERS = toc_chapters()
# Kernel CPU seconds per chapter on the 2-core CPU: the hard rule of CHAPTER.md is 60 s;
# the aim (issue 8, section 3) is 20 s, printed per chapter (not yet met by all).
BUDGET_S = 60
AIM_S = 20
CACHE = ROOT / "_build" / "kexue-cache"
# Wall-time guard against hangs only: on a shared machine wall time says little.
HANG_S = 900


@contextlib.contextmanager
def _environ(values: dict):
    """Set environment variables for the block, then restore them (or unset them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _ids():
    return [str(p.relative_to(ROOT / "chapters")) for p in CHAPTERS]


def test_toc_lists_every_chapter_and_only_existing_ones():
    on_disk = set((ROOT / "chapters").glob("*/*.ipynb"))
    assert CHAPTERS, "the table of contents lists no chapter"
    assert set(CHAPTERS) == on_disk, (
        f"in toc only: {set(CHAPTERS) - on_disk}; "
        f"on disk only: {on_disk - set(CHAPTERS)}"
    )


@pytest.mark.parametrize("path", CHAPTERS, ids=_ids())
def test_chapter_structure(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = nb["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(
        cells[0]["source"]
    ).startswith("# ")
    head = "".join(cells[0]["source"])
    # The date in full; or, for a post known only from a listing page that shows no
    # year (the appendix's reposts), month and day with the words "year not shown".
    dated = re.search(r"\d{4}-\d{2}-\d{2}", head) or (
        re.search(r"\b\d{2}-\d{2}\b", head) and "year not shown" in head
    )
    assert "苏剑林" in head and "科学空间" in head and dated, (
        "must name its source post and its date"
    )
    assert "kexue-setup" in cells[1]["metadata"].get("tags", [])
    for c in cells:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, (
                "committed notebooks carry no outputs"
            )
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert re.search(r"\bcheck_(equal|zero)\(", code), (
        "must check a derivation with kexue.symbolic"
    )
    assert re.search(r"\bwidgets\.interact\(", code), "must have a kexue.widgets demo"
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    for section in ["What we checked", "Exercises", "References", "Try it"]:
        assert section in md, f"missing section {section!r}"
    assert "{cite}" in md, "cite the post and papers from references.bib"
    assert "{bibliography}" not in md, (
        "the one bibliography lives on bibliography.md "
        "(per-chapter lists duplicate keys)"
    )


@pytest.fixture(scope="session")
def shared_networks():
    """Train (or load) the networks chapters share through kexue.nn.cache, once per run.

    The issue asks for one cached network where chapters train the same thing; a book
    build pays its training once (the first chapter that needs it). The budget below is
    the chapter's own cost given that cache, so the fixture fills it first, outside the
    kernels, under a lock shared by the test workers.
    """
    import kexue
    from filelock import FileLock
    from kexue.diffusion import pretrained

    CACHE.mkdir(parents=True, exist_ok=True)
    with _environ({"KEXUE_CACHE_DIR": str(CACHE), "KEXUE_SCALE": "cpu"}):
        with FileLock(str(CACHE / ".lock")):
            for chapter in ("ddim", "sde"):
                pretrained.moons_eps(kexue.device.preset(chapter))
    return CACHE


@pytest.mark.chapter
@pytest.mark.parametrize("path", CHAPTERS, ids=_ids())
def test_chapter_executes_in_fresh_kernel(path, shared_networks):
    """Runs top to bottom with no error, within the budget.

    The budget is checked on the CPU time the kernel process consumes (user + system):
    that is the chapter's cost on an otherwise idle machine (chapters use one thread),
    and unlike wall time it does not grow when other tests run beside this one. Wall
    time is reported, and bounded loosely to catch hangs.
    """
    import psutil

    nb = nbformat.read(path, as_version=4)
    env = {
        "HF_HUB_OFFLINE": "1",
        "KEXUE_SCALE": "cpu",
        "KEXUE_CACHE_DIR": str(shared_networks),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    client = NotebookClient(
        nb,
        timeout=HANG_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    with _environ(env):
        start = time.perf_counter()
        with client.setup_kernel():
            kernel = psutil.Process(client.km.provisioner.process.pid)
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            cpu = kernel.cpu_times()
            cpu_s = cpu.user + cpu.system + cpu.children_user + cpu.children_system
        wall_s = time.perf_counter() - start
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type == "error"
    ]
    assert not errors
    aim = "within" if cpu_s < AIM_S else "OVER"
    print(f"{path.name}: {cpu_s:.1f} s CPU in the kernel ({aim} the {AIM_S} s aim)")
    assert cpu_s < BUDGET_S, (
        f"{path.name} used {cpu_s:.1f} s of CPU (budget {BUDGET_S} s on a 2-core CPU)"
    )
    assert wall_s < HANG_S, f"{path.name} took {wall_s:.1f} s of wall time"


# ------------------------------------------------------------------------ same output
# The chapter run twice: one that trains networks and draws random numbers, so that an
# unseeded generator, a timing or a nondeterministic order shows up as a difference.
# KEXUE_TWICE=<slug> picks another chapter.
TWICE = os.environ.get("KEXUE_TWICE", "masks")
_DATA_URI = re.compile(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+")


def _run_fresh(path) -> list:
    nb = nbformat.read(path, as_version=4)
    env = {
        "HF_HUB_OFFLINE": "1",
        "KEXUE_SCALE": "cpu",
        "KEXUE_BOOK_BUILD": "1",  # demos as the book shows them (static, no widgets)
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    with _environ(env):
        NotebookClient(
            nb,
            timeout=HANG_S,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    return [c for c in nb.cells if c.cell_type == "code"]


def _comparable(output) -> dict:
    """What a reader sees: text exactly; images only by their presence (PNG bytes can
    differ between identical runs of a plot with a different font cache)."""
    out = {"type": output.output_type}
    if output.output_type == "stream":
        out[output.name] = output.text
    for mime, value in output.get("data", {}).items():
        if mime.startswith("image/"):
            out[mime] = "<image>"
        elif isinstance(value, str):
            out[mime] = _DATA_URI.sub("<image>", value)
        else:
            out[mime] = json.dumps(value, sort_keys=True)
    return out


@pytest.mark.chapter
def test_a_chapter_prints_the_same_outputs_twice():
    matches = [p for p in CHAPTERS if p.stem == TWICE]
    assert matches, f"no chapter named {TWICE!r} in _toc.yml"
    first, second = _run_fresh(matches[0]), _run_fresh(matches[0])
    differences = []
    for k, (c1, c2) in enumerate(zip(first, second, strict=True)):
        o1 = [_comparable(o) for o in c1.outputs]
        o2 = [_comparable(o) for o in c2.outputs]
        if o1 != o2:
            head = "".join(c1.source).splitlines()[:1]
            differences.append(f"code cell {k} ({head}):\n  run 1: {o1}\n  run 2: {o2}")
    assert not differences, (
        f"{TWICE}: {len(differences)} cell(s) differ between two fresh runs:\n"
        + "\n".join(d[:1500] for d in differences)
    )
