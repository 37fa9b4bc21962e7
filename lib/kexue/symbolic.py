"""Checked derivations: show ``lhs = rhs ✓`` and raise when the identity is false.

Every chapter's key results go through :func:`check_equal` (or :func:`check_zero`,
:func:`check_close`). A check first tries to prove the identity with sympy (``simplify`` of the
difference). When sympy cannot decide, it falls back to evaluating both sides at random points with
30-digit arithmetic and a stated relative tolerance, and says so in what it shows. A false identity
fails either way: the exception carries both sides, the simplified difference and a point where they
differ.

Each passing check is recorded; :func:`summary` returns the list, which chapters use for their
"What we checked" table.
"""

from __future__ import annotations

import dataclasses
import html
import random as _random
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
    "summary",
    "reset",
    "latex_check",
    "report",
    "Report",
    "ReportRow",
]


class CheckFailed(AssertionError):
    """A claimed identity or numeric agreement does not hold."""


@dataclasses.dataclass(frozen=True)
class Check:
    """One passed check: what it was called, how it was established, and the detail shown."""

    name: str
    method: str  # "symbolic" or "numeric"
    detail: str

    def _ipython_display_(
        self,
    ):  # the check already showed itself; keep cell outputs clean
        return None


_RECORD: list[Check] = []


def reset() -> None:
    """Forget the recorded checks (a chapter's setup does not need this; tests do)."""
    _RECORD.clear()


def summary() -> list[Check]:
    """The checks that passed so far in this session, in order."""
    return list(_RECORD)


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


def latex_check(name: str | None, lhs: Any, rhs: Any, how: str) -> str:
    """The LaTeX line a check displays: ``name:  lhs = rhs  ✓ (how)``."""
    label = rf"\text{{{name}:}}\quad " if name else ""
    tail = r"\quad\checkmark" + (rf"\ \text{{({how})}}" if how != "symbolic" else "")
    return f"{label}{sp.latex(lhs)} = {sp.latex(rhs)}{tail}"


def _is_zero_symbolically(diff: sp.Expr) -> bool:
    if isinstance(diff, sp.MatrixBase):
        return all(_is_zero_symbolically(e) for e in diff)
    for transform in (
        lambda e: e,
        sp.simplify,
        lambda e: sp.simplify(sp.expand(sp.radsimp(e))),
        lambda e: sp.simplify(sp.powsimp(sp.expand(e), force=True)),
        lambda e: sp.nsimplify(sp.simplify(sp.together(e))),
    ):
        try:
            if transform(diff) == 0:
                return True
        except (
            TypeError,
            ValueError,
            NotImplementedError,
            RecursionError,
        ):  # pragma: no cover
            continue
    return False


def _random_points(symbols: Sequence[sp.Symbol], ranges: Mapping, n: int, seed: int):
    rng = _random.Random(seed)
    points = []
    for _ in range(n):
        point = {}
        for s in symbols:
            lo, hi = ranges.get(s, ranges.get(str(s), (0.1, 0.9)))
            point[s] = sp.Float(rng.uniform(lo, hi), 30)
        points.append(point)
    return points


def _numeric_gap(lhs, rhs, point) -> tuple[complex, complex, float]:
    lv = complex(sp.N(sp.sympify(lhs).subs(point), 30))
    rv = complex(sp.N(sp.sympify(rhs).subs(point), 30))
    scale = max(1.0, abs(lv), abs(rv))
    return lv, rv, abs(lv - rv) / scale


def check_equal(
    lhs: Any,
    rhs: Any,
    *,
    name: str | None = None,
    numeric: bool = True,
    n_random: int = 8,
    tol: float = 1e-12,
    ranges: Mapping | None = None,
    seed: int = 0,
    show: bool = True,
) -> Check:
    """Assert ``lhs == rhs`` as sympy expressions; show ``lhs = rhs ✓``; raise :class:`CheckFailed` if not.

    Parameters
    ----------
    lhs, rhs : sympy expressions (or matrices of them), or anything ``sympy.sympify`` accepts.
    name : label shown beside the identity and recorded in :func:`summary`.
    numeric : when ``simplify`` cannot prove the identity, evaluate both sides at ``n_random`` random
        points (30 significant digits) and accept when the relative gap is below ``tol`` everywhere.
    ranges : ``{symbol: (lo, hi)}`` sampling ranges for the numeric fallback; default ``(0.1, 0.9)``
        for every free symbol (suits coefficients such as signal levels and probabilities).
    """
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    lhs_s, rhs_s = sp.sympify(lhs), sp.sympify(rhs)
    if isinstance(lhs_s, sp.MatrixBase) != isinstance(rhs_s, sp.MatrixBase):
        raise TypeError("lhs and rhs must both be matrices or both be scalars")
    if isinstance(lhs_s, sp.MatrixBase) and lhs_s.shape != rhs_s.shape:
        raise CheckFailed(
            f"{name or 'check'}: shapes differ, {lhs_s.shape} vs {rhs_s.shape}"
        )
    diff = lhs_s - rhs_s
    label = name or "identity"
    if _is_zero_symbolically(diff):
        how = "symbolic"
    else:
        if not numeric:
            raise CheckFailed(
                f"{label}: sympy could not show lhs = rhs\n  lhs = {lhs_s}\n  rhs = {rhs_s}\n"
                f"  lhs - rhs simplifies to {sp.simplify(diff)}"
            )
        free = sorted(diff.free_symbols, key=str)
        if diff.atoms(sp.core.function.AppliedUndef) or diff.atoms(sp.Derivative):
            raise CheckFailed(
                f"{label}: not proved symbolically and contains undefined functions, so no "
                f"numeric fallback is possible\n  lhs - rhs simplifies to {sp.simplify(diff)}"
            )
        pairs = (
            list(zip(lhs_s, rhs_s))
            if isinstance(lhs_s, sp.MatrixBase)
            else [(lhs_s, rhs_s)]
        )
        worst = 0.0
        for point in _random_points(free, ranges or {}, n_random, seed):
            for l_e, r_e in pairs:
                lv, rv, gap = _numeric_gap(l_e, r_e, point)
                if not np.isfinite(gap) or gap > tol:
                    where = {str(k): float(v) for k, v in point.items()}
                    raise CheckFailed(
                        f"{label}: lhs != rhs\n  lhs = {lhs_s}\n  rhs = {rhs_s}\n"
                        f"  at {where}: lhs = {lv}, rhs = {rv} (relative gap {gap:.3g} > tol {tol:g})"
                    )
                worst = max(worst, gap)
        how = f"numerically at {n_random} random points, max rel. gap {worst:.1e} < {tol:g}"
    check = Check(label, "symbolic" if how == "symbolic" else "numeric", how)
    _RECORD.append(check)
    if show:
        _show(
            latex_check(name, lhs_s, rhs_s, how),
            f"{label}: {lhs_s} = {rhs_s}  ✓ ({how})",
        )
    return check


def check_zero(expr: Any, **kwargs) -> Check:
    """Assert ``expr == 0`` (see :func:`check_equal` for the options)."""
    return check_equal(expr, sp.Integer(0), **kwargs)


def check_close(
    actual: Any,
    expected: Any,
    *,
    name: str,
    rtol: float = 1e-7,
    atol: float = 0.0,
    show: bool = True,
) -> Check:
    """Assert two numbers/arrays agree within ``atol + rtol*|expected|`` elementwise; show the max error.

    For claims that are numeric by nature (a measured quantity against its closed form).
    """
    if rtol < 0 or atol < 0 or (rtol == 0 and atol == 0):
        raise ValueError(
            f"need rtol >= 0, atol >= 0 and not both 0, got rtol={rtol}, atol={atol}"
        )
    a = np.asarray(_to_numpy(actual), dtype=float)
    e = np.asarray(_to_numpy(expected), dtype=float)
    try:
        a, e = np.broadcast_arrays(a, e)
    except ValueError as err:
        raise CheckFailed(
            f"{name}: shapes {a.shape} and {e.shape} do not broadcast"
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
    check = Check(name, "numeric", how)
    _RECORD.append(check)
    if show:
        _show(
            rf"\text{{{name}:}}\quad \checkmark\ \text{{({how})}}", f"{name}: ✓ ({how})"
        )
    return check


def check_true(
    condition: bool, *, name: str, detail: str = "", show: bool = True
) -> Check:
    """Assert a boolean claim (an inequality on a grid, an ordering of measured numbers, ...)."""
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"condition must be a bool, got {type(condition).__name__}")
    if not condition:
        raise CheckFailed(f"{name}: false" + (f" ({detail})" if detail else ""))
    check = Check(name, "numeric", detail or "holds")
    _RECORD.append(check)
    if show:
        _show(
            rf"\text{{{name}:}}\quad \checkmark"
            + (rf"\ \text{{({detail})}}" if detail else ""),
            f"{name}: ✓" + (f" ({detail})" if detail else ""),
        )
    return check


def _to_numpy(x):
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return x


_TH = "text-align:left;vertical-align:top"
_TD = "text-align:left;vertical-align:top;overflow-wrap:anywhere"


@dataclasses.dataclass(frozen=True)
class ReportRow:
    """One row of a "What we checked" table: a claim and the check that verified it."""

    claim: str
    check: str  # the check's name, as recorded by check_equal / check_close / ...
    how: str  # how it was established ("sympy, symbolic" or the numeric detail)
    result: str  # "✓ proved", "✓ holds" or "✓ within tolerance"


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

    HEADER = ("claim", "how this chapter checks it", "result")

    def __init__(self, rows: Sequence[ReportRow]):
        self.rows = tuple(rows)
        self._shown_at: int | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def markdown(self) -> str:
        """The table as GitHub-flavoured Markdown."""
        lines = ["| " + " | ".join(self.HEADER) + " |", "|---|---|---|"]
        for r in self.rows:
            cells = (r.claim, f"{r.check}: {r.how}", r.result)
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        return "\n".join(lines)

    def html(self) -> str:
        """The table as HTML: ``<table class="table ...">``, as the book's tables."""
        esc = html.escape
        head = "".join(
            f'<th class="head" style="{_TH}">{esc(h)}</th>' for h in self.HEADER
        )
        body = []
        for i, r in enumerate(self.rows):
            parity = "row-odd" if i % 2 == 0 else "row-even"
            body.append(
                f'<tr class="{parity}">'
                f'<td style="{_TD}">{esc(r.claim)}</td>'
                f'<td style="{_TD}"><em>{esc(r.check)}</em>: {esc(r.how)}</td>'
                f'<td style="{_TH};white-space:nowrap">{esc(r.result)}</td></tr>'
            )
        return (
            '<div class="pst-scrollable-table-container kexue-report-container">'
            '<table class="table dataframe kexue-report">'
            f'<thead><tr class="row-odd">{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def text(self) -> str:
        """Plain text: one line per claim."""
        return "\n".join(
            f"{r.result}  {r.claim}  [{r.check}: {r.how}]" for r in self.rows
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


def report(rows: Sequence[tuple[str, str]], *, show: bool = True) -> Report:
    """The "What we checked" table: one row per ``(claim, check name)`` pair.

    Each row is filled from the recorded checks. Raises :class:`CheckFailed` if a named
    check did not run (or failed) in this session, so the table can only list what was
    actually verified. Returns a :class:`Report`, which a notebook shows as an HTML
    table; with ``show`` it is displayed at once (printed as text outside a notebook).
    """
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise TypeError(
            "rows must be a sequence of (claim, check name) pairs, got "
            f"{type(rows).__name__}"
        )
    by_name = {c.name: c for c in _RECORD}
    out = []
    for k, row in enumerate(rows):
        if (
            not isinstance(row, (tuple, list))
            or len(row) != 2
            or not all(isinstance(x, str) for x in row)
        ):
            raise TypeError(
                f"rows[{k}] must be a (claim, check name) pair of strings, got {row!r}"
            )
        claim, name = row
        if name not in by_name:
            raise CheckFailed(
                f"no passed check named {name!r} in this session (claim: {claim})"
            )
        c = by_name[name]
        if c.method == "symbolic":
            how, result = "sympy, symbolic", "✓ proved"
        else:
            how = c.detail
            result = "✓ holds" if c.detail in ("", "holds") else "✓ within tolerance"
        out.append(ReportRow(claim, name, how, result))
    table = Report(out)
    if show:
        if _in_notebook():
            from IPython.display import display

            display(table._mimebundle(), raw=True)
            table._shown_at = _execution_count()
        else:
            print(table.text())
    return table
