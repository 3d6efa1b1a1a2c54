"""Clean-up rules: normalisation, hyphen joins, running headers/footers and page numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import extract_pdf
from qaforge.extract.cleanup import (
    drop_running_lines,
    edge_key,
    hyphenated_words,
    join_hyphenated,
    normalise_text,
)
from qaforge.extract.pdfium import Line


@pytest.mark.parametrize(("raw", "clean"), [
    ("e\ufb00ect \ufb01le \ufb02ow o\ufb03ce wa\ufb04e", "effect file flow office waffle"),
    ("a\u00a0b\u2009c\u202fd\u3000e\tf", "a b c d e f"),
    ("soft\u00adhyphen zero\u200bwidth\ufeff", "softhyphen zerowidth"),
    ("bell\x07 and\x1b escape\x7f\x85", "bell and escape"),
    ("  lots    of   space  ", "lots of space"),
    ("Cafe\u0301 Zu\u0308rich", "Café Zürich"),  # composed (NFC)
    ("\uf0b7 bullet from Symbol", "• bullet from Symbol"),
])
def test_normalise_text(raw: str, clean: str) -> None:
    assert normalise_text(raw) == clean


@pytest.mark.parametrize("kept", [
    "x² + y² = z²", "∀x ∈ ℝ ∃y ≥ 0", "½ ⅓ № ™", "中文文本，日本語のテキスト", "한국어 텍스트",
    "Größe Übung Straße",
])
def test_normalise_keeps_math_cjk_and_umlauts(kept: str) -> None:
    assert normalise_text(kept) == kept  # NFKC would have changed every one of these


def test_edge_key_folds_page_numbers_and_numerals() -> None:
    assert edge_key("Page 3 of 48") == edge_key("Page 12 of 48") == "page # of #"
    assert edge_key("xii") == edge_key("7") == "#"
    assert edge_key("Chapter 2: Intro 17") == edge_key("Chapter 2: Intro 18")
    assert edge_key("Chapter 2: Intro") != edge_key("Chapter 2: Methods")


@pytest.mark.parametrize(("left", "right", "joined"), [
    ("the exam", "ple words", "the example words"),
    ("Schwarz", "Weiss country", "Schwarz-Weiss country"),
    ("S", "Plus environments", "S-Plus environments"),
    ("in 737", "9 airplanes", "in 737-9 airplanes"),
    ("it is well", "known here", "it is well-known here"),  # spelled with a hyphen elsewhere
    ("the end", "", "the end-"),
])
def test_join_hyphenated(left: str, right: str, joined: str) -> None:
    compounds = hyphenated_words(["A well-known fact.", "Nothing else here."])
    assert join_hyphenated(left, right, compounds) == joined


def line(text: str, page: int, y: float, size: float = 10.0) -> Line:
    return Line(text, page, 72.0, 300.0, y, size)


def test_running_lines_need_a_gap_and_repetition() -> None:
    pages = []
    for page in range(1, 6):
        lines = [line("ACME Manual", page, 40),                          # header, gap below
                 line(f"Body starts on page {page} here.", page, 90),    # same shape each page
                 line("and goes on at the usual pitch.", page, 102),
                 line(f"Unique closing line {page * 7}.", page, 700),
                 line(f"- {page} -", page, 780)]                          # page number
        pages.append((lines, 800.0))
    assert drop_running_lines(pages) == 10
    dropped = {ln.text for lines, _ in pages for ln in lines if ln.role == "drop"}
    assert dropped == {"ACME Manual"} | {f"- {p} -" for p in range(1, 6)}


def test_chapter_headers_that_change_every_few_pages_are_dropped() -> None:
    pages = []
    for page in range(1, 13):
        chapter = 1 + (page - 1) // 3  # each text on 3 of 12 pages: under the 30% rule
        pages.append(([line(f"Chapter {chapter}: Topic {'ABCD'[chapter - 1]} {page}", page, 40),
                       line(f"Text of page {page} begins with its own words.", page, 100)],
                      800.0))
    drop_running_lines(pages)
    roles = [(lines[0].role, lines[1].role) for lines, _ in pages]
    assert roles == [("drop", "")] * 12


def test_two_pages_are_too_few_to_call_anything_running() -> None:
    pages = [([line("Same title", p, 40), line(f"Body {p}", p, 100)], 800.0) for p in (1, 2)]
    assert drop_running_lines(pages) == 0


def test_plain_pdf_loses_header_footer_and_page_numbers_only(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.plain_pdf(tmp_path, pages=6))
    text = "\n".join(e.text for e in doc.elements)
    assert "ACME Pump Manual" not in text and not re.search(r"Page \d+ of", text)
    numbers = [int(n) for n in re.findall(r"Sentence (\d+) about pumps", text)]
    assert numbers == list(range(1, 73))  # every sentence once, in order
    assert [e.page for e in doc.elements] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]
    assert {e.kind for e in doc.elements} == {"paragraph"}
    assert doc.page_issues == [] and doc.warnings == []


def test_hyphenated_line_ends_are_rejoined(tmp_path: Path) -> None:
    [element] = extract_pdf(pdfgen.hyphenated_pdf(tmp_path)).elements
    assert element.text == ("The treatment of example words is well-known to everyone in "
                            "Schwarz-Weiss country, a well-known place.")
    assert "\ufffe" not in element.text and "\x02" not in element.text


def test_ligature_code_points_are_expanded(tmp_path: Path) -> None:
    if pdfgen.unicode_font() is None:
        pytest.skip("DejaVu Sans not installed (fonts-dejavu-core)")
    [element] = extract_pdf(pdfgen.ligature_pdf(tmp_path)).elements
    assert element.text == pdfgen.LIGATURE_EXPANDED
