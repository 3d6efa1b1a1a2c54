"""The real corpus in ``../shared/pdfs`` (see its MANIFEST.md): nothing crashes, every
readable file gives elements with page numbers, every broken one a clear reason."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import EncryptedPDFError, ExtractionError, extract_pdf
from qaforge.records import Document

pytestmark = pytest.mark.slow

TEXT_FILES = (
    "2305.03393v1-pg9.pdf", "GeoTopo-komprimiert.pdf", "R-intro.pdf", "amt_handbook_sample.pdf",
    "ca-warn-report.pdf", "code_and_formula.pdf", "elsevier-jhydrol-2005.pdf",
    "federal-register-2020-17221.pdf", "i1040nr.pdf", "ieee-conf-2013.pdf",
    "korean-insurance-report-4p.pdf", "naacl06-shinyama.pdf", "nics-background-checks-2015-11.pdf",
    "nlp2004slides.pdf", "redp5110_sampled.pdf", "reportlab-userguide.pdf",
    "scotus-transcript-p1.pdf", "tableformer-acl-paper.pdf",
)
_RAW_ARTEFACTS = re.compile("[\ufffe\x00-\x08\x0b-\x1f\ufb00-\ufb06\u00ad]")

_cache: dict[str, Document] = {}


def extracted(folder: Path, name: str) -> Document:
    if name not in _cache:
        _cache[name] = extract_pdf(folder / name)
    return _cache[name]


def text_of(doc: Document) -> str:
    return "\n".join(e.text for e in doc.elements)


@pytest.mark.parametrize("name", TEXT_FILES)
def test_text_layer_file(shared_pdfs: Path, name: str) -> None:
    doc = extracted(shared_pdfs, name)
    path = shared_pdfs / name
    assert doc.file == name and doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.elements, name
    pages = [e.page for e in doc.elements]
    assert pages == sorted(pages) and pages[0] >= 1 and pages[-1] <= doc.pages
    for element in doc.elements:
        assert element.text.strip() and not _RAW_ARTEFACTS.search(element.text), element
        assert (element.level is not None) == (element.kind == "heading")


def test_user_password_file(shared_pdfs: Path) -> None:
    path = shared_pdfs / "doclaynet-pg3-encrypted-userpw.pdf"
    with pytest.raises(EncryptedPDFError, match="password required"):
        extract_pdf(path)
    with pytest.raises(EncryptedPDFError, match="wrong password"):
        extract_pdf(path, password="4321")
    doc = extract_pdf(path, password="1234")
    assert "DocLayNet" in text_of(doc) and doc.pages == 1


def test_truncated_file(shared_pdfs: Path) -> None:
    with pytest.raises(ExtractionError) as caught:
        extract_pdf(shared_pdfs / "R-data_truncated.pdf")
    assert str(caught.value).startswith("R-data_truncated.pdf: truncated PDF")


def test_copy_protected_file_extracts(shared_pdfs: Path) -> None:
    doc = extract_pdf(shared_pdfs / "layoutparser-copy-protected.pdf")
    assert doc.pages == 2 and "LayoutParser" in text_of(doc) and doc.warnings == []


def test_corrupt_file_is_recovered(shared_pdfs: Path) -> None:
    text = text_of(extract_pdf(shared_pdfs / "zen_of_python_corrupted.pdf"))
    assert "Beautiful is better than ugly." in text and "Simple is better than complex." in text


def test_scanned_files_report_their_pages(shared_pdfs: Path) -> None:
    huck = extract_pdf(shared_pdfs / "huckfinn-scanned-multipage.pdf")
    assert [i.page for i in huck.page_issues] == [1, 2, 3, 5, 6]  # page 4 has an OCR layer
    assert huck.warnings[0].startswith("5 of 6 pages have no text layer (scanned?)")
    bulletin = extract_pdf(shared_pdfs / "pdfminer-175-scanned.pdf")
    assert [i.page for i in bulletin.page_issues] == [1, 2] and bulletin.elements == []


def test_running_headers_and_page_numbers_are_gone(shared_pdfs: Path) -> None:
    r_intro = text_of(extracted(shared_pdfs, "R-intro.pdf"))
    assert not re.search(r"^Chapter \d+: .* \d+$", r_intro, re.MULTILINE)
    reportlab = extracted(shared_pdfs, "reportlab-userguide.pdf")
    assert not any(re.fullmatch(r"Page \d+", e.text) for e in reportlab.elements)
    assert "User Guide Chapter" not in text_of(reportlab)
    register = text_of(extracted(shared_pdfs, "federal-register-2020-17221.pdf"))
    assert "Federal Register / Vol. 85, No. 152 / Thursday" not in register
    assert "DEC-2007" not in text_of(extracted(shared_pdfs, "i1040nr.pdf"))  # outside crop box


def test_outline_headings(shared_pdfs: Path) -> None:
    headings = [(e.text, e.level) for e in extracted(shared_pdfs, "R-intro.pdf").elements
                if e.kind == "heading"]
    assert len(headings) >= 130
    assert ("1 Introduction and preliminaries", 1) in headings
    assert ("1.1 The R environment", 2) in headings


def test_paper_structure(shared_pdfs: Path) -> None:
    doc = extracted(shared_pdfs, "naacl06-shinyama.pdf")
    headings = [(e.text, e.level) for e in doc.elements if e.kind == "heading"]
    assert ("1 Background", 1) in headings and ("3.2 Parsing and GLARFing", 2) in headings
    text = text_of(doc)
    # a word broken at a column end, with a figure printed before its second half
    assert "to find a set of articles that talk about exactly the same news" in text
    assert "Existing IE systems require a lot of time" in text
    register = text_of(extracted(shared_pdfs, "federal-register-2020-17221.pdf"))
    assert "takeoff from Soekarno-Hatta International Airport" in register  # across footnotes


def test_tables(shared_pdfs: Path) -> None:
    paper = extracted(shared_pdfs, "2305.03393v1-pg9.pdf")
    [table] = [e for e in paper.elements if e.kind == "table"]
    assert "| 6 | 6 | OTSL | 0.965 | 0.934 | 0.955 | 0.88 | 2.73 |" in table.text
    nics = extracted(shared_pdfs, "nics-background-checks-2015-11.pdf")
    assert any(e.kind == "table" and "| Alabama | 18,870 |" in e.text for e in nics.elements)


def test_scripts_and_symbols_survive(shared_pdfs: Path) -> None:
    korean = text_of(extracted(shared_pdfs, "korean-insurance-report-4p.pdf"))
    assert sum(1 for c in korean if "\uac00" <= c <= "\ud7a3") >= 4900  # poppler: 5,087
    geotopo = text_of(extracted(shared_pdfs, "GeoTopo-komprimiert.pdf"))
    assert sum(geotopo.count(c) for c in "∈⊆→∀∃") >= 900
    assert "Topologische Räume" in geotopo


MEMORY_SCRIPT = """
import resource, sys
from pathlib import Path
from qaforge.extract import extract_pdf
doc = extract_pdf(Path(sys.argv[1]), memory_limit_mb=0)  # measured in this process
print(doc.pages, len(doc.elements), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def peak_mb(path: Path) -> tuple[int, int, int]:
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path)],
                          capture_output=True, text=True, timeout=300, check=True)
    pages, elements, peak = (int(n) for n in done.stdout.split())
    return pages, elements, peak


def test_memory_stays_flat_in_the_number_of_pages(tmp_path: Path) -> None:
    small = peak_mb(pdfgen.many_pages_pdf(tmp_path, pages=100))
    large = peak_mb(pdfgen.many_pages_pdf(tmp_path, pages=1000))
    assert small[:2] == (100, 100) and large[:2] == (1000, 1000)
    assert large[2] < 300, f"1,000 pages peaked at {large[2]} MB"
    assert large[2] - small[2] < 120, f"100 pages: {small[2]} MB, 1,000 pages: {large[2]} MB"
