"""Pages without a usable text layer are reported, per page and in one warning line."""

from __future__ import annotations

from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import extract_pdf, tesseract_path
from qaforge.extract.quality import (
    NO_TEXT,
    NO_TEXT_SCANNED,
    is_garbage_line,
    needs_ocr,
    page_issue,
)


@pytest.mark.parametrize(("text", "cover", "issue"), [
    ("", 0.0, NO_TEXT),
    ("", 0.9, NO_TEXT_SCANNED),
    ("12", 0.95, NO_TEXT_SCANNED),           # a scan with a stray page number
    ("Hello raw world", 0.0, None),          # little text, no picture: fine
    ("A normal page of text. " * 20, 0.9, None),
    ("\x04\x05\x06\x07\x08" * 20, 0.0, "garbage text (100% unreadable characters)"),
    ("(cid:12)(cid:7) ok" * 10, 0.0, "garbage text (88% unreadable characters)"),
    ("\ue001\ue002\ue003 words" * 10, 0.0, "garbage text (37% unreadable characters)"),
    ("Mostly fine text with one \ufffd here. " * 10, 0.0, None),
])
def test_page_issue(text: str, cover: float, issue: str | None) -> None:
    assert page_issue(text, cover) == issue


def test_garbage_lines_and_ocr_candidates() -> None:
    assert is_garbage_line("\x04\x05\x06\x07 \x08\x0e")
    assert not is_garbage_line("A line with one odd \x07 character in it")
    assert needs_ocr(NO_TEXT_SCANNED) and needs_ocr("garbage text (90% unreadable characters)")
    assert not needs_ocr(NO_TEXT) and not needs_ocr(None)
    assert not needs_ocr("too much text on one page (about 5,000,000 characters); page skipped")


def test_scanned_pages_are_reported_and_the_text_page_kept(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.image_only_pdf(tmp_path, pages=2, text_page=True))
    assert [(i.page, i.reason) for i in doc.page_issues] == [(2, NO_TEXT_SCANNED),
                                                           (3, NO_TEXT_SCANNED)]
    assert doc.elements[0].page == 1 and "Sentence 1 about scanners" in doc.elements[0].text
    [warning] = doc.warnings
    assert warning.startswith("2 of 3 pages have no text layer (scanned?): page 2-3; ")
    hint = "pass --ocr to read them" if tesseract_path() else "apt-get install tesseract-ocr"
    assert hint in warning


def test_blank_page_is_an_issue_but_not_a_scan_warning(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.blank_pdf(tmp_path))
    assert [(i.page, i.reason) for i in doc.page_issues] == [(1, NO_TEXT)]
    assert doc.warnings == ["no text found in this PDF"]


def test_garbage_page_is_reported(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.garbage_text_pdf(tmp_path))
    assert doc.elements == []
    assert doc.page_issues[0].reason.startswith("garbage text (")
    assert doc.warnings[0].startswith("1 of 1 pages have unreadable text (fonts without a "
                                      "Unicode map): page 1; ")


def test_one_garbage_line_is_dropped_and_noted(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.mixed_garbage_pdf(tmp_path))
    assert [e.text for e in doc.elements] == ["The pump is ready for use.",
                                              "The valve stays open while it runs."]
    assert [(i.page, i.reason) for i in doc.page_issues] == [
        (1, "some text unreadable (font without a Unicode map); 1 line(s) dropped")]
    assert doc.warnings == []


def test_page_lists_in_warnings_are_compact() -> None:
    from qaforge.extract.extractor import page_list

    assert page_list([7, 1, 2, 3, 3, 9, 10]) == "1-3, 7, 9-10"
    assert page_list([]) == ""
