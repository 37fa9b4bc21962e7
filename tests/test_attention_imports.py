"""kexue.attention and kexue.nn: no import cycle, none hidden by a deferred import, and
every module imports cold on its own (review section 1.3)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parents[1] / "lib"
OURS = ("kexue.attention", "kexue.nn")


def _modname(p: Path) -> str:
    parts = list(p.relative_to(LIB).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_modname(p): p for p in sorted((LIB / "kexue").rglob("*.py"))}


def _edges(mods):
    """(importer, imported, deferred) for every kexue import; ``from . import x`` names
    the submodule x. Importing ``P.x`` from outside package ``P`` first runs
    ``P/__init__``: an edge to every such ancestor package too."""
    out = []
    for m, p in mods.items():
        pkg = m if p.name == "__init__.py" else m.rsplit(".", 1)[0]

        def visit(node, deferred, m=m, pkg=pkg):
            for ch in ast.iter_child_nodes(node):
                d = deferred or isinstance(
                    ch, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
                )
                targets = []
                if isinstance(ch, ast.ImportFrom):
                    if ch.level:
                        base = pkg.split(".")[: len(pkg.split(".")) - (ch.level - 1)]
                        tgt = ".".join(base + ([ch.module] if ch.module else []))
                    else:
                        tgt = ch.module or ""
                    if tgt.startswith("kexue"):
                        targets.append(tgt)
                        targets += [f"{tgt}.{a.name}" for a in ch.names]
                elif isinstance(ch, ast.Import):
                    targets += [a.name for a in ch.names if a.name.startswith("kexue")]
                for t in targets:
                    if t not in mods:
                        continue
                    out.append((m, t, d))
                    parts = t.split(".")
                    for i in range(2, len(parts)):
                        anc = ".".join(parts[:i])
                        if not (m == anc or m.startswith(anc + ".")):
                            out.append((m, anc, d))
                if isinstance(ch, ast.Call) and getattr(ch.func, "attr", "") in (
                    "import_module",
                ):
                    out.append((m, "<dynamic>", d))
                visit(ch, d)

        visit(ast.parse(p.read_text(encoding="utf-8")), False)
    return out


def _find_cycle(graph: dict[str, set[str]]):
    state, stack = {}, []

    def dfs(u):
        state[u] = 1
        stack.append(u)
        for w in sorted(graph.get(u, ())):
            if state.get(w) == 1:
                return stack[stack.index(w) :] + [w]
            if w not in state:
                c = dfs(w)
                if c:
                    return c
        state[u] = 2
        stack.pop()
        return None

    for u in sorted(graph):
        if u not in state:
            c = dfs(u)
            if c:
                return c
    return None


def test_the_cycle_finder_finds_a_cycle():  # the check below can fail
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_deferred_kexue_import_in_attention_or_nn():
    mods = _modules()
    deferred = [(a, b) for a, b, d in _edges(mods) if d and a.startswith(OURS)]
    assert deferred == []


def test_import_graph_with_every_import_hoisted_has_no_cycle_through_attention_or_nn():
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for a, b, _ in _edges(mods):  # deferred imports count as if hoisted
        graph.setdefault(a, set()).add(b)
    reach = {m for m in mods if m.startswith(OURS)}
    todo = list(reach)
    while todo:  # everything our modules can reach
        for w in graph.get(todo.pop(), ()):
            if w not in reach:
                reach.add(w)
                todo.append(w)
    sub = {u: {w for w in graph.get(u, ()) if w in reach} for u in reach}
    assert _find_cycle(sub) is None
    # the layering the docstrings state: the pure modules do not reach kexue.nn
    for pure in ("core", "masks", "position", "scale", "linear", "tasks"):
        seen, todo = set(), [f"kexue.attention.{pure}"]
        while todo:
            for w in sub.get(todo.pop(), ()):
                if w not in seen:
                    seen.add(w)
                    todo.append(w)
        assert not any(s.startswith("kexue.nn") for s in seen), pure


def test_every_module_imports_cold_on_its_own():
    names = [m for m in _modules() if m.startswith(OURS)]
    code = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    for k in [k for k in sys.modules if k.split('.')[0] == 'kexue']:\n"
        "        del sys.modules[k]\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(" + repr(names) + "))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(LIB), "PATH": ""},
        timeout=120,
    )
    assert res.returncode == 0, res.stderr[-2000:]


def test_positions_is_defined_once():
    import kexue.attention as ka
    import kexue.attention.probe as probe
    import kexue.nn.transformer as tr

    assert tr.POSITIONS is ka.POSITIONS and probe.POSITIONS is ka.POSITIONS
    hits = [
        p.name
        for p in (LIB / "kexue").rglob("*.py")
        if "POSITIONS = (" in p.read_text(encoding="utf-8")
    ]
    assert hits == ["position.py"]


@pytest.mark.parametrize("name", ["ProbeConfig", "run_position_probe"])
def test_probe_lives_in_its_own_module(name):
    import kexue.attention as ka
    import kexue.attention.probe as probe

    assert hasattr(probe, name) and not hasattr(ka, name)
