"""kexue.symbolic: true identities pass, false ones fail (symbolically or numerically), the table is honest."""

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
    assert c.method == "numeric" and "random points" in c.detail
    with pytest.raises(S.CheckFailed, match="relative gap"):
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
    r = S.report([("a b = b a", "commutes")], show=False)
    assert len(r) == 1 and r.rows[0].result == "✓ proved"
    assert "| a b = b a | commutes" in r.markdown() and "✓ proved" in str(r)
    with pytest.raises(S.CheckFailed, match="no passed check named 'missing'"):
        S.report([("x", "missing")], show=False)


def test_report_is_an_html_table_with_one_row_per_claim():
    from html.parser import HTMLParser

    S.check_equal(a * b, b * a, name="commutes", show=False)
    S.check_true(True, name="holds", show=False)
    r = S.report([("first", "commutes"), ("second", "holds")], show=False)

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
    r = S.report([("<b>bold</b> & a|b", "n < m | k")], show=False)
    h = r._repr_html_()
    assert "<b>" not in h and "&lt;b&gt;bold&lt;/b&gt; &amp; a|b" in h
    assert "n &lt; m | k" in h
    # a pipe in a claim cannot end a Markdown cell
    assert r.markdown().splitlines()[2].count(" | ") == 2
    with pytest.raises(TypeError, match="rows"):
        S.report("not rows", show=False)
    with pytest.raises(TypeError, match=r"rows\[0\]"):
        S.report([("claim only",)], show=False)


def test_report_displays_once_in_a_notebook():
    """report() shows the table (HTML first); the returned object, as the cell's last
    expression, is not shown a second time."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    code = (
        "from kexue.symbolic import check_true, report\n"
        "check_true(True, name='c', show=False)\n"
        "report([('a <claim>', 'c')])"
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
