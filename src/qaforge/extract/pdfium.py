"""Read PDFs with PDFium (pypdfium2): open with clear errors, then text lines with geometry.

One :class:`Line` per printed line, in PDFium's reading order, carrying what the later
steps need to tell paragraphs, headings and page furniture apart: position on the page
(in points, origin top-left as the page is displayed), font size, bold and monospace.
Text outside the crop box (printer slugs) is dropped here.

PDFium joins a word broken by a line-end hyphen into one line and marks the break with
U+FFFE (``\\x02`` in its bounded-text API). We split such a line back into its two
printed lines, the first flagged ``hyphen``, so the layout step sees true line geometry
and decides how to rejoin the word.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from qaforge.extract.errors import EncryptedPDFError, ExtractionError

#: a page with more characters than this keeps only the first ones (PDFium needs ~180 bytes
#: of memory per character on a text page)
MAX_PAGE_CHARS = 1_000_000
#: estimated characters above which a page's text is not loaded at all
MAX_PAGE_CHARS_ESTIMATE = 4_000_000
#: pages parsed slower than this, or with more objects, get their text volume estimated
#: before PDFium builds a text page for them
SUSPICIOUS_PAGE_LOAD_S = 0.25
SUSPICIOUS_PAGE_OBJECTS = 5_000
MAX_OUTLINE_ENTRIES = 10_000

HYPHEN_MARKS = ("\ufffe", "\x02")
# bound once: these run for every line of every page
_GetCharOrigin = pdfium_c.FPDFText_GetCharOrigin
_GetCharBox = pdfium_c.FPDFText_GetCharBox
_GetFontSize = pdfium_c.FPDFText_GetFontSize
_GetMatrix = pdfium_c.FPDFText_GetMatrix
_GetFontInfo = pdfium_c.FPDFText_GetFontInfo
_BOLD_NAME = re.compile(r"bold|black|heavy|semibold|demi|-medi|medium|cmbx|sfbx|cmb\d|-bd\b|-sb\b",
                        re.IGNORECASE)
_MONO_NAME = re.compile(r"mono|courier|cmtt|sftt|consol|menlo|typewriter|inconsolata|lucidaconsole"
                        r"|sourcecode|firacode|andale|letter.?gothic|ocr-?b", re.IGNORECASE)


@dataclass(slots=True)
class Line:
    """One printed line of text with the geometry the layout heuristics use."""

    text: str
    page: int
    x0: float
    x1: float
    y: float  # baseline, points from the top of the displayed page
    size: float
    bold: bool = False
    mono: bool = False
    hyphen: bool = False  # the last word continues on the next line
    glued: bool = False  # Hangul broken mid-word at the line end: the next line joins on
    role: str = ""  # set later: "heading", "table", "drop", ...
    level: int | None = None  # heading level; for role "table", the table number


@dataclass(slots=True)
class PageText:
    """The lines of one page, plus what is needed to judge whether the text layer is usable."""

    number: int
    width: float
    height: float
    lines: list[Line] = field(default_factory=list)
    raw_text: str = ""
    image_cover: float = 0.0  # share of the page covered by images, measured on text-poor pages
    problem: str | None = None  # the page could not be read (fully)


@dataclass(slots=True)
class OutlineEntry:
    level: int  # 1 = top
    title: str
    page: int | None  # 1-based destination page


def check_file(path: Path) -> None:
    """Refuse what is obviously not a readable PDF before handing it to PDFium."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ExtractionError(path, "not a regular file")
        with open(path, "rb") as handle:
            head = handle.read(1024)
    except FileNotFoundError as exc:
        raise ExtractionError(path, "file not found") from exc
    except OSError as exc:
        raise ExtractionError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if size == 0:
        raise ExtractionError(path, "empty file (0 bytes)")
    if b"%PDF-" not in head:
        raise ExtractionError(path, f"not a PDF file (no %PDF- header; starts with {head[:8]!r})")


def _ends_with_eof_marker(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 2048))
        return b"%%EOF" in handle.read()


def _scan(path: Path, pattern: re.Pattern[bytes]) -> bool:
    """Does the raw file contain ``pattern``? (Read in overlapping blocks.)"""
    tail = b""
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            if pattern.search(tail + block):
                return True
            tail = block[-64:]
    return False


_HANGUL_END = re.compile("[\uac00-\ud7af]$")
# three or more lone Hangul syllables and nothing else but a footnote mark
_LETTER_SPACED = re.compile(r"(?:[\uac00-\ud7af] ){2,}[\uac00-\ud7af][*\u2020\u2021\d]?$")
_ENCRYPT_KEY = re.compile(rb"/Encrypt\b")
_EMPTY_PAGE_TREE = re.compile(rb"/Count\s+0\b")
_NONEMPTY_PAGE_TREE = re.compile(rb"/Count\s+[1-9]")


def open_document(path: Path, password: str | None) -> pdfium.PdfDocument:
    """Open ``path`` with PDFium, turning its errors into one-line :class:`ExtractionError`.

    PDFium's error code is process-global and can be stale (it may still say "password"
    from an earlier file), so each reason is checked against the file itself.
    """
    try:
        return pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as exc:
        message = str(exc)
    detail = message.split("(PDFium: ", 1)[-1].rstrip(").") if "PDFium:" in message else message
    if "password" in detail.lower() and _scan(path, _ENCRYPT_KEY):
        if password is None:
            raise EncryptedPDFError(path, "encrypted PDF: password required (pass --password)")
        raise EncryptedPDFError(path, "encrypted PDF: wrong password")
    if not _ends_with_eof_marker(path):
        reason = "truncated PDF (no %%EOF at the end; PDFium cannot read it)"
    elif _scan(path, _EMPTY_PAGE_TREE) and not _scan(path, _NONEMPTY_PAGE_TREE):
        reason = "no pages (the PDF's page tree is empty)"
    else:
        reason = "corrupt PDF, PDFium cannot read or repair it"
    raise ExtractionError(path, reason)


def read_outline(pdf: pdfium.PdfDocument) -> list[OutlineEntry]:
    """The document outline (bookmarks) with 1-based levels and destination pages."""
    entries: list[OutlineEntry] = []
    try:
        for bookmark in itertools.islice(pdf.get_toc(), MAX_OUTLINE_ENTRIES):
            title = (bookmark.get_title() or "").strip()
            dest = bookmark.get_dest()
            index = dest.get_index() if dest is not None else None
            if title:
                entries.append(OutlineEntry(bookmark.level + 1, title,
                                            index + 1 if index is not None else None))
    except (pdfium.PdfiumError, ValueError, OSError):
        pass  # a broken outline is no reason to lose the text
    return entries


@contextmanager
def open_page(pdf: pdfium.PdfDocument, index: int
              ) -> Iterator[tuple[pdfium.PdfPage | None, float]]:
    """Yield ``(page, seconds PDFium took to parse it)``; the page is ``None`` when PDFium
    cannot load it. The page is always closed afterwards."""
    started = time.perf_counter()
    try:
        page = pdf[index]
    except pdfium.PdfiumError:
        yield None, 0.0
        return
    try:
        yield page, time.perf_counter() - started
    finally:
        page.close()


class _Frame:
    """Maps PDF user space to displayed-page coordinates (points, origin top-left)."""

    def __init__(self, page: pdfium.PdfPage) -> None:
        self.left, self.bottom, self.right, self.top = page.get_bbox()
        self.rotation = pdfium_c.FPDFPage_GetRotation(page) % 4
        width, height = self.right - self.left, self.top - self.bottom
        self.width, self.height = (height, width) if self.rotation % 2 else (width, height)

    def to_display(self, x: float, y: float) -> tuple[float, float]:
        if self.rotation == 0:
            return x - self.left, self.top - y
        if self.rotation == 1:
            return self.top - y, x - self.left
        if self.rotation == 2:
            return self.right - x, y - self.bottom
        return y - self.bottom, self.right - x

    def contains(self, x: float, y: float, slack: float = 1.0) -> bool:
        return (self.left - slack <= x <= self.right + slack
                and self.bottom - slack <= y <= self.top + slack)


class PageReader:
    """Reads pages of one document; holds the ctypes scratch space and a font cache."""

    def __init__(self) -> None:
        self._x, self._y = ctypes.c_double(), ctypes.c_double()
        self._l, self._r = ctypes.c_double(), ctypes.c_double()
        self._b, self._t = ctypes.c_double(), ctypes.c_double()
        self._matrix = pdfium_c.FS_MATRIX()
        self._flags = ctypes.c_int()
        self._name = ctypes.create_string_buffer(128)
        self._fonts: dict[bytes, tuple[bool, bool]] = {}

    def read(self, page: pdfium.PdfPage | None, number: int, load_seconds: float = 0.0
             ) -> PageText:
        """All text lines of ``page`` (1-based ``number``); problems go to ``PageText.problem``."""
        if page is None:
            return PageText(number, 0.0, 0.0, problem="page could not be loaded (damaged)")
        frame = _Frame(page)
        result = PageText(number, frame.width, frame.height)
        n_objects = pdfium_c.FPDFPage_CountObjects(page)
        if load_seconds > SUSPICIOUS_PAGE_LOAD_S or n_objects > SUSPICIOUS_PAGE_OBJECTS:
            estimate = _estimate_chars(page, n_objects)
            if estimate > MAX_PAGE_CHARS_ESTIMATE:
                result.problem = (f"too much text on one page (about {estimate:,} characters "
                                  f"in {n_objects:,} objects); page skipped")
                return result
        textpage = page.get_textpage()
        try:
            n_chars = textpage.count_chars()
            if n_chars > MAX_PAGE_CHARS:
                result.problem = (f"{n_chars:,} characters on one page; kept the first "
                                  f"{MAX_PAGE_CHARS:,}")
                n_chars = MAX_PAGE_CHARS
            text = textpage.get_text_range(0, n_chars) if n_chars > 0 else ""
            result.raw_text = text
            result.lines = self._lines(textpage, text, len(text) == n_chars, number, frame)
        finally:
            textpage.close()
        if len(result.raw_text.strip()) < 50:
            result.image_cover = _image_cover(page, n_objects, frame)
        return result

    def _lines(self, textpage: pdfium.PdfTextPage, text: str, aligned: bool, number: int,
               frame: _Frame) -> list[Line]:
        lines: list[Line] = []
        pos = 0
        for raw in text.split("\r\n"):
            start = pos
            pos += len(raw) + 2
            if not raw or raw.isspace():
                continue
            if "\ufffe" in raw or "\x02" in raw:
                segments = _split_at_hyphen_marks(raw, start)
            else:
                segments = [(raw, start, False)]
            for segment, seg_start, hyphen in segments:
                line = self._line(textpage, segment, seg_start, hyphen, aligned, number, frame)
                if line is not None:
                    lines.append(line)
        return lines

    def _line(self, textpage: pdfium.PdfTextPage, segment: str, start: int, hyphen: bool,
              aligned: bool, number: int, frame: _Frame) -> Line | None:
        stripped = segment.strip()
        if not stripped:
            return None
        # Korean wraps lines between syllables; the text stream has a space before the line
        # break where a word ends there, and none where the word goes on
        glued = bool(_HANGUL_END.search(segment))
        first = start + (len(segment) - len(segment.lstrip()))
        last = start + len(segment.rstrip()) - 1
        if not aligned:
            first = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, first)
            last = pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage, last)
            if first < 0 or last < 0:
                return None
        tp = textpage.raw
        x, y = self._x, self._y
        if not _GetCharOrigin(tp, first, x, y):
            return None
        if not frame.contains(x.value, y.value):
            return None  # outside the crop box: printer marks, slugs
        x0, top = frame.to_display(x.value, y.value)
        x1 = x0 + len(stripped) * 4.0
        if _GetCharBox(tp, last, self._l, self._r, self._b, self._t):
            x1 = max(frame.to_display(self._r.value, self._t.value)[0],
                     frame.to_display(self._r.value, self._b.value)[0])
        # style is read at two letters (not spaces: PDFium's generated spaces have no
        # font): near the start and in the middle, so one odd glyph does not decide it
        n = len(stripped)
        at = 2 if n > 2 else n - 1
        probe = first + (at if stripped[at] != " " else _letter_at(stripped, at))
        at = n // 2
        middle = first + (at if stripped[at] != " " else _letter_at(stripped, at))
        size = _GetFontSize(tp, middle)  # the middle: not a run-in label at the start
        if _GetMatrix(tp, middle, self._matrix):
            size *= math.hypot(self._matrix.c, self._matrix.d)
        bold, mono = self._font_style(tp, probe)
        if middle != probe and (bold or mono):
            bold_mid, mono_mid = self._font_style(tp, middle)
            bold, mono = bold and bold_mid, mono and mono_mid
        if _LETTER_SPACED.match(stripped):  # a name spaced out for looks: "김 창 호"
            stripped = stripped.replace(" ", "")
        return Line(stripped, number, x0, x1, top, round(size, 1), bold, mono, hyphen,
                    glued=glued)

    def _font_style(self, tp: object, index: int) -> tuple[bool, bool]:
        length = _GetFontInfo(tp, index, self._name, 128, self._flags)
        name = self._name.value if 0 < length <= 128 else b""
        style = self._fonts.get(name)
        if style is None:
            decoded = name.decode("latin-1")
            bold = (bool(_BOLD_NAME.search(decoded))
                    or pdfium_c.FPDFText_GetFontWeight(tp, index) >= 600)
            style = (bold, bool(_MONO_NAME.search(decoded)))
            self._fonts[name] = style
        return style


def _letter_at(text: str, index: int) -> int:
    """``index``, or the nearest following position that is not a space."""
    for position in range(index, min(len(text), index + 8)):
        if not text[position].isspace():
            return position
    return 0


def _split_at_hyphen_marks(raw: str, start: int) -> list[tuple[str, int, bool]]:
    """Split a PDFium line at its soft-hyphen marks into (text, start index, hyphen) parts."""
    parts: list[tuple[str, int, bool]] = []
    begin = 0
    for index, char in enumerate(raw):
        if char in HYPHEN_MARKS:
            parts.append((raw[begin:index], start + begin, True))
            begin = index + 1
    parts.append((raw[begin:], start + begin, False))
    return parts


def _estimate_chars(page: pdfium.PdfPage, n_objects: int) -> int:
    """Rough upper estimate of a page's characters from its text objects' extents."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    size = ctypes.c_float()
    total = 0
    deadline = time.monotonic() + 2.0
    for index in range(n_objects):
        obj = pdfium_c.FPDFPage_GetObject(page, index)
        if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_TEXT:
            continue
        if not pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            continue
        pdfium_c.FPDFTextObj_GetFontSize(obj, size)
        em = max(size.value, 0.1)
        extent = max(right.value - left.value, top.value - bottom.value)
        total += 1 + int(extent / (0.25 * em))
        if time.monotonic() > deadline:
            # so many objects that even counting them is slow: extrapolate
            return total * n_objects // (index + 1)
    return total


def _image_cover(page: pdfium.PdfPage, n_objects: int, frame: _Frame) -> float:
    """Largest share of the page covered by one image (0 when there is none)."""
    left, bottom, right, top = (ctypes.c_float() for _ in range(4))
    page_area = max(frame.width * frame.height, 1.0)
    best = 0.0
    for index in range(min(n_objects, 2000)):
        obj = pdfium_c.FPDFPage_GetObject(page, index)
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind not in (pdfium_c.FPDF_PAGEOBJ_IMAGE, pdfium_c.FPDF_PAGEOBJ_FORM):
            continue
        if pdfium_c.FPDFPageObj_GetBounds(obj, left, bottom, right, top):
            area = (right.value - left.value) * (top.value - bottom.value)
            best = max(best, min(area / page_area, 1.0))
    return best
