#!/usr/bin/env python
"""Write the one setup cell into every chapter, and strip outputs and widget state.

    python tools/stamp_setup.py            # rewrite chapters/**/*.ipynb in place
    python tools/stamp_setup.py --check    # exit 1 (listing the files) if any chapter differs

The setup cell (tagged ``remove-cell`` so the website hides it) installs the library when it is not
importable — the Colab case — from the repository and branch named in ``_config.yml`` (the only
place they are written), then seeds everything and picks the device. ``KEXUE_INSTALL_SOURCE``
overrides the install source (the tests point it at the local checkout).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "kexue-setup"
GPU_PARTS = {
    "diffusion",
    "attention",
}  # chapters whose full-size versions want a GPU runtime on Colab

SETUP_TEMPLATE = """\
# Setup, identical in every chapter: written by tools/stamp_setup.py (edit it there).
# On Colab it installs the book's library `kexue`; it never upgrades torch, numpy,
# sympy or ipywidgets.
import importlib.util
import os
import subprocess
import sys

if importlib.util.find_spec("kexue") is None:
    _source = os.environ.get(
        "KEXUE_INSTALL_SOURCE",
        "git+{url}@{branch}",
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", _source], check=True
    )
import kexue

DEVICE = kexue.device.setup(seed=0)  # seeds Python/NumPy/PyTorch; CUDA > MPS > CPU"""


def repository() -> tuple[str, str]:
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = cfg.get("repository") or {}
    url, branch = repo.get("url"), repo.get("branch", "main")
    if not url:
        raise SystemExit("_config.yml has no repository.url")
    return url.rstrip("/"), branch


def setup_source() -> str:
    url, branch = repository()
    return SETUP_TEMPLATE.format(url=url, branch=branch)


def setup_cell() -> dict:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": "kexue-setup",
        "metadata": {"tags": ["remove-cell", SETUP_TAG]},
        "outputs": [],
        "source": setup_source().splitlines(keepends=True),
    }


def _is_setup(cell: dict) -> bool:
    return cell.get("cell_type") == "code" and SETUP_TAG in cell.get(
        "metadata", {}
    ).get("tags", [])


def stamped(nb: dict, part: str) -> dict:
    """The notebook with the setup cell in place (after the title cell), no outputs, clean metadata."""
    nb = copy.deepcopy(nb)
    cells = [c for c in nb["cells"] if not _is_setup(c)]
    first_code = next(
        (k for k, c in enumerate(cells) if c["cell_type"] == "code"), len(cells)
    )
    cells.insert(
        min(1, first_code) if cells and cells[0]["cell_type"] == "markdown" else 0,
        setup_cell(),
    )
    for c in cells:
        if isinstance(c.get("source"), str):
            c["source"] = c["source"].splitlines(keepends=True)
        meta = c.get("metadata", {})
        for k in ("execution", "collapsed", "scrolled", "jupyter"):
            meta.pop(k, None)
        c["metadata"] = meta
        if c["cell_type"] == "code":
            c["outputs"], c["execution_count"] = [], None
    nb["cells"] = cells
    meta = nb.setdefault("metadata", {})
    meta.pop("widgets", None)
    meta["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    meta["language_info"] = {"name": "python"}
    if part in GPU_PARTS:
        meta["accelerator"] = "GPU"
        meta["colab"] = {"provenance": [], "gpuType": "T4"}
    else:
        meta.pop("accelerator", None)
        meta.pop("colab", None)
    nb["nbformat"], nb["nbformat_minor"] = 4, 5
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n"


def chapters() -> list[Path]:
    return sorted((ROOT / "chapters").glob("*/*.ipynb"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--check",
        action="store_true",
        help="fail if any chapter differs from its stamped form",
    )
    ap.add_argument(
        "paths", nargs="*", type=Path, help="notebooks (default: chapters/*/*.ipynb)"
    )
    args = ap.parse_args(argv)
    paths = args.paths or chapters()
    differing = []
    for p in paths:
        text = p.read_text(encoding="utf-8")
        new = dumps(stamped(json.loads(text), p.parent.name))
        if new != text:
            differing.append(p)
            if not args.check:
                p.write_text(new, encoding="utf-8")
    if args.check and differing:
        print(
            "not stamped (run python tools/stamp_setup.py):",
            *map(str, differing),
            sep="\n  ",
        )
        return 1
    if not args.check:
        print(f"stamped {len(paths)} chapter(s), rewrote {len(differing)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
