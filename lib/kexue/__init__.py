"""kexue: the tested library behind the interactive *Scientific Spaces* textbook.

One subpackage per field (see the book's DESIGN): ``kexue.diffusion``, ``kexue.nn``,
``kexue.data``, ``kexue.metrics``, ``kexue.softmax``, ``kexue.losses``, and the
cross-cutting helpers every chapter uses: ``kexue.symbolic`` (checked derivations),
``kexue.attention`` (attention, masks, scales, linear attention, positions),
``kexue.widgets`` (demos) and ``kexue.device`` (device, seeding, CPU/GPU scale).

Subpackages are imported on first use, so ``import kexue`` stays cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "attention",
    "data",
    "device",
    "diffusion",
    "everyday",
    "losses",
    "metrics",
    "nn",
    "plotting",
    "softmax",
    "symbolic",
    "widgets",
)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'kexue' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_SUBMODULES))
