"""Documents that are not PDFs: DOCX, EPUB, HTML, Markdown and plain text become the same
:class:`~qaforge.records.Document` of elements a PDF does, so chunking and everything after
it is unchanged. One small module per format, each returning
:class:`~qaforge.ingest.blocks.Block` s:

>>> from qaforge.ingest import read_document
>>> doc = read_document(Path("guide.md"))                 # doctest: +SKIP
>>> [(e.kind, e.page, e.line) for e in doc.elements][:3]   # doctest: +SKIP

These formats have no pages: an element's ``page`` is its section (the EPUB chapter, or
the run from one top-level heading to the next) and ``Document.pages`` counts them;
Markdown and text elements also carry their source ``line``. PDFs go through
:mod:`qaforge.extract`; :func:`qaforge.extract.extract_pdf` hands these suffixes here, in
the same memory-capped worker process.
"""

from __future__ import annotations

import importlib
import zipfile
from pathlib import Path

from qaforge.errors import ExtractionError
from qaforge.fileio import sha256_file
from qaforge.records import Document

#: suffix -> the module of this package that reads it
READERS: dict[str, str] = {
    ".docx": "docx", ".epub": "epub", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".txt": "text",
}
#: every suffix qaforge reads, PDFs included
SUFFIXES: frozenset[str] = frozenset({".pdf", *READERS})
FORMATS_TEXT = "PDF, DOCX, EPUB, HTML, Markdown or plain text"

__all__ = ["READERS", "SUFFIXES", "is_document", "is_pdf", "read_document", "unsupported"]


def is_document(path: Path) -> bool:
    """True when ``path``'s suffix is one qaforge reads (case-insensitive)."""
    return path.suffix.lower() in SUFFIXES


def is_pdf(path: Path) -> bool:
    """Whether ``path`` goes to the PDF extractor: a ``.pdf`` suffix, or a suffix of no other
    format on a file that starts like a PDF (the PDF extractor explains a missing file)."""
    suffix = path.suffix.lower()
    if suffix == ".pdf" or not path.is_file():
        return suffix not in READERS
    if suffix in READERS:
        return False
    try:
        with path.open("rb") as handle:
            return b"%PDF-" in handle.read(1024)
    except OSError:
        return True


def unsupported(path: Path) -> str:
    """The one-line reason a file of this kind is not read."""
    kind = f"{path.suffix} files" if path.suffix else "files without a suffix"
    return (f"unsupported format ({kind}); qaforge reads {FORMATS_TEXT} "
            f"({', '.join(sorted(SUFFIXES))})")


def read_document(path: Path) -> Document:
    """Read a DOCX, EPUB, HTML, Markdown or text file into a :class:`Document`.

    Raises :class:`~qaforge.errors.ExtractionError` with a one-line reason when the file
    cannot be read at all (missing, unsupported suffix, not the format its suffix says,
    not text). A readable file without text gives no elements and a warning, as for PDFs.
    """
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise ExtractionError(path, unsupported(path))
    if not path.is_file():
        raise ExtractionError(path, "no such file" if not path.exists() else "not a file")
    from qaforge.ingest.blocks import Block, NotReadable, to_elements

    kind = path.suffix.lstrip(".").upper()
    try:
        digest = sha256_file(path)
        blocks: list[Block] = importlib.import_module(f"qaforge.ingest.{reader}").read(path)
    except NotReadable as exc:  # a reader's own refusal says what the file is instead
        raise ExtractionError(path, str(exc)) from exc
    except OSError as exc:
        raise ExtractionError(path, f"cannot read file ({exc.strerror or exc})") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise ExtractionError(path, f"broken {kind} file (damaged ZIP archive: {exc})") from exc
    except MemoryError:
        raise  # the worker reports it as too large, and restarts
    except Exception as exc:  # untrusted bytes: whatever a parser raises costs only this file
        raise ExtractionError(path, f"malformed {kind} file ({type(exc).__name__}: "
                                    f"{str(exc)[:200]})") from exc
    elements, sections = to_elements(blocks)
    warnings = [] if elements else [f"no text found in this {reader.upper()} file"]
    return Document(file=path.name, path=str(path), sha256=digest, pages=sections,
                    elements=elements, warnings=warnings)
