"""Shared fixtures: offline mode for peers, the repository root, and the chapters listed
in _toc.yml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from hypothesis import settings

# Property tests: no per-example deadline (a loaded 2-core CI machine is slow) and a
# fixed example sequence, so that CI runs are repeatable; set HYPOTHESIS_PROFILE=explore
# to search with fresh random examples.
settings.register_profile("book", deadline=None, derandomize=True, print_blob=True)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "book"))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]


def toc_chapters() -> list[Path]:
    """Every notebook file named in _toc.yml, in order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = []
    for part in toc.get("parts", []):
        for ch in part.get("chapters", []):
            if ch["file"].startswith("chapters/"):
                files.append(ROOT / (ch["file"] + ".ipynb"))
    return files


@pytest.fixture
def root() -> Path:
    return ROOT
