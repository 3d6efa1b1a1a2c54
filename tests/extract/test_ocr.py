"""OCR through the tesseract binary: real runs when it is installed, the hint when not."""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pytest

import pdfgen
from qaforge.extract import extract_pdf, tesseract_path
from qaforge.extract import ocr as ocr_module
from qaforge.extract.quality import NO_TEXT_SCANNED

needs_tesseract = pytest.mark.skipif(
    tesseract_path() is None,
    reason="tesseract not installed (apt-get install tesseract-ocr tesseract-ocr-eng)")


def test_render_is_a_300_dpi_grey_pgm(tmp_path: Path) -> None:
    pdf = pdfium.PdfDocument(str(pdfgen.blank_pdf(tmp_path)))
    try:
        image = ocr_module.render_pgm(pdf[0])
    finally:
        pdf.close()
    magic, size, depth, pixels = image.split(b"\n", 3)
    width, height = (int(n) for n in size.split())
    assert magic == b"P5" and depth == b"255"
    assert abs(width - 2480) <= 1 and abs(height - 3508) <= 1  # A4 at 300 dpi
    assert len(pixels) == width * height
    assert set(pixels[:width]) == {255}  # white margin


def test_paragraphs_from_tesseract_output() -> None:
    text = "First line of a para-\ngraph goes on\n\nSecond paragraph\n\n\n\f"
    assert ocr_module.ocr_paragraphs(text) == ["First line of a paragraph goes on",
                                               "Second paragraph"]


def test_missing_tesseract_gives_the_install_hint(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr_module, "tesseract_path", lambda: None)
    # in this process: the worker would not see the monkeypatch
    doc = extract_pdf(pdfgen.image_only_pdf(tmp_path, pages=1), ocr=True, memory_limit_mb=0)
    assert [(i.page, i.reason) for i in doc.page_issues] == [(2, NO_TEXT_SCANNED)]
    assert "install tesseract-ocr (apt-get install tesseract-ocr) and pass --ocr" in \
        doc.warnings[0]
    with pytest.raises(ocr_module.OCRError, match="apt-get install tesseract-ocr"):
        pdf = pdfium.PdfDocument(str(pdfgen.blank_pdf(tmp_path)))
        try:
            ocr_module.ocr_page(pdf[0])
        finally:
            pdf.close()


@needs_tesseract
@pytest.mark.slow
def test_scanned_pages_are_read_by_tesseract(tmp_path: Path) -> None:
    path = pdfgen.image_only_pdf(tmp_path, words="PUMP VALVE HELLO", pages=1)
    doc = extract_pdf(path, ocr=True)
    page_two = " ".join(e.text for e in doc.elements if e.page == 2)
    assert "PUMP VALVE HELLO" in page_two
    assert [(i.page, i.reason) for i in doc.page_issues] == [
        (2, NO_TEXT_SCANNED + "; text read by OCR")]
    assert doc.warnings == ["1 pages read by OCR (check them): page 2"]
    assert extract_pdf(path).elements[-1].page == 1  # without ocr=True nothing is read


@needs_tesseract
@pytest.mark.slow
def test_real_scanned_bulletin_is_read(shared_pdfs: Path) -> None:
    doc = extract_pdf(shared_pdfs / "pdfminer-175-scanned.pdf", ocr=True)
    text = " ".join(e.text for e in doc.elements)
    assert "ACCESSORY KIT" in text and "Oversize Tire" in text
    assert {e.page for e in doc.elements} == {1, 2}
