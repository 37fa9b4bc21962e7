"""Small argument checks shared by the library: each raises a clear error naming the argument."""

from __future__ import annotations

import numbers

import torch

__all__ = [
    "as_tensor",
    "check_tensor",
    "check_positive",
    "check_int",
    "check_same_shape",
    "randn_for",
]


def check_tensor(
    x,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    floating: bool = True,
) -> torch.Tensor:
    """Return ``x`` if it is a tensor of the expected rank (and floating dtype); raise otherwise."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype, got {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}"
        )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}"
        )
    return x


def as_tensor(x, name: str, *, dtype=torch.float64) -> torch.Tensor:
    """Convert arrays/lists to a tensor of ``dtype``; reject non-numeric input with a clear error."""
    try:
        t = torch.as_tensor(x, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"{name} must be array-like of numbers, got {type(x).__name__}"
        ) from err
    return t


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (or >= 0)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not (v == v and abs(v) != float("inf")):
        raise ValueError(f"{name} must be finite, got {value}")
    if v < 0 or (v == 0 and not allow_zero):
        raise ValueError(
            f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}"
        )
    return v


def check_int(
    value, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Return ``value`` if it is an int within [min_value, max_value]."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if min_value is not None and v < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {v}")
    if max_value is not None and v > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {v}")
    return v


def check_same_shape(
    a: torch.Tensor, b: torch.Tensor, name_a: str, name_b: str
) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} must have the shape of {name_a} {tuple(a.shape)}, got {tuple(b.shape)}"
        )


def randn_for(
    like: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, with its dtype and on its device.

    Drawn on the generator's own device and then moved, so a CPU ``torch.Generator`` (what the chapters
    pass, for seeds that repeat on every machine) also works for CUDA tensors.
    """
    device = generator.device if generator is not None else like.device
    return torch.randn(
        like.shape, generator=generator, dtype=like.dtype, device=device
    ).to(like.device)
