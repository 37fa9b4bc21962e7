"""Argument checks of :mod:`kexue.attention` and :mod:`kexue.nn`: :mod:`kexue._validate`
plus the few tensor kinds these packages need (bool masks, integer ids). Each raises
``TypeError``/``ValueError`` naming the argument."""

from __future__ import annotations

import torch

from .._validate import (
    check_bool,
    check_callable,
    check_choice,
    check_finite,
    check_generator,
    check_int,
    check_positive,
    check_real,
    check_tensor,
)

__all__ = [
    "has_values",
    "check_bool",
    "check_bool_mask",
    "check_callable",
    "check_choice",
    "check_finite",
    "check_float_tensor",
    "check_generator",
    "check_int",
    "check_int_tensor",
    "check_positive",
    "check_real",
    "check_tensor",
]


def has_values(x: torch.Tensor) -> bool:
    """False for a ``meta`` tensor (shape only): value checks are skipped there, so
    shape/device tests can run on the meta device."""
    return x.device.type != "meta"


def check_float_tensor(
    x, name: str, *, min_ndim: int = 0, ndim: int | None = None, finite: bool = False
) -> torch.Tensor:
    """A non-empty floating tensor of at least ``min_ndim`` (or exactly ``ndim``)
    dimensions; integer tensors are rejected (never truncated)."""
    return check_tensor(
        x, name, ndim=ndim, min_ndim=min_ndim or None, nonempty=True, finite=finite
    )


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
            f"{name} must have at least {min_ndim} dimensions, "
            f"got shape {tuple(x.shape)}"
        )
    return x
