"""Every public entry of kexue rejects bad input with an error naming the argument.

The registries are ``tests/contract_*.py`` (see ``tests/contract.py`` for the kinds). A
valid call must succeed; each mutation of one argument must raise ``ValueError`` or
``TypeError`` naming it; every public name is in a registry or exempt with a reason.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import kexue
import pytest
from contract import cases, outcome, public_name

_HERE = Path(__file__).parent
REGISTRIES = [
    importlib.import_module(p.stem) for p in sorted(_HERE.glob("contract_*.py"))
]
CALLS = [c for r in REGISTRIES for c in r.CALLS]
EXEMPT = {k: v for r in REGISTRIES for k, v in getattr(r, "EXEMPT", {}).items()}


def _case_params():
    params = []
    for call in CALLS:
        for arg, label, value in cases(call):
            params.append(
                pytest.param(call, arg, value, id=f"{call.name}:{arg}={label}")
            )
    return params


@pytest.mark.parametrize("call", CALLS, ids=[c.name for c in CALLS])
def test_valid_call_succeeds(call):
    call.fn(**call.make_kwargs())


@pytest.mark.parametrize(("call", "arg", "value"), _case_params())
def test_bad_input_is_rejected_naming_the_argument(call, arg, value):
    problem = outcome(call, arg, value)
    assert problem is None, problem


def public_names() -> set[str]:
    """Every public function/class in an ``__all__`` of kexue, and its methods."""
    names = set()
    constants: dict[tuple[int, str], str] = {}  # a re-exported constant counts once
    for info in pkgutil.walk_packages(kexue.__path__, "kexue."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if inspect.ismodule(obj):
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                key, name = (id(obj), attr), f"{info.name}.{attr}"
                constants[key] = max(constants.get(key, name), name, key=len)
                continue
            if not obj.__module__.startswith("kexue"):
                continue
            names.add(public_name(obj))
            if inspect.isclass(obj):
                for meth, member in vars(obj).items():
                    if meth.startswith("_") or meth == "extra_repr":
                        continue
                    if inspect.isfunction(member) or isinstance(
                        member, (classmethod, staticmethod)
                    ):
                        names.add(f"{public_name(obj)}.{meth}")
    return names | set(constants.values())


def test_every_public_name_is_in_a_registry_or_exempt():
    registered = {c.name for c in CALLS} | set(EXEMPT)
    missing = sorted(public_names() - registered)
    assert not missing, "no contract for: " + ", ".join(missing)


def test_exemptions_give_a_reason_and_name_real_things():
    names = public_names()
    for name, reason in EXEMPT.items():
        assert isinstance(reason, str) and len(reason) > 10, name
        assert name in names, f"EXEMPT names {name}, which is not public"
