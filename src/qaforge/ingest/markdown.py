"""Markdown (``.md``, ``.markdown``) -> blocks, with markdown-it-py (CommonMark plus GFM
tables; already installed with rich), which gives each block its source lines.

Headings keep their level; paragraphs inside list items become list items; fenced and
indented code is code; tables are Markdown tables again (cells as plain text); raw HTML
blocks are read by the HTML reader, comments dropped. Inline markup is reduced to its text.
"""

from __future__ import annotations

from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from qaforge.ingest.blocks import Block, grid_markdown
from qaforge.ingest.html import html_blocks
from qaforge.ingest.text import decode

_PARSER = MarkdownIt("commonmark").enable("table")


def read(path: Path) -> list[Block]:
    """The blocks of the Markdown file at ``path``."""
    return markdown_blocks(decode(path.read_bytes()))


def _inline(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # the alt text
    return "".join(parts)


def _line(token: Token) -> int | None:
    return token.map[0] + 1 if token.map else None


def markdown_blocks(text: str) -> list[Block]:
    """The blocks of a Markdown document."""
    tokens = _PARSER.parse(text)
    out: list[Block] = []
    in_items = 0
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "list_item_open":
            in_items += 1
        elif kind == "list_item_close":
            in_items -= 1
        elif kind == "heading_open":
            out.append(Block("heading", _inline(tokens[index + 1]), level=int(token.tag[1:]),
                             line=_line(token)))
        elif kind == "paragraph_open":
            out.append(Block("list_item" if in_items else "paragraph",
                             _inline(tokens[index + 1]), line=_line(token)))
        elif kind in ("fence", "code_block"):
            out.append(Block("code", token.content, line=_line(token)))
        elif kind == "html_block":
            for block in html_blocks(token.content):
                block.line = _line(token)
                out.append(block)
        elif kind == "table_open":
            index = _table(tokens, index, out)
        index += 1
    return out


def _table(tokens: list[Token], index: int, out: list[Block]) -> int:
    """Read the table starting at ``index``; returns the index of its ``table_close``."""
    line = _line(tokens[index])
    rows: list[list[str]] = []
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(_inline(token))
        index += 1
    if rows:
        out.append(Block("table", grid_markdown(rows), line=line))
    return index
