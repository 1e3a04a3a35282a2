"""The writeup as a student hands it in: the sheet's numbering, typeset prose, no jargon, marks that
lead to the appendix, order-of-magnitude residuals, a short answer part, and the same content in the
PDF, the Markdown and the HTML page.

The expectations come from the sheet (its section numbers and titles, its four feedback questions)
and from what a reader must not meet (internal names, ASCII mathematics); the documents are read back
as a reader gets them: the PDF through pdftotext, the HTML through its text.
"""
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHEET_NUMBERS = ["1", "1.1", "1.2", "1.3", "2", "2.1", "2.2", "2.3", "2.4", "3"]
APPENDIX = ["A", "B", "C"]
HAS_PDF = shutil.which("pdftotext") is not None and (shutil.which("latexmk") or shutil.which("pdflatex"))


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("answer")
    args = ["all", "--no-catalogue", "--quiet", "--out", str(folder)] + ([] if HAS_PDF else ["--no-pdf"])
    res = subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr
    return folder


@pytest.fixture(scope="module")
def md(out):
    return (out / "writeup.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(out):
    return (out / "writeup.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def pdf_pages(out):
    if not HAS_PDF:
        pytest.skip("TeX Live and poppler-utils are not installed")
    text = subprocess.run(["pdftotext", "-layout", str(out / "writeup.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")


@pytest.fixture(scope="module")
def result_ids(out):
    data = json.loads((out / "derivations.json").read_text(encoding="utf-8"))
    return [r["name"] for d in data["derivations"] for r in d["results"]]


def html_text(doc: str) -> str:
    """What a reader of the page sees as text: tags and MathML dropped."""
    doc = re.sub(r"<math.*?</math>", " ", doc, flags=re.S)
    doc = re.sub(r"<style>.*?</style>|<svg.*?</svg>", " ", doc, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", doc))


def md_prose(doc: str) -> str:
    """The Markdown's words: displayed and inline mathematics, anchors and code blocks dropped."""
    doc = re.sub(r"\$\$.*?\$\$", " ", doc, flags=re.S)
    doc = re.sub(r"```.*?```", " ", doc, flags=re.S)
    doc = re.sub(r"\$[^$\n]+\$", " ", doc)
    return re.sub(r"<a id=\"[^\"]+\"></a>|\]\(#[^)]+\)", " ", doc)


def _numbers(headings):
    return [h.split()[0] for h in headings]


# 1. Numbering ------------------------------------------------------------------------------------------

def test_markdown_headings_follow_the_sheet_once_each_in_order(md):
    headings = [ln.lstrip("#").strip() for ln in md.splitlines() if re.match(r"#{2,4} ", ln)]
    assert _numbers(headings) == SHEET_NUMBERS + APPENDIX
    assert headings[0] == "1 Reversible Architectures" and headings[4] == "2 Variational Free Energy"
    assert headings[9] == "3 Feedback"


def test_html_headings_follow_the_sheet_once_each_in_order(page):
    headings = [html.unescape(h) for h in re.findall(r"<h[2-4]>(.*?)</h[2-4]>", page)]
    assert _numbers(headings) == SHEET_NUMBERS + APPENDIX


def test_pdf_headings_follow_the_sheet_once_each_in_order(pdf_pages):
    lines = [ln.strip() for p in pdf_pages for ln in p.splitlines()]
    headings = [ln for ln in lines if re.fullmatch(r"(\d(\.\d)?|[ABC])\s{2,}[A-Z][A-Za-z ,()0-9-]+", ln)]
    assert _numbers(headings) == SHEET_NUMBERS + APPENDIX, headings


def test_the_answer_part_fits_in_six_pages(pdf_pages):
    """Sections 1 and 2 end before the page on which 3 Feedback starts, on page 7 at the latest."""
    feedback = next(n for n, p in enumerate(pdf_pages, 1) if re.search(r"^\s*3\s{2,}Feedback", p, re.M))
    assert feedback - 1 <= 6, f"sections 1-2 take {feedback - 1} pages"


def test_feedback_stays_a_template_with_the_sheets_four_questions(md):
    feedback = md.split("## 3 Feedback", 1)[1].split("\n## ", 1)[0]
    assert "For the author to fill in" in feedback
    questions = [ln for ln in feedback.splitlines() if re.match(r"[1-4]\. ", ln)]
    assert [q[3:] for q in questions] == [
        "What aspects of the written and programming homeworks did you enjoy for this course?",
        "What aspects of the written and programming homeworks did you hate for this course?",
        "Suggestions for what you would like to modify in the homeworks.",
        "Suggestions for course content/lecture slides and topics."]


# 2. No jargon, no ASCII mathematics ---------------------------------------------------------------------

JARGON = [r"\bseed\b", r"\(author\)", r"\b\w+\.(py|json|tex|md|pdf)\b", r"\b[A-Za-z_]\w*\.[A-Za-z_]\w*\(",
          r"\b[a-z]+_[a-z_]+\b", r"\bderive\.\w", r"\bslogdet\b", r"\blambdif", r"\bsrepr\b", r"\bMatrix\.",
          r"\bmpmath\b", r"\bscipy\b", r"\bsympify\b", r"\bforward\(", r"\bverdict\b"]


@pytest.mark.parametrize("kind", ["md", "html", "pdf"])
def test_no_answer_document_speaks_jargon(kind, md, page, out, result_ids, request):
    text = {"md": lambda: md_prose(md), "html": lambda: html_text(page),
            "pdf": lambda: "\n".join(request.getfixturevalue("pdf_pages"))}[kind]()
    for pattern in JARGON:
        found = re.search(pattern, text)
        assert not found, (pattern, text[max(0, found.start() - 60):found.end() + 60])
    for name in result_ids:
        assert name not in text, name


ASCII_MATH = [r"\b[A-Za-z]{1,2}[0-9]?_[0-9A-Za-z]", r"\b(mu|sigma|eps|epsilon|tau|lambda|theta)\b", r"\^",
              r"[\w)]\*\*[\w(]", r"\b[xy][12]\b", r"\bE_", r"\bgrad_", r"\bsqrt\(", r"\|\|"]


@pytest.mark.parametrize("kind", ["md", "html"])
def test_prose_mathematics_is_typeset_never_ascii(kind, md, page):
    text = md_prose(md) if kind == "md" else html_text(page)
    for pattern in ASCII_MATH:
        found = re.search(pattern, text)
        assert not found, (pattern, text[max(0, found.start() - 60):found.end() + 60])


def test_the_ascii_detector_finds_what_it_looks_for():
    """Planted: prose with x_2, mu and E_q[...] left as text is caught."""
    planted = "solve for x_2 with mu fixed, then E_q[log p]"
    assert [p for p in ASCII_MATH if re.search(p, md_prose(planted))]


# 3. Marks and anchors ----------------------------------------------------------------------------------

def test_every_mark_leads_to_an_appendix_entry_in_every_format(md, page, out):
    tex = (out / "writeup.tex").read_text(encoding="utf-8")
    for doc, link, target in ((md, r"\]\(#(v-[0-9-]+)\)", r'<a id="(v-[0-9-]+)"></a>'),
                              (page, r'href="#(v-[0-9-]+)"', r'id="(v-[0-9-]+)"'),
                              (tex, r"\\checkmarkref\{(v-[0-9-]+)\}", r"\\hypertarget\{(v-[0-9-]+)\}")):
        links, targets = set(re.findall(link, doc)), set(re.findall(target, doc))
        assert links and links <= targets, sorted(links - targets)[:5]


def test_every_boxed_answer_carries_a_mark(md):
    blocks = re.findall(r"\$\$\n(.*?)\n\$\$\n\n(.*?)\n", md, flags=re.S)
    boxed = [(eq, after) for eq, after in blocks if eq.startswith(r"\boxed")]
    assert len(boxed) >= 8
    for eq, after in boxed:
        assert after.startswith("[✓ "), eq[:80]


def test_nothing_is_marked_unverified(md, page):
    assert "unverified" not in md.split("## A ")[0] and "✗" not in md


# 4. Residuals ------------------------------------------------------------------------------------------

def test_residuals_are_shown_as_their_order_of_magnitude(md, page, out):
    table = md.split("## B ", 1)[1].split("\n## ", 1)[0]
    rows = [ln.split(" | ") for ln in table.splitlines() if ln.startswith("| ") and "---" not in ln][1:]
    assert len(rows) >= 20
    for row in rows:
        assert re.fullmatch(r"0|≤ 1e-\d+|≤ ([1-9]0*|0\.0*[1-9])", row[2]), row
    for doc in (md, page, (out / "writeup.tex").read_text(encoding="utf-8")):
        assert not re.search(r"\d\.\d+e[-+]\d\d", doc)


def test_magnitude_bounds_the_residual_from_above():
    """Small residuals by their power of ten, Monte Carlo z-scores by one digit, always rounded up."""
    from derive.answer import magnitude
    from derive.render.jsonout import bound

    values = (0.0, 3e-16, 1e-15, 1.2e-15, 9.9e-4, 0.7, 0.73, 2.37, 4.0, 12.3, float("nan"))
    assert [magnitude(v) for v in values] == [
        "0", "≤ 1e-15", "≤ 1e-15", "≤ 1e-14", "≤ 0.001", "≤ 0.7", "≤ 0.8", "≤ 3", "≤ 4", "≤ 20", "NaN"]
    assert [bound(v) for v in values[:-1]] == [0.0, 1e-15, 1e-15, 1e-14, 1e-3, 0.7, 0.8, 3.0, 4.0, 20.0]
    assert bound(float("nan")) is None


# 5. The HTML page --------------------------------------------------------------------------------------

def test_the_page_is_self_contained_mathml(page):
    assert not re.search(r"<script|<link|src=\"http|href=\"http|@import", page)
    assert "$" not in html_text(page)
    equations = page.count('<div class="eq"')
    assert equations >= 60 and page.count('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"') \
        == equations


def _chromium():
    from tests.browser import find_chromium

    return find_chromium()


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed")
def test_the_page_renders_in_a_real_browser(out, page):
    """Loaded in headless Chromium: no console error, every equation is a rendered MathML element (not
    text), and the first screen is kept as a picture for a person to look at."""
    from tests.browser import open_page

    shots = Path(ROOT / ".screenshots")
    shots.mkdir(exist_ok=True)
    with open_page(out / "writeup.html") as browser:
        assert browser.console_errors == []
        count, rendered, mathml = browser.evaluate(
            "(() => { const m = [...document.querySelectorAll('math')];"
            " return [m.length, m.filter(e => e.getBoundingClientRect().height > 0).length,"
            " m.filter(e => e instanceof MathMLElement).length]; })()")
        headings = browser.evaluate("[...document.querySelectorAll('h2, h3')].map(h => h.textContent)")
        broken = browser.evaluate("[...document.querySelectorAll('a[href^=\"#\"]')]"
                                  ".filter(a => !document.getElementById(a.getAttribute('href').slice(1))).length")
        browser.screenshot(shots / "writeup-first-screen.png")
    assert count == page.count("<math ") and count > 100
    assert rendered == count and mathml == count
    assert _numbers(headings) == SHEET_NUMBERS + APPENDIX and broken == 0
    assert (shots / "writeup-first-screen.png").stat().st_size > 10_000


# 6. One box per question, the sheet's notation, the stronger answers -------------------------------------

def _question(md: str, number: str) -> str:
    """The Markdown of one question (its heading to the next heading)."""
    return re.split(r"\n#{2,4} ", md.split(f"\n### {number} ", 1)[1], maxsplit=1)[0]


def test_each_question_boxes_its_final_answer_once(md):
    """1.3 asks two things (the determinant; is it volume preserving), every other question one."""
    boxes = {q: _question(md, q).count(r"\boxed{") for q in ("1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4")}
    assert boxes == {"1.1": 1, "1.2": 1, "1.3": 2, "2.1": 1, "2.2": 1, "2.3": 1, "2.4": 1}


def test_the_sheets_notation(md):
    one = md.split("## 1 ", 1)[1].split("### 1.1", 1)[0]
    assert r"$k = \frac{d}{2}$" in one and r"$\det$ is the determinant" in one
    three = _question(md, "1.3")
    assert r"\det\left(\frac{\partial y_1}{\partial x_1}\right)" in three      # det, not |.|, of a block
    assert not re.search(r"\\left\|\{?\\frac\{\\partial y_\{?[12]", three)
    kl = _question(md, "2.3")
    assert "its standard deviation" in kl and r"\mu_{q}" in kl and r"\sigma_{p}" in kl
    assert not re.search(r"\\(mu|sigma)_\{[12]\}", kl)
    assert r"D_{\mathrm{KL}}\left(q_{i}\left(z\right) \,\|\, p_{i}\left(z\right)\right) = \frac{\mu_{i}^{2}}{2}" in kl


def _marked_display(section: str, body: str) -> bool:
    """Whether a display whose equation contains ``body`` is followed by a mark."""
    return bool(re.search(r"\$\$\n[^$]*" + re.escape(body) + r"[^$]*\n\$\$\n\n\[✓ ", section))


def test_1_3_gives_a_checked_counterexample_the_condition_and_its_reading(md):
    three = _question(md, "1.3")
    assert _marked_display(three, r"\right|_{G \equiv 0,\ s = (1, 0, \dots, 0)} = e")
    assert _marked_display(three, r"\sum_{i=1}^{k} G_{i}\left(x_{2}\right) = - \sum_{i=1}^{k} s_{i}")
    for words in ("for every $x_{2}$", "(NICE) block", r"$\det \partial y/\partial x > 0$ everywhere",
                  "involves neither $F$ nor $x_{1}$", "$O(d)$", "$O(d^{3})$", "Not in general."):
        assert words in three, words


def test_2_3_shows_the_minimum_and_the_stable_form(md):
    kl = _question(md, "2.3")
    assert _marked_display(kl, r"= \left( 0, \  1\right)") and _marked_display(kl, r"p_{i}\right) = 0")
    assert _marked_display(kl, r"\operatorname{log1p}")
    assert "the closed form as printed gives 0 (relative error 1)" in kl


def test_2_4_shows_the_adjoint_values_the_estimator_the_score_and_the_stl_variance(md):
    four = _question(md, "2.4")
    assert _marked_display(four, r"\bar{z} = \bar{r} \frac{\partial r}{\partial z} + \bar{s} \frac{\partial s}"
                                 r"{\partial z} = ")
    assert _marked_display(four, r"\sum_{l=1}^{L}") and "index is dropped" in four
    assert "The score term." in four and _marked_display(four, r"\\0\end{matrix}\right)")
    assert "sticking-the-landing, STL" in four and _marked_display(four, r"g^{\mathrm{STL}}_{\mu}")


def test_marks_lead_to_entries_that_hold_the_marked_equation(md):
    """Each marked display shares its right-hand side with one of the appendix entries it links to."""
    answer, appendix = md.split("## 3 Feedback", 1)
    entries = dict(re.findall(r'<a id="(v-[0-9-]+)"></a>\n\n\$\$\n(.*?)\n\$\$', appendix, flags=re.S))
    shown = re.findall(r"\$\$\n(.*?)\n\$\$\n\n((?:\[✓ [0-9.]+\]\(#v-[0-9-]+\) ?)+)", answer, flags=re.S)
    assert len(shown) >= 40
    for body, marks in shown:
        targets = re.findall(r"\(#(v-[0-9-]+)\)", marks)
        rhs = [entries[t].split(" = ", 1)[-1].lstrip("= ").strip() for t in targets]
        assert any(r in body for r in rhs), (body[:90], targets)


def test_the_appendix_holds_the_log_the_checks_the_graph_and_the_adjoints(md, page):
    log = md.split("## A ", 1)[1].split("\n## B ", 1)[0]
    assert log.count("(exact: residual 0)") >= 60 and "tolerance" in md.split("## B ", 1)[1]
    graph = md.split("## C ", 1)[1]
    assert "```mermaid" in graph and "| adjoint | chain rule | value |" in graph
    assert "<svg" in page.split('id="s-C"', 1)[1] and "<th>adjoint</th>" in page


def test_the_three_documents_show_the_same_equations(md, page, out):
    tex = (out / "writeup.tex").read_text(encoding="utf-8")
    counts = (md.count("$$\n") // 2, page.count('<div class="eq"'), tex.count(r"{$\displaystyle "))
    assert counts[0] == counts[1] == counts[2] and counts[0] >= 100, counts


def test_feedback_holds_only_the_notice_and_the_sheets_questions(md, page):
    """Nothing is generated for the author: the section is the notice and the four questions, no more."""
    feedback = md.split("## 3 Feedback", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in feedback.splitlines() if ln.strip()]
    assert len(lines) == 5 and lines[0].startswith("> **For the author to fill in.")
    html_feedback = page.split('id="s-3">', 1)[1].split("</section>", 1)[0]
    words = lambda text: re.findall(r"[A-Za-z/]+", text)  # noqa: E731
    assert words(html_text(html_feedback)) == ["Feedback"] + words(" ".join(lines))
