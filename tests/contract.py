"""The bad-input contract every public entry of ``kexue`` keeps, as a reusable harness.

A registry module ``tests/contract_<group>.py`` lists one *valid* call per public
function or method (``CALLS``) and the names that need no call (``EXEMPT``, with a
reason). From each valid call and the *kind* of each argument the harness derives bad
values (wrong type, integer tensor, NaN, out of range, ...) and requires every one of
them to raise a ``ValueError`` or ``TypeError`` whose message names the argument. A
result that comes back instead is a silent acceptance; any other exception is an
obscure error. Both fail.

Kinds (a ``|None`` suffix means ``None`` is a legal value of the argument):

=================  ===========================================================
``tensor``         a floating tensor (None, a string, an integer tensor rejected)
``finite``         as ``tensor``, and NaN/inf entries rejected too
``int>=K``         an int ``>= K`` (also ``int>K``); None, "3", 2.5, True rejected
``float>0``        a finite real ``> 0`` (also ``float>=0``); NaN, inf, -1 rejected
``prob``           a real in [0, 1]
``callable``       a callable (None, 3 rejected)
``generator``      a ``torch.Generator`` or None (an int seed rejected)
``choice:a|b``     one of the listed strings
``bool``           True or False ("yes", 2 rejected)
``object``         no generic mutation: list bad values in ``Call(bad=...)``
=================  ===========================================================
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

_BAD_STR = "not-a-valid-value"


@dataclass
class Call:
    """One valid call of a public callable, and the kinds of its arguments.

    Args:
        fn: the function, class or bound method.
        make_kwargs: returns a fresh dict of valid keyword arguments for ``fn``.
        kinds: argument name -> kind (see the module docstring).
        name: the public name, ``module.qualname`` of where it is defined
            (default: taken from ``fn``); for methods ``module.Class.method``.
        bad: argument name -> extra bad values that must be rejected.
    """

    fn: Callable
    make_kwargs: Callable[[], dict]
    kinds: dict[str, str]
    name: str | None = None
    bad: dict[str, list] = field(default_factory=dict)

    def __post_init__(self):
        if self.name is None:
            self.name = public_name(self.fn)


def public_name(obj) -> str:
    """``module.qualname`` where the object is defined (methods: their function)."""
    obj = getattr(obj, "__func__", obj)
    return f"{obj.__module__}.{obj.__qualname__}"


def _int_version(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.round().to(torch.int64)
    return None


def mutations(kind: str, valid) -> list[tuple[str, object]]:
    """The bad values derived from an argument's kind and its valid value."""
    allow_none = kind.endswith("|None")
    kind = kind.removesuffix("|None")
    out: list[tuple[str, object]] = []
    if kind in ("tensor", "finite"):
        out += [("str", _BAD_STR), ("dict", {"a": 1})]
        as_int = _int_version(valid)
        if as_int is not None:
            out.append(("int-tensor", as_int))
        if kind == "finite" and isinstance(valid, torch.Tensor) and valid.numel():
            for label, bad in (("nan", math.nan), ("inf", math.inf)):
                v = valid.clone()
                v.view(-1)[0] = bad
                out.append((label, v))
    elif m := re.fullmatch(r"int(>=|>)(-?\d+)", kind):
        low = int(m[2]) - (1 if m[1] == ">=" else 0)
        out += [("str", "3"), ("float", 2.5), ("bool", True), ("below", low)]
    elif m := re.fullmatch(r"float(>=|>)0", kind):
        out += [("str", "1.0"), ("nan", math.nan), ("inf", math.inf), ("neg", -1.0)]
        if m[1] == ">":
            out.append(("zero", 0.0))
    elif kind == "prob":
        out += [("str", "0.5"), ("nan", math.nan), ("neg", -0.1), ("above", 1.1)]
    elif kind == "callable":
        out += [("int", 3), ("str", _BAD_STR)]
    elif kind == "generator":
        out += [("int-seed", 0), ("str", _BAD_STR)]
    elif kind.startswith("choice:"):
        out += [("unknown", _BAD_STR), ("int", 3)]
    elif kind == "bool":
        out += [("str", "yes"), ("int", 2)]
    elif kind != "object":
        raise ValueError(f"unknown kind {kind!r}")
    if not allow_none and kind != "object":
        out.insert(0, ("None", None))
    return out


def cases(call: Call) -> list[tuple[str, str, object]]:
    """Every (argument, label, bad value) of a call: derived mutations plus ``bad``."""
    valid = call.make_kwargs()
    missing = set(call.kinds) - set(valid)
    if missing:
        raise ValueError(
            f"{call.name}: kinds name arguments not in the call: {missing}"
        )
    out = []
    for arg, kind in call.kinds.items():
        for label, value in mutations(kind, valid[arg]):
            out.append((arg, label, value))
    for arg, values in call.bad.items():
        for k, value in enumerate(values):
            out.append((arg, f"bad{k}", value))
    return out


def outcome(call: Call, arg: str, value) -> str | None:
    """None if the bad value was rejected as the contract says, else what went wrong."""
    kwargs = call.make_kwargs()
    kwargs[arg] = value
    try:
        result = call.fn(**kwargs)
    except (TypeError, ValueError) as err:
        if not re.search(rf"\b{re.escape(arg)}\b", str(err)):
            return f"error does not name {arg!r}: {type(err).__name__}: {err}"
        return None
    except Exception as err:  # noqa: BLE001 - classifying every other error is the point
        return f"obscure error: {type(err).__name__}: {err}"
    return f"silently accepted, returned {type(result).__name__}"
