"""HTML (``.html``, ``.htm``, ``.xhtml``) -> blocks, with selectolax's lexbor parser (an
HTML5 parser in C; see docs/benchmarks.md for why this one).

Only the main content is read: ``<main>`` (or ``role="main"``) when the page has one, and
never navigation, sidebars, tables of contents, scripts or permalink marks. Headings
``h1``-``h6`` keep their level; paragraphs, list items (``li``), code (``pre``), captions
and tables (as Markdown) become their own blocks; any other text is a paragraph.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from qaforge.ingest.blocks import Block, grid_markdown
from qaforge.ingest.text import decode

SKIP_TAGS = frozenset({
    "head", "script", "style", "noscript", "template", "nav", "aside", "footer", "svg",
    "button", "form", "iframe", "object", "select", "input", "textarea", "img", "hr",
    "-comment",
})
#: class or id words that mark navigation, tables of contents and permalink marks
SKIP_WORDS = frozenset({
    "toc", "gtoc", "sidebar", "sphinxsidebar", "related", "navigation", "navbar", "nav",
    "menu", "breadcrumb", "breadcrumbs", "headerlink", "skip-link", "footer",
})
SKIP_ROLES = frozenset({"navigation", "search", "contentinfo", "doc-toc", "doc-backlink"})
#: links that only point at themselves (heading permalinks, footnote back-links)
MARKS = frozenset({"#", "¶", "§", "↑", "↩", "⁋"})
HEADINGS = {f"h{n}": n for n in range(1, 7)}
BLOCK_TAGS = frozenset({
    "address", "article", "blockquote", "body", "caption", "dd", "details", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "header", "html", "li", "main", "ol", "p",
    "pre", "section", "summary", "table", "ul", *HEADINGS,
})
_WORDS = re.compile(r"[\s]+")
_SELF_CLOSING = re.compile(r"<([A-Za-z][\w:-]*)((?:\s[^<>]*?)?)/>")
VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                       "meta", "source", "track", "wbr"})


def read(path: Path) -> list[Block]:
    """The blocks of the HTML file at ``path``."""
    text = decode(path.read_bytes(), html=True)
    return html_blocks(xhtml_as_html(text) if path.suffix.lower() == ".xhtml" else text)


def xhtml_as_html(text: str) -> str:
    """``<a id="x"/>`` -> ``<a id="x"></a>``: an HTML parser reads XHTML's self-closed
    elements as open ones that swallow the rest of the page."""
    def expand(match: re.Match[str]) -> str:
        tag = match.group(1)
        if tag.lower() in VOID_TAGS:
            return match.group(0)
        return f"<{tag}{match.group(2)}></{tag}>"

    return _SELF_CLOSING.sub(expand, text)


def html_blocks(html: str) -> list[Block]:
    """The blocks of an HTML document (also used for DOCX and EPUB chapters)."""
    tree = LexborHTMLParser(html)
    root = tree.css_first("main") or tree.css_first('[role="main"]') or tree.body or tree.root
    if root is None:
        return []
    _prune(root)
    out: list[Block] = []
    _walk(root, "paragraph", out)
    return out


def _skipped(node: LexborNode) -> bool:
    attrs: dict[str, Any] = node.attributes
    words = set(_WORDS.split(f"{attrs.get('class') or ''} {attrs.get('id') or ''}".lower()))
    return (bool(words & SKIP_WORDS) or (attrs.get("role") or "") in SKIP_ROLES
            or "hidden" in attrs or attrs.get("aria-hidden") == "true")


def _prune(root: LexborNode) -> None:
    """Drop what is not content: skipped tags and classes, permalink marks, link lists."""
    doomed = [node for node in root.traverse() if node.tag in SKIP_TAGS or _skipped(node)]
    for node in root.css("a"):
        if node.text(deep=True).strip() in MARKS:
            doomed.append(node)
    for node in root.css("ul, ol"):  # a list that is nothing but links is navigation
        items = node.css("li")
        if items and all(_all_links(item) for item in items):
            doomed.append(node)
    for node in doomed:
        if node.parent is not None:  # not gone with an ancestor already
            node.decompose()


def _all_links(item: LexborNode) -> bool:
    text = "".join(item.text(deep=True).split())
    linked = "".join("".join(a.text(deep=True).split()) for a in item.css("a"))
    return bool(text) and len(linked) >= len(text)


def _walk(node: LexborNode, kind: str, out: list[Block]) -> None:
    """Text and inline elements gather into one block of ``kind``; block elements flush it."""
    pending: list[str] = []

    def flush() -> None:
        if "".join(pending).strip():
            out.append(Block(kind, "".join(pending)))  # type: ignore[arg-type]
        pending.clear()

    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            pending.append(child.text_content or "")
        elif tag == "br":
            pending.append(" ")
        elif tag not in BLOCK_TAGS:
            pending.append(child.text(deep=True, separator=""))
        else:
            flush()
            _block(child, tag, kind, out)
    flush()


def _block(node: LexborNode, tag: str, kind: str, out: list[Block]) -> None:
    if tag in HEADINGS:
        out.append(Block("heading", node.text(deep=True, separator=""), level=HEADINGS[tag]))
    elif tag == "pre":
        out.append(Block("code", node.text(deep=True, separator="")))
    elif tag == "table":
        out.extend(_table(node))
    elif tag in ("caption", "figcaption"):
        out.append(Block("caption", node.text(deep=True, separator=" ")))
    elif tag == "li":
        _walk(node, "list_item", out)
    else:
        _walk(node, kind, out)


def _table(node: LexborNode) -> list[Block]:
    """A table as one Markdown block (its caption before it); nested tables are flattened
    into their cell's text."""
    caption = node.css_first("caption")
    rows = []
    for row in node.css("tr"):
        if _parent_table(row) != node:
            continue  # a row of a nested table
        cells = [cell.text(deep=True, separator=" ") for cell in row.iter()
                 if cell.tag in ("td", "th")]
        if any(c.strip() for c in cells):
            rows.append(cells)
    blocks = [Block("caption", caption.text(deep=True, separator=" "))] if caption else []
    if len(rows) == 1 and len(rows[0]) == 1:  # a layout table around one piece of text
        blocks.append(Block("paragraph", rows[0][0]))
    elif rows:
        blocks.append(Block("table", grid_markdown(rows)))
    return blocks


def _parent_table(node: LexborNode) -> LexborNode | None:
    parent = node.parent
    while parent is not None and parent.tag != "table":
        parent = parent.parent
    return parent
