"""EPUB (``.epub``) -> blocks, one section per chapter: the ZIP's ``container.xml`` names
the package file, whose spine lists the chapters (XHTML) in reading order; each is read by
the HTML reader. Only the standard library: ebooklib, the usual choice, adds lxml (12 MB)
and refused a real EPUB whose manifest links carry a fragment (docs/benchmarks.md).

XML is parsed with the standard library's expat, which fetches no external entities and
stops entity-expansion bombs; the worker process caps memory besides.
"""

from __future__ import annotations

import posixpath
import zipfile
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree

from qaforge.ingest.blocks import Block, NotReadable
from qaforge.ingest.html import html_blocks, xhtml_as_html
from qaforge.ingest.text import decode

CHAPTER_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/xml"})


class NotEpub(NotReadable):
    """The file is not a readable EPUB (the caller names the file)."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(archive.read(name))
    except KeyError:
        raise NotEpub(f"not an EPUB ({name} is missing)") from None
    except ElementTree.ParseError as exc:
        raise NotEpub(f"broken EPUB ({name}: {exc})") from None


def chapters(archive: zipfile.ZipFile) -> list[str]:
    """The archive names of the chapters in reading order (the spine)."""
    container = _xml(archive, "META-INF/container.xml")
    package = next((e.get("full-path") for e in container.iter()
                    if _local(e.tag) == "rootfile" and e.get("full-path")), None)
    if package is None:
        raise NotEpub("not an EPUB (container.xml names no package file)")
    opf = _xml(archive, package)
    base = posixpath.dirname(package)
    manifest = {}
    for item in opf.iter():
        if _local(item.tag) == "item" and item.get("id") and item.get("href"):
            href = unquote((item.get("href") or "").split("#", 1)[0])
            manifest[item.get("id")] = (posixpath.normpath(posixpath.join(base, href)),
                                        item.get("media-type") or "")
    names = []
    for ref in opf.iter():
        if _local(ref.tag) != "itemref" or ref.get("linear") == "no":
            continue
        name, media = manifest.get(ref.get("idref"), ("", ""))
        if name and media in CHAPTER_TYPES and name not in names:
            names.append(name)
    return names


def _encrypted(archive: zipfile.ZipFile) -> set[str]:
    """Archive names listed as encrypted (DRM, or obfuscated fonts)."""
    if "META-INF/encryption.xml" not in archive.namelist():
        return set()
    root = _xml(archive, "META-INF/encryption.xml")
    return {unquote(e.get("URI") or "") for e in root.iter() if _local(e.tag) == "CipherReference"}


def read(path: Path) -> list[Block]:
    """The blocks of the EPUB at ``path``, each with its chapter as section; raises
    :class:`NotEpub`."""
    if not zipfile.is_zipfile(path):
        raise NotEpub("not an EPUB (not a ZIP archive)")
    out: list[Block] = []
    with zipfile.ZipFile(path) as archive:
        names = chapters(archive)
        if not names:
            raise NotEpub("an EPUB without chapters (its spine lists no XHTML documents)")
        locked = _encrypted(archive) & set(names)
        if locked:
            raise NotEpub(f"encrypted EPUB (DRM): {len(locked)} of {len(names)} chapters "
                          "cannot be read")
        for number, name in enumerate(names, 1):
            try:
                data = archive.read(name)
            except KeyError:
                raise NotEpub(f"broken EPUB (chapter {name} is missing)") from None
            for block in html_blocks(xhtml_as_html(decode(data, html=True))):
                block.section = number
                out.append(block)
    return out
