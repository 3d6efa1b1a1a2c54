"""What every non-PDF reader produces (:class:`Block`), and how blocks become the same
:class:`~qaforge.records.Element` list a PDF gives, so chunking and everything after it
is unchanged.

Formats without pages count sections: a reader either gives each block its section (EPUB:
the chapter) or leaves it to :func:`to_elements`, which starts a new section at each heading
of the document's top heading level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from qaforge.errors import InputError
from qaforge.extract.cleanup import normalise_text
from qaforge.records import Element, ElementKind


class NotReadable(InputError):
    """A reader's refusal: the file is not what its suffix says (the caller names it)."""


@dataclass(slots=True)
class Block:
    """One heading, paragraph, list item, table, caption or code block, in reading order."""

    kind: ElementKind
    text: str
    level: int | None = None
    line: int | None = None
    section: int | None = None


def clean(text: str, kind: ElementKind) -> str:
    """Whitespace collapsed (code and tables keep their lines), ligatures and spaces
    normalised as for PDFs."""
    if kind in ("code", "table"):
        lines = [normalise_text(line) if kind == "table" else line.rstrip()
                 for line in text.replace("\r\n", "\n").split("\n")]
        while lines and not lines[0].strip():
            lines.pop(0)
        return "\n".join(lines).rstrip()
    return normalise_text(" ".join(text.split()))


def _ornament(text: str, kind: ElementKind) -> bool:
    """A paragraph number or a lone symbol: nothing to ask a question about."""
    return (kind in ("paragraph", "list_item", "caption") and len(text) <= 8
            and not any(ch.isalpha() for ch in text))


def to_elements(blocks: Sequence[Block]) -> tuple[list[Element], int]:
    """Elements with section numbers as pages, and the number of sections."""
    kept = [(block, text) for block in blocks
            if (text := clean(block.text, block.kind)) and not _ornament(text, block.kind)]
    levels = [b.level or 1 for b, _ in kept if b.kind == "heading"]
    top = min(levels, default=1)
    elements: list[Element] = []
    section, given_last = 1, None
    for block, text in kept:
        if block.section is not None:
            if given_last is not None and block.section != given_last:
                section += 1  # given sections are renumbered 1, 2, ... (empty ones skipped)
            given_last = block.section
        elif block.kind == "heading" and (block.level or 1) <= top and elements:
            section += 1
        level = block.level if block.kind == "heading" else None
        elements.append(Element(kind=block.kind, text=text, page=section,
                                level=level and max(1, min(level, 6)), line=block.line))
    return elements, (elements[-1].page if elements else 1)


def grid_markdown(rows: Sequence[Sequence[str]]) -> str:
    """Table cells (the first row is the header) as a Markdown table."""
    width = max((len(row) for row in rows), default=0)
    if width == 0:
        return ""

    def line(cells: Sequence[str]) -> str:
        padded = [" ".join(c.split()).replace("|", "\\|") for c in cells]
        padded += [""] * (width - len(padded))
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(rows[0]), "|" + "---|" * width, *(line(r) for r in rows[1:])])
