"""Word (``.docx``) -> blocks: mammoth turns the document into semantic HTML (headings from
the paragraph styles, lists, tables, footnotes; no styling), which the HTML reader reads.
mammoth is pure Python (about 0.4 MB); see docs/benchmarks.md for the comparison.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from qaforge.ingest.blocks import Block, NotReadable
from qaforge.ingest.html import html_blocks

#: Word's title styles are headings too (mammoth maps only "Heading N" by default)
STYLE_MAP = """
p[style-name='Title'] => h1:fresh
p[style-name='Subtitle'] => h2:fresh
"""


class NotDocx(NotReadable):
    """The file is not a Word document (the caller names the file)."""


def read(path: Path) -> list[Block]:
    """The blocks of the Word document at ``path``; raises :class:`NotDocx`."""
    import mammoth

    if not zipfile.is_zipfile(path):
        raise NotDocx("not a Word .docx file (not a ZIP archive; an old .doc must be saved "
                      "as .docx first)")
    with zipfile.ZipFile(path) as archive:
        if "word/document.xml" not in archive.namelist():
            raise NotDocx("not a Word .docx file (no word/document.xml inside)")
    with path.open("rb") as handle:
        # images are not text: never decoded into the HTML; files the document links to
        # (an untrusted document may name /etc/passwd) are never opened
        result = mammoth.convert_to_html(
            handle, style_map=STYLE_MAP, external_file_access=False,
            convert_image=mammoth.images.img_element(lambda image: {}))
    return html_blocks(f"<html><body>{result.value}</body></html>")
