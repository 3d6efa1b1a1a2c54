"""Optional OCR for pages without a usable text layer: PDFium render + Debian's tesseract.

The page is rendered in grey at 300 dpi (capped in pixels for huge pages), written as a
PGM file, and read by the ``tesseract`` command line tool through :mod:`subprocess`. No
Python OCR package and no network are needed, only the binary
(``apt-get install tesseract-ocr``). The language defaults to English and can be changed
with ``QAFORGE_OCR_LANG`` (e.g. ``deu+eng``; the matching ``tesseract-ocr-*`` packages
must be installed).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pypdfium2 as pdfium

from qaforge.errors import OCRError

INSTALL_HINT = "apt-get install tesseract-ocr"
DPI = 300
MAX_PIXELS_PER_SIDE = 7000
TIMEOUT_S = 180


def tesseract_path() -> str | None:
    """Where the ``tesseract`` binary is, or ``None`` when it is not installed."""
    return shutil.which("tesseract")


def ocr_language() -> str:
    return os.environ.get("QAFORGE_OCR_LANG", "eng")


def render_pgm(page: pdfium.PdfPage, dpi: int = DPI) -> bytes:
    """The page as a binary greyscale PGM image at ``dpi`` (smaller for huge pages)."""
    width, height = page.get_size()
    scale = dpi / 72
    longest = max(width, height) * scale
    if longest > MAX_PIXELS_PER_SIDE:
        scale *= MAX_PIXELS_PER_SIDE / longest
    bitmap = page.render(scale=scale, grayscale=True)
    try:
        view = memoryview(bitmap.buffer)
        rows = bytearray()
        for row in range(bitmap.height):
            start = row * bitmap.stride
            rows += view[start:start + bitmap.width]
        header = b"P5\n%d %d\n255\n" % (bitmap.width, bitmap.height)
        return header + bytes(rows)
    finally:
        bitmap.close()


def ocr_page(page: pdfium.PdfPage, *, lang: str | None = None, dpi: int = DPI,
             timeout: float = TIMEOUT_S) -> str:
    """Text of ``page`` read by tesseract; raises :class:`OCRError` with a clear reason."""
    binary = tesseract_path()
    if binary is None:
        raise OCRError(f"tesseract is not installed; install it with: {INSTALL_HINT}")
    image = render_pgm(page, dpi)
    with tempfile.TemporaryDirectory(prefix="qaforge-ocr-") as tmp:
        image_path = Path(tmp) / "page.pgm"
        image_path.write_bytes(image)
        command = [binary, str(image_path), "stdout", "-l", lang or ocr_language(),
                   "--dpi", str(dpi), "--psm", "3"]
        try:
            done = subprocess.run(command, capture_output=True, timeout=timeout, check=False,
                                  env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        except subprocess.TimeoutExpired as exc:
            raise OCRError(f"tesseract took longer than {timeout:.0f} s") from exc
        except OSError as exc:
            raise OCRError(f"cannot run tesseract ({exc.strerror or exc})") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OCRError(f"tesseract failed: {message[-1] if message else done.returncode}")
    return done.stdout.decode("utf-8", "replace")


def ocr_paragraphs(text: str) -> list[str]:
    """Tesseract output split at blank lines, each paragraph's lines joined (hyphens too)."""
    paragraphs: list[str] = []
    for block in text.replace("\f", "\n").split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        joined = lines[0]
        for line in lines[1:]:
            if joined.endswith("-") and line[:1].islower():
                joined = joined[:-1] + line
            else:
                joined += " " + line
        paragraphs.append(joined)
    return paragraphs
