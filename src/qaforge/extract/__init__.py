"""PDF extraction: a PDF file becomes a :class:`~qaforge.records.Document` of elements.

>>> from qaforge.extract import extract_pdf
>>> doc = extract_pdf(Path("manual.pdf"))            # doctest: +SKIP
>>> [(e.kind, e.page) for e in doc.elements][:3]       # doctest: +SKIP

Built on PDFium (pypdfium2): text lines with their geometry, cleaned (hyphenation,
ligatures, running headers/footers), grouped into headings, paragraphs, list items,
captions, code and tables. Pages without usable text are reported, and can be read by
tesseract with ``ocr=True``.
"""

from __future__ import annotations

from qaforge.extract.errors import EncryptedPDFError, ExtractionError
from qaforge.extract.extractor import DEFAULT_MAX_PAGES, extract_pdf
from qaforge.extract.ocr import INSTALL_HINT as OCR_INSTALL_HINT
from qaforge.extract.ocr import tesseract_path

__all__ = [
    "DEFAULT_MAX_PAGES",
    "OCR_INSTALL_HINT",
    "EncryptedPDFError",
    "ExtractionError",
    "extract_pdf",
    "tesseract_path",
]
