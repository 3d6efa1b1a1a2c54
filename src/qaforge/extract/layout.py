"""Turn a document's lines into elements: paragraphs, list items, code, captions, tables.

Lines become blocks by geometry: a new block starts at a vertical gap larger than the
usual line pitch, a change of font size or style, an indented first line after a
sentence end, a short last line, a list marker or a caption label. A paragraph that
breaks off mid-sentence at a column or page end continues at the next lower-case line,
even when a figure, caption or footnote was printed in between.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from qaforge.extract.cleanup import join_hyphenated
from qaforge.extract.pdfium import Line
from qaforge.extract.tables import is_table_row, to_markdown
from qaforge.records import Element, ElementKind

_LIST_MARKER = re.compile(
    r"^(?:[•◦▪▫●○■□►▸‣⁃∙·✓✔➢➤❖◆◇]|[-–—](?=\s)|\(?\d{1,3}[.)]|\(?[a-z][.)]|\([A-Za-z]\)"
    r"|[A-Z]\)|\((?:[ivx]{1,4})\)|(?:[ivx]{1,4})\.)\s+\S"
)
_BULLET_START = re.compile(r"^[◦▪▫●○■□►▸‣⁃∙·✓✔➢➤❖◆◇–—-]\s+")
_CAPTION = re.compile(
    r"^(?:(?:Figure|Fig\.|Table|Tab\.|Listing|Algorithm|Chart|Exhibit|Scheme|Plate|Abbildung"
    r"|Abb\.|Tabelle)\s*[A-Z]?\d+[a-z]?(?:[.-]\d+)*\s*[.:—–-]|(?:TABLE|FIGURE|FIG\.)\s+[IVX\d]+\b)"
)
_SENTENCE_END = (".", "!", "?", ":", ";", "。", "！", "？", "…")
_CLOSERS = "\"'”’)]»"
_CJK_NO_SPACE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_HANGUL_START = re.compile("[\uac00-\ud7af]")


@dataclass(slots=True)
class DocStats:
    """Typical sizes of a document: body font size and the line pitch per font size."""

    body_size: float
    pitch: dict[int, float]

    def pitch_for(self, size: float) -> float:
        return self.pitch.get(round(size)) or 1.2 * size


def doc_stats(lines: Sequence[Line]) -> DocStats:
    """Body size (most text is set in it) and per-size median baseline distance."""
    weight: Counter[float] = Counter()
    gaps: dict[int, list[float]] = defaultdict(list)
    previous: Line | None = None
    for line in lines:
        weight[round(line.size * 2) / 2] += len(line.text)
        if previous is not None and previous.page == line.page:
            dy = line.y - previous.y
            if abs(line.size - previous.size) < 0.5 and 0.6 * line.size < dy < 2.5 * line.size:
                bucket = gaps[round(line.size)]
                if len(bucket) < 5000:
                    bucket.append(dy)
        previous = line
    body = weight.most_common(1)[0][0] if weight else 10.0
    pitch = {size: statistics.median(values) for size, values in gaps.items() if len(values) >= 3}
    return DocStats(body, pitch)


def is_list_start(text: str) -> bool:
    return bool(_LIST_MARKER.match(text))


def is_caption(text: str) -> bool:
    return bool(_CAPTION.match(text))


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends with a full stop, possibly inside quotes or brackets."""
    return text.rstrip(_CLOSERS).endswith(_SENTENCE_END)


def same_printed_line(prev: Line, line: Line, pitch: float) -> bool:
    """``line`` goes on where ``prev`` stopped: a superscript, subscript or font change."""
    return (abs(line.y - prev.y) < 0.6 * pitch and line.page == prev.page
            and -0.5 * line.size <= line.x0 - prev.x1 <= 1.5 * line.size)


@dataclass
class Block:
    kind: ElementKind
    lines: list[Line] = field(default_factory=list)
    first_x0: float = 0.0
    body_x0: float | None = None
    right: float = 0.0

    @property
    def last(self) -> Line:
        return self.lines[-1]

    @property
    def size(self) -> float:
        return self.lines[0].size

    def add(self, line: Line) -> None:
        if not self.lines:
            self.first_x0 = line.x0
        elif self.body_x0 is None:
            self.body_x0 = line.x0
        self.right = max(self.right, line.x1)
        self.lines.append(line)

    def is_open(self) -> bool:
        """A paragraph that stopped mid-sentence (or mid-word)."""
        return self.kind == "paragraph" and (self.last.hyphen or not ends_sentence(self.last.text))


def _kind_of(line: Line) -> ElementKind:
    if line.role == "heading":
        return "heading"
    if line.role == "table":
        return "table"
    if line.mono:
        return "code"
    if is_caption(line.text):
        return "caption"
    if is_list_start(line.text):
        return "list_item"
    return "paragraph"


def _same_style(a: Line, b: Line) -> bool:
    return abs(a.size - b.size) <= 0.12 * max(a.size, b.size) and a.bold == b.bold


def _carries_on(text: str) -> bool:
    """Could ``text`` be the rest of a sentence? Not when it starts a capitalised sentence,
    a list item or a caption."""
    head = text[0]
    if head.isupper() or is_list_start(text) or is_caption(text):
        return False
    # a lone number is a page number or a label, not the rest of a sentence
    return not head.isdigit() or text.count(" ") >= 2


def _continues(block: Block, line: Line) -> bool:
    """Does ``line`` carry on the paragraph ``block`` after a column or page break?"""
    if (not block.is_open() or line.role or line.mono or not _same_style(block.last, line)
            or _is_aside(block, line.size)):
        return False
    return block.last.hyphen or _carries_on(line.text)


def _starts_block(block: Block, line: Line, stats: DocStats, column_right: float) -> bool:
    prev = block.last
    if line.role != prev.role:
        return True
    if line.role == "heading":
        return line.level != prev.level or line.page != prev.page
    if line.role == "table":
        return line.level != prev.level
    pitch = stats.pitch_for(prev.size)
    dy = line.y - prev.y
    if block.kind != "code" and not line.mono and same_printed_line(prev, line, pitch):
        return False
    if line.page != prev.page or dy < -0.3 * pitch or dy > 2.6 * pitch:
        return not _continues(block, line)
    if line.mono != prev.mono or not _same_style(prev, line):
        return True
    if abs(dy) < 0.3 * pitch:
        return True  # side by side on one baseline: figure labels, form fields
    if block.kind == "code":
        return False
    if dy > 1.45 * pitch + 0.5 or is_caption(line.text) or is_list_start(line.text):
        return True
    body_x0 = block.body_x0 if block.body_x0 is not None else block.first_x0
    if block.kind == "list_item":
        back_at_marker = line.x0 <= block.first_x0 + 0.3 * line.size
        return back_at_marker and not line.text[0].islower()
    short = prev.x1 < max(block.right, column_right) - 3 * prev.size
    indented = line.x0 > body_x0 + 0.8 * line.size
    if indented and (short or ends_sentence(prev.text)):
        return True  # indented first line of the next paragraph
    if short and ends_sentence(prev.text):
        return True  # short last line
    if block.body_x0 is None:
        return short and line.x0 < block.first_x0 - 2 * line.size  # after a centred line
    return line.x0 < block.body_x0 - 0.8 * line.size


def build_blocks(lines: Sequence[Line], stats: DocStats) -> list[Block]:
    """Group kept lines (``role != "drop"``) into blocks in reading order."""
    blocks: list[Block] = []
    current: Block | None = None
    # right margin of each column: the furthest any line starting at that x reaches
    ends: dict[tuple[int, int], list[float]] = defaultdict(list)
    for line in lines:
        ends[(line.page, round(line.x0 / 4))].append(line.x1)
    rights = {key: sorted(values)[(3 * len(values)) // 4] for key, values in ends.items()}
    for line in lines:
        if line.role == "drop":
            continue
        if current is None or _starts_block(current, line, stats, max(
                rights.get((current.last.page, round(current.last.x0 / 4)), 0.0),
                rights.get((line.page, round(line.x0 / 4)), 0.0))):
            current = Block(_kind_of(line))
            blocks.append(current)
        current.add(line)
    return _rejoin_interrupted(blocks)


def _is_aside(block: Block, body_size: float) -> bool:
    """Printed in between a paragraph's parts: smaller type (figure labels, footnotes),
    a caption or table, or a lone page number."""
    if block.size < 0.9 * body_size or block.kind in ("caption", "table"):
        return True
    text = block.lines[0].text
    return len(block.lines) == 1 and len(text) <= 8 and not any(c.isalpha() for c in text)


def _rejoin_interrupted(blocks: list[Block], lookback: int = 24) -> list[Block]:
    """Merge a paragraph continued after a figure, caption or footnote into its start."""
    result: list[Block] = []
    for block in blocks:
        target = None
        head = block.lines[0]
        carries_on = _carries_on(head.text)
        if block.kind == "paragraph":
            for back in range(len(result) - 1, max(-1, len(result) - 1 - lookback), -1):
                candidate = result[back]
                if candidate.kind == "heading":
                    break
                if _is_aside(candidate, head.size):
                    continue
                if (candidate.is_open() and _same_style(candidate.last, head)
                        and (carries_on or candidate.last.hyphen)):
                    target = candidate
                break
        if target is not None:
            for line in block.lines:
                target.add(line)
        else:
            result.append(block)
    return result


def _glued(left: str, right: str) -> bool:
    """Lines that join without a space: CJK text, and breaks after ``2018–`` or ``https://``."""
    end, head = left[-1], right[0]
    if end in "-–/" and head.isalnum():
        return len(left) > 1 and left[-2] != " "
    return bool(_CJK_NO_SPACE.match(end) and _CJK_NO_SPACE.match(head))


def _join_prose(lines: Sequence[Line], compounds: set[str]) -> str:
    pieces: list[str] = []
    hyphen = False
    previous: Line | None = None
    # a Korean line broken mid-word runs to the column's edge; a short one ended a field
    ends = sorted(line.x1 for line in lines)
    full = ends[(3 * len(ends)) // 4] if ends else 0.0
    for line in lines:
        text = line.text
        if previous is None:
            pieces.append(text)
        elif (abs(line.y - previous.y) < 0.5 * line.size
              and abs(line.x0 - previous.x1) < 0.15 * line.size):
            pieces[-1] += text  # touching pieces of one printed line (R + superscript n)
        elif hyphen:
            pieces[-1] = join_hyphenated(pieces[-1], text, compounds)
        elif _glued(pieces[-1], text) or (previous.glued and previous.x1 >= full - line.size
                                           and _HANGUL_START.match(text)):
            pieces[-1] += text
        else:
            pieces.append(text)
        hyphen = line.hyphen
        previous = line
    if hyphen and pieces:
        pieces[-1] += "-"
    return " ".join(pieces)


def _join_code(lines: Sequence[Line], stats: DocStats) -> str:
    left = min(line.x0 for line in lines)
    rows: list[str] = []
    previous: Line | None = None
    for line in lines:
        if previous is not None and line.y - previous.y > 1.6 * stats.pitch_for(line.size):
            rows.append("")
        indent = round((line.x0 - left) / max(0.6 * line.size, 1.0))
        rows.append(" " * min(indent, 40) + line.text)
        previous = line
    return "\n".join(rows)


def _table_text(lines: Sequence[Line]) -> str:
    if is_table_row(lines[0].text):
        return to_markdown([line.text for line in lines], None)
    return to_markdown([line.text for line in lines[1:]], lines[0].text)


def _clean_list_item(text: str) -> str:
    return _BULLET_START.sub("• ", text, count=1)


def block_elements(blocks: Sequence[Block], stats: DocStats, compounds: set[str]
                   ) -> list[Element]:
    """One :class:`~qaforge.records.Element` per block."""
    elements: list[Element] = []
    for block in blocks:
        first = block.lines[0]
        if block.kind == "code":
            text = _join_code(block.lines, stats)
        elif block.kind == "table":
            text = _table_text(block.lines)
        else:
            text = _join_prose(block.lines, compounds)
            if block.kind == "list_item":
                text = _clean_list_item(text)
        if not any(char.isalnum() for char in text):
            continue  # rules, leader dots and other figure debris carry nothing
        level = first.level if block.kind == "heading" else None
        elements.append(Element(kind=block.kind, text=text, page=first.page, level=level))
    return elements
