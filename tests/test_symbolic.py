"""kexue.symbolic: true identities pass, false ones fail (symbolically or numerically),
the numeric fallback stays inside the declared domains, and the table is honest."""

import numpy as np
import pytest
import sympy as sp
from kexue import symbolic as S


@pytest.fixture(autouse=True)
def _fresh():
    S.reset()


a, b = sp.symbols("a b", positive=True)


def test_true_identity_is_proved_symbolically():
    c = S.check_equal((a + b) ** 2, a**2 + 2 * a * b + b**2, name="square", show=False)
    assert c.method == "symbolic" and S.summary() == [c]


def test_false_identity_fails_with_both_sides():
    with pytest.raises(S.CheckFailed, match=r"lhs = \(a \+ b\)\*\*2"):
        S.check_equal((a + b) ** 2, a**2 + b**2, name="wrong", show=False)
    assert S.summary() == []


def test_numeric_fallback_is_labelled_and_still_catches_errors():
    lhs = sp.sqrt(
        (1 - a**2) ** 2
    )  # = 1 - a^2 only for a < 1: sympy cannot simplify without that
    c = S.check_equal(lhs, 1 - a**2, ranges={a: (0.1, 0.9)}, show=False)
    assert c.method == "numeric" and "random real points" in c.detail
    with pytest.raises(S.CheckFailed, match="lhs != rhs"):
        S.check_equal(lhs, 1 - a**2 + 1e-6 * a, ranges={a: (0.1, 0.9)}, show=False)
    with pytest.raises(S.CheckFailed, match="could not show"):
        S.check_equal(lhs, 1 - a**2, numeric=False, show=False)


def test_undefined_functions_cannot_fall_back():
    x = sp.Function("x")(a)
    with pytest.raises(S.CheckFailed, match="undefined functions"):
        S.check_equal(x.diff(a), 2 * x, show=False)


def test_matrices():
    M = sp.Matrix([[a, b], [0, a]])
    S.check_equal(M * M, sp.Matrix([[a**2, 2 * a * b], [0, a**2]]), show=False)
    with pytest.raises(S.CheckFailed):
        S.check_equal(M * M, sp.Matrix([[a**2, a * b], [0, a**2]]), show=False)


def test_check_close_and_true():
    S.check_close(
        np.array([1.0, 2.0]), [1.0, 2.0 + 1e-9], rtol=1e-8, name="close", show=False
    )
    with pytest.raises(S.CheckFailed, match="max abs error"):
        S.check_close([1.0], [1.1], rtol=1e-3, name="far", show=False)
    with pytest.raises(S.CheckFailed, match="non-finite"):
        S.check_close([np.nan], [1.0], atol=1.0, name="nan", show=False)
    with pytest.raises(S.CheckFailed, match="false"):
        S.check_true(False, name="claim", show=False)
    with pytest.raises(TypeError):
        S.check_true(1, name="not a bool", show=False)


def test_report_only_lists_checks_that_ran():
    S.check_equal(a * b, b * a, name="commutes", show=False)
    r = S.report([("a b = b a", "commutes", "ours")], show=False)
    assert len(r) == 1 and r.rows[0].result == "✓ proved"
    assert "| a b = b a | commutes" in r.markdown() and "✓ proved" in str(r)
    with pytest.raises(S.CheckFailed, match="no passed check named 'missing'"):
        S.report([("x", "missing", "ours")], show=False)


def test_report_is_an_html_table_with_one_row_per_claim():
    from html.parser import HTMLParser

    S.check_equal(a * b, b * a, name="commutes", show=False)
    S.check_true(True, name="holds", show=False)
    r = S.report(
        [("first", "commutes", "ours"), ("second", "holds", "ours")], show=False
    )

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.rows = [], 0

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))
            self.rows += tag == "tr"

    p = Cells()
    p.feed(r._repr_html_())
    table = [attrs for tag, attrs in p.tags if tag == "table"]
    assert len(table) == 1 and "table" in table[0]["class"].split()  # the theme's class
    assert p.rows == 1 + 2  # header + one per claim
    assert "|---|" not in r._repr_html_()
    assert r._repr_markdown_().count("\n") == 3 and len(r.text().splitlines()) == 2


def test_report_escapes_the_claims():
    S.check_true(True, name="n < m | k", show=False)
    r = S.report([("<b>bold</b> & a|b", "n < m | k", "ours")], show=False)
    h = r._repr_html_()
    assert "<b>" not in h and "&lt;b&gt;bold&lt;/b&gt; &amp; a|b" in h
    assert "n &lt; m | k" in h
    # a pipe in a claim cannot end a Markdown cell
    assert r.markdown().splitlines()[2].count(" | ") == 3
    with pytest.raises(TypeError, match="rows"):
        S.report("not rows", show=False)
    with pytest.raises(TypeError, match=r"rows\[0\]"):
        S.report([("claim only",)], show=False)
    # every row says what the check found: the older (claim, check) pair is refused
    with pytest.raises(TypeError, match="triple"):
        S.report([("<b>bold</b> & a|b", "n < m | k")], show=False)


def test_report_displays_once_in_a_notebook():
    """report() shows the table (HTML first); the returned object, as the cell's last
    expression, is not shown a second time."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "from kexue.symbolic import check_true, report\n"
        "check_true(True, name='c', show=False)\n"
        "report([('a <claim>', 'c', 'ours')])"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outs = nb.cells[0].outputs
    assert len(outs) == 1 and outs[0].output_type == "display_data", outs
    data = outs[0].data
    assert "<table" in data["text/html"] and "a &lt;claim&gt;" in data["text/html"]
    assert "| a <claim> |" in data["text/markdown"]


@pytest.mark.parametrize("kw", [dict(n_random=0), dict(tol=0.0)])
def test_bad_options(kw):
    with pytest.raises(ValueError):
        S.check_equal(a, a, show=False, **kw)


# -------------------------------------- the numeric fallback (library review 3.4)
x_real = sp.Symbol("x", real=True)
n_neg = sp.Symbol("n", negative=True)


def test_fallback_samples_inside_the_declared_domain():
    # false for x < 0: a real symbol must be sampled at both signs
    with pytest.raises(S.CheckFailed, match="lhs != rhs"):
        S.check_equal(sp.sqrt(x_real**2), x_real, show=False)
    # true for every negative n (and false for positive n): sampling must stay negative
    c = S.check_equal(sp.atan(1 / n_neg), -sp.pi / 2 - sp.atan(n_neg), show=False)
    assert c.method == "numeric"
    # sqrt((1 - a)^2) = 1 - a only for a < 1: a positive symbol is sampled beyond 1
    with pytest.raises(S.CheckFailed):
        S.check_equal(sp.sqrt((1 - a) ** 2), 1 - a, show=False)


def test_counterexample_lies_inside_the_domain():
    # sqrt(n^2 + 2n + 1) = -(n + 1) is false for n in (-1, 0): the point is negative
    with pytest.raises(S.CheckFailed) as info:
        S.check_equal(sp.sqrt(n_neg**2 + 2 * n_neg + 1), -(n_neg + 1), show=False)
    where = eval(str(info.value).split(" at ", 1)[1].split(" (inside")[0])  # noqa: S307
    assert where["n"] < 0


def test_integer_and_complex_symbols():
    k = sp.Symbol("k", integer=True)
    # (-1)^(2k) = 1 holds for integer k only
    S.check_equal((-1) ** (2 * k), 1, show=False, timeout=1)
    z = sp.Symbol("z")  # no assumptions: complex
    with pytest.raises(S.CheckFailed):  # log(exp(z)) = z fails off the real line
        S.check_equal(sp.log(sp.exp(z)), z, show=False)


def test_gap_is_relative_with_an_absolute_floor():
    # a factor 2 between small quantities is not "equal within 1e-12"
    with pytest.raises(S.CheckFailed, match="lhs != rhs"):
        S.check_equal(1e-13 * a, 2e-13 * a, show=False)
    with pytest.raises(S.CheckFailed):
        S.check_equal(a, a * (1 + sp.Float(1e-10)), show=False)
    # ... unless an explicit absolute tolerance says so
    S.check_equal(1e-13 * a, 2e-13 * a, atol=1e-11, show=False)
    # exact cancellation to zero (check_zero) passes on the rounding floor
    e = sp.sqrt((1 - a**2) ** 2) - (1 - a**2)
    S.check_zero(e, ranges={a: (0.1, 0.9)}, show=False)


def test_floats_are_not_rationalised_into_a_proof():
    c = S.check_equal(sp.Float("0.333333333333333") * a, a / 3, show=False)
    assert c.method == "numeric"


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(tol=float("inf")), "tol must be finite"),
        (dict(tol=float("nan")), "tol must be finite"),
        (dict(tol=-1.0), "tol must be > 0"),
        (dict(atol=float("nan")), "atol must be finite"),
        (dict(timeout=0), "timeout must be > 0"),
        (dict(n_random=2.5), "n_random must be an int"),
        (dict(ranges={"aa": (3, 4)}), "ranges key 'aa' is not a free symbol"),
        (dict(ranges={a: (-1, 1)}), "leaves the domain"),
        (dict(ranges={a: (2, 1)}), "lo < hi"),
        (dict(ranges={a: (0, float("inf"))}), "finite"),
        (dict(ranges={a: 3}), "pair"),
        (dict(ranges=[(a, 1)]), "ranges must be a mapping"),
        (dict(name=3), "name must be"),
    ],
)
def test_bad_options_of_check_equal(kw, match):
    with pytest.raises((ValueError, TypeError), match=match):
        S.check_equal(sp.sqrt((1 - a) ** 2), 1 - a, show=False, **kw)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(rtol=float("nan")), "rtol must be finite"),
        (dict(rtol=float("inf")), "rtol must be finite"),
        (dict(atol=-1.0), "atol must be >= 0"),
        (dict(rtol=0.0, atol=0.0), "both be 0"),
    ],
)
def test_bad_tolerances_of_check_close(kw, match):
    with pytest.raises(ValueError, match=match):
        S.check_close(1.0, 100.0, name="c", show=False, **kw)


def test_bad_sides_get_clear_errors():
    for bad in (None, a > 1, [a, a], "a + 1", True):
        with pytest.raises(TypeError, match="lhs"):
            S.check_equal(bad, a, show=False)
    with pytest.raises(TypeError, match="actual"):
        S.check_close(None, None, rtol=1.0, name="none", show=False)
    with pytest.raises(TypeError, match="expected"):
        S.check_close(1.0, "x", rtol=1.0, name="str", show=False)


def test_symbolic_attempt_has_a_time_limit(monkeypatch):
    import time

    def endless(e):  # a rewrite that never finishes, as simplify can on big input
        while True:
            sum(range(1000))

    monkeypatch.setattr(S, "_transforms", lambda: (endless,))
    start = time.monotonic()
    c = S.check_equal(
        sp.sqrt((1 - a) ** 2), 1 - a, ranges={a: (0.1, 0.9)}, timeout=0.5, show=False
    )
    assert time.monotonic() - start < 5 and c.method == "numeric"
    with pytest.raises(S.CheckFailed, match="timeout=0.5"):
        S.check_equal(a, a, timeout=0.5, numeric=False, show=False)


def test_time_limit_survives_code_that_catches_exceptions(monkeypatch):
    import time

    def stubborn(e):  # sympy has broad ``except Exception`` blocks
        while True:
            try:
                sum(range(1000))
            except Exception:  # noqa: BLE001, S110
                pass

    monkeypatch.setattr(S, "_transforms", lambda: (stubborn,))
    start = time.monotonic()
    c = S.check_equal(a, a, timeout=0.3, show=False)
    assert time.monotonic() - start < 5 and c.method == "numeric"


def test_time_limit_off_the_main_thread(monkeypatch):
    import threading
    import time

    monkeypatch.setattr(S, "_transforms", lambda: (lambda e: (time.sleep(30), e)[1],))

    out = {}

    def run():
        out["c"] = S.check_equal(a, a, timeout=0.3, show=False)

    th = threading.Thread(target=run)
    th.start()
    th.join(10)
    assert not th.is_alive() and out["c"].method == "numeric"


def test_long_displays_are_shortened_to_the_column():
    terms = sp.Add(*[sp.Symbol(f"c_{k}") * a**k for k in range(40)])
    long_name = "a long name for a check " * 6
    tex = S.latex_check(long_name, terms, sp.expand(terms), "symbolic")
    assert r"\ldots" in tex and r"\begin{aligned}" in tex and "more terms" in tex
    lines = tex.split(r"\\")
    # every displayed line fits: text lines by characters, math by its printed width
    assert all(len(line) < 4 * S.DISPLAY_WIDTH for line in lines)
    short = S.latex_check("ok", a + 1, 1 + a, "symbolic")
    assert r"\begin{aligned}" not in short and r"\ldots" not in short
    # text in the display is shown literally by MathJax: only braces are escaped
    assert r"\text{a_b \{c\}:}" in S.latex_check("a_b {c}", a, a, "symbolic")
    for line in S._wrap_text(long_name, S.DISPLAY_WIDTH):
        assert len(line) <= S.DISPLAY_WIDTH


def test_report_says_how_each_claim_was_established():
    S.check_equal(a * b, b * a, name="proved", show=False)
    S.check_equal(
        sp.sqrt((1 - a) ** 2), 1 - a, ranges={a: (0.1, 0.9)}, name="num", show=False
    )
    S.check_close(1.0, 1.0, rtol=1e-9, name="close", show=False)
    S.check_true(True, name="true", detail="a measured ordering", show=False)
    r = S.report(
        [(k, k, "ours") for k in ("proved", "num", "close", "true")], show=False
    )
    assert [row.result for row in r.rows] == [
        "✓ proved",
        "✓ numerically",
        "✓ within tolerance",
        "✓ holds",  # a boolean claim with a detail is not a tolerance
    ]
    with pytest.raises(ValueError, match="kind"):
        S.Check("n", "numeric", "d", kind="maybe")


# ------------------------------------------------------------------------- check_leq
u, v = sp.symbols("u v", positive=True)
xr = sp.Symbol("x", real=True)
dn = sp.Symbol("d", nonnegative=True)


def test_check_leq_proves_what_the_assumptions_decide():
    c = S.check_leq(u * v, (u**2 + v**2) / 2, name="am-gm", show=False)  # (u-v)^2/2
    assert (c.method, c.kind) == ("symbolic", "leq")
    s = S.check_leq(1, 1 + sp.exp(-dn), strict=True, name="strict", show=False)
    assert s.method == "symbolic"
    r = S.report([("AM-GM", "am-gm", "ours")], show=False)
    assert r.rows[0].result == "✓ proved"


def test_check_leq_rejects_false_inequalities_symbolically_and_numerically():
    with pytest.raises(S.CheckFailed, match="false everywhere"):
        S.check_leq(u + 1, u, show=False)
    # sympy cannot decide exp(x) <= 1 + x + x^2; it fails at x ~ 2 and beyond
    with pytest.raises(S.CheckFailed, match="is false at"):
        S.check_leq(sp.exp(xr), 1 + xr + xr**2, show=False)
    # a *tighter but false* rival of a true bound: log(1 + u) <= u - u^2/4 (u < 2 only
    # near 0; false for u > ~2.5)
    S.check_leq(sp.log(1 + u), u, name="log(1+u) <= u", show=False)
    with pytest.raises(S.CheckFailed, match="is false at"):
        S.check_leq(sp.log(1 + u), u - u**2 / 4, show=False)
    # equality is not a strict inequality
    with pytest.raises(S.CheckFailed):
        S.check_leq(xr, xr, strict=True, show=False)
    assert [c.name for c in S.summary()] == ["log(1+u) <= u"]


def test_check_leq_numeric_fallback_is_labelled_and_honours_samples_and_tol():
    c = S.check_leq(sp.log(1 + u), u, show=False)
    assert c.method == "numeric" and "200 random real points" in c.detail
    r = S.report([("log(1+u) <= u", "inequality", "ours")], show=False)
    assert r.rows[0].result == "✓ numerically"
    # on [-1, 1.5] the false rival holds: samples restrict the claim to where they lie
    grid = np.linspace(-1.0, 1.5, 26)
    c = S.check_leq(sp.exp(xr), 1 + xr + xr**2, samples={"x": grid}, show=False)
    assert "26 sample points" in c.detail
    with pytest.raises(S.CheckFailed, match="is false at"):
        S.check_leq(sp.exp(xr), 1 + xr + xr**2, samples={xr: [2.0]}, show=False)
    # tol: a violation of 1e-3 passes only with tol >= 1e-3
    S.check_leq(xr + 1e-3, xr, samples={xr: [1.0, 2.0]}, tol=2e-3, show=False)
    with pytest.raises(S.CheckFailed, match="is false at"):
        S.check_leq(xr + 1e-3, xr, samples={xr: [1.0]}, tol=5e-4, show=False)


def test_check_leq_certificates_are_proofs():
    a1, a2, p1, p2 = sp.symbols("a1 a2 p1 p2", real=True)
    lhs = (a1 * p1 + a2 * p2) ** 2
    rhs = (a1**2 + a2**2) * (p1**2 + p2**2)
    c = S.check_leq(lhs, rhs, certificate=(a1 * p2 - a2 * p1) ** 2, show=False)
    assert c.method == "symbolic" and "certificate" in c.detail
    with pytest.raises(S.CheckFailed, match="certificate equals"):  # wrong identity
        S.check_leq(lhs, rhs, certificate=(a1 * p2 + a2 * p1) ** 2, show=False)
    with pytest.raises(S.CheckFailed, match="not >= 0"):  # right identity, no sign
        S.check_leq(a1, a1 + a2, certificate=a2, show=False)


def test_check_leq_shows_the_relation():
    assert r"\le" in S.latex_check("n", u, u + 1, "symbolic", relation="<=")
    assert " < " in S.latex_check("n", u, u + 1, "symbolic", relation="<")
    assert " = " in S.latex_check("n", u, u, "symbolic")  # the default is unchanged
    with pytest.raises(ValueError, match="relation"):
        S.latex_check("n", u, u, "symbolic", relation=">=")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(lhs=sp.I * u, rhs=u), "real"),
        (dict(lhs=sp.Symbol("z"), rhs=u), "real"),
        (dict(samples={u: [-1.0]}), "domain"),
        (dict(samples={"w": [1.0]}), "not a free symbol"),
        (dict(samples={u: [1.0], v: [1.0, 2.0]}), "one length"),
        (dict(samples={u: [1.0]}), "no values for v"),
        (dict(samples={u: [1.0], v: [np.nan]}), "finite"),
        (dict(samples={u: [1.0], v: [1.0]}, ranges={u: (1, 2)}), "not both"),
        (dict(strict=True, tol=1e-3), "tol"),
        (dict(lhs=sp.Matrix([u]), rhs=sp.Matrix([v])), "scalar"),
    ],
)
def test_check_leq_bad_options(kw, match):
    args = dict(lhs=u * v, rhs=(u**2 + v**2) / 2, show=False) | kw
    with pytest.raises((ValueError, TypeError), match=match):
        S.check_leq(**args)


def test_a_refutation_carries_its_counterexample_and_nothing_else_does():
    """``CheckFailed.counterexample`` is set only when a claim was evaluated as finite
    numbers and found false there (the logsumexp chapter's rival checks rely on it)."""
    with pytest.raises(S.CheckFailed, match="is false at") as err:
        S.check_leq(sp.exp(xr), 1 + xr + xr**2, show=False)
    point = err.value.counterexample
    assert set(point) == {xr}
    assert float((1 + xr + xr**2 - sp.exp(xr)).subs(point)) < 0  # false there
    # a true inequality that is undefined on part of the declared domain: log x <= x
    # for real x fails as "not a finite real number", which refutes nothing
    with pytest.raises(S.CheckFailed, match="not a finite real number") as err:
        S.check_leq(sp.log(xr), xr, n_random=60, show=False)
    assert err.value.counterexample is None
    with pytest.raises(S.CheckFailed, match="false everywhere") as err:
        S.check_leq(u + 1, u, show=False)
    assert err.value.counterexample is None  # refuted symbolically, not at a point
    # check_equal: a numeric refutation carries its point, a failed proof does not
    lhs = sp.sqrt((1 - a**2) ** 2)
    with pytest.raises(S.CheckFailed, match="lhs != rhs") as err:
        S.check_equal(lhs, 1 - a**2 + 1e-6 * a, ranges={a: (0.1, 0.9)}, show=False)
    assert set(err.value.counterexample) == {a}
    with pytest.raises(S.CheckFailed, match="could not show") as err:
        S.check_equal(lhs, 1 - a**2, numeric=False, show=False)
    assert err.value.counterexample is None
    assert S.CheckFailed("plain message").counterexample is None


def test_rewrite_proves_the_identity_as_shown():
    s = sp.Symbol("s", real=True)
    f = sp.log(sp.exp(s * a) + sp.exp(s * b))
    df = (a * sp.exp(s * a) + b * sp.exp(s * b)) / (sp.exp(s * a) + sp.exp(s * b))
    c = S.check_equal(
        sp.Derivative(f, s), df, rewrite=lambda e: sp.together(e.doit()), show=False
    )
    assert c.method == "symbolic"
    # logs of positive quantities: expand_log (no force) applies only valid rules
    gap = sp.log(a / (a + b)) - sp.log(a) + sp.log(a + b)
    assert S.check_equal(gap, 0, rewrite=sp.expand_log, show=False).method == "symbolic"
    # a rewrite does not make a false identity true, and the fallback uses it too
    with pytest.raises(S.CheckFailed, match="lhs != rhs"):
        S.check_equal(
            sp.Derivative(f, s), 2 * df, rewrite=lambda e: e.doit(), show=False
        )
    with pytest.raises(TypeError, match="rewrite"):
        S.check_equal(a, a, rewrite=3, show=False)
    with pytest.raises(TypeError, match="rewrite"):
        S.check_equal(a, a, rewrite=lambda e: "zero", show=False)


@pytest.mark.parametrize(
    "lhs, rhs, rewrite",
    [
        (sp.Symbol("x"), sp.Symbol("x") + 1, lambda e: sp.Integer(0)),
        (
            sp.log(sp.Symbol("p", real=True) ** 2),
            2 * sp.log(sp.Symbol("p", real=True)),
            lambda e: sp.expand_log(e, force=True),
        ),
    ],
    ids=["zero-out", "log-square-of-a-real"],
)
def test_a_rewrite_that_changes_the_value_cannot_prove_a_false_identity(
    lhs, rhs, rewrite
):
    with pytest.raises(S.CheckFailed, match="rewrite changed the value"):
        S.check_equal(lhs, rhs, rewrite=rewrite, show=False)


def test_a_value_keeping_rewrite_still_proves():
    p = sp.Symbol("p", positive=True)
    chk = S.check_equal(
        sp.log(p**2), 2 * sp.log(p), rewrite=lambda e: sp.expand_log(e), show=False
    )
    assert chk.method == "symbolic"


# ----------------------------------------------------------------- verdicts (ledger)
def test_report_rows_carry_verdicts_evidence_and_ids():
    """Each row has a verdict; "not checked" rows carry the reason instead of a check;
    the HTML rows carry id, verdict and evidence for the claims ledger."""
    S.reset()
    x = sp.Symbol("x", positive=True)
    S.check_equal(sp.sqrt(x**2), x, name="root of square", show=False)
    S.check_true(True, name="an ordering", detail="3 seeds", show=False)
    r = S.report(
        [
            ("sqrt(x^2) = x for x > 0", "root of square", "qualified"),
            ("A beats B", "an ordering", "refuted"),
            ("the paper's gain", "needs the paper's data", "not checked"),
        ],
        show=False,
    )
    assert [row.verdict for row in r] == ["qualified", "refuted", "not checked"]
    assert [row.evidence for row in r] == ["symbolic", "true", "none"]
    assert r.rows[2].how == "needs the paper's data"
    assert r.rows[2].result == "— not checked"
    assert r.counts() == {
        "confirmed": 0,
        "refuted": 1,
        "qualified": 1,
        "ours": 0,
        "not checked": 1,
    }
    h = r.html()
    assert '<tr id="kexue-claim-1"' in h and '<tr id="kexue-claim-3"' in h
    assert 'data-verdict="refuted" data-evidence="true"' in h
    assert "<em>not checked</em>: needs the paper&#x27;s data" in h
    assert r.markdown().splitlines()[2].endswith("| qualified |")
    assert r.text().splitlines()[1].endswith("(refuted)")


def test_report_rejects_a_wrong_verdict_and_a_not_checked_row_without_reason():
    S.reset()
    S.check_true(True, name="holds", show=False)
    with pytest.raises(ValueError, match="verdict must be one of"):
        S.report([("claim", "holds", "proved")], show=False)
    with pytest.raises(ValueError, match="needs the reason"):
        S.report([("claim", " ", "not checked")], show=False)
    # a "confirmed" row still needs a check that ran and passed
    with pytest.raises(S.CheckFailed, match="no passed check named"):
        S.report([("claim", "never ran", "confirmed")], show=False)


def test_book_build_anchors_each_check_and_the_table_links_to_it(monkeypatch):
    """In the book build, a check leaves an anchor in its cell (repeated names get
    distinct ids) and the table's result links to the anchor of the deciding check."""
    shown = []
    monkeypatch.setenv("KEXUE_BOOK_BUILD", "1")
    monkeypatch.setattr(S, "_in_notebook", lambda: True)
    monkeypatch.setattr(S, "_show", lambda latex, text: None)
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda obj, raw: shown.append(obj))
    S.reset()
    a = S.check_true(True, name="twice", show=False)
    b = S.check_true(True, name="twice", show=False)
    assert a.anchor.startswith("kexue-check-") and b.anchor == a.anchor + "-2"
    assert [f'id="{a.anchor}"' in d["text/html"] for d in shown] == [True, False]
    r = S.report([("c", "twice", "ours")], show=False)
    assert f'href="#{b.anchor}"' in r.html()  # the last run of a name decides its row
    monkeypatch.setenv("KEXUE_BOOK_BUILD", "0")
    S.reset()
    assert S.check_true(True, name="plain", show=False).anchor == ""
