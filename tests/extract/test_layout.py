"""Lines to elements: reading order, paragraphs, lists, code, tables, captions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import extract_pdf
from qaforge.extract.layout import (
    DocStats,
    block_elements,
    build_blocks,
    ends_sentence,
    is_caption,
    is_list_start,
)
from qaforge.extract.pdfium import Line
from qaforge.extract.tables import is_table_row, to_markdown


def test_two_columns_read_column_by_column(tmp_path: Path) -> None:
    elements = extract_pdf(pdfgen.two_column_pdf(tmp_path)).elements
    texts = [e.text for e in elements]
    assert len(texts) == 6
    expected = [pdfgen.paragraph(topic, start, count=4)
                for topic in ("left", "right") for start in (1, 5, 9)]
    assert texts == expected


def test_paragraph_broken_across_pages_is_one_element(tmp_path: Path) -> None:
    path = pdfgen.long_paragraph_pdf(tmp_path)
    doc = extract_pdf(path)
    assert doc.pages >= 2
    [element] = doc.elements
    assert element.kind == "paragraph" and element.page == 1
    steps = [int(n) for n in re.findall(r"step (\d+) keeps", element.text)]
    assert steps == list(range(1, 161))
    assert element.text.endswith("pump running.")


def test_bullets_and_numbered_steps_are_list_items(tmp_path: Path) -> None:
    elements = extract_pdf(pdfgen.list_pdf(tmp_path)).elements
    kinds = [e.kind for e in elements]
    assert kinds == ["paragraph"] + ["list_item"] * 6
    bullet = "•"  # a "-" bullet (no DejaVu font) is normalised to "•" too
    assert elements[1].text == f"{bullet} The power is switched off at the main breaker."
    assert elements[2].text.startswith(f"{bullet} The valve is closed. Sentence 1 about valves")
    assert elements[2].text.endswith("Sentence 3 about valves explains item 3 in plain words.")
    assert [e.text for e in elements[4:]] == ["1. Open the cover.", "2. Replace the filter.",
                                              "3. Close the cover."]


def test_monospace_block_is_code_with_indentation(tmp_path: Path) -> None:
    elements = extract_pdf(pdfgen.code_pdf(tmp_path)).elements
    assert [e.kind for e in elements] == ["paragraph", "code", "paragraph"]
    assert elements[1].text == "\n".join(pdfgen.CODE_LINES)


def test_numeric_table_becomes_markdown(tmp_path: Path) -> None:
    elements = extract_pdf(pdfgen.table_pdf(tmp_path)).elements
    assert [e.kind for e in elements] == ["paragraph", "table", "paragraph"]
    rows = elements[1].text.splitlines()
    assert rows[1] == "|---|---|---|---|"
    body = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]
    assert body == [list(row) for row in pdfgen.TABLE_ROWS]


@pytest.mark.parametrize(("text", "expected"), [
    ("• item", True), ("- item", True), ("1. step", True), ("(a) case", True), ("iv. four", True),
    ("a) small", True), ("A) big", True), ("2015. The year", False), ("-5 degrees", False),
    ("* footnote", False), ("Normal sentence.", False), ("A. Smith wrote", False),
])
def test_list_markers(text: str, expected: bool) -> None:
    assert is_list_start(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Figure 3: GLARF structure", True), ("Fig. 1. Annual flow", True), ("Table 2. HPO", True),
    ("TABLE IV", True), ("Abbildung 4: Kreis", True), ("Table 1 shows that", False),
    ("Figures are nice.", False),
])
def test_captions(text: str, expected: bool) -> None:
    assert is_caption(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("It ends here.", True), ("He said “stop.”", True), ("(see above.)", True),
    ("a list follows:", True), ("Directive (AD)", False), ("no stop", False),
])
def test_sentence_ends(text: str, expected: bool) -> None:
    assert ends_sentence(text) is expected


def test_table_rows_and_markdown_padding() -> None:
    assert is_table_row("Alabama 18,870 23,022 22,650")
    assert is_table_row("HTML 0.969 0.927 0.955 0.857 5.39")
    assert not is_table_row("In 2015 there were 12 cases in 3 states.")
    assert not is_table_row("12 34")
    table = to_markdown(["6 6 OTSL 0.965 2.73", "HTML 0.969 5.39"], None)
    assert table.splitlines()[2:] == ["| 6 | 6 | OTSL | 0.965 | 2.73 |",
                                      "|  |  | HTML | 0.969 | 5.39 |"]
    labelled = to_markdown(["District of Columbia 8 54 2", "Guam 0 100"], "State A B C")
    assert labelled.splitlines() == ["| State | A | B | C |", "|---|---|---|---|",
                                     "| District of Columbia | 8 | 54 | 2 |",
                                     "| Guam |  | 0 | 100 |"]
    assert "\\|" in to_markdown(["a|b 1 2", "c 3 4", "d 5 6"], None)


def mk(text: str, y: float, x0: float = 72.0, x1: float = 500.0, page: int = 1,
       size: float = 10.0, **kw: object) -> Line:
    return Line(text, page, x0, x1, y, size, **kw)


STATS = DocStats(body_size=10.0, pitch={10: 12.0})


def test_gap_indent_and_short_line_start_paragraphs() -> None:
    lines = [mk("First paragraph runs on", 100), mk("and ends here.", 112, x1=300),
             mk("Second paragraph after a short line,", 124), mk("still going.", 136),
             mk("Indented third paragraph", 148, x0=84), mk("wraps here.", 160),
             mk("Fourth after a gap.", 190)]
    texts = [e.text for e in block_elements(build_blocks(lines, STATS), STATS, set())]
    assert texts == ["First paragraph runs on and ends here.",
                     "Second paragraph after a short line, still going.",
                     "Indented third paragraph wraps here.", "Fourth after a gap."]


def test_paragraph_resumes_after_figure_labels_and_caption() -> None:
    lines = [mk("The crawler finds a set of arti", 100, hyphen=True),
             mk("Crawling", 60, x0=300, size=6.0), mk("Parsing", 80, x0=320, size=6.0),
             mk("Figure 4: System overview.", 150, x0=300),
             mk("cles that talk about the same news.", 170, x0=300)]
    elements = block_elements(build_blocks(lines, STATS), STATS, set())
    assert elements[0].text == "The crawler finds a set of articles that talk about the same news."
    assert [e.kind for e in elements] == ["paragraph", "paragraph", "paragraph", "caption"]


def test_superscript_stays_in_its_line() -> None:
    lines = [mk("Let X = R", 100, x1=130), mk("n be the space.", 97, x0=130.5, size=7.0)]
    [element] = block_elements(build_blocks(lines, STATS), STATS, set())
    assert element.text == "Let X = Rn be the space."


def test_cjk_lines_join_without_space() -> None:
    lines = [mk("日本語の文章が", 100), mk("続きます。", 112)]
    [element] = block_elements(build_blocks(lines, STATS), STATS, set())
    assert element.text == "日本語の文章が続きます。"


def test_lone_page_number_does_not_continue_an_open_paragraph() -> None:
    lines = [mk("The text breaks off here at the page end,", 700),
             mk("1", 780, x0=290, x1=296),
             mk("and resumes on the next page.", 90, page=2)]
    texts = [e.text for e in block_elements(build_blocks(lines, STATS), STATS, set())]
    assert texts == ["The text breaks off here at the page end, and resumes on the next page.",
                     "1"]


def test_centred_title_line_is_not_glued_to_the_paragraph_below() -> None:
    lines = [mk("III. METHOD", 100, x0=250, x1=310),
             mk("The proposed method is an extension of earlier", 116, x0=84),
             mk("work on the same problem.", 128)]
    texts = [e.text for e in block_elements(build_blocks(lines, STATS), STATS, set())]
    assert texts == ["III. METHOD",
                     "The proposed method is an extension of earlier work on the same problem."]
