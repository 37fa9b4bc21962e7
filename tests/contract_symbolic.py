"""Bad-input contract of kexue.symbolic: one valid call per public name and what each
argument must be (the harness in tests/contract.py mutates each argument and requires
a ValueError/TypeError that names it)."""

from __future__ import annotations

import sympy as sp
from contract import Call
from kexue import symbolic as S

a = sp.Symbol("a", positive=True)
x = sp.Symbol("x", real=True)
NOT_AN_EXPR = [None, "a + 1", [1, 2], a > 1, True]


def _equal_kwargs():
    return dict(
        lhs=sp.sqrt((1 - a) ** 2),
        rhs=1 - a,
        name="contract check",
        numeric=True,
        n_random=2,
        tol=1e-12,
        atol=0.0,
        ranges={a: (0.1, 0.9)},
        seed=0,
        timeout=5.0,
        show=False,
        rewrite=None,
    )


def _report_kwargs():
    S.check_true(True, name="contract claim", show=False)
    return dict(rows=[("a claim", "contract claim", "confirmed")], show=False)


def _a_report():
    return S.report(**_report_kwargs())


CALLS = [
    Call(
        S.check_equal,
        _equal_kwargs,
        {
            "lhs": "object",
            "rhs": "object",
            "name": "object",
            "numeric": "bool",
            "n_random": "int>=1",
            "tol": "float>0",
            "atol": "float>=0",
            "ranges": "object",
            "seed": "object",
            "timeout": "float>0",
            "show": "bool",
            "rewrite": "callable|None",
        },
        name="kexue.symbolic.check_equal",
        bad={
            "lhs": NOT_AN_EXPR,
            "rhs": NOT_AN_EXPR,
            "name": [3, ""],
            "ranges": [
                {"zz": (0.1, 0.9)},
                {a: (-1.0, 1.0)},
                {a: (0.9, 0.1)},
                {a: (0.1, float("inf"))},
                {a: 0.5},
                [(a, 0.5)],
            ],
            "seed": [1.5, None, "0"],
        },
    ),
    Call(
        S.check_zero,
        lambda: dict(expr=sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1, show=False),
        {"expr": "object", "show": "bool"},
        name="kexue.symbolic.check_zero",
        bad={"expr": NOT_AN_EXPR},
    ),
    Call(
        S.check_close,
        lambda: dict(
            actual=[1.0, 2.0],
            expected=[1.0, 2.0 + 1e-9],
            name="contract close",
            rtol=1e-6,
            atol=1e-12,
            show=False,
        ),
        {
            "actual": "object",
            "expected": "object",
            "name": "object",
            "rtol": "float>=0",
            "atol": "float>=0",
            "show": "bool",
        },
        name="kexue.symbolic.check_close",
        bad={
            "actual": [None, "abc", [], {"a": 1}],
            "expected": [None, "abc", [], [1.0, 2.0, 3.0]],
            "name": [None, 3, ""],
        },
    ),
    Call(
        S.check_true,
        lambda: dict(condition=True, name="contract true", detail="d", show=False),
        {"condition": "bool", "name": "object", "detail": "object", "show": "bool"},
        name="kexue.symbolic.check_true",
        bad={"name": [None, 3, ""], "detail": [None, 3]},
    ),
    Call(
        S.check_leq,
        lambda: dict(
            lhs=a * x**2,
            rhs=a * x**2 + sp.log(1 + a),
            name="contract leq",
            strict=False,
            certificate=None,
            numeric=True,
            samples=None,
            n_random=2,
            tol=0.0,
            ranges={a: (0.1, 0.9)},
            seed=0,
            timeout=5.0,
            show=False,
        ),
        {
            "lhs": "object",
            "rhs": "object",
            "name": "object",
            "strict": "bool",
            "certificate": "object",
            "numeric": "bool",
            "samples": "object",
            "n_random": "int>=1",
            "tol": "float>=0",
            "ranges": "object",
            "seed": "object",
            "timeout": "float>0",
            "show": "bool",
        },
        name="kexue.symbolic.check_leq",
        bad={
            "lhs": NOT_AN_EXPR + [sp.I * a, sp.Symbol("z"), sp.Matrix([a])],
            "rhs": NOT_AN_EXPR,
            "name": [3, ""],
            "certificate": ["a", [1], a > 1, sp.Matrix([a])],
            "samples": ["x", {"zz": [1.0]}, {a: [-1.0], x: [1.0]}, {a: [0.5]}],
            "ranges": [{"zz": (0.1, 0.9)}, {a: (-1.0, 1.0)}, {a: 0.5}],
            "seed": [1.5, None, "0"],
        },
    ),
    Call(S.summary, dict, {}, name="kexue.symbolic.summary"),
    Call(S.reset, dict, {}, name="kexue.symbolic.reset"),
    Call(
        S.latex_check,
        lambda: dict(name="n", lhs=a + 1, rhs=1 + a, how="symbolic", relation="="),
        {
            "name": "object",
            "lhs": "object",
            "rhs": "object",
            "how": "object",
            "relation": "choice:=|<=|<",
        },
        name="kexue.symbolic.latex_check",
        bad={
            "name": [3, ""],
            "lhs": NOT_AN_EXPR,
            "rhs": NOT_AN_EXPR,
            "how": [None, 3],
        },
    ),
    Call(
        S.report,
        _report_kwargs,
        {"rows": "object", "show": "bool"},
        name="kexue.symbolic.report",
        bad={
            "rows": [
                None,
                "abc",
                [("only a claim",)],
                [(1, 2)],
                [None],
                [("a claim", "contract claim", "true")],  # not a verdict
                [("a claim", "contract claim", None)],
                [("a claim", "  ", "not checked")],  # no reason
                [("a claim", "contract claim", "confirmed", "extra")],
                [("a claim", "contract claim")],  # no verdict
            ]
        },
    ),
    Call(
        S.Report,
        lambda: dict(rows=list(_a_report().rows)),
        {"rows": "object"},
        name="kexue.symbolic.Report",
        bad={"rows": [None, "abc", [("claim", "check")], [None]]},
    ),
    Call(
        S.ReportRow,
        lambda: dict(
            claim="c",
            check="n",
            how="sympy, symbolic",
            result="✓ proved",
            verdict="confirmed",
            evidence="symbolic",
        ),
        {
            "claim": "object",
            "check": "object",
            "how": "object",
            "result": "object",
            "verdict": "object",
            "evidence": "object",
        },
        name="kexue.symbolic.ReportRow",
        bad={
            **{k: [None, 3] for k in ("claim", "check", "how", "result")},
            "verdict": [None, 3, "true", "Confirmed"],
            "evidence": [None, "proof"],
        },
    ),
    Call(
        S.Check,
        lambda: dict(name="n", method="symbolic", detail="symbolic", kind="equal"),
        {
            "name": "object",
            "method": "choice:symbolic|numeric",
            "detail": "object",
            "kind": "choice:equal|close|true|leq",
        },
        name="kexue.symbolic.Check",
        bad={"name": [None, 3, ""], "detail": [None, 3]},
    ),
    Call(
        lambda: _a_report().markdown(), dict, {}, name="kexue.symbolic.Report.markdown"
    ),
    Call(lambda: _a_report().html(), dict, {}, name="kexue.symbolic.Report.html"),
    Call(lambda: _a_report().text(), dict, {}, name="kexue.symbolic.Report.text"),
    Call(lambda: _a_report().counts(), dict, {}, name="kexue.symbolic.Report.counts"),
]

EXEMPT = {
    "kexue.symbolic.CheckFailed": "an exception class (raised, never called by users)",
    "kexue.symbolic.VERDICTS": "a constant: the verdicts a report row may carry",
}
