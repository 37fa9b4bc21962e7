"""The library's one validation layer: each check raises an error naming the argument.

Every public function of ``kexue`` validates its arguments with these helpers before
any arithmetic, so bad input fails with a ``TypeError`` (wrong kind of object, wrong
dtype) or a ``ValueError`` (right kind, wrong value: shape, range, NaN) whose message
starts with the argument's name and says what was expected. The helpers never crash
themselves on ``None``, a list or a string.

Conventions (see the library issue "a contract at every public entry"):

* integer or boolean tensors are rejected where float math happens (never truncated);
* NaN/inf in *data* arguments (``finite=True``) is rejected at the entry of the
  functions a reader calls once per experiment (samplers, metrics, data, schedules);
  functions that run inside training loops (attention, losses, layers) let NaN
  propagate as torch does and say so in their docstrings;
* a ``meta`` tensor passes the finiteness check (it has no values), so shape-only tests
  can run on the meta device.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import torch

__all__ = [
    "as_tensor",
    "check_tensor",
    "check_finite",
    "check_positive",
    "check_real",
    "check_prob",
    "check_int",
    "check_bool",
    "check_choice",
    "check_callable",
    "check_generator",
    "check_same_shape",
    "check_model_output",
    "randn_for",
]


def _kind(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} and dtype {x.dtype}"
    return f"{type(x).__name__} {x!r}" if _short(x) else type(x).__name__


def _short(x) -> bool:
    return isinstance(x, (numbers.Number, str, type(None))) and len(repr(x)) <= 40


def check_finite(x: torch.Tensor, name: str) -> torch.Tensor:
    """Return ``x`` if it holds no NaN or inf (meta passes); else ``ValueError``."""
    if x.device.type != "meta" and x.numel() and not bool(torch.isfinite(x).all()):
        n_bad = int((~torch.isfinite(x)).sum())
        raise ValueError(
            f"{name} must be finite, got {n_bad} NaN/inf entries of {x.numel()}"
        )
    return x


def check_tensor(
    x,
    name: str,
    *,
    ndim: int | None = None,
    min_ndim: int | None = None,
    shape: Sequence[int | None] | None = None,
    floating: bool = True,
    finite: bool = False,
    nonempty: bool = False,
) -> torch.Tensor:
    """Return ``x`` if it is a tensor as described; raise a clear error otherwise.

    Args:
        x: the argument.
        name: its name, used in the message.
        ndim, min_ndim: the exact or the least number of dimensions.
        shape: the expected shape, ``None`` entries matching any size.
        floating: require a floating dtype (integer/bool tensors rejected, never cast).
        finite: reject NaN/inf entries.
        nonempty: reject tensors with no elements.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {_kind(x)}")
    if floating and not (x.is_floating_point() or x.is_complex()):
        raise TypeError(
            f"{name} must have a floating dtype (float32/float64), got {x.dtype}; "
            f"convert with {name}.float() (integer input is never truncated silently)"
        )
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{name} must have {ndim} dimensions, got shape {tuple(x.shape)}"
        )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions, "
            f"got shape {tuple(x.shape)}"
        )
    if shape is not None:
        shape = tuple(shape)
        if x.ndim != len(shape) or any(
            s is not None and s != d for s, d in zip(shape, x.shape, strict=False)
        ):
            want = tuple("*" if s is None else s for s in shape)
            raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    if finite:
        check_finite(x, name)
    return x


def as_tensor(
    x, name: str, *, dtype=torch.float64, finite: bool = False
) -> torch.Tensor:
    """Convert a number, list or array to a tensor of ``dtype``; reject the non-numeric.

    A tensor keeps its device; with ``dtype=None`` a float tensor keeps its precision.
    """
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be array-like of numbers, got {_kind(x)}")
    if isinstance(x, torch.Tensor) and x.dtype == torch.bool:
        raise TypeError(f"{name} must be numeric, got a bool tensor")
    try:
        t = torch.as_tensor(x, dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"{name} must be array-like of numbers, got {type(x).__name__}"
        ) from err
    if finite:
        check_finite(t, name)
    return t


def check_real(
    value,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number in the given range.

    ``low``/``high`` bound it (inclusive unless ``low_open``/``high_open``). A 0-d float
    tensor is accepted; bools are not.
    """
    if (
        isinstance(value, torch.Tensor)
        and value.ndim == 0
        and value.dtype != torch.bool
    ):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_kind(value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {v}")
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {v}")
    return v


def check_positive(value, name: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number > 0 (or >= 0)."""
    return check_real(value, name, low=0.0, low_open=not allow_zero)


def check_prob(value, name: str, *, open_ends: bool = False) -> float:
    """Return ``value`` if it is a probability in [0, 1] ((0, 1) with ``open_ends``)."""
    return check_real(
        value, name, low=0.0, high=1.0, low_open=open_ends, high_open=open_ends
    )


def check_int(
    value, name: str, *, min_value: int | None = None, max_value: int | None = None
) -> int:
    """Return ``value`` if it is an int in [min_value, max_value] (bools rejected)."""
    if isinstance(value, torch.Tensor) and value.ndim == 0:
        if not (value.is_floating_point() or value.dtype == torch.bool):
            value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_kind(value)}")
    v = int(value)
    if min_value is not None and v < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {v}")
    if max_value is not None and v > max_value:
        raise ValueError(f"{name} must be <= {max_value}, got {v}")
    return v


def check_bool(value, name: str) -> bool:
    """Return ``value`` if it is a bool (``numpy.bool_`` accepted)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_kind(value)}")


def check_choice(value, name: str, options: Sequence) -> object:
    """Return ``value`` if it is one of ``options`` (same type, equal), else raise."""
    options = tuple(options)
    for option in options:
        try:
            if type(value) is type(option) and value == option:
                return value
        except (TypeError, ValueError, RuntimeError):  # e.g. a tensor compared to a str
            pass
    raise ValueError(
        f"{name} must be one of {', '.join(map(repr, options))}; got {_kind(value)}"
    )


def check_callable(fn, name: str) -> Callable:
    """Return ``fn`` if it is callable."""
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {_kind(fn)}")
    return fn


def check_generator(generator, name: str = "generator") -> torch.Generator | None:
    """Return ``generator`` if it is ``None`` or a ``torch.Generator``.

    An int seed is rejected with a hint (``torch.Generator().manual_seed(seed)``), so a
    seed is never silently ignored.
    """
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    hint = (
        f"; for a seed use torch.Generator().manual_seed({generator})"
        if isinstance(generator, numbers.Integral) and not isinstance(generator, bool)
        else ""
    )
    raise TypeError(
        f"{name} must be a torch.Generator or None, got {_kind(generator)}{hint}"
    )


def check_same_shape(a, b, name_a: str, name_b: str) -> None:
    """Raise unless ``a`` and ``b`` are tensors of one shape (``b`` is blamed)."""
    check_tensor(a, name_a, floating=False)
    check_tensor(b, name_b, floating=False)
    if a.shape != b.shape:
        raise ValueError(
            f"{name_b} must have the shape of {name_a} {tuple(a.shape)}, "
            f"got {tuple(b.shape)}"
        )


def check_model_output(out, x: torch.Tensor, name: str = "model") -> torch.Tensor:
    """Return ``out`` if a model called on ``x`` returned a float tensor shaped as x.

    The one check every sampler and loss applies to what a user's network returns, so a
    ``(B, 1)`` output never broadcasts silently against a ``(B, D)`` state.
    """
    if not isinstance(out, torch.Tensor):
        raise TypeError(
            f"{name} must return a torch.Tensor shaped like its input, got {_kind(out)}"
        )
    if out.shape != x.shape:
        raise ValueError(
            f"{name} must return a tensor shaped like its input {tuple(x.shape)}, "
            f"got {tuple(out.shape)}"
        )
    if not out.is_floating_point():
        raise TypeError(f"{name} must return a floating tensor, got {out.dtype}")
    return out


def randn_for(
    like: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Standard normal noise shaped like ``like``, with its dtype and on its device.

    Drawn on the generator's own device and then moved, so a CPU ``torch.Generator``
    (what the chapters pass, for seeds that repeat on every machine) also works for CUDA
    tensors.
    """
    check_tensor(like, "like")
    check_generator(generator)
    device = generator.device if generator is not None else like.device
    return torch.randn(
        like.shape, generator=generator, dtype=like.dtype, device=device
    ).to(like.device)
