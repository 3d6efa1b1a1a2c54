"""``extract_pdf``: one PDF file in, one :class:`~qaforge.records.Document` out.

Pages are read one at a time (each PDFium page and text page is closed before the next
is opened, so memory stays flat in the page count), cleaned, and only then assembled:
running headers need every page, and paragraphs run across pages.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from qaforge.extract import isolation, quality
from qaforge.extract import ocr as ocr_mod
from qaforge.extract.cleanup import drop_running_lines, hyphenated_words, normalise_text
from qaforge.extract.errors import ExtractionError
from qaforge.extract.headings import mark_heuristic_headings, mark_outline_headings
from qaforge.extract.layout import block_elements, build_blocks, doc_stats
from qaforge.extract.pdfium import (
    Line,
    OutlineEntry,
    PageReader,
    PageText,
    check_file,
    open_document,
    open_page,
    read_outline,
)
from qaforge.extract.tables import mark_tables
from qaforge.fileio import sha256_file
from qaforge.records import Document, Element, PageIssue

DEFAULT_MAX_PAGES = 5000
#: an outline that matches fewer of its entries than this share is not trusted alone
OUTLINE_MIN_MATCH = 0.5


@dataclass
class _PageResult:
    text: PageText
    issue: str | None = None
    ocr_used: bool = False
    dropped_garbage: int = 0


@dataclass
class _Notes:
    """What the page loop learned, for the document's issues and warnings."""

    results: list[_PageResult] = field(default_factory=list)
    ocr_requested: bool = False
    ocr_errors: list[str] = field(default_factory=list)


def extract_pdf(path: Path, *, password: str | None = None, ocr: bool = False,
                max_pages: int = DEFAULT_MAX_PAGES,
                memory_limit_mb: int = isolation.DEFAULT_MEMORY_LIMIT_MB) -> Document:
    """Extract ``path`` into elements in reading order, with per-page issues and warnings.
    DOCX, EPUB, HTML, Markdown and text files (by suffix) are read by :mod:`qaforge.ingest`.

    Raises :class:`ExtractionError` (:class:`EncryptedPDFError` for a missing or wrong
    password) with a one-line reason when the file yields nothing: missing, empty, not a
    PDF, truncated, corrupt, no pages, more pages than ``max_pages``, more memory than
    ``memory_limit_mb`` or a crash of the PDF library. Pages without a usable text layer
    are listed in ``Document.page_issues``; with ``ocr=True`` they are read by tesseract
    when it is installed.

    The work runs in a reused child process capped at ``memory_limit_mb`` (see
    :mod:`qaforge.extract.isolation`), so a decompression bomb or a PDFium crash costs only
    this file; ``memory_limit_mb=0`` extracts in this process, unbounded.
    """
    if memory_limit_mb > 0 and isolation.supported():
        return isolation.extract_isolated(Path(path), password=password, ocr=ocr,
                                          max_pages=max_pages, limit_mb=memory_limit_mb)
    return extract_in_process(path, password=password, ocr=ocr, max_pages=max_pages)


def extract_in_process(path: Path, *, password: str | None = None, ocr: bool = False,
                       max_pages: int = DEFAULT_MAX_PAGES) -> Document:
    """:func:`extract_pdf` in this process, with no memory cap (the worker's body)."""
    path = Path(path)
    from qaforge import ingest  # DOCX, EPUB, HTML, Markdown, text: same worker, same Document

    if not ingest.is_pdf(path):
        return ingest.read_document(path)
    check_file(path)
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise ExtractionError(path, f"cannot read file ({exc.strerror or exc})") from exc
    pdf = open_document(path, password)
    try:
        n_pages = len(pdf)
        if n_pages == 0:
            raise ExtractionError(path, "the PDF has no pages")
        if n_pages > max_pages:
            raise ExtractionError(path, f"{n_pages:,} pages, more than the limit of "
                                        f"{max_pages:,} (split it into smaller PDFs if it is "
                                        "genuine)")
        outline = read_outline(pdf)
        notes = _read_pages(pdf, n_pages, ocr)
    finally:
        pdf.close()
    elements = _assemble(notes.results, outline)
    issues = [PageIssue(page=r.text.number, reason=_issue_text(r))
              for r in notes.results if r.issue or r.dropped_garbage]
    return Document(file=path.name, path=str(path), sha256=digest, pages=n_pages,
                    elements=elements, page_issues=issues,
                    warnings=_warnings(notes, n_pages, elements))


def _read_pages(pdf: pdfium.PdfDocument, n_pages: int, ocr: bool) -> _Notes:
    notes = _Notes(ocr_requested=ocr)
    reader = PageReader()
    tesseract = ocr_mod.tesseract_path() if ocr else None
    for index in range(n_pages):
        with open_page(pdf, index) as (page, seconds):
            try:
                text = reader.read(page, index + 1, seconds)
            except pdfium.PdfiumError as exc:
                text = PageText(index + 1, 0.0, 0.0, problem=f"text could not be read ({exc})")
            result = _PageResult(text, text.problem or quality.page_issue(text.raw_text,
                                                                         text.image_cover))
            if page is not None and tesseract and quality.needs_ocr(result.issue):
                _ocr_into(result, page, notes)
            elif quality.partly_unreadable(text.raw_text):
                before = len(text.lines)
                text.lines = [ln for ln in text.lines if not quality.is_garbage_line(ln.text)]
                result.dropped_garbage = before - len(text.lines)
        for line in text.lines:
            line.text = normalise_text(line.text)
        text.lines = [line for line in text.lines if line.text]
        text.raw_text = ""  # only the lines are needed from here on
        notes.results.append(result)
    return notes


def _ocr_into(result: _PageResult, page: pdfium.PdfPage, notes: _Notes) -> None:
    try:
        paragraphs = ocr_mod.ocr_paragraphs(ocr_mod.ocr_page(page))
    except ocr_mod.OCRError as exc:
        notes.ocr_errors.append(f"page {result.text.number}: {exc}")
        return
    size = 10.0
    result.text.lines = [
        Line(text, result.text.number, 0.0, 0.0, float(k) * 3 * size, size, role="ocr")
        for k, text in enumerate(paragraphs)
    ]
    result.ocr_used = True


def _issue_text(result: _PageResult) -> str:
    if result.issue is None:
        return (f"some text unreadable (font without a Unicode map); "
                f"{result.dropped_garbage} line(s) dropped")
    return result.issue + ("; text read by OCR" if result.ocr_used else "")


def _assemble(results: list[_PageResult], outline: list[OutlineEntry]) -> list[Element]:
    drop_running_lines([(r.text.lines, r.text.height) for r in results if not r.ocr_used])
    kept = [line for r in results for line in r.text.lines if line.role != "drop"]
    if not kept:
        return []
    stats = doc_stats([line for line in kept if not line.role])
    with_page = sum(1 for entry in outline if entry.page is not None)
    matched = mark_outline_headings(kept, outline) if with_page else 0
    if matched < OUTLINE_MIN_MATCH * with_page or not with_page:
        mark_heuristic_headings(kept, stats)
    mark_tables(kept, stats.pitch)
    compounds = hyphenated_words(line.text for line in kept)
    return block_elements(build_blocks(kept, stats), stats, compounds)


def page_list(pages: Iterable[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    spans: list[list[int]] = []
    for number in sorted(set(pages)):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in spans)


def _ocr_hint(notes: _Notes) -> str:
    if ocr_mod.tesseract_path() is None:
        return f"install tesseract-ocr ({ocr_mod.INSTALL_HINT}) and pass --ocr"
    return "OCR failed on them" if notes.ocr_requested else "pass --ocr to read them"


def _warnings(notes: _Notes, n_pages: int, elements: list[Element]) -> list[str]:
    warnings: list[str] = []
    pending = [r for r in notes.results if quality.needs_ocr(r.issue) and not r.ocr_used]
    scanned = [r.text.number for r in pending if r.issue == quality.NO_TEXT_SCANNED]
    garbage = [r.text.number for r in pending if (r.issue or "").startswith("garbage")]
    if scanned:
        warnings.append(f"{len(scanned)} of {n_pages} pages have no text layer (scanned?): "
                        f"page {page_list(scanned)}; {_ocr_hint(notes)}")
    if garbage:
        warnings.append(f"{len(garbage)} of {n_pages} pages have unreadable text (fonts without "
                        f"a Unicode map): page {page_list(garbage)}; {_ocr_hint(notes)}")
    ocr_done = [r.text.number for r in notes.results if r.ocr_used]
    if ocr_done:
        warnings.append(f"{len(ocr_done)} pages read by OCR (check them): page "
                        f"{page_list(ocr_done)}")
    warnings.extend(notes.ocr_errors[:5])
    for result in notes.results:
        problem = result.text.problem
        if problem:
            warnings.append(f"page {result.text.number}: {problem}")
    if not elements:
        warnings.append("no text found in this PDF")
    return warnings
