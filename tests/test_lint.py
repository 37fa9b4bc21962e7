"""The code is formatted and lint-clean: ``ruff format --check`` and ``ruff check`` over
the library, the tests, the benchmarks, the tools and the chapters (config in
pyproject.toml: line length 88, notebooks included). A failure lists each offending file
with what ruff found there, so whoever owns it can run ``ruff format <file>`` /
``ruff check <file>``."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

TARGETS = ("lib", "tests", "benchmarks", "tools", "chapters")


def _ruff() -> list[str]:
    exe = Path(sys.executable).parent / "ruff"
    if exe.exists():
        return [str(exe)]
    if shutil.which("ruff"):
        return [shutil.which("ruff")]
    pytest.skip("ruff is not installed (pip install ruff)")


def _run(*args: str) -> subprocess.CompletedProcess:
    targets = [t for t in TARGETS if (ROOT / t).exists()]
    return subprocess.run(
        [*_ruff(), *args, *targets],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_code_is_formatted():
    r = _run("format", "--check", "--output-format", "concise")
    out = r.stdout + r.stderr
    files = sorted(
        set(re.findall(r"^(.+?):(?:cell \d+:)?\d+:\d+: unformatted", out, flags=re.M))
        | set(re.findall(r"^Would reformat: (.+)$", out, flags=re.M))
    )
    assert r.returncode == 0, (
        f"{len(files)} file(s) need `ruff format <file>`:\n  "
        + "\n  ".join(files or [(r.stdout + r.stderr)[-2000:]])
    )


def test_code_passes_ruff_check():
    r = _run("check", "--output-format", "concise", "--no-fix")
    by_file: dict[str, collections.Counter] = collections.defaultdict(
        collections.Counter
    )
    for line in r.stdout.splitlines():
        # "path:line:col: CODE ..." (notebooks: "path:cell N:line:col: CODE ...")
        m = re.match(r"^(.+?)(?::cell \d+)?:\d+:\d+: ([A-Z]+\d+)", line)
        if m:
            by_file[m.group(1)][m.group(2)] += 1
    report = "\n  ".join(
        f"{path}: " + ", ".join(f"{code} x{n}" for code, n in sorted(counts.items()))
        for path, counts in sorted(by_file.items())
    )
    assert r.returncode == 0, (
        f"ruff check finds problems in {len(by_file)} file(s) "
        f"(`ruff check <file>` shows them):\n  "
        + (report or (r.stdout + r.stderr)[-2000:])
    )
