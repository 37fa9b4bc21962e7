"""Sphinx extension loaded by the book's ``_config.yml`` (``sphinx.extra_extensions``).

1. It marks the process as a book build (``KEXUE_BOOK_BUILD=1``) before myst-nb starts
   kernels, so that the kernels inherit it: :func:`kexue.widgets.interact` renders
   static, self-contained demos, training loops print one summary line instead of a
   live progress bar, and :mod:`kexue.symbolic` leaves an anchor in each check's cell.
2. It builds the **ledger of claims** from what the chapters actually produced: when a
   page is read (after myst-nb has executed it), the rows of its "What we checked"
   table (:class:`kexue.symbolic.Report`, an HTML table whose rows carry their verdict
   and evidence as ``data-`` attributes) are collected; the directive

   .. code-block:: md

      ```{kexue-claims} summary
      ```

   (or ``refuted``, ``qualified``, ``not-checked``, ``headline``) is replaced, when the
   page is written, by the table of counts per chapter, the full list of the claims
   with that verdict (each linked to its row and to the cell of its check), or one
   sentence of totals. Nothing in the ledger is typed by hand, so it cannot drift from
   the chapters; pages that use the directive are re-read whenever any page changes.
"""

from __future__ import annotations

import os
from collections import Counter

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

# The verdicts and kinds of evidence, in the order the ledger lists them (the keys of
# kexue.symbolic.VERDICTS and .EVIDENCE; repeated here so that the build does not
# import sympy).
VERDICTS = ("confirmed", "refuted", "qualified", "ours", "not checked")
EVIDENCE = {
    "symbolic": "symbolic proof",
    "equal": "numeric identity",
    "leq": "numeric identity",
    "close": "numeric comparison",
    "true": "experiment or condition",
}
EVIDENCE_COLUMNS = tuple(dict.fromkeys(EVIDENCE.values()))
WHAT = ("summary", "refuted", "qualified", "not-checked", "headline")


class claims_placeholder(nodes.General, nodes.Element):
    """Where a ``kexue-claims`` directive stood; filled at ``doctree-resolved``."""


class ClaimsDirective(SphinxDirective):
    required_arguments = 1
    has_content = False

    def run(self):
        what = self.arguments[0].strip()
        if what not in WHAT:
            raise self.error(
                f"kexue-claims: the argument must be one of {', '.join(WHAT)}, "
                f"got {what!r}"
            )
        store = _store(self.env)
        store["users"].add(self.env.docname)
        if what == "summary":
            store["ledger"].add(self.env.docname)
        node = claims_placeholder()
        node["what"] = what
        return [node]


def _store(env) -> dict:
    if not hasattr(env, "kexue_claims"):
        # pages: docname -> rows; users: pages with a directive; ledger: pages with
        # the summary (the headline links there)
        env.kexue_claims = {"pages": {}, "users": set(), "ledger": set()}
    return env.kexue_claims


def _rows_of(html_text: str) -> list[dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html_text, "html.parser")
    rows = []
    for table in soup.select("table.kexue-report"):
        for tr in table.select("tbody tr"):
            cells = tr.find_all("td")
            rows.append(
                {
                    "id": tr.get("id", ""),
                    "verdict": tr.get("data-verdict", ""),
                    "evidence": tr.get("data-evidence", ""),
                    "check": tr.get("data-check", ""),
                    "claim": cells[0].get_text(" ", strip=True) if cells else "",
                    "how": cells[1].get_text(" ", strip=True) if len(cells) > 1 else "",
                }
            )
    return rows


def _collect(app, doctree) -> None:
    """``doctree-read``: keep the rows of the page's "What we checked" table."""
    rows = []
    for raw in doctree.findall(nodes.raw):
        if "html" in raw.get("format", "") and "kexue-report" in raw.astext():
            rows += _rows_of(raw.astext())
    pages = _store(app.env)["pages"]
    if rows:
        pages[app.env.docname] = rows
    else:
        pages.pop(app.env.docname, None)


def _purge(app, env, docname) -> None:
    store = _store(env)
    store["pages"].pop(docname, None)
    store["users"].discard(docname)
    store["ledger"].discard(docname)


def _merge(app, env, docnames, other) -> None:
    store, theirs = _store(env), _store(other)
    for d in docnames:
        if d in theirs["pages"]:
            store["pages"][d] = theirs["pages"][d]
        for key in ("users", "ledger"):
            if d in theirs[key]:
                store[key].add(d)


def _outdated(app, env, added, changed, removed):
    """Re-read the ledger's pages whenever any page changes."""
    if added or changed or removed:
        return sorted(_store(env)["users"] - set(removed))
    return []


def _toc_order(env) -> list[str]:
    order, seen = [], set()

    def walk(doc):
        for child in env.toctree_includes.get(doc, []):
            if child not in seen:
                seen.add(child)
                order.append(child)
                walk(child)

    walk(env.config.root_doc)
    return order


def _chapters(env) -> list[tuple[str, str, list[dict]]]:
    pages = _store(env)["pages"]
    order = [d for d in _toc_order(env) if d in pages]
    order += sorted(set(pages) - set(order))
    return [
        (d, env.titles[d].astext() if d in env.titles else d, pages[d]) for d in order
    ]


# ------------------------------------------------------------------ docutils builders
def _table(
    header: list[str], body: list[list], widths: list[int], what: str
) -> nodes.table:
    table = nodes.table(classes=["kexue-ledger", f"kexue-ledger-{what}"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for w in widths:
        group += nodes.colspec(colwidth=w)
    thead, tbody = nodes.thead(), nodes.tbody()
    group += thead
    group += tbody
    for cells, part in [(header, thead)] + [(b, tbody) for b in body]:
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            if isinstance(c, nodes.Node):
                entry += (
                    c if isinstance(c, nodes.paragraph) else nodes.paragraph("", "", c)
                )
            else:
                entry += nodes.paragraph("", str(c))
            row += entry
        part += row
    return table


def _link(app, fromdoc: str, todoc: str, text: str, anchor: str = "") -> nodes.Node:
    try:
        uri = app.builder.get_relative_uri(fromdoc, todoc)
    except Exception:  # builders without page URIs (none used by the book)
        return nodes.Text(text)
    ref = nodes.reference("", text, refuri=uri + (f"#{anchor}" if anchor else ""))
    ref["internal"] = True
    return ref


def _summary(app, docname, chapters) -> list[nodes.Node]:
    """Two tables, so that neither is wider than the page's column: the verdicts per
    chapter, then the kinds of evidence behind the checked rows."""
    total_v, total_e = Counter(), Counter()
    by_verdict, by_evidence = [], []
    for doc, title, rows in chapters:
        v = Counter(r["verdict"] for r in rows)
        e = Counter(EVIDENCE.get(r["evidence"], "") for r in rows)
        v["claims"] = len(rows)
        total_v.update(v)
        total_e.update(e)
        by_verdict.append([_link(app, docname, doc, title), len(rows)])
        by_verdict[-1] += [v[k] for k in VERDICTS]
        by_evidence.append([_link(app, docname, doc, title)])
        by_evidence[-1] += [e[k] for k in EVIDENCE_COLUMNS]
    every = f"all {len(chapters)} chapters"
    by_verdict.append([nodes.strong("", every), total_v["claims"]])
    by_verdict[-1] += [total_v[k] for k in VERDICTS]
    by_evidence.append([nodes.strong("", every)])
    by_evidence[-1] += [total_e[k] for k in EVIDENCE_COLUMNS]
    header_v = ["chapter", "claims", *VERDICTS]
    header_e = ["chapter", *EVIDENCE_COLUMNS]
    intro = nodes.paragraph(
        "",
        "The checks behind the rows that are not marked 'not checked', by kind of "
        "evidence:",
    )
    return [
        _table(header_v, by_verdict, [30] + [7] * (len(header_v) - 1), "summary"),
        intro,
        _table(header_e, by_evidence, [30] + [10] * len(EVIDENCE_COLUMNS), "evidence"),
    ]


def _listing(app, docname, chapters, verdict: str) -> list[nodes.Node]:
    body = []
    for doc, title, rows in chapters:
        for r in rows:
            if r["verdict"] != verdict:
                continue
            links = nodes.paragraph()
            links += _link(app, docname, doc, "row", r["id"])
            if r["check"]:
                links += nodes.Text(" · ")
                links += _link(app, docname, doc, "check", r["check"])
            body.append([_link(app, docname, doc, title), r["claim"], r["how"], links])
    if not body:
        return [nodes.paragraph("", f"No chapter has a claim marked {verdict}.")]
    what = "why not" if verdict == "not checked" else "what the check found"
    header = ["chapter", "claim", what, "where"]
    return [_table(header, body, [16, 36, 36, 12], verdict.replace(" ", "-"))]


def _headline(app, docname, chapters) -> list[nodes.Node]:
    c = Counter(r["verdict"] for _, _, rows in chapters for r in rows)
    n = sum(c.values())
    checked = n - c["not checked"]
    para = nodes.paragraph(classes=["kexue-ledger-headline"])
    para += nodes.Text(
        f"{checked} claims checked across {len(chapters)} chapters: "
        f"{c['confirmed']} of the posts' statements confirmed, {c['refuted']} refuted, "
        f"{c['qualified']} qualified, and {c['ours']} results the chapters add; "
        f"{c['not checked']} further claims are listed as not checked, each with the "
        "reason. "
        "Every one is in the "
    )
    ledger = sorted(_store(app.env)["ledger"] - {docname})
    para += (
        _link(app, docname, ledger[0], "ledger of claims")
        if ledger
        else nodes.Text("ledger of claims")
    )
    para += nodes.Text(", generated from the chapters' tables when the book is built.")
    return [para]


def _fill(app, doctree, docname) -> None:
    """``doctree-resolved``: replace each placeholder by its generated content."""
    placeholders = list(doctree.findall(claims_placeholder))
    if not placeholders:
        return
    chapters = _chapters(app.env)
    for node in placeholders:
        what = node["what"]
        if what == "summary":
            new = _summary(app, docname, chapters)
        elif what == "headline":
            new = _headline(app, docname, chapters)
        else:
            new = _listing(app, docname, chapters, what.replace("-", " "))
        node.replace_self(new)


def setup(app):
    os.environ["KEXUE_BOOK_BUILD"] = "1"
    app.add_node(claims_placeholder)
    app.add_directive("kexue-claims", ClaimsDirective)
    app.connect("doctree-read", _collect)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-get-outdated", _outdated)
    app.connect("doctree-resolved", _fill)
    # MathJax on every page: the navigation carries chapter titles with math, and the
    # ledger's tables are filled after Sphinx decides which pages have equations.
    app.set_html_assets_policy("always")
    return {"version": "0.2", "parallel_read_safe": True, "parallel_write_safe": True}
