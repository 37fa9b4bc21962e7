"""Checked derivations: show ``lhs = rhs ✓`` and raise when the identity is false.

Every chapter's key results go through :func:`check_equal` (or :func:`check_zero`,
:func:`check_close`, :func:`check_true`; inequalities go through :func:`check_leq`). A
check first tries to prove the identity with sympy (``simplify`` and a few rewrites of
the difference, within a time limit). When
sympy cannot decide, it falls back to evaluating both sides at random points *inside
the symbols' declared domains* (a ``negative`` symbol at negative numbers, an
``integer`` one at integers, a symbol with no assumptions at complex numbers) with
30-digit arithmetic, and accepts when the gap is within ``tol`` relative to the larger
side (plus ``atol`` and the rounding floor of 30-digit arithmetic), and says so in
what it shows. A false identity fails either way: the exception carries both sides and
a point, inside the domain, where they differ.

Each passing check is recorded; :func:`summary` returns the list and :func:`report`
turns it into the chapter's "What we checked" table.
"""

from __future__ import annotations

import cmath
import dataclasses
import functools
import hashlib
import html
import math
import numbers
import os
import random as _random
import signal
import textwrap
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

__all__ = [
    "CheckFailed",
    "Check",
    "check_equal",
    "check_zero",
    "check_close",
    "check_true",
    "check_leq",
    "summary",
    "reset",
    "latex_check",
    "report",
    "Report",
    "ReportRow",
    "VERDICTS",
]

DIGITS = 30  # significant digits of the numeric fallback
# What 30-digit evaluation can resolve: a gap below 1e-25 of the size of the summands is
# rounding, not a difference (five digits of margin over the working precision).
ROUNDING = 1e-25
# Widest check display, in characters (of text, or of sympy's 2-D pretty printing for
# math). Measured in the book at its default width: a text character is ~8 px and a
# pretty-printed one ~6 px of MathJax output, and the column ~750 px, so 80 fits.
DISPLAY_WIDTH = 80


class CheckFailed(AssertionError):
    """A claimed identity or numeric agreement does not hold.

    ``counterexample`` is the point ``{symbol: value}``, inside the symbols' declared
    domains, at which a numeric check evaluated both sides as finite numbers and found
    the claim false (``lhs != rhs`` in :func:`check_equal`, ``lhs <= rhs`` false in
    :func:`check_leq`). It is ``None`` for every other failure: not proved, a side
    that is not a finite real number at some point, false everywhere by sympy's
    assumptions, bad shapes. Code that treats a failure as "the claim was refuted"
    should require it.
    """

    def __init__(self, *args, counterexample: dict | None = None):
        super().__init__(*args)
        self.counterexample = counterexample


@dataclasses.dataclass(frozen=True)
class Check:
    """One passed check: its name, how it was established, and the detail shown."""

    name: str
    method: str  # "symbolic" or "numeric"
    detail: str
    kind: str = "equal"  # "equal" (check_equal/zero), "close", "true" or "leq"
    # id of the check's anchor on the website ("" outside the book build): the
    # "What we checked" table and the claims ledger link to it
    anchor: str = ""

    def __post_init__(self):
        _label(self.name, "name")
        if self.kind not in _RESULTS:
            raise ValueError(
                f"kind must be one of {', '.join(_RESULTS)}, got {self.kind!r}"
            )
        if self.method not in ("symbolic", "numeric"):
            raise ValueError(
                f"method must be 'symbolic' or 'numeric', got {self.method!r}"
            )
        if not isinstance(self.detail, str):
            raise TypeError(f"detail must be a str, got {type(self.detail).__name__}")

    def _ipython_display_(
        self,
    ):  # the check already showed itself; keep cell outputs clean
        return None


# What the table's "result" column says for each kind of check (numeric equalities are
# labelled as such: they were not proved).
_RESULTS = {
    "equal": "✓ numerically",
    "close": "✓ within tolerance",
    "true": "✓ holds",
    "leq": "✓ numerically",  # check_leq on sample points (a proof reads "✓ proved")
}
_RECORD: list[Check] = []


_ANCHORS: dict[str, int] = {}


def reset() -> None:
    """Forget the recorded checks (a chapter's setup does not need this; tests do)."""
    _RECORD.clear()
    _ANCHORS.clear()


def _book_build() -> bool:
    return os.environ.get("KEXUE_BOOK_BUILD") == "1"


def _record(check: Check) -> Check:
    """Record a passed check. In the book build (in a notebook), also emit an empty
    HTML anchor in the check's cell, so that the website's "What we checked" table and
    the claims ledger can link to the cell that decided a claim."""
    if _book_build() and _in_notebook():
        base = "kexue-check-" + hashlib.sha1(check.name.encode()).hexdigest()[:10]
        _ANCHORS[base] = _ANCHORS.get(base, 0) + 1
        anchor = base if _ANCHORS[base] == 1 else f"{base}-{_ANCHORS[base]}"
        check = dataclasses.replace(check, anchor=anchor)
        from IPython.display import display

        display(
            {"text/html": f'<span id="{anchor}" class="kexue-check-anchor"></span>'},
            raw=True,
        )
    _RECORD.append(check)
    return check


def summary() -> list[Check]:
    """The checks that passed so far in this session, in order."""
    return list(_RECORD)


# ---------------------------------------------------------------------------- arguments
def _real(value, name: str, *, positive: bool = False) -> float:
    """A finite real number (``> 0`` with ``positive``, else ``>= 0``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and not v > 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if not v >= 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return v


def _flag(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def _label(value, name: str, *, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise TypeError(
            f"{name} must be a non-empty str{' or None' if optional else ''}, "
            f"got {value!r}"
        )
    return value


def _sympify(value, name: str):
    """A sympy expression or matrix (numbers and numpy arrays are converted)."""
    if value is None or isinstance(value, (bool, str, bytes)):
        raise TypeError(
            f"{name} must be a sympy expression, matrix or number, got {value!r}"
        )
    if isinstance(value, np.ndarray):
        value = sp.Matrix(value)
    if isinstance(value, (list, tuple, dict, set)):
        raise TypeError(
            f"{name} must be a sympy expression, matrix or number, got a "
            f"{type(value).__name__} (wrap a list in sympy.Matrix)"
        )
    try:
        out = sp.sympify(value, strict=True)
    except (sp.SympifyError, TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a sympy expression, matrix or number, got "
            f"{type(value).__name__}"
        ) from err
    if isinstance(out, sp.MatrixBase):
        return sp.ImmutableMatrix(out)
    if not isinstance(out, sp.Expr):
        raise TypeError(
            f"{name} must be an expression, got {type(out).__name__} ({out}): "
            "compare the two sides of a relation with check_equal(lhs, rhs)"
        )
    return out


# ------------------------------------------------------------------------- time limit
class _Timeout(BaseException):
    # a BaseException, like KeyboardInterrupt: sympy's own ``except Exception`` blocks
    # must not swallow it
    pass


def _with_time_limit(fn, seconds: float):
    """``fn()``, or raise :class:`_Timeout` after ``seconds`` of wall time.

    In the main thread (a script, a notebook kernel) a ``SIGALRM`` timer interrupts the
    computation. Elsewhere the work runs in a daemon thread that is abandoned on timeout
    (Python cannot stop a thread; the result is then ignored).
    """
    if (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    ):

        def _alarm(signum, frame):
            raise _Timeout

        previous = signal.signal(signal.SIGALRM, _alarm)
        # fire again every 50 ms until cancelled, in case a handler swallowed the first
        old_delay, _ = signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
        start = time.monotonic()
        try:
            return fn()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            if old_delay:  # someone else's timer was running: restore what is left
                left = old_delay - (time.monotonic() - start)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
    result: dict = {}

    def _run():
        try:
            result["value"] = fn()
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller
            result["error"] = err

    worker = threading.Thread(target=_run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise _Timeout
    if "error" in result:
        raise result["error"]
    return result["value"]


# ------------------------------------------------------------------------ symbolic path
def _transforms():
    # No nsimplify: it would turn float approximations into exact numbers and report
    # "proved" for a claim that only holds to 15 digits.
    return (
        lambda e: e,
        lambda e: sp.expand(e),
        sp.simplify,
        lambda e: sp.simplify(sp.expand(sp.radsimp(e))),
        lambda e: sp.simplify(sp.powsimp(sp.expand(e), force=False)),
        lambda e: sp.simplify(sp.together(e)),
    )


def _is_zero_symbolically(diff, deadline: float) -> bool | None:
    """True if a rewrite of ``diff`` is 0; None if the time ran out before one was."""
    if isinstance(diff, sp.MatrixBase):
        outcomes = [_is_zero_symbolically(e, deadline) for e in diff]
        if all(o is True for o in outcomes):
            return True
        return None if any(o is None for o in outcomes) else False
    for transform in _transforms():
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            if _with_time_limit(lambda t=transform: t(diff) == 0, left):
                return True
        except _Timeout:
            return None
        except (
            TypeError,
            ValueError,
            NotImplementedError,
            RecursionError,
            AttributeError,
        ):  # pragma: no cover - a rewrite sympy cannot do on this expression
            continue
    return False


# ------------------------------------------------------------------------- numeric path
def _domain(s: sp.Symbol) -> str:
    """Where a symbol lives, from its assumptions: 'integer', 'real' or 'complex'."""
    if s.is_integer:
        return "integer"
    if s.is_real or s.is_extended_real:
        return "real"
    return "complex"


def _sign(s: sp.Symbol) -> int:
    """+1 for a nonnegative symbol, -1 for a nonpositive one, else 0."""
    if s.is_nonnegative:
        return 1
    if s.is_nonpositive:
        return -1
    return 0


def _satisfies(s: sp.Symbol, value) -> bool:
    """Whether ``value`` is consistent with every assumption declared on ``s``."""
    v = sp.sympify(value)
    for fact, wanted in s.assumptions0.items():
        if fact in ("commutative", "infinite", "finite", "extended_real", "complex"):
            continue
        got = getattr(v, f"is_{fact}", None)
        if got is not None and got != wanted:
            return False
    return True


def _default_draw(s: sp.Symbol, rng: _random.Random):
    """One value inside ``s``'s domain; magnitudes log-uniform over [0.05, 20]."""
    sign = _sign(s)
    if _domain(s) == "integer":
        m = rng.randint(0 if sign else 1, 9)
        return sp.Integer(m if sign >= 0 else -m) * (
            rng.choice((-1, 1)) if sign == 0 else 1
        )
    mag = math.exp(rng.uniform(math.log(0.05), math.log(20.0)))
    if _domain(s) == "complex":
        angle = rng.uniform(-math.pi, math.pi)
        return sp.Float(mag * math.cos(angle), DIGITS) + sp.I * sp.Float(
            mag * math.sin(angle), DIGITS
        )
    if sign == 0:
        sign = rng.choice((-1, 1))
    return sp.Float(sign * mag, DIGITS)


def _ranged_draw(s: sp.Symbol, lo: float, hi: float, rng: _random.Random):
    if _domain(s) == "integer":
        return sp.Integer(rng.randint(math.ceil(lo), math.floor(hi)))
    return sp.Float(rng.uniform(lo, hi), DIGITS)


def _check_ranges(ranges, free: Sequence[sp.Symbol]) -> dict:
    """``{symbol: (lo, hi)}`` from ``ranges``, each inside the symbol's domain."""
    if ranges is None:
        return {}
    if not isinstance(ranges, Mapping):
        raise TypeError(
            "ranges must be a mapping {symbol: (lo, hi)}, got "
            f"{type(ranges).__name__}"
        )
    by_name = {str(s): s for s in free}
    out = {}
    for key, bounds in ranges.items():
        s = key if isinstance(key, sp.Symbol) else by_name.get(key)
        if s not in free:
            raise ValueError(
                f"ranges key {key!r} is not a free symbol of lhs or rhs "
                f"(free symbols: {', '.join(sorted(by_name)) or 'none'})"
            )
        if (
            not isinstance(bounds, (tuple, list))
            or len(bounds) != 2
            or not all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) for b in bounds
            )
        ):
            raise TypeError(f"ranges[{key!r}] must be a pair (lo, hi), got {bounds!r}")
        lo, hi = float(bounds[0]), float(bounds[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(
                f"ranges[{key!r}] must be finite with lo < hi, got {bounds}"
            )
        if _domain(s) == "complex":
            raise ValueError(
                f"ranges[{key!r}]: {s} has no real assumption (it is complex); declare "
                f"it real (sympy.Symbol({str(s)!r}, real=True)) to sample it on a range"
            )
        if _domain(s) == "integer" and math.ceil(lo) > math.floor(hi):
            raise ValueError(f"ranges[{key!r}] = {bounds} contains no integer")
        ends = (sp.Float(lo) if lo != 0 else sp.Integer(0), sp.Float(hi))
        inside = [_satisfies(s, e) for e in ends]
        if _domain(s) != "integer" and not (
            (inside[0] or lo == 0) and (inside[1] or hi == 0)
        ):
            raise ValueError(
                f"ranges[{key!r}] = {bounds} leaves the domain its assumptions declare "
                f"({', '.join(k for k, v in s.assumptions0.items() if v)})"
            )
        out[s] = (lo, hi)
    return out


def _random_points(free, ranges: Mapping, n: int, seed: int):
    """``n`` points, each coordinate inside its symbol's declared domain."""
    rng = _random.Random(seed)
    points = []
    for _ in range(n):
        point = {}
        for s in free:
            for _attempt in range(200):
                if s in ranges:
                    v = _ranged_draw(s, *ranges[s], rng)
                else:
                    v = _default_draw(s, rng)
                if _satisfies(s, v):
                    break
            else:
                raise CheckFailed(
                    f"could not draw a value of {s} satisfying its assumptions "
                    f"{s.assumptions0}: give ranges={{{str(s)!r}: (lo, hi)}}"
                )
            point[s] = v
        points.append(point)
    return points


def _summands(e) -> list:
    return list(sp.Add.make_args(e))


def _evaluate(e, point) -> complex:
    v = sp.sympify(e).evalf(DIGITS, subs=point)
    try:
        return complex(v)
    except (TypeError, ValueError):
        return complex(float("nan"))


def _numeric_gap(lhs, rhs, point, tol: float, atol: float):
    """Both sides, the gap, and the bound it must stay under at ``point``.

    gap = |lhs - rhs| evaluated as one expression (30 digits, so cancellation between
    the sides is resolved); bound = tol * max(|lhs|, |rhs|) + atol + ROUNDING * the sum
    of the summands' magnitudes.
    """
    lv, rv = _evaluate(lhs, point), _evaluate(rhs, point)
    d = _evaluate(sp.Add(lhs, -rhs), point)
    size = sum(abs(_evaluate(t, point)) for t in _summands(lhs) + _summands(rhs))
    bound = tol * max(abs(lv), abs(rv)) + atol + ROUNDING * size
    return lv, rv, abs(d), bound


def _domain_text(free) -> str:
    kinds = sorted({_domain(s) for s in free})
    return "/".join(kinds) if kinds else "constant"


def check_equal(
    lhs: Any,
    rhs: Any,
    *,
    name: str | None = None,
    numeric: bool = True,
    n_random: int = 8,
    tol: float = 1e-12,
    atol: float = 0.0,
    ranges: Mapping | None = None,
    seed: int = 0,
    timeout: float = 20.0,
    show: bool = True,
    rewrite: Any = None,
) -> Check:
    """Assert ``lhs == rhs`` as sympy expressions; show ``lhs = rhs ✓``.

    Raises :class:`CheckFailed` when the identity is false (or cannot be established).

    Parameters
    ----------
    lhs, rhs : sympy expressions or matrices of the same shape (numbers, numpy arrays).
    name : label shown beside the identity and recorded in :func:`summary`.
    numeric : when sympy cannot prove the identity within ``timeout`` seconds, evaluate
        both sides at ``n_random`` random points inside the symbols' domains (30
        significant digits) and accept when, everywhere, ``|lhs - rhs| <= tol *
        max(|lhs|, |rhs|) + atol`` (plus the rounding floor ``1e-25`` of the summands'
        size). Domains come from the symbols' assumptions: ``positive`` at (0.05,
        20), ``negative`` at (-20, -0.05), ``real`` at either sign, ``integer`` at
        integers in [-9, 9], a symbol with no assumptions at complex numbers of
        modulus (0.05, 20).
    ranges : ``{symbol or name: (lo, hi)}`` to sample a real symbol on a sub-interval
        of its domain instead (each key must be a free symbol; the interval must respect
        the symbol's assumptions).
    timeout : seconds allowed for the symbolic attempt (then the numeric fallback runs).
    rewrite : ``None`` or a function applied to ``lhs - rhs`` (to each entry of a
        matrix) before the standard rewrites of the proof, so that the sides can be
        *shown* in their natural form while sympy proves a rewritten difference, e.g.
        ``lambda e: e.doit()`` for an unevaluated ``sp.Derivative`` or ``sp.expand_log``
        for logs of positive quantities. It must preserve the value (``expand_log``
        without ``force`` does: it only applies rules the assumptions allow); the
        numeric fallback, if needed, evaluates the rewritten sides.
    """
    label_name = _label(name, "name", optional=True)
    numeric = _flag(numeric, "numeric")
    show = _flag(show, "show")
    if isinstance(n_random, bool) or not isinstance(n_random, numbers.Integral):
        raise TypeError(f"n_random must be an int, got {type(n_random).__name__}")
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    tol = _real(tol, "tol", positive=True)
    atol = _real(atol, "atol")
    timeout = _real(timeout, "timeout", positive=True)
    if rewrite is not None and not callable(rewrite):
        raise TypeError(
            f"rewrite must be None or a callable, got {type(rewrite).__name__}"
        )
    lhs_s, rhs_s = _sympify(lhs, "lhs"), _sympify(rhs, "rhs")
    if isinstance(lhs_s, sp.MatrixBase) != isinstance(rhs_s, sp.MatrixBase):
        raise TypeError("lhs and rhs must both be matrices or both be scalars")
    label = label_name or "identity"
    if isinstance(lhs_s, sp.MatrixBase) and lhs_s.shape != rhs_s.shape:
        raise CheckFailed(f"{label}: shapes differ, {lhs_s.shape} vs {rhs_s.shape}")
    diff = lhs_s - rhs_s
    free = sorted(lhs_s.free_symbols | rhs_s.free_symbols, key=str)
    spans = _check_ranges(ranges, free)
    if rewrite is not None:
        original, diff = diff, _rewritten(diff, rewrite)
        _check_rewrite_keeps_value(original, diff, free, spans, n_random, seed, label)
    proved = _is_zero_symbolically(diff, time.monotonic() + timeout)
    if proved:
        how = "symbolic"
    else:
        why = (
            f"sympy did not finish within timeout={timeout:g} s"
            if proved is None
            else "sympy could not show lhs = rhs"
        )
        if not numeric:
            raise CheckFailed(
                f"{label}: {why}\n  lhs = {lhs_s}\n  rhs = {rhs_s}\n"
                f"  lhs - rhs = {diff}"
            )
        if diff.atoms(sp.core.function.AppliedUndef) or diff.atoms(sp.Derivative):
            raise CheckFailed(
                f"{label}: not proved symbolically and contains undefined functions, "
                f"so no numeric fallback is possible\n  lhs - rhs = {diff}"
            )
        l_num, r_num = lhs_s, rhs_s
        if rewrite is not None:  # evaluate the sides in the form the proof used
            l_num, r_num = _rewritten(lhs_s, rewrite), _rewritten(rhs_s, rewrite)
        pairs = (
            list(zip(l_num, r_num, strict=True))
            if isinstance(l_num, sp.MatrixBase)
            else [(l_num, r_num)]
        )
        worst = 0.0
        for point in _random_points(free, spans, n_random, seed):
            for l_e, r_e in pairs:
                lv, rv, gap, bound = _numeric_gap(l_e, r_e, point, tol, atol)
                if not (math.isfinite(gap) and gap <= bound):
                    where = {
                        str(k): complex(v) if v.is_real is False else float(v)
                        for k, v in point.items()
                    }
                    raise CheckFailed(
                        f"{label}: lhs != rhs\n  lhs = {lhs_s}\n  rhs = {rhs_s}\n"
                        f"  at {where} (inside the declared domain): lhs = {lv:.10g}, "
                        f"rhs = {rv:.10g}; |lhs - rhs| = {gap:.3g} > {bound:.3g} "
                        f"(tol {tol:g} relative + atol {atol:g})",
                        counterexample=(dict(point) if math.isfinite(gap) else None),
                    )
                scale = max(abs(lv), abs(rv))
                worst = max(worst, gap / scale if scale > 0 else 0.0)
        gap_text = f"{worst:.1e}" if worst >= ROUNDING else f"below {ROUNDING:g}"
        how = (
            f"numerically at {n_random} random {_domain_text(free)} points, "
            f"max rel. gap {gap_text} (tol {tol:g}"
            + (f", atol {atol:g})" if atol else ")")
        )
    check = _record(Check(label, "symbolic" if how == "symbolic" else "numeric", how))
    if show:
        _show(
            latex_check(label_name, lhs_s, rhs_s, how),
            f"{label}: {lhs_s} = {rhs_s}  ✓ ({how})",
        )
    return check


def _check_rewrite_keeps_value(original, rewritten, free, spans, n, seed, label):
    """A rewrite may only change the form of ``lhs - rhs``, never its value: compare
    the two at ``n`` random points of the declared domain (30 digits), so that a
    value-changing rewrite (``lambda e: 0``, ``expand_log(force=True)`` on a real
    ``log(p**2)``) can never turn a false identity into a "proof"."""
    pairs = (
        list(zip(original, rewritten, strict=True))
        if isinstance(original, sp.MatrixBase)
        else [(original, rewritten)]
    )
    compared = 0
    for point in _random_points(free, spans, n, seed + 1):
        for o, r in pairs:
            ov, rv = _evaluate(o.doit(), point), _evaluate(r.doit(), point)
            if not (cmath.isfinite(ov) and cmath.isfinite(rv)):
                continue
            compared += 1
            bound = 1e-12 * max(abs(ov), abs(rv), 1.0)
            if abs(ov - rv) > bound:
                where = {str(k): complex(v) for k, v in point.items()}
                raise CheckFailed(
                    f"{label}: the rewrite changed the value of lhs - rhs at {where}: "
                    f"{ov:.10g} before, {rv:.10g} after; a rewrite may only change "
                    "the form"
                )
    if compared == 0:
        raise CheckFailed(
            f"{label}: could not evaluate lhs - rhs at any random point to confirm "
            "that the rewrite keeps its value; give ranges= for the symbols"
        )


def _rewritten(diff, rewrite):
    """``rewrite`` applied to ``diff`` (entrywise for a matrix), checked to be sympy."""
    if isinstance(diff, sp.MatrixBase):
        return diff.applyfunc(lambda e: _rewritten(e, rewrite))
    out = rewrite(diff)
    if isinstance(out, numbers.Number) and not isinstance(out, bool):
        out = sp.sympify(out)
    if not isinstance(out, sp.Basic):
        raise TypeError(
            f"rewrite must return a sympy expression, got {type(out).__name__}"
        )
    return out


def check_zero(expr: Any, **kwargs) -> Check:
    """Assert ``expr == 0`` (see :func:`check_equal` for the options)."""
    if "rhs" in kwargs:
        raise TypeError("check_zero compares expr with 0: it takes no rhs")
    return check_equal(_sympify(expr, "expr"), sp.Integer(0), **kwargs)


def check_close(
    actual: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-7,
    atol: float = 0.0,
    show: bool = True,
) -> Check:
    """Assert two numbers/arrays agree within ``atol + rtol*|expected|`` elementwise.

    For claims that are numeric by nature (a measured quantity against its closed form).
    Shows the max error. NaN or inf in either side fails the check.
    """
    name = _label(name, "name")
    rtol, atol = _real(rtol, "rtol"), _real(atol, "atol")
    show = _flag(show, "show")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0 (an exact comparison)")
    a = _as_float_array(actual, "actual")
    e = _as_float_array(expected, "expected")
    try:
        a, e = np.broadcast_arrays(a, e)
    except ValueError as err:
        raise ValueError(
            f"{name}: actual and expected shapes {a.shape} and {e.shape} do not "
            "broadcast"
        ) from err
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(e))):
        raise CheckFailed(
            f"{name}: non-finite values (actual has {np.sum(~np.isfinite(a))}, "
            f"expected has {np.sum(~np.isfinite(e))})"
        )
    err = np.abs(a - e)
    bound = atol + rtol * np.abs(e)
    if np.any(err > bound):
        k = int(np.argmax(err - bound))
        raise CheckFailed(
            f"{name}: max abs error {err.max():.3g} exceeds the tolerance "
            f"(atol={atol:g}, rtol={rtol:g}); worst at flat index {k}: "
            f"actual {a.flat[k]:.6g} vs expected {e.flat[k]:.6g}"
        )
    how = f"max abs error {err.max():.1e} (atol {atol:g}, rtol {rtol:g})"
    check = _record(Check(name, "numeric", how, kind="close"))
    if show:
        _show(_latex_text_line(name, how), f"{name}: ✓ ({how})")
    return check


def check_true(
    condition: bool, *, name: str, detail: str = "", show: bool = True
) -> Check:
    """Assert a boolean claim (an inequality on a grid, an ordering of numbers, ...)."""
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"condition must be a bool, got {type(condition).__name__}")
    name = _label(name, "name")
    if not isinstance(detail, str):
        raise TypeError(f"detail must be a str, got {type(detail).__name__}")
    show = _flag(show, "show")
    if not condition:
        raise CheckFailed(f"{name}: false" + (f" ({detail})" if detail else ""))
    check = _record(Check(name, "numeric", detail or "holds", kind="true"))
    if show:
        _show(
            _latex_text_line(name, detail),
            f"{name}: ✓" + (f" ({detail})" if detail else ""),
        )
    return check


# --------------------------------------------------------------------------- check_leq
def _leq_transforms():
    # rewrites under which sympy's assumption system may see the sign of rhs - lhs:
    # factor turns u**2 + v**2 - 2*u*v into (u - v)**2, simplify collects, together
    # puts a sum of fractions over one (positive) denominator
    return (
        lambda e: e,
        sp.factor,
        sp.simplify,
        lambda e: sp.factor(sp.simplify(e)),
        lambda e: sp.factor(sp.together(e)),
        lambda e: sp.expand(e),
    )


def _sign_symbolically(gap, deadline: float, strict: bool) -> bool | None:
    """True if a rewrite of ``gap`` is >= 0 (``> 0`` if strict) by the symbols'
    assumptions; False if one is ``< 0`` (``<= 0`` if strict) everywhere; else None."""
    for transform in _leq_transforms():
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            e = _with_time_limit(lambda t=transform: t(gap), left)
            good = e.is_positive if strict else e.is_nonnegative
            bad = e.is_nonpositive if strict else e.is_negative
        except _Timeout:
            return None
        except (
            TypeError,
            ValueError,
            NotImplementedError,
            RecursionError,
            AttributeError,
        ):  # pragma: no cover - a rewrite sympy cannot do on this expression
            continue
        if good:
            return True
        if bad:
            return False
    return None


def _check_samples(samples, free: Sequence[sp.Symbol]) -> list[dict]:
    """Points ``[{symbol: value}, ...]`` from ``{symbol or name: values}`` columns."""
    if not isinstance(samples, Mapping) or not samples:
        raise TypeError(
            "samples must be a non-empty mapping {symbol: values}, got "
            f"{type(samples).__name__}"
        )
    by_name = {str(s): s for s in free}
    cols: dict = {}
    for key, values in samples.items():
        s = key if isinstance(key, sp.Symbol) else by_name.get(key)
        if s not in free:
            raise ValueError(
                f"samples key {key!r} is not a free symbol of lhs or rhs "
                f"(free symbols: {', '.join(sorted(by_name)) or 'none'})"
            )
        if isinstance(values, (str, bytes, Mapping)) or values is None:
            raise TypeError(f"samples[{key!r}] must be a sequence of real numbers")
        try:
            arr = np.asarray(
                values.detach().cpu().numpy() if hasattr(values, "detach") else values,
                dtype=float,
            )
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"samples[{key!r}] must be a sequence of real numbers"
            ) from err
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(
                f"samples[{key!r}] must be 1-D and non-empty, got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"samples[{key!r}] must be finite")
        facts = s.assumptions0
        broken = (
            (facts.get("positive") and not np.all(arr > 0))
            or (facts.get("nonnegative") and not np.all(arr >= 0))
            or (facts.get("negative") and not np.all(arr < 0))
            or (facts.get("nonpositive") and not np.all(arr <= 0))
            or (facts.get("integer") and not np.all(arr == np.round(arr)))
        )
        if broken:
            raise ValueError(
                f"samples[{key!r}] leaves the domain its assumptions declare "
                f"({', '.join(k for k, v in facts.items() if v)})"
            )
        cols[s] = arr
    missing = [str(s) for s in free if s not in cols]
    if missing:
        raise ValueError(f"samples has no values for {', '.join(missing)}")
    sizes = {len(v) for v in cols.values()}
    if len(sizes) > 1:
        raise ValueError(f"samples columns must have one length, got {sorted(sizes)}")
    n = sizes.pop()
    return [
        {s: int(cols[s][k]) if s.is_integer else float(cols[s][k]) for s in free}
        for k in range(n)
    ]


def check_leq(
    lhs: Any,
    rhs: Any,
    *,
    name: str | None = None,
    strict: bool = False,
    certificate: Any = None,
    numeric: bool = True,
    samples: Mapping | None = None,
    n_random: int = 200,
    tol: float = 0.0,
    ranges: Mapping | None = None,
    seed: int = 0,
    timeout: float = 20.0,
    show: bool = True,
) -> Check:
    """Assert ``lhs <= rhs`` (``lhs < rhs`` with ``strict``); show ``lhs ≤ rhs ✓``.

    Raises :class:`CheckFailed` when the inequality is false (or cannot be
    established). Three ways, tried in this order:

    * **certificate**: an expression ``c`` that sympy must prove equal to
      ``rhs - lhs`` and that is ``>= 0`` (``> 0``) by the symbols' assumptions alone,
      e.g. a sum of squares, or ``sum p_i (v_i - pbar)**2`` with positive ``p_i``. A
      certificate is a proof: if it fails there is no numeric fallback;
    * **symbolic**: sympy's assumptions decide the sign of ``rhs - lhs`` after a few
      rewrites (``factor``, ``simplify``, ``together``) within ``timeout`` seconds; if
      they show the gap *negative* everywhere (and ``tol`` is 0), the check fails at
      once;
    * **numeric** (only if ``numeric``): ``rhs - lhs`` is evaluated with 30 significant
      digits at the given ``samples`` (``{symbol or name: values}``, one column per
      free symbol, values inside its declared domain) or else at ``n_random`` random
      points inside the symbols' domains (``ranges`` as in :func:`check_equal`), and
      must be ``>= -tol`` (``> 0`` with ``strict``) at every one, up to the rounding
      floor ``1e-25 * (|lhs| + |rhs|)``. What is shown then says "numerically at N
      points": that is evidence, not a proof.

    All free symbols must be real (declare them ``real``, ``positive``, ...): an
    inequality between complex numbers has no meaning.
    """
    label_name = _label(name, "name", optional=True)
    strict, numeric, show = (
        _flag(strict, "strict"),
        _flag(numeric, "numeric"),
        _flag(show, "show"),
    )
    if isinstance(n_random, bool) or not isinstance(n_random, numbers.Integral):
        raise TypeError(f"n_random must be an int, got {type(n_random).__name__}")
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    tol = _real(tol, "tol")
    if strict and tol > 0:
        raise ValueError("tol must be 0 for a strict inequality (strict=True)")
    timeout = _real(timeout, "timeout", positive=True)
    lhs_s, rhs_s = _sympify(lhs, "lhs"), _sympify(rhs, "rhs")
    for side, e in (("lhs", lhs_s), ("rhs", rhs_s)):
        if isinstance(e, sp.MatrixBase):
            raise TypeError(f"{side} must be a scalar expression, got a matrix")
        if e.is_extended_real is False:
            raise ValueError(f"{side} must be real, got {e} (not real)")
    free = sorted(lhs_s.free_symbols | rhs_s.free_symbols, key=str)
    complex_ = [str(s) for s in free if _domain(s) == "complex"]
    if complex_:
        raise ValueError(
            f"lhs and rhs must be real: declare {', '.join(complex_)} real (or "
            "positive, nonnegative, ...), an inequality of complex numbers has no "
            "meaning"
        )
    if samples is not None and ranges is not None:
        raise ValueError("give samples or ranges, not both")
    spans = _check_ranges(ranges, free)
    points = None if samples is None else _check_samples(samples, free)
    label = label_name or "inequality"
    sign = "<" if strict else "<="
    gap = rhs_s - lhs_s
    deadline = time.monotonic() + timeout
    if certificate is not None:
        cert = _sympify(certificate, "certificate")
        if isinstance(cert, sp.MatrixBase):
            raise TypeError("certificate must be a scalar expression, got a matrix")
        if not _is_zero_symbolically(gap - cert, deadline):
            raise CheckFailed(
                f"{label}: sympy could not show that the certificate equals rhs - lhs"
                f"\n  rhs - lhs = {gap}\n  certificate = {cert}"
            )
        if not (cert.is_positive if strict else cert.is_nonnegative):
            raise CheckFailed(
                f"{label}: the certificate {cert} is not {'> 0' if strict else '>= 0'}"
                " by the symbols' assumptions alone"
            )
        how = "symbolic"
        detail = "symbolic, by a certificate"
    else:
        decided = _sign_symbolically(gap, deadline, strict)
        if decided is False and tol > 0:  # lhs <= rhs + tol may still hold: sample it
            decided = None
        if decided is False:
            raise CheckFailed(
                f"{label}: false everywhere in the declared domain (sympy shows rhs - "
                f"lhs {'<= 0' if strict else '< 0'})\n  lhs = {lhs_s}\n  rhs = {rhs_s}"
            )
        how = detail = "symbolic" if decided else None
    if how is None:
        if not numeric:
            raise CheckFailed(
                f"{label}: sympy could not show lhs {sign} rhs\n  lhs = {lhs_s}\n"
                f"  rhs = {rhs_s}"
            )
        source = "sample"
        if points is None:
            points = _random_points(free, spans, n_random, seed)
            source = f"random {_domain_text(free)}"
        detail = _leq_numerically(lhs_s, rhs_s, free, points, strict, tol, label)
        detail = f"numerically at {len(points)} {source} points, {detail}"
        how = detail
    check = _record(
        Check(label, "symbolic" if how == "symbolic" else "numeric", detail, "leq")
    )
    if show:
        shown = "symbolic" if how == "symbolic" else detail
        _show(
            latex_check(label_name, lhs_s, rhs_s, shown, relation=sign),
            f"{label}: {lhs_s} {'<' if strict else '≤'} {rhs_s}  ✓ ({detail})",
        )
    return check


def _leq_numerically(lhs, rhs, free, points, strict, tol, label) -> str:
    """Evaluate ``rhs - lhs`` at every point (30 digits); raise at the first violation;
    return a summary of the smallest gap."""
    import mpmath

    fl, fr, fg = (sp.lambdify(free, e, modules="mpmath") for e in (lhs, rhs, rhs - lhs))
    smallest = math.inf
    with mpmath.workdps(DIGITS):
        for point in points:
            args = [mpmath.mpmathify(point[s]) for s in free]
            try:
                lv, rv, gv = (complex(f(*args)) for f in (fl, fr, fg))
            except (ValueError, ZeroDivisionError, TypeError, OverflowError):
                lv = rv = gv = complex(math.nan)
            floor = ROUNDING * (abs(lv) + abs(rv))
            where = {str(s): float(f"{float(point[s]):.10g}") for s in free}
            if (
                not all(math.isfinite(v.real) for v in (lv, rv, gv))
                or abs(gv.imag) > floor + 1e-300
            ):
                raise CheckFailed(
                    f"{label}: lhs or rhs is not a finite real number at {where}: "
                    f"lhs = {lv:.10g}, rhs = {rv:.10g}"
                )
            g = gv.real
            ok = g > floor if strict else g >= -(tol + floor)
            if not ok:
                raise CheckFailed(
                    f"{label}: lhs {'<' if strict else '<='} rhs is false at {where} "
                    f"(inside the declared domain): lhs = {lv.real:.10g}, rhs = "
                    f"{rv.real:.10g}, rhs - lhs = {g:.3g}"
                    + (f" < -tol = {-tol:g}" if tol else ""),
                    counterexample=dict(point),
                )
            smallest = min(smallest, g)
    return f"smallest rhs - lhs {smallest:.2e}" + (f" (tol {tol:g})" if tol else "")


def _as_float_array(x, name: str) -> np.ndarray:
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be a number or an array of numbers, got {x!r}")
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {type(x).__name__}"
        ) from err
    if arr.size == 0:
        raise ValueError(f"{name} is empty: there is nothing to compare")
    return arr


# ---------------------------------------------------------------------------- display
def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return False
    ip = get_ipython()
    return ip is not None and ip.__class__.__name__ != "TerminalInteractiveShell"


def _show(latex: str, text: str) -> None:
    if _in_notebook():
        from IPython.display import Math, display

        display(Math(latex))
    else:
        print(text)


_ELLIPSIS = sp.Symbol(r"\ldots")
MAX_LINES = 3  # lines per side of a long identity before the remaining terms become "…"


@functools.lru_cache(maxsize=4096)
def _width(e) -> int:
    """Displayed width of an expression, in characters of sympy's 2-D pretty print."""
    try:
        art = sp.pretty(e, use_unicode=True, wrap_line=False, order="none")
    except Exception:  # noqa: BLE001 - a printer failure must not fail a passed check
        return len(sp.latex(e)) // 2
    return max((len(line) for line in art.splitlines()), default=0)


@functools.lru_cache(maxsize=4096)
def _latex(e) -> str:
    return sp.latex(e)


def _fits(e, budget: int) -> bool:
    # The LaTeX source is never narrower than what it displays, and (fractions
    # stacked) rarely more than 4 times wider: cheap tests before the 2-D layout.
    n = len(_latex(e))
    if n <= budget:
        return True
    if n > 4 * budget:
        return False
    return _width(e) <= budget


def _shorten(e, budget: int):
    """``e`` with its widest parts replaced by ``…`` until it is ``budget`` wide."""
    if _fits(e, budget):
        return e
    if isinstance(e, sp.MatrixBase):
        return sp.Symbol(rf"\text{{({e.rows}×{e.cols} matrix, too wide to show)}}")
    if not isinstance(e, sp.Basic) or e.is_Atom or not e.args:
        return _ELLIPSIS
    for _ in range(2 * len(e.args) + 4):
        args = list(e.args)
        # widths by the length of the LaTeX source: cheap, and ordered like the display
        widest = max(range(len(args)), key=lambda i: len(_latex(args[i])))
        excess = len(_latex(e)) - budget
        inner = len(_latex(args[widest]))
        if inner - excess < 8:
            args[widest] = _ELLIPSIS
        else:
            args[widest] = _shorten(args[widest], inner - excess)
        try:
            e = e.func(*args, evaluate=False)
        except (TypeError, ValueError):
            return _ELLIPSIS
        if _fits(e, budget):
            return e
    return _ELLIPSIS


def _side_lines(e, budget: int, first: str) -> list[str]:
    """One side of an identity as LaTeX lines of at most ``budget`` characters.

    A sum is broken between its terms; after :data:`MAX_LINES` lines the rest of the
    terms are shown as ``+ … (k more terms)``; a single term wider than a line is
    shortened by :func:`_shorten`.
    """
    if isinstance(e, sp.Add):
        terms = e.as_ordered_terms()
    else:
        terms = [e]
    lines: list[str] = []
    current, width = first, len(first)
    for k, t in enumerate(terms):
        negative = k > 0 and t.could_extract_minus_sign()
        body = -t if negative else t
        sign = (" - " if negative else " + ") if k > 0 else ""
        if not _fits(body, budget - 3):
            body = _shorten(body, budget - 3)
        w = _width(body) + len(sign)
        if width + w > budget and current.strip() not in ("", first.strip()):
            lines.append(current)
            if len(lines) == MAX_LINES:
                left = len(terms) - k
                lines[-1] += r" + \ldots\ " + _tex_text(
                    f"({left} more term{'s' if left > 1 else ''})"
                )
                return lines
            current, width = r"\quad", 2
        current += sign + _latex(body)
        width += w
    lines.append(current)
    return lines


def _wrap_text(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=True) or [""]


def _tex_text(text: str) -> str:
    """``text`` inside ``\\text{...}``.

    MathJax (the book, Jupyter, Colab) shows the argument of ``\\text`` literally, so
    only the braces, which delimit it, are escaped (``\\_`` would show a backslash).
    """
    return r"\text{" + text.replace("{", r"\{").replace("}", r"\}") + "}"


def _stack(lines: Sequence[str]) -> str:
    if len(lines) == 1:
        return lines[0]
    return (
        r"\begin{aligned}" + r" \\ ".join("&" + ln for ln in lines) + r"\end{aligned}"
    )


def _latex_text_line(name: str, detail: str) -> str:
    """``name: ✓ (detail)`` as LaTeX, wrapped onto lines that fit the column."""
    line = f"{name}: ✓" + (f" ({detail})" if detail else "")
    if len(line) <= DISPLAY_WIDTH:
        return (
            _tex_text(f"{name}:")
            + r"\quad \checkmark"
            + (r"\ " + _tex_text(f"({detail})") if detail else "")
        )
    lines = [_tex_text(t) for t in _wrap_text(f"{name}:", DISPLAY_WIDTH)]
    lines[-1] += r"\quad \checkmark"
    if detail:
        lines += [_tex_text(t) for t in _wrap_text(f"({detail})", DISPLAY_WIDTH)]
    return _stack(lines)


# relations a check can display: "=" (check_equal), "<=" and "<" (check_leq)
_RELATIONS = {"=": "=", "<=": r"\le", "<": "<"}


def latex_check(
    name: str | None, lhs: Any, rhs: Any, how: str, *, relation: str = "="
) -> str:
    """The LaTeX a check displays: ``name:  lhs = rhs  ✓ (how)``.

    ``relation`` is ``"="`` (the default), ``"<="`` or ``"<"`` (what :func:`check_leq`
    shows). When that is wider than the page column (:data:`DISPLAY_WIDTH`
    characters), the parts go on separate lines and a side still too wide has its
    trailing terms or innermost parts shown as ``…`` (the exception and
    :func:`summary` keep the full text; only the display is shortened).
    """
    name = _label(name, "name", optional=True)
    if not isinstance(how, str):
        raise TypeError(f"how must be a str, got {type(how).__name__}")
    if not isinstance(relation, str) or relation not in _RELATIONS:
        raise ValueError(
            f"relation must be one of {', '.join(map(repr, _RELATIONS))}, "
            f"got {relation!r}"
        )
    rel = _RELATIONS[relation]
    lhs, rhs = _sympify(lhs, "lhs"), _sympify(rhs, "rhs")
    note = "" if how == "symbolic" else f"({how})"
    label = _tex_text(f"{name}:") + r"\quad " if name else ""
    tail = r"\quad\checkmark" + (r"\ " + _tex_text(note) if note else "")
    head = (len(name) + 2 if name else 0) + 3 + 2 + len(note)
    if _fits(lhs, DISPLAY_WIDTH) and _fits(rhs, DISPLAY_WIDTH):
        if head + _width(lhs) + _width(rhs) <= DISPLAY_WIDTH:
            return f"{label}{_latex(lhs)} {rel} {_latex(rhs)}{tail}"
    lines = (
        [_tex_text(t) for t in _wrap_text(f"{name}:", DISPLAY_WIDTH)] if name else []
    )
    budget = DISPLAY_WIDTH - 4
    if (
        _fits(lhs, budget)
        and _fits(rhs, budget)
        and (_width(lhs) + 3 + _width(rhs) <= budget)
    ):
        lines.append(f"{_latex(lhs)} {rel} {_latex(rhs)}\\quad\\checkmark")
    else:
        lines += _side_lines(lhs, budget, "")
        right = _side_lines(rhs, budget, f"{rel} ")
        right[-1] += r"\quad\checkmark"
        lines += right
    if note:
        lines += [_tex_text(t) for t in _wrap_text(note, DISPLAY_WIDTH)]
    return _stack(lines)


# ----------------------------------------------------------------------------- report
_TH = "text-align:left;vertical-align:top"
# Borders and padding for front ends without the book's stylesheet (Colab shows bare
# HTML). ``:where()`` has no specificity, so the book theme's table rules win.
_FALLBACK_STYLE = (
    "<style>:where(table.kexue-report){border-collapse:collapse;margin:0.5em 0}"
    ":where(table.kexue-report) :where(th,td){border:1px solid #8888;"
    "padding:0.3em 0.6em}</style>"
)
_TD = "text-align:left;vertical-align:top;overflow-wrap:anywhere"


# What a "What we checked" row says of the post's claim (issue: the claims ledger).
VERDICTS = {
    "confirmed": "the post's statement holds, by a check that could have failed",
    "refuted": "the post's statement is false, and the check shows it",
    "qualified": "true only under a condition the post does not state",
    "ours": "a result this chapter adds",
    "not checked": "not checked here; the row says why",
}
# The kind of evidence behind a row, from the check that decided it.
EVIDENCE = {
    "symbolic": "symbolic proof",
    "equal": "numeric identity",
    "leq": "numeric identity",
    "close": "numeric comparison",
    "true": "experiment or condition",
    "none": "none",
}


@dataclasses.dataclass(frozen=True)
class ReportRow:
    """One row of a "What we checked" table: a claim, the check that decided it, and the
    verdict on the post's statement (one of :data:`VERDICTS`; ``""`` for a row of the
    older two-column form)."""

    claim: str
    check: str  # the check's name, as recorded by check_equal / ...; or the reason
    how: str  # how it was established ("sympy, symbolic" or the numeric detail)
    result: str  # "✓ proved", "✓ numerically", ..., or "— not checked"
    verdict: str = ""
    evidence: str = "none"  # a key of EVIDENCE
    anchor: str = ""  # the deciding check's anchor on the website ("" if none)

    def __post_init__(self):
        for field in ("claim", "check", "how", "result", "verdict", "anchor"):
            value = getattr(self, field)
            if not isinstance(value, str):
                raise TypeError(f"{field} must be a str, got {type(value).__name__}")
        if self.verdict and self.verdict not in VERDICTS:
            raise ValueError(
                f"verdict must be one of {', '.join(map(repr, VERDICTS))}, "
                f"got {self.verdict!r}"
            )
        if self.evidence not in EVIDENCE:
            raise ValueError(
                f"evidence must be one of {', '.join(EVIDENCE)}, got {self.evidence!r}"
            )


def _md_cell(text: str) -> str:
    # a pipe ends a Markdown table cell and a newline ends the row
    return " ".join(text.split()).replace("|", r"\|")


class Report:
    """A "What we checked" table: an HTML ``<table>`` in the book and in Jupyter/Colab.

    Displays as HTML (the book theme's table classes; inline left alignment for
    Jupyter, whose stylesheet right-aligns table cells), with Markdown
    (``_repr_markdown_``, also what ``str()`` gives) and plain text (one line per
    claim) as fallbacks. All text is escaped: a claim is shown as written, never
    interpreted as HTML or Markdown. ``rows`` holds the :class:`ReportRow` s;
    ``len(report)`` is the number of claims.
    """

    HEADER = ("claim", "how this chapter checks it", "result", "verdict")

    def __init__(self, rows: Sequence[ReportRow]):
        if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
            raise TypeError(
                f"rows must be a sequence of ReportRow, got {type(rows).__name__}"
            )
        for k, r in enumerate(rows):
            if not isinstance(r, ReportRow):
                raise TypeError(f"rows[{k}] must be a ReportRow, got {r!r}")
        self.rows = tuple(rows)
        self._shown_at: int | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def counts(self) -> dict[str, int]:
        """How many rows carry each verdict (every key of :data:`VERDICTS`)."""
        out = dict.fromkeys(VERDICTS, 0)
        for r in self.rows:
            if r.verdict:
                out[r.verdict] += 1
        return out

    def markdown(self) -> str:
        """The table as GitHub-flavoured Markdown."""
        lines = ["| " + " | ".join(self.HEADER) + " |", "|---|---|---|---|"]
        for r in self.rows:
            cells = (r.claim, f"{r.check}: {r.how}", r.result, r.verdict)
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        return "\n".join(lines)

    def html(self) -> str:
        """The table as HTML: ``<table class="table ...">``, as the book's tables.

        Row ``k`` (from 1) has the id ``kexue-claim-k`` and carries its verdict and
        evidence as ``data-`` attributes (the claims ledger reads them); in the book
        build, its result links to the cell of the check that decided it.
        """
        esc = html.escape
        head = "".join(
            f'<th class="head" style="{_TH};width:{w}">{esc(h)}</th>'
            for h, w in zip(self.HEADER, ("38%", "38%", "12%", "12%"), strict=True)
        )
        body = []
        for i, r in enumerate(self.rows):
            parity = "row-odd" if i % 2 == 0 else "row-even"
            result = esc(r.result)
            if r.anchor:
                result = f'<a class="kexue-check-link" href="#{r.anchor}">{result}</a>'
            how = (
                f"<em>not checked</em>: {esc(r.how)}"
                if r.verdict == "not checked"
                else f"<em>{esc(r.check)}</em>: {esc(r.how)}"
            )
            body.append(
                f'<tr id="kexue-claim-{i + 1}" class="{parity}" '
                f'data-verdict="{esc(r.verdict)}" data-evidence="{r.evidence}" '
                f'data-check="{esc(r.anchor)}">'
                f'<td style="{_TD}">{esc(r.claim)}</td>'
                f'<td style="{_TD}">{how}</td>'
                f'<td style="{_TH};white-space:nowrap">{result}</td>'
                f'<td style="{_TH};white-space:nowrap">{esc(r.verdict)}</td></tr>'
            )
        return (
            _FALLBACK_STYLE
            + '<div class="pst-scrollable-table-container kexue-report-container">'
            '<table class="table dataframe kexue-report">'
            f'<thead><tr class="row-odd">{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def text(self) -> str:
        """Plain text: one line per claim."""
        return "\n".join(
            f"{r.result}  {r.claim}  [{r.check}: {r.how}]"
            + (f"  ({r.verdict})" if r.verdict else "")
            for r in self.rows
        )

    def __str__(self) -> str:
        return self.markdown()

    def __repr__(self) -> str:
        return f"Report({len(self.rows)} claims)\n" + self.text()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_pretty_(self, p, cycle) -> None:
        p.text(self.text())

    def _mimebundle(self) -> dict:
        return {
            "text/html": self.html(),
            "text/markdown": self.markdown(),
            "text/plain": self.text(),
        }

    def _ipython_display_(self) -> None:
        # report() already displayed this table in the current cell: do not show it
        # twice when it is also the cell's last expression; anywhere else, display it.
        if self._shown_at is not None and self._shown_at == _execution_count():
            return
        from IPython.display import display

        display(self._mimebundle(), raw=True)


def _execution_count() -> int | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    ip = get_ipython()
    return None if ip is None else ip.execution_count


def report(rows: Sequence[tuple[str, str, str]], *, show: bool = True) -> Report:
    """The "What we checked" table: one row per ``(claim, check name, verdict)``.

    ``verdict`` says what the check found about the post's statement, one of
    :data:`VERDICTS`: ``"confirmed"``, ``"refuted"``, ``"qualified"`` (each with the
    check that shows it), ``"ours"`` (a result the chapter adds) or ``"not checked"``,
    in which case the second entry is the reason (not a check name). Each other row
    is filled from the recorded checks: raises :class:`CheckFailed` if a named check did
    not run (or failed) in this session, so the table can only list what was actually
    verified. Returns a :class:`Report`, which a notebook shows as an HTML table; with
    ``show`` it is displayed at once (printed as text outside a notebook).
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(
            "rows must be a sequence of (claim, check name, verdict) triples, got "
            f"{type(rows).__name__}"
        )
    show = _flag(show, "show")
    by_name = {c.name: c for c in _RECORD}
    out = []
    for k, row in enumerate(rows):
        if (
            not isinstance(row, (tuple, list))
            or len(row) != 3
            or not all(isinstance(x, str) for x in row)
        ):
            raise TypeError(
                f"rows[{k}] must be a (claim, check name, verdict) triple of strings, "
                f"got {row!r}"
            )
        claim, name, verdict = row
        if verdict not in VERDICTS:
            raise ValueError(
                f"rows[{k}]: verdict must be one of "
                f"{', '.join(map(repr, VERDICTS))}, got {verdict!r}"
            )
        if verdict == "not checked":
            if not name.strip():
                raise ValueError(
                    f"rows[{k}]: a 'not checked' row needs the reason as its second "
                    "entry"
                )
            out.append(ReportRow(claim, "not checked", name, "— not checked", verdict))
            continue
        if name not in by_name:
            raise CheckFailed(
                f"no passed check named {name!r} in this session (claim: {claim})"
            )
        c = by_name[name]
        if c.method == "symbolic":
            how, result, evidence = "sympy, symbolic", "✓ proved", "symbolic"
        else:
            how, result, evidence = c.detail, _RESULTS[c.kind], c.kind
        out.append(ReportRow(claim, name, how, result, verdict, evidence, c.anchor))
    table = Report(out)
    if show:
        if _in_notebook():
            from IPython.display import display

            display(table._mimebundle(), raw=True)
            table._shown_at = _execution_count()
        else:
            print(table.text())
    return table
