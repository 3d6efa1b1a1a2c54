"""Headings from the PDF outline, or from numbering and type size; never from body text."""

from __future__ import annotations

from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import extract_pdf
from qaforge.extract.headings import mark_heuristic_headings, mark_outline_headings
from qaforge.extract.layout import DocStats, block_elements, build_blocks
from qaforge.extract.pdfium import Line, OutlineEntry

EXPECTED = [(title, level) for title, level in pdfgen.HEADINGS]


@pytest.mark.parametrize("outline", [True, False])
def test_headings_with_levels_with_and_without_outline(tmp_path: Path, outline: bool) -> None:
    doc = extract_pdf(pdfgen.headings_pdf(tmp_path, outline=outline))
    headings = [(e.text, e.level) for e in doc.elements if e.kind == "heading"]
    assert headings == EXPECTED
    pages = [e.page for e in doc.elements if e.kind == "heading"]
    assert pages == [1, 1, 1, 2, 2, 2]
    paragraphs = [e for e in doc.elements if e.kind == "paragraph"]
    assert len(paragraphs) == 6 and all(e.level is None for e in paragraphs)


@pytest.mark.parametrize("builder", [pdfgen.plain_pdf, pdfgen.two_column_pdf, pdfgen.list_pdf,
                                     pdfgen.table_pdf, pdfgen.code_pdf, pdfgen.long_paragraph_pdf])
def test_no_false_headings_in_body_text(tmp_path: Path, builder: object) -> None:
    doc = extract_pdf(builder(tmp_path))  # type: ignore[operator]
    assert [e.text for e in doc.elements if e.kind == "heading"] == []


STATS = DocStats(body_size=10.0, pitch={10: 12.0, 14: 17.0})


def mk(text: str, y: float, size: float = 10.0, bold: bool = False, page: int = 1) -> Line:
    return Line(text, page, 72.0, 400.0, y, size, bold=bold)


def headings_of(lines: list[Line]) -> list[tuple[str, int | None]]:
    mark_heuristic_headings(lines, STATS)
    return [(line.text, line.level) for line in lines if line.role == "heading"]


def test_heuristic_rules() -> None:
    lines = [
        mk("A Big Unnumbered Title", 50, size=18),                   # clearly larger
        mk("2.3 Bold Numbered Heading", 100, bold=True),              # numbered + bold
        mk("Body text that is long enough to be a sentence.", 120),
        mk("Bold run-in label", 160, bold=True),                      # bold, body size: no
        mk("4.1 Numbered but plain body type", 200),                  # not set apart: no
        mk("5 Ends with a period.", 240, bold=True),                  # sentence: no
        mk("Figure 2: A Caption In Large Type", 280, size=14, bold=True),  # caption: no
        mk("lower case start in large type", 320, size=14, bold=True),     # not a title: no
    ]
    assert headings_of(lines) == [("A Big Unnumbered Title", 1), ("2.3 Bold Numbered Heading", 2)]


def test_heading_spread_over_two_lines_is_one() -> None:
    lines = [mk("A Long Title That Needs", 50, size=14, bold=True),
             mk("Two Lines To Print", 67, size=14, bold=True),
             mk("Body text follows here.", 100)]
    assert headings_of(lines) == [("A Long Title That Needs", 2), ("Two Lines To Print", 2)]
    elements = block_elements(build_blocks(lines, STATS), STATS, set())
    assert [(e.kind, e.text, e.level) for e in elements] == [
        ("heading", "A Long Title That Needs Two Lines To Print", 2),
        ("paragraph", "Body text follows here.", None)]


def test_stacked_candidates_are_a_contents_page_not_headings() -> None:
    lines = [mk(f"{n} Chapter Number {n}", 100 + 12 * n, bold=True) for n in range(1, 6)]
    assert headings_of(lines) == []
    two = [mk("2 Methods", 100, bold=True), mk("2.1 Data", 112, bold=True),
           mk("Text of the section.", 140)]
    assert headings_of(two) == [("2 Methods", 1), ("2.1 Data", 2)]


def test_outline_entries_match_lines_with_or_without_section_numbers() -> None:
    lines = [mk("1.1 The R environment", 100, page=8), mk("Some text.", 120, page=8),
             mk("Appendix body", 100, page=9), mk("Related software and", 100, page=10),
             mk("documentation", 112, page=10)]
    outline = [OutlineEntry(2, "The R environment", 8),
               OutlineEntry(2, "Related software and documentation", 9),  # one page early
               OutlineEntry(1, "Missing From Text", 9), OutlineEntry(1, "No Page", None)]
    assert mark_outline_headings(lines, outline) == 2
    assert [(ln.text, ln.role, ln.level) for ln in lines if ln.role] == [
        ("1.1 The R environment", "heading", 2), ("Related software and", "heading", 2),
        ("documentation", "heading", 2)]
