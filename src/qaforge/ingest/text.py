"""Plain text (``.txt``) -> blocks, and the one way every reader turns bytes into text.

Encoding: a byte-order mark wins, then UTF-8, then (HTML) the page's declared charset,
then charset-normalizer's guess; bytes that are no text at all are refused.

Layout, from the lines alone: paragraphs are separated by blank lines; a heading is an
underlined line (``Title`` over ``=====``, as in reStructuredText and setext Markdown) or
a short numbered line on its own left of the body text (``2.1 Scope``; ``Chapter 3. Files``
anywhere); lines that start with ``-``, ``*``, ``+`` or ``•`` are list
items; a block indented deeper than the body text is kept as code (line breaks kept).
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from pathlib import Path

from qaforge.ingest.blocks import Block, NotReadable

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.I)
_UNDERLINE = re.compile(r"^\s*([=\-~*#^\"+`'_.:])\1{2,}\s*$")
_NUMBERED = re.compile(r"^(?:(chapter|appendix|part|section)\s+)?([0-9]+|[A-Z])((?:\.[0-9]+)*)"
                       r"\.?\s+\S", re.I)
_BULLET = re.compile(r"^\s*(?:[-*+•◦▪‣]|o(?=\s))\s+")
MAX_HEADING_CHARS = 80


class NotText(NotReadable):
    """The bytes are not text in any encoding we can tell (the caller names the file)."""


def decode(data: bytes, *, html: bool = False) -> str:
    """``data`` as text (see the module's rules); raises :class:`NotText`."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if html and (found := _META_CHARSET.search(data[:4096])):
        try:
            return data.decode(found.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    if b"\x00" in data[:8192]:
        raise NotText("binary data, not text")
    from charset_normalizer import from_bytes

    best = from_bytes(data[:1 << 20]).best()
    if best is None or best.encoding is None:
        raise NotText("not text in any encoding that could be recognised")
    return data.decode(best.encoding, errors="replace")


def read(path: Path) -> list[Block]:
    """The blocks of the plain-text file at ``path``."""
    return text_blocks(decode(path.read_bytes()))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _groups(lines: list[str]) -> list[tuple[int, list[str]]]:
    """Runs of non-blank lines with the 1-based number of their first line."""
    groups: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(lines, 1):
        if line.strip():
            if not current:
                groups.append((number, current))
            current.append(line.expandtabs(8).rstrip())
        elif current:
            current = []
    return groups


def text_blocks(text: str) -> list[Block]:
    """The blocks of a plain-text document."""
    groups = _groups(text.splitlines())
    # the body's indentation: that of most long lines (centred titles and tables are short)
    long = Counter(_indent(line) for _, g in groups for line in g if len(line.strip()) >= 50)
    body = long.most_common(1)[0][0] if long else 0
    underline_levels: dict[str, int] = {}
    out: list[Block] = []
    for number, group in groups:
        out.extend(_group_blocks(number, group, body, underline_levels))
    return out


def _group_blocks(number: int, group: list[str], body: int,
                  underline_levels: dict[str, int]) -> list[Block]:
    lines = list(group)
    start = number
    if len(lines) >= 3 and _UNDERLINE.match(lines[0]) and _UNDERLINE.match(lines[2]):
        lines, start = lines[1:], number + 1  # an over- and underlined title
    if len(lines) >= 2 and (mark := _UNDERLINE.match(lines[1])) and len(
            lines[1].strip()) >= 0.6 * len(lines[0].strip()) and not _UNDERLINE.match(lines[0]):
        level = underline_levels.setdefault(mark.group(1), len(underline_levels) + 1)
        heading = Block("heading", lines[0], level=level, line=start)
        rest = lines[3:] if len(lines) > 2 and _UNDERLINE.match(lines[2]) else lines[2:]
        return [heading, *_group_blocks(start + len(lines) - len(rest), rest, body,
                                        underline_levels)] if rest else [heading]
    if len(lines) == 1 and (numbered := _numbered_level(lines[0], body)):
        return [Block("heading", lines[0], level=numbered, line=start)]
    if _BULLET.match(lines[0]):
        return _items(lines, start)
    first_item = next((i for i, line in enumerate(lines) if _BULLET.match(line)), None)
    if first_item is not None:  # "The rules:" and its items with no blank line between
        return [Block("paragraph", " ".join(lines[:first_item]), line=start),
                *_items(lines[first_item:], start + first_item)]
    if all(_indent(line) >= (body + 2 if body else 4) for line in lines):
        return [Block("code", "\n".join(line[min(map(_indent, lines)):] for line in lines),
                      line=start)]
    return [Block("paragraph", " ".join(lines), line=start)]


def _numbered_level(line: str, body: int) -> int | None:
    """Heading level of a short numbered line on its own, else ``None``."""
    text = line.strip()
    match = _NUMBERED.match(text)
    if match is None or len(text) > MAX_HEADING_CHARS or text.endswith((".", ",", ";")):
        return None
    if match.group(1):
        return 1  # "Chapter 2. ...", also centred
    # numbered lines indented like the body or deeper are list or table-of-contents entries
    return None if _indent(line) and _indent(line) >= body else 1 + match.group(3).count(".")


def _items(lines: list[str], start: int) -> list[Block]:
    items: list[Block] = []
    for offset, line in enumerate(lines):
        if _BULLET.match(line) or not items:
            items.append(Block("list_item", _BULLET.sub("", line, count=1), line=start + offset))
        else:
            items[-1].text += " " + line.strip()
    return items
