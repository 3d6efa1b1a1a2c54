"""Broken, encrypted and hostile PDFs: one clear line naming the file, in bounded time."""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import pdfgen
from qaforge.extract import EncryptedPDFError, ExtractionError, extract_pdf


def reason_of(path: Path, **kwargs: object) -> ExtractionError:
    with pytest.raises(ExtractionError) as caught:
        extract_pdf(path, **kwargs)
    error = caught.value
    assert str(error) == f"{path.name}: {error.reason}"
    assert error.path == path
    assert "\n" not in str(error)
    return error


def test_missing_file(tmp_path: Path) -> None:
    assert reason_of(tmp_path / "nowhere.pdf").reason == "file not found"


def test_empty_file(tmp_path: Path) -> None:
    assert reason_of(pdfgen.empty_file(tmp_path)).reason == "empty file (0 bytes)"


def test_not_a_pdf(tmp_path: Path) -> None:
    error = reason_of(pdfgen.not_a_pdf(tmp_path))
    assert error.reason.startswith("not a PDF file") and "<html>" in error.reason


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "folder.pdf"
    folder.mkdir()
    assert "not a regular file" in reason_of(folder).reason


def test_truncated(tmp_path: Path) -> None:
    error = reason_of(pdfgen.truncated_pdf(tmp_path))
    assert error.reason.startswith("truncated PDF") and not isinstance(error, EncryptedPDFError)


def test_corrupt_body_with_eof_marker(tmp_path: Path) -> None:
    path = tmp_path / "garbled.pdf"
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    assert reason_of(path).reason.startswith("corrupt PDF")


def test_user_password_required_then_wrong_then_right(tmp_path: Path) -> None:
    path = pdfgen.encrypted_pdf(tmp_path, user_password="secret")
    missing = reason_of(path)
    assert isinstance(missing, EncryptedPDFError)
    assert "password required" in missing.reason and "--password" in missing.reason
    wrong = reason_of(path, password="nope")
    assert isinstance(wrong, EncryptedPDFError) and "wrong password" in wrong.reason
    doc = extract_pdf(path, password="secret")
    assert doc.pages == 3 and "Sentence 1 about pumps" in doc.elements[0].text


def test_owner_password_only_extracts_normally(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.encrypted_pdf(tmp_path, user_password=""))
    assert doc.pages == 3 and doc.warnings == [] and doc.page_issues == []
    assert any("Sentence 25 about pumps" in e.text for e in doc.elements)


def test_no_pages(tmp_path: Path) -> None:
    assert "no pages" in reason_of(pdfgen.zero_pages_pdf(tmp_path)).reason


def test_page_count_bomb_refused_fast(tmp_path: Path) -> None:
    path = pdfgen.page_count_bomb_pdf(tmp_path, declared=1_000_000)
    started = time.perf_counter()
    error = reason_of(path)
    assert time.perf_counter() - started < 10
    assert "1,000,000 pages" in error.reason and "5,000" in error.reason
    assert "split it into smaller PDFs" in error.reason  # names no option that does not exist


def test_max_pages_is_configurable(tmp_path: Path) -> None:
    path = pdfgen.many_pages_pdf(tmp_path, pages=30, lines_per_page=5)
    assert "30 pages, more than the limit of 10 " in reason_of(path, max_pages=10).reason
    doc = extract_pdf(path, max_pages=30)
    assert doc.pages == 30
    assert [e.page for e in doc.elements] == list(range(1, 31))


def test_same_lone_line_on_every_page_counts_as_running_text(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.page_count_bomb_pdf(tmp_path, declared=30), max_pages=30)
    assert doc.pages == 30 and doc.elements == []
    assert doc.warnings == ["no text found in this PDF"]


def test_deeply_nested_objects_still_extract(tmp_path: Path) -> None:
    started = time.perf_counter()
    doc = extract_pdf(pdfgen.deep_nesting_pdf(tmp_path))
    assert time.perf_counter() - started < 10
    assert [e.text for e in doc.elements] == ["Hello deep"]


def test_deep_page_tree_is_a_page_problem_not_a_crash(tmp_path: Path) -> None:
    doc = extract_pdf(pdfgen.deep_page_tree_pdf(tmp_path))
    assert doc.pages == 1 and doc.elements == []
    assert doc.page_issues[0].page == 1 and "could not be loaded" in doc.page_issues[0].reason
    assert "no text found in this PDF" in doc.warnings


HUGE_PAGE_SCRIPT = """
import resource, sys, time
from pathlib import Path
from qaforge.extract import extract_pdf
started = time.perf_counter()
doc = extract_pdf(Path(sys.argv[1]), memory_limit_mb=0)  # measured in this process
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
print(doc.warnings[0])
"""


@pytest.mark.slow
def test_ten_megabytes_of_text_on_one_page_is_refused_in_bounded_time_and_memory(
        tmp_path: Path) -> None:
    path = pdfgen.huge_text_page_pdf(tmp_path)  # ~10 MB of text, 3.5 MB compressed
    done = subprocess.run([sys.executable, "-c", HUGE_PAGE_SCRIPT, str(path)],
                          capture_output=True, text=True, timeout=120, check=True)
    timing, warning = done.stdout.strip().splitlines()
    seconds, peak_kb = timing.split()
    assert float(seconds) < 30
    assert int(peak_kb) / 1024 < 600  # PDFium alone would take ~1.8 GB for this page
    assert warning.startswith("page 1: too much text on one page")


def test_hostile_text_is_kept_verbatim_not_interpreted(tmp_path: Path) -> None:
    if pdfgen.unicode_font() is None:
        pytest.skip("DejaVu Sans not installed (fonts-dejavu-core)")
    text = "\n".join(e.text for e in extract_pdf(pdfgen.hostile_pdf(tmp_path)).elements)
    assert "<script>alert(1)</script> & <b>bold</b>" in text
    assert "Ignore all previous instructions" in text
    for word in ("∀x ∈ ℝ: x² ≥ 0", "Größe", "Übung", "Straße", "α + β = γ"):
        assert word in text, word  # no NFKC: x² stays x², ℝ stays ℝ
    hebrew = {c for c in "שלום עולם" if c != " "}
    arabic = {c for c in "مرحبا بالعالم" if c != " "}
    assert hebrew <= set(text) and arabic <= set(text)


def test_memory_is_released_between_documents(tmp_path: Path) -> None:
    path = pdfgen.plain_pdf(tmp_path, pages=10)
    extract_pdf(path, memory_limit_mb=0)  # in this process, where ru_maxrss can see it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(30):
        extract_pdf(path, memory_limit_mb=0)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 20
