"""A cache of trained networks, so that chapters which train the same network share it.

:func:`fit_or_load` trains a freshly built model once and stores its weights and loss
history in a local directory (never a download); a later call with the same key loads
them. The ddim and sde chapters train the same two-moons noise predictor and share it
this way: the first chapter executed pays for the training, the other loads the result.

The key hashes ``name``, ``config`` (a JSON-serialisable dict of everything that decides
the result: preset, schedule, seed), the model's parameter names and shapes, and the
torch and kexue versions. Training is seeded, so a loaded network is bit-for-bit the
network the same call would train: a chapter prints the same numbers either way.

Where the files live (:func:`cache_dir`): ``$KEXUE_CACHE_DIR`` if set; else
``_build/kexue-cache`` in the book's root (the first directory above the working
directory holding ``_config.yml`` and ``_toc.yml``), beside jupyter-book's execution
cache; else ``~/.cache/kexue``. ``KEXUE_CACHE=off`` disables it (always train).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

from .. import __version__

__all__ = ["cache_dir", "cache_key", "fit_or_load"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def cache_dir() -> Path:
    """The directory :func:`fit_or_load` reads and writes (see the module docstring)."""
    env = os.environ.get("KEXUE_CACHE_DIR")
    if env:
        return Path(env)
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "_config.yml").is_file() and (d / "_toc.yml").is_file():
            return d / "_build" / "kexue-cache"
    return Path.home() / ".cache" / "kexue"


def cache_key(name: str, config: dict, model: torch.nn.Module) -> str:
    """16 hex digits naming (name, config, parameter shapes, torch, kexue version)."""

    _check(name, config, model)
    shapes = [(k, list(v.shape), str(v.dtype)) for k, v in model.state_dict().items()]
    blob = json.dumps(
        {
            "name": name,
            "config": config,
            "shapes": shapes,
            "torch": torch.__version__,
            "kexue": __version__,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check(name, config, model):
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"name must be 1-64 letters, digits, '_', '-' or '.', got {name!r}"
        )
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    try:
        json.dumps(config, sort_keys=True)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"config must be JSON-serialisable (numbers, strings, lists, dicts): {err}"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def fit_or_load(
    name: str,
    model: torch.nn.Module,
    fit: Callable[[torch.nn.Module], list],
    config: dict,
    *,
    directory: str | os.PathLike | None = None,
) -> list[float]:
    """Load ``model``'s trained weights from the cache, or train it and store them.

    ``model``: a freshly built network (its parameters are overwritten in place).
    ``fit``: trains it in place and returns its loss history, e.g.
    ``lambda m: nn.train(m, ...)``. ``config``: a JSON-serialisable dict of everything
    that decides the result (part of the key). ``directory`` overrides
    :func:`cache_dir`. Returns the loss history (floats), stored or new. A cache file
    that cannot be read is replaced by training again.
    """
    _check(name, config, model)
    if not callable(fit):
        raise TypeError(f"fit must be callable as fit(model), got {type(fit).__name__}")
    off = os.environ.get("KEXUE_CACHE", "").lower() in ("off", "0", "no")
    folder = Path(directory) if directory is not None else cache_dir()
    path = folder / f"{name}-{cache_key(name, config, model)}.pt"
    if not off and path.is_file():
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(blob["state_dict"])
            model.eval()
            return [float(v) for v in blob["history"]]
        except Exception:  # noqa: BLE001  a truncated or foreign file: train again
            pass
    history = fit(model)
    if not isinstance(history, (list, tuple)):
        raise TypeError(
            "fit(model) must return the loss history as a list, got "
            f"{type(history).__name__}"
        )
    history = [float(v) for v in history]
    if not off:
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}-", suffix=".tmp")
        os.close(fd)
        torch.save({"state_dict": state, "history": history}, tmp)
        os.replace(
            tmp, path
        )  # atomic: a concurrent reader sees the old file or the new one
    return history
