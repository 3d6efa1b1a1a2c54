"""Text clean-up on top of PDFium's raw lines.

- :func:`normalise_text`: ligature code points expanded, odd spaces made plain, control
  characters and zero-width junk removed, Unicode composed (NFC). Deliberately not NFKC:
  that would turn ``x²`` into ``x2`` and mangle math and CJK punctuation.
- :func:`drop_running_lines`: running headers/footers and page numbers are lines near the
  top or bottom edge that repeat across pages (digits normalised), or that sit in one
  edge slot whose text changes only every few pages (chapter-named headers).
- :func:`join_hyphenated`: how a word broken by a line-end hyphen is put back together.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence

from qaforge.extract.pdfium import Line

LIGATURES = {
    "\ufb00": "ff", "\ufb01": "fi", "\ufb02": "fl", "\ufb03": "ffi", "\ufb04": "ffl",
    "\ufb05": "st", "\ufb06": "st",
}
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
          "\u202f\u205f\u3000\t\r\n\x0b\x0c"
_REMOVED = "\u00ad\u200b\u2060\ufeff\ufffe\uffff"

_TABLE: dict[int, str | None] = {ord(k): v for k, v in LIGATURES.items()}
_TABLE.update({ord(c): " " for c in _SPACES})
_TABLE.update({ord(c): None for c in _REMOVED})
_TABLE.update({c: None for c in range(0x20) if chr(c) not in _SPACES})
_TABLE.update({c: None for c in range(0x7F, 0xA0)})
#: Symbol/Wingdings bullets that arrive as private-use code points
_TABLE.update({c: "•" for c in (0xF0B7, 0xF0A7, 0xF0A8, 0xF06E, 0xF0D8, 0xF0FC, 0xF076, 0xF075)})

_MULTISPACE = re.compile(r" {2,}")
_DIGITS = re.compile(r"\d+")
_ROMAN_TOKEN = re.compile(r"\b[ivxlcdm]{1,7}\b")
_NON_WORD = re.compile(r"[^\w#]+")

#: running headers sit in the outer 12% of the page, and at most this many lines deep
EDGE_BAND = 0.12
EDGE_LINES = 3
MIN_SHARE = 0.3
#: a running header is set off from the body by at least this many font sizes
GAP_FACTOR = 1.8


def normalise_text(text: str) -> str:
    """Ligatures expanded, spaces and controls cleaned, NFC; keeps math, CJK and accents."""
    text = text.translate(_TABLE)
    if "  " in text:
        text = _MULTISPACE.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def edge_key(text: str) -> str:
    """What stays the same in a running header across pages: digits and numerals folded."""
    key = _DIGITS.sub("#", text.lower())
    key = _ROMAN_TOKEN.sub("#", key)
    return _NON_WORD.sub(" ", key).strip()


def _edge_lines(lines: Sequence[Line], height: float) -> list[tuple[bool, Line]]:
    """Lines set apart at the top and bottom edges, each tagged ``is_top``.

    Only the first (last) few lines count, and only when a clear gap separates them from
    the text that follows (precedes) them: the first line of a page's body text is not a
    header just because every page starts the same way.
    """
    if not lines or height <= 0:
        return []
    by_y = sorted(lines, key=lambda line: line.y)
    top = _separated(by_y[:EDGE_LINES + 1], lambda line: line.y <= height * EDGE_BAND)
    bottom_up = by_y[::-1][:EDGE_LINES + 1]
    bottom = _separated(bottom_up, lambda line: line.y >= height * (1 - EDGE_BAND))
    return ([(True, line) for line in top]
            + [(False, line) for line in bottom if all(line is not t for t in top)])


def _separated(ordered: Sequence[Line], in_band: Callable[[Line], bool]) -> list[Line]:
    """The lines from the edge inwards up to the last one followed by a clear gap."""
    kept: list[Line] = []
    for index, line in enumerate(ordered[:EDGE_LINES]):
        if not in_band(line):
            break
        if index + 1 == len(ordered):
            kept = list(ordered[:index + 1])  # nothing else on the page
            break
        following = ordered[index + 1]
        if abs(following.y - line.y) >= GAP_FACTOR * max(line.size, following.size):
            kept = list(ordered[:index + 1])
    return kept


def drop_running_lines(pages: Sequence[tuple[Sequence[Line], float]]) -> int:
    """Mark running headers, footers and page numbers with ``role = "drop"``.

    ``pages`` holds each page's lines and its height. Returns how many lines were marked.
    Needs three or more pages with text: on fewer, nothing can be said to repeat.
    """
    edges = [_edge_lines(lines, height) for lines, height in pages if lines]
    if len(edges) < 3:
        return 0
    threshold = max(2, math.ceil(MIN_SHARE * len(edges)))
    pages_per_key: dict[str, set[int]] = defaultdict(set)
    slots: dict[tuple[bool, int, int], list[tuple[str, Line]]] = defaultdict(list)
    for page_edges in edges:
        for is_top, line in page_edges:
            key = edge_key(line.text)
            pages_per_key[key].add(line.page)
            slots[(is_top, round(line.y / 3), round(line.size))].append((key, line))
    dropped = 0
    for page_edges in edges:
        for _, line in page_edges:
            if len(pages_per_key[edge_key(line.text)]) >= threshold and line.role != "drop":
                line.role = "drop"
                dropped += 1
    return dropped + _drop_chapter_headers(slots.values(), threshold)


def _drop_chapter_headers(slots: Iterable[list[tuple[str, Line]]], threshold: int) -> int:
    """Edge slots filled on many pages whose text changes only every few pages."""
    dropped = 0
    for members in slots:
        pages = {line.page for _, line in members}
        if len(pages) < threshold:
            continue
        counts = Counter(key for key, _ in members)
        if len(counts) * 3 > len(pages) or any(len(line.text) > 150 for _, line in members):
            continue
        repeated = sum(n for n in counts.values() if n >= 2)
        if repeated < 0.8 * len(members):
            continue
        for _, line in members:
            if line.role != "drop":
                line.role = "drop"
                dropped += 1
    return dropped


_HYPHENATED = re.compile(r"\b(\w+)-(\w+)\b")


def hyphenated_words(texts: Iterable[str]) -> set[str]:
    """Lower-cased ``left-right`` compounds that the document spells with a hyphen."""
    found: set[str] = set()
    for text in texts:
        if "-" in text:
            found.update(f"{a}-{b}".lower() for a, b in _HYPHENATED.findall(text))
    return found


def join_hyphenated(left: str, right: str, compounds: set[str]) -> str:
    """Join ``left`` (ending in a word broken at the line end) and ``right``.

    The hyphen goes when the next line starts in lower case (``inter-`` + ``national``),
    unless the document spells that compound with a hyphen elsewhere; it stays before a
    capital or digit (``Schwarz-`` + ``Weiß``, ``S-`` + ``Plus``).
    """
    if not right:
        return left + "-"
    head = right[0]
    if not head.isalpha() or not head.islower():
        return f"{left}-{right}"
    last_word = left.rsplit(" ", 1)[-1]
    next_word = right.split(" ", 1)[0]
    compound = f"{last_word}-{next_word}".lower().strip(".,;:!?)]}\"'")
    if compound in compounds:
        return f"{left}-{right}"
    return left + right
