"""Find headings: from the PDF outline when it has one, by cautious heuristics otherwise.

Outline entries are matched to one to three consecutive lines on their destination page
(or the page either side) by their letters and digits, ignoring a leading section number
that one side may lack. Without a usable outline a line is a heading when it looks like a
title (short, no final period, starts with a capital) and either carries a section number
(``2.1 Methods``) in bold or larger type, or is set clearly larger than the body text.
Runs of three or more such lines in a row are a table of contents or a list, not headings.
A false heading does more harm than a missed one, so every rule errs towards "no".
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

from qaforge.extract.layout import DocStats, is_caption
from qaforge.extract.pdfium import Line, OutlineEntry

_KEY_DROP = re.compile(r"[\W_]+")
_KEY_NUMBER = re.compile(r"^(?:chapter|section|part|appendix|kapitel|anhang)?\d*")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+(\S.*)$")
_LEADER_DOTS = re.compile(r"(?:\.\s?){3,}|…")
_TERMINAL = (".", ",", ";", ":", "。", "、", "，")
_BULLET = re.compile(r"^[•◦▪▫●○■□►▸‣⁃∙·✓✔➢➤❖◆◇*–—-]")
MAX_LEVEL = 6
MAX_HEADING_WORDS = 15
MAX_HEADING_LINES = 3


def _key(text: str) -> str:
    return _KEY_DROP.sub("", text.casefold())


def _unnumbered(key: str) -> str:
    return _KEY_NUMBER.sub("", key, count=1)


def mark_outline_headings(lines: Sequence[Line], outline: Sequence[OutlineEntry]) -> int:
    """Mark the lines that print each outline entry; returns how many entries matched."""
    by_page: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        if not line.role:
            by_page[line.page].append(line)
    keys = {id(line): _key(line.text) for page in by_page.values() for line in page}
    matched = 0
    for entry in outline:
        if entry.page is None:
            continue
        title = _key(entry.title)
        if len(title) < 2:
            continue
        for page in (entry.page, entry.page + 1, entry.page - 1):
            window = _find_title(by_page.get(page, []), keys, title)
            if window:
                for line in window:
                    line.role = "heading"
                    line.level = min(entry.level, MAX_LEVEL)
                matched += 1
                break
    return matched


def _find_title(lines: list[Line], keys: dict[int, str], title: str) -> list[Line] | None:
    bare_title = _unnumbered(title)
    for start in range(len(lines)):
        joined = ""
        for end in range(start, min(start + MAX_HEADING_LINES, len(lines))):
            line = lines[end]
            if line.role:
                break
            joined += keys[id(line)]
            if joined == title or (len(bare_title) >= 2 and _unnumbered(joined) == bare_title):
                return lines[start:end + 1]
            if len(joined) > len(title) + 12:
                break
    return None


def _title_like(text: str) -> bool:
    if (len(text) > 120 or text.endswith(_TERMINAL) or _LEADER_DOTS.search(text)
            or _BULLET.match(text)):
        return False
    words = text.split()
    if not words or len(words) > MAX_HEADING_WORDS:
        return False
    letters = sum(1 for char in text if char.isalpha())
    if letters < 3 or letters < 0.5 * len(text.replace(" ", "")):
        return False
    first_letter = next(char for char in text if char.isalpha())
    return not first_letter.islower() and not is_caption(text)


def _candidate(line: Line, stats: DocStats) -> int | None:
    """0 for an unnumbered heading candidate, its depth for a numbered one, else None."""
    if line.mono or not (line.bold or line.size >= 1.1 * stats.body_size):
        return None
    text = line.text
    if not _title_like(text):
        return None
    numbered = _NUMBERED.match(text)
    if numbered and numbered.group(2)[0].isalpha() and not numbered.group(2)[0].islower():
        if line.bold or line.size >= 1.1 * stats.body_size:
            return numbered.group(1).count(".") + 1
        return None
    if line.size >= 1.15 * stats.body_size and (line.bold or line.size >= 1.3 * stats.body_size):
        return 0
    return None


def mark_heuristic_headings(lines: Sequence[Line], stats: DocStats) -> int:
    """Mark heading lines by type size, weight and numbering; returns headings found."""
    found: list[tuple[list[Line], int]] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        depth = None if line.role else _candidate(line, stats)
        if depth is None:
            index += 1
            continue
        group = [line]
        while len(group) < MAX_HEADING_LINES and index + len(group) < len(lines):
            nxt = lines[index + len(group)]
            prev = group[-1]
            if (nxt.role or nxt.page != prev.page or abs(nxt.size - prev.size) > 0.5
                    or nxt.bold != prev.bold or _NUMBERED.match(nxt.text)
                    or not 0 < nxt.y - prev.y <= 1.5 * stats.pitch_for(prev.size)
                    or len(nxt.text) > 120 or nxt.text.endswith(".")):
                break
            group.append(nxt)
        found.append((group, depth))
        index += len(group)
    kept = _drop_runs(found, stats)
    _assign_levels(kept, stats.body_size)
    return len(kept)


def _drop_runs(found: list[tuple[list[Line], int]], stats: DocStats
               ) -> list[tuple[list[Line], int]]:
    """Three or more candidates stacked at body pitch are a contents page or a list."""
    kept: list[tuple[list[Line], int]] = []
    run: list[tuple[list[Line], int]] = []

    def flush() -> None:
        if len(run) < 3:
            kept.extend(run)
        run.clear()

    for group, depth in found:
        if run:
            prev = run[-1][0][-1]
            first = group[0]
            tight = (first.page == prev.page
                     and 0 < first.y - prev.y <= 1.6 * stats.pitch_for(prev.size))
            if not tight:
                flush()
        run.append((group, depth))
    flush()
    return kept


def _assign_levels(found: Sequence[tuple[Sequence[Line], int]], body_size: float) -> None:
    """Numbered headings get their depth; unnumbered ones a tier by size against the body."""
    for group, depth in found:
        if depth:
            level = depth
        else:
            ratio = group[0].size / body_size
            level = 1 if ratio >= 1.6 else 2 if ratio >= 1.3 else 3
        for line in group:
            line.role = "heading"
            line.level = min(level, MAX_LEVEL)
