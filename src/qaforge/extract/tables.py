"""Cheap table detection: runs of lines that are mostly numbers, rendered as Markdown.

Plain-text extraction loses table structure; what survives is one row per line with the
cells separated by spaces. A run of three or more such rows (most tokens numeric) is a
table. Consecutive words form one cell ("District of Columbia"), every number its own.
The table is as wide as most of its rows; shorter rows are padded at the start (numbers
are usually right-aligned), or just after the row label when most rows start with one.
This is deliberately modest: dense statistical tables defeat every text extractor (see
the research notes).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from qaforge.extract.pdfium import Line

_NUMERIC = re.compile(r"^[-+−(]?[$€£¥]?\d[\d,.]*%?\)?[*†‡]?$|^[-–—]$")
#: cheap over-count of numeric tokens, to skip prose lines before tokenising them
_NUMERIC_IN_LINE = re.compile(r"(?:^|\s)[-+−(]?[$€£¥]?\d|(?:^|\s)[-–—](?:\s|$)")
_DIGIT = re.compile(r"\d")
MIN_ROWS = 3


def _tokens(text: str) -> list[str]:
    return text.split()


def is_table_row(text: str) -> bool:
    """A line of three or more tokens, at least two and half of them numbers."""
    n_tokens = text.count(" ") + 1
    if n_tokens < 3 or not _DIGIT.search(text):
        return False
    if len(_NUMERIC_IN_LINE.findall(text)) * 2 < n_tokens:
        return False
    tokens = _tokens(text)
    numeric = sum(1 for token in tokens if _NUMERIC.match(token))
    return numeric >= 2 and numeric * 2 >= len(tokens)


def mark_tables(lines: Sequence[Line], pitch_of: dict[int, float]) -> int:
    """Give runs of table rows ``role = "table"`` and a shared ``level`` (the table id).

    ``lines`` are one document's lines in reading order (dropped lines excluded);
    ``pitch_of`` maps rounded font size to the usual baseline distance.
    Returns the number of tables found.
    """
    tables = 0
    index = 0
    while index < len(lines):
        if lines[index].role or not is_table_row(lines[index].text):
            index += 1
            continue
        end = index
        while (end + 1 < len(lines) and lines[end + 1].page == lines[index].page
               and not lines[end + 1].role and is_table_row(lines[end + 1].text)):
            end += 1
        if end - index + 1 >= MIN_ROWS:
            tables += 1
            start = index
            header = lines[index - 1] if index > 0 else None
            if header is not None and _is_header(header, lines[index], pitch_of):
                start = index - 1
            for line in lines[start:end + 1]:
                line.role = "table"
                line.level = tables
        index = end + 1
    return tables


def _is_header(candidate: Line, first_row: Line, pitch_of: dict[int, float]) -> bool:
    if candidate.role or candidate.page != first_row.page:
        return False
    pitch = pitch_of.get(round(first_row.size), 1.2 * first_row.size)
    gap = first_row.y - candidate.y
    text = candidate.text
    return (0 < gap <= 2.5 * pitch and len(_tokens(text)) >= 2 and len(text) <= 300
            and not text.endswith((".", ":", ";")))


def _cells(text: str) -> list[str]:
    cells: list[str] = []
    words: list[str] = []
    for token in _tokens(text):
        if _NUMERIC.match(token):
            if words:
                cells.append(" ".join(words))
                words = []
            cells.append(token)
        else:
            words.append(token)
    if words:
        cells.append(" ".join(words))
    return cells


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def to_markdown(rows: Sequence[str], header: str | None) -> str:
    """Render table rows (one text line each) as a Markdown table."""
    table = [_cells(row) for row in rows]
    # the usual row length, not the longest: one mangled row must not widen the table
    width = Counter(len(cells) for cells in table).most_common(1)[0][0]
    labelled = sum(1 for cells in table if cells and not _NUMERIC.match(cells[0]))
    label_first = labelled * 2 > len(table)
    padded: list[list[str]] = []
    for cells in table:
        missing = max(0, width - len(cells))  # longer rows keep every cell
        if missing and label_first and cells and not _NUMERIC.match(cells[0]):
            cells = [cells[0], *([""] * missing), *cells[1:]]
        elif missing:
            cells = [*([""] * missing), *cells]
        padded.append(cells)
    head = header.split() if header else []
    if len(head) != width:
        head = [header or "", *([""] * (width - 1))] if header else [""] * width
    lines = ["| " + " | ".join(_escape(c) for c in head) + " |",
             "|" + "---|" * width]
    lines.extend("| " + " | ".join(_escape(c) for c in cells) + " |" for cells in padded)
    return "\n".join(lines)
