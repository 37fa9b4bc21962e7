"""The website as a reader gets it: a strict build, links that resolve, no CDN, demos
within budget, and (in headless Chromium, when installed) rendered math, working demos,
the launch links, a real "What we checked" table, no raw Markdown and nothing wider than
the text column on every chapter."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import ROOT, toc_chapters
from filelock import FileLock

HTML = ROOT / "_build" / "html"
CHAPTERS = [p.relative_to(ROOT).with_suffix("") for p in toc_chapters()]
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# Console errors that every jupyter-book 1.x page logs and that do not affect the
# reader: sphinx-thebe declares THEBE_JS_URL twice; the theme reports an empty stored
# colour mode on a fresh profile.
HARMLESS = (
    "Identifier 'THEBE_JS_URL' has already been declared",
    "Got invalid theme mode",
)


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the book strictly (warnings are errors), once per pytest run, even with
    several workers.

    The first worker to take the lock cleans the HTML (executed notebooks stay cached:
    incremental Sphinx builds can leave citation anchors of unchanged pages stale, which
    the link test would rightly report) and builds; the others find the stamp of this
    run and reuse the site.
    """
    (ROOT / "_build").mkdir(exist_ok=True)
    exe = Path(sys.executable).parent / "jupyter-book"
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"single-{os.getpid()}")
    stamp = ROOT / "_build" / ".site-build-run"
    with FileLock(str(ROOT / "_build" / ".build.lock")):
        if not (stamp.exists() and stamp.read_text() == run_id and HTML.exists()):
            subprocess.run(
                [str(exe), "clean", str(ROOT)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            r = subprocess.run(
                [str(exe), "build", str(ROOT), "-W", "-n", "--keep-going"],
                capture_output=True,
                text=True,
                timeout=1800,
            )
            assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
            stamp.write_text(run_id)
    return HTML


def _pages(site: Path):
    return [
        p
        for p in site.rglob("*.html")
        if not {"_static", "_sources"} & set(p.relative_to(site).parts)
    ]


def test_internal_links_resolve(site):
    from bs4 import BeautifulSoup

    ids_cache: dict[Path, set] = {}

    def ids(p: Path) -> set:
        if p not in ids_cache:
            ids_cache[p] = {
                t["id"]
                for t in BeautifulSoup(
                    p.read_text(encoding="utf-8"), "html.parser"
                ).select("[id]")
            }
        return ids_cache[p]

    broken = []
    for page in _pages(site):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in [
            ("a", "href"),
            ("link", "href"),
            ("script", "src"),
            ("img", "src"),
        ]:
            for t in soup.find_all(tag):
                url = t.get(attr)
                if not url or re.match(r"^(https?:|mailto:|data:|javascript:)", url):
                    continue
                u = urlparse(url)
                target = (
                    page if not u.path else (page.parent / unquote(u.path)).resolve()
                )
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(site)} -> {url}")
                elif (
                    u.fragment
                    and target.suffix == ".html"
                    and u.fragment not in ids(target)
                ):
                    broken.append(f"{page.relative_to(site)} -> {url} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


def test_pages_load_no_script_from_a_cdn(site):
    offenders = []
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        offenders += [
            f"{page.name}: {s}"
            for s in re.findall(r'<script[^>]+src="(https?://[^"]+)"', text)
        ]
        offenders += [
            f"{page.name}: {s}"
            for s in re.findall(r'<link[^>]+href="(https?://[^"]+\.(?:css|js))"', text)
        ]
    assert not offenders, offenders
    assert (site / "_static" / "mathjax" / "tex-chtml.js").exists(), (
        "MathJax must be served by the site itself"
    )


def test_no_dead_widgets_on_the_pages(site):
    """ipywidgets outputs need a kernel or a CDN-loaded manager: on our pages every
    demo must be static."""
    for page in _pages(site):
        text = page.read_text(encoding="utf-8")
        assert (
            "application/vnd.jupyter.widget" not in text
            and "jupyter-widgets" not in text
        ), page.name


def test_demos_within_page_weight_budget(site):
    from kexue.widgets import MAX_DEMO_BYTES

    for ch in CHAPTERS:
        text = (site / ch.with_suffix(".html")).read_text(encoding="utf-8")
        demos = re.findall(
            r'<div class="kexue-demo".*?</script><div style="font-size:0.75em',
            text,
            flags=re.S,
        )
        assert demos, f"{ch}: no static demo on the page"
        for d in demos:
            assert len(d.encode()) <= MAX_DEMO_BYTES, (
                f"{ch}: a demo weighs {len(d.encode())} bytes"
            )
        assert len(text.encode()) < 12_000_000, (
            f"{ch}: page weighs {len(text.encode())} bytes"
        )


# ------------------------------------------------------------------------------ browser
browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="headless Chromium not installed (apt-get install chromium chromium-driver)",
)


@pytest.fixture(scope="module")
def server(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(site))
    httpd = socketserver.TCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1100,1400",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ]:
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    d.set_page_load_timeout(60)
    yield d
    d.quit()


def _wait_for_math(driver, timeout=120):
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: (
            d.execute_script("return document.querySelectorAll('mjx-container').length")
            > 0
            and d.execute_script(
                "return document.querySelectorAll('div.math:not(:has(mjx-container)),"
                " span.math:not(:has(mjx-container))').length"
            )
            == 0
        )
    )


@browser
@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_chapter_in_headless_chromium(chapter, server, driver, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    driver.get_log("browser")  # drop earlier pages' messages
    driver.get(f"{server}/{chapter.as_posix()}.html")
    _wait_for_math(driver)
    body = driver.find_element(By.TAG_NAME, "main").text
    assert "$$" not in body and "\\begin{" not in body, "raw TeX left on the page"
    # a TeX syntax error becomes <mjx-merror>; an undefined macro is shown as red text
    bad_tex = driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "'mjx-merror, mjx-mtext[style*=\"color: red\"]'))"
        ".map(e => e.getAttribute('data-mjx-error') || e.textContent)"
    )
    assert not bad_tex, f"MathJax could not typeset: {bad_tex[:5]}"
    assert not driver.find_elements(
        By.CSS_SELECTOR, ".cell_output .traceback, .output.traceback, .output.error"
    )
    assert "Traceback (most recent call last)" not in body
    # demos respond: each control, moved from the default state, changes the displayed
    # frame; moving it back restores the default frame
    demos = driver.find_elements(By.CSS_SELECTOR, "div.kexue-demo")
    assert demos
    for demo in demos:
        img = demo.find_element(By.CSS_SELECTOR, "img.kexue-demo-frame")
        for ctl in demo.find_elements(By.CSS_SELECTOR, "input[type=range], select"):
            before = img.get_attribute("src")
            driver.execute_script(
                "arguments[0].scrollIntoView({block: 'center'});", ctl
            )
            if ctl.tag_name == "select":
                sel = Select(ctl)
                current = sel.first_selected_option.get_attribute("value")
                sel.select_by_value(str((int(current) + 1) % len(sel.options)))
                moved = img.get_attribute("src")
                sel.select_by_value(current)
            else:
                at_max = ctl.get_attribute("value") == ctl.get_attribute("max")
                ctl.send_keys(Keys.ARROW_LEFT if at_max else Keys.ARROW_RIGHT)
                moved = img.get_attribute("src")
                ctl.send_keys(Keys.ARROW_RIGHT if at_max else Keys.ARROW_LEFT)
            assert moved != before, (
                f"moving {ctl.get_attribute('data-name')} did not change the frame"
            )
            assert img.get_attribute("src") == before, (
                f"moving {ctl.get_attribute('data-name')} back did not restore it"
            )
    # launch and download links point at this chapter's notebook
    nb = f"{chapter.as_posix()}.ipynb"
    hrefs = [
        a.get_attribute("href") or ""
        for a in driver.find_elements(By.CSS_SELECTOR, "a")
    ]
    assert any("colab.research.google.com" in h and h.endswith(nb) for h in hrefs), (
        "no Colab launch link"
    )
    assert any(h.endswith(nb) and "_sources" in h for h in hrefs), "no .ipynb download"
    # nothing was fetched from outside the site
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(r.startswith((server, "data:")) for r in resources), [
        r for r in resources if not r.startswith(server)
    ]
    errors = [
        e
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and not any(ok in e["message"] for ok in HARMLESS)
    ]
    assert not errors, errors
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(exist_ok=True)
    driver.save_screenshot(str(shots / f"{chapter.name}.png"))


@browser
@pytest.mark.browser
def test_site_works_from_disk_without_a_server(site, driver):
    from selenium.webdriver.common.by import By

    driver.get((site / CHAPTERS[0].with_suffix(".html")).as_uri())
    _wait_for_math(driver)
    demo = driver.find_element(By.CSS_SELECTOR, "div.kexue-demo")
    img = demo.find_element(By.CSS_SELECTOR, "img")
    before = img.get_attribute("src")
    driver.execute_script(
        "var c=arguments[0].querySelector('input,select');"
        "var n=(c.tagName=='SELECT')?c.options.length:(+c.max+1);"
        "c.value=String((+c.value+1)%n);c.dispatchEvent(new Event('input'));",
        demo,
    )
    assert img.get_attribute("src") != before


# ------------------------------------------------------------ the checked table, widths
def _reported_claims(chapter: Path) -> int:
    """Claims in the chapter's "What we checked" report, read from the executed notebook
    (its Markdown and plain-text representations, which must agree)."""
    nb = json.loads(
        (ROOT / "_build" / "jupyter_execute" / chapter.with_suffix(".ipynb")).read_text(
            encoding="utf-8"
        )
    )
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "kexue-report" in "".join(data.get("text/html", "")):
                md = "".join(data["text/markdown"]).splitlines()
                rows = [ln for ln in md if ln.startswith("| ")][1:]  # minus the header
                plain = "".join(data["text/plain"]).splitlines()
                assert len(rows) == len(plain), (md, plain)
                return len(rows)
    raise AssertionError(f"{chapter}: no kexue.symbolic.report() output was executed")


_CHECKED_TABLES = """
const sections = Array.from(document.querySelectorAll('main section')).filter(s => {
  const h = s.querySelector(':scope > h1, :scope > h2, :scope > h3');
  return h && h.textContent.includes('What we checked');
});
if (sections.length !== 1) return null;
return Array.from(sections[0].querySelectorAll('table')).map(t => ({
  cls: t.className,
  head: t.querySelectorAll('thead th').length,
  rows: t.querySelectorAll('tbody tr').length,
}));
"""

# Text a reader sees outside code inputs: prose, and every cell output.
_READER_TEXT = """
const parts = [];
document.querySelectorAll('main .cell_output').forEach(e => parts.push(e.innerText));
document.querySelectorAll('main p, main li, main td').forEach(e => {
  if (!e.closest('.cell_input')) parts.push(e.innerText);
});
return parts;
"""

# Each code input and each output (and the blocks inside them) against the text column:
# wider content (scrollWidth > clientWidth) or a box that sticks out past the column.
_TOO_WIDE = """
const col = document.querySelector('article.bd-article')
  || document.querySelector('main');
const right = col.getBoundingClientRect().right;
const sel = 'div.cell_input pre, div.cell_output, div.cell_output .output, '
  + 'div.cell_output pre, div.cell_output mjx-container, div.cell_output table, '
  + 'div.cell_output img, div.cell_output .kexue-demo';
const out = [];
document.querySelectorAll('main div.cell').forEach((cell, k) => {
  cell.querySelectorAll(sel).forEach(el => {
    const over = el.scrollWidth - el.clientWidth;
    const past = el.getBoundingClientRect().right - right;
    if (over > 1 || past > 1) {
      const src = cell.querySelector('.cell_input pre');
      const folded = el.closest('details:not([open])') ? ' (folded)' : '';
      const where = (el.closest('.cell_input') ? 'code' : 'output') + folded;
      out.push({cell: k, where: where,
                element: el.tagName.toLowerCase() + '.'
                  + String(el.className).split(' ')[0],
                px: Math.round(Math.max(over, past)),
                code: src ? src.textContent.split('\\n')[0].slice(0, 60) : ''});
    }
  });
});
return {column: Math.round(col.getBoundingClientRect().width), offenders: out};
"""


def _open(driver, server, chapter):
    driver.get(f"{server}/{chapter.as_posix()}.html")
    _wait_for_math(driver)


@browser
@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_what_we_checked_is_a_table_with_a_row_per_claim(chapter, server, driver):
    from selenium.webdriver.common.by import By

    claims = _reported_claims(chapter)
    _open(driver, server, chapter)
    tables = driver.execute_script(_CHECKED_TABLES)
    assert tables is not None, "no single 'What we checked' section on the page"
    report = [t for t in tables if "kexue-report" in t["cls"]]
    assert len(report) == 1, f"expected one checked table in the section, got {tables}"
    t = report[0]
    assert "table" in t["cls"].split(), "the table lacks the theme's 'table' class"
    assert t["head"] == 4 and t["rows"] == claims, (
        f"{t['rows']} table rows for {claims} reported claims"
    )
    el = driver.find_element(By.CSS_SELECTOR, "table.kexue-report")
    driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", el)
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(exist_ok=True)
    el.screenshot(str(shots / f"{chapter.name}-what-we-checked.png"))


@browser
@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_no_raw_markdown_table_on_the_page(chapter, server, driver):
    _open(driver, server, chapter)
    raw = []
    for text in driver.execute_script(_READER_TEXT):
        for line in text.splitlines():
            s = line.strip()
            if (
                s.startswith("|") and s.endswith("|") and s.count("|") >= 3
            ) or re.search(r"\|\s*:?-{3,}:?\s*\|", s):
                raw.append(s[:100])
    assert not raw, f"raw Markdown table syntax shown to the reader: {raw[:5]}"


@browser
@pytest.mark.browser
@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.name for c in CHAPTERS])
def test_no_cell_is_wider_than_the_column(chapter, server, driver):
    """At the default window width nothing in a code cell or an output scrolls sideways
    or sticks out of the text column. Long code lines and wide printed tables belong to
    the chapter; long check displays are shortened by kexue.symbolic."""
    _open(driver, server, chapter)
    found = driver.execute_script(_TOO_WIDE)
    offenders = found["offenders"]
    assert not offenders, (
        f"{chapter.name} (column {found['column']} px): "
        f"{len(offenders)} element(s) wider than the column:\n  "
        + "\n  ".join(
            f"cell {o['cell']} {o['where']} {o['element']} +{o['px']} px  [{o['code']}]"
            for o in offenders[:25]
        )
    )


# ------------------------------------------------------------------ the claims ledger
VERDICTS = ("confirmed", "refuted", "qualified", "ours", "not checked")


def _soup(path: Path):
    from bs4 import BeautifulSoup

    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _chapter_rows(site: Path) -> dict[str, list[tuple[str, str]]]:
    """(row id, verdict) of every row of each chapter's "What we checked" table, as
    the website shows it."""
    out = {}
    for chapter in CHAPTERS:
        page = site / chapter.with_suffix(".html")
        rows = _soup(page).select("table.kexue-report tbody tr")
        out[chapter.as_posix()] = [(r.get("id"), r.get("data-verdict")) for r in rows]
    return out


def _target(href: str, page: Path, site: Path) -> tuple[str, str]:
    url = urlparse(href)
    doc = (page.parent / unquote(url.path)).resolve().relative_to(site.resolve())
    return doc.with_suffix("").as_posix(), url.fragment


def test_every_claim_in_the_book_has_a_verdict(site):
    """Every row of every chapter's table has its id and one of VERDICTS."""
    for chapter, rows in _chapter_rows(site).items():
        assert rows, f"{chapter}: no 'What we checked' rows on the page"
        bad = [(i, v) for i, v in rows if v not in VERDICTS]
        assert not bad, f"{chapter}: rows without a valid verdict: {bad}"
        ids = [i for i, _ in rows]
        assert ids == [f"kexue-claim-{k}" for k in range(1, len(rows) + 1)], chapter


def test_claims_ledger_lists_exactly_the_rows_the_chapters_produced(site):
    """The ledger's counts per chapter and its lists of refuted, qualified and not
    checked claims equal what the chapter pages show (row by row, by link)."""
    chapters = _chapter_rows(site)
    ledger = site / "claims.html"
    soup = _soup(ledger)
    summary = soup.select_one("table.kexue-ledger-summary")
    assert summary is not None, "claims.html has no summary table"
    header = [th.get_text(strip=True) for th in summary.select("thead th")]
    seen = {}
    body = summary.select("tbody tr")
    for tr in body[:-1]:
        link = tr.select_one("a")
        doc, _ = _target(link["href"], ledger, site)
        cells = [td.get_text(strip=True) for td in tr.find_all("td")]
        seen[doc] = dict(zip(header[1:], map(int, cells[1:]), strict=True))
    assert set(seen) == set(chapters), (sorted(seen), sorted(chapters))
    for doc, rows in chapters.items():
        assert seen[doc]["claims"] == len(rows), doc
        for v in VERDICTS:
            assert seen[doc][v] == sum(r[1] == v for r in rows), (doc, v)
    total = [td.get_text(strip=True) for td in body[-1].find_all("td")]
    assert int(total[1]) == sum(len(r) for r in chapters.values())
    # the evidence table: one row per chapter, counting exactly its checked rows
    evidence = soup.select_one("table.kexue-ledger-evidence")
    assert evidence is not None, "claims.html has no table of the kinds of evidence"
    for tr in evidence.select("tbody tr")[:-1]:
        doc, _ = _target(tr.select_one("a")["href"], ledger, site)
        counts = [int(td.get_text(strip=True)) for td in tr.find_all("td")[1:]]
        checked = sum(v != "not checked" for _, v in chapters[doc])
        assert sum(counts) == checked, (doc, counts, checked)
    for v in ("refuted", "qualified", "not checked"):
        table = soup.select_one(f"table.kexue-ledger-{v.replace(' ', '-')}")
        want = {(d, i) for d, rows in chapters.items() for i, w in rows if w == v}
        if table is None:
            assert not want, f"ledger lists no {v} claims, the chapters have {want}"
            continue
        listed = {
            _target(a["href"], ledger, site)
            for a in table.select("a")
            if a.get_text(strip=True) == "row"
        }
        assert listed == want, (v, sorted(listed ^ want))


def test_landing_page_headline_matches_the_ledger(site):
    chapters = _chapter_rows(site)
    verdicts = [v for rows in chapters.values() for _, v in rows]
    text = _soup(site / "intro.html").select_one("p.kexue-ledger-headline").get_text()
    text = " ".join(text.split())
    n = len(verdicts) - verdicts.count("not checked")
    assert f"{n} claims checked across {len(chapters)} chapters" in text, text
    for v in ("refuted", "qualified"):
        assert f"{verdicts.count(v)} {v}" in text, (v, text)
    assert f"{verdicts.count('not checked')} further claims" in text, text


_WIDE_TABLES = """
const col = document.querySelector('article.bd-article')
  || document.querySelector('main');
const right = col.getBoundingClientRect().right;
const out = [];
document.querySelectorAll('main table').forEach((t, k) => {
  const box = t.parentElement;
  const over = Math.max(t.scrollWidth - t.clientWidth,
                        box.scrollWidth - box.clientWidth);
  const past = t.getBoundingClientRect().right - right;
  if (over > 1 || past > 1) {
    const px = Math.round(Math.max(over, past));
    out.push({table: k, cls: String(t.className), px: px});
  }
});
return out;
"""


@browser
@pytest.mark.browser
@pytest.mark.parametrize("page", ["claims", "intro"])
def test_ledger_tables_fit_the_column(page, server, driver):
    """The ledger's tables (and the landing page's) read without scrolling sideways at
    the default window width."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server}/{page}.html")
    WebDriverWait(driver, 120).until(  # loaded, and any math typeset
        lambda d: (
            d.execute_script("return document.readyState") == "complete"
            and d.execute_script(
                "return document.querySelectorAll('div.math:not(:has(mjx-container)),"
                " span.math:not(:has(mjx-container))').length"
            )
            == 0
        )
    )
    wide = driver.execute_script(_WIDE_TABLES)
    assert not wide, f"{page}.html: tables wider than the column: {wide}"
