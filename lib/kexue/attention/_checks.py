"""Argument checks shared by :mod:`kexue.attention` and :mod:`kexue.nn` (on top of
:mod:`kexue._validate`): each raises ``TypeError``/``ValueError`` naming the argument."""

from __future__ import annotations

import math
import numbers

import torch

from .._validate import check_int, check_positive, check_tensor

__all__ = [
    "check_bool",
    "check_choice",
    "check_bool_mask",
    "check_int_tensor",
    "check_real",
    "check_float_tensor",
]


def check_bool(value, name: str) -> bool:
    """Return ``value`` if it is a Python bool (or numpy bool); raise ``TypeError`` otherwise."""
    if not isinstance(value, bool) and type(value).__name__ != "bool_":
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def check_choice(value, name: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``; raise ``ValueError`` otherwise."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_real(
    value,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """Return ``value`` as a finite float in the interval ``[lo, hi]`` (ends open on request)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ValueError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return v


def check_float_tensor(x, name: str, *, min_ndim: int = 0, ndim: int | None = None):
    """A floating tensor of at least ``min_ndim`` (or exactly ``ndim``) dimensions with no
    empty axis; integer tensors are rejected (never truncated)."""
    check_tensor(x, name, floating=True, ndim=ndim, min_ndim=min_ndim or None)
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    return x


def check_bool_mask(mask, name: str = "mask") -> torch.Tensor:
    """A bool tensor (``True`` = may attend)."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(
            f"{name} must be a bool torch.Tensor (True = may attend), "
            f"got {type(mask).__name__}"
        )
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{name} must have dtype torch.bool (True = may attend), got {mask.dtype}"
        )
    return mask


def check_int_tensor(x, name: str, *, min_ndim: int = 0) -> torch.Tensor:
    """An integer (not bool, not float) tensor of at least ``min_ndim`` dimensions."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"{name} must be an integer torch.Tensor, got {type(x).__name__}"
        )
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype, got {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}"
        )
    return x


# re-exported for the modules of this package
check_int = check_int
check_positive = check_positive
check_tensor = check_tensor
