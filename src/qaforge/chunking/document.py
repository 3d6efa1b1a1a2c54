"""A document's elements cut into chunks: heading paths and top-level sections, then the
packed chunks with their pages, headings and stable content ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qaforge.chunking.budget import CachedCounter, TokenCounter
from qaforge.chunking.packing import Group, Piece, enforce_budget, merge_small, pack
from qaforge.chunking.splitting import LINE_SPLIT_KINDS, element_parts
from qaforge.records import Chunk, Document, Element, content_id

ELEMENT_SEPARATOR = "\n\n"


def chunk_document(
    doc: Document,
    *,
    max_tokens: int,
    count_tokens: TokenCounter,
    min_tokens: int = 48,
) -> list[Chunk]:
    """Cut ``doc`` into heading-aware chunks of at most ``max_tokens`` tokens each.

    ``count_tokens`` should be the generating model's tokenizer (``LLMClient.count_tokens``);
    results are cached per text. Returns chunks in reading order with stable content ids,
    ``pages=[first, last]``, the heading path at their start, ``state="pending"`` and no
    suggestions. Deterministic: the same document and counter give the same chunks.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    min_tokens = max(0, min(min_tokens, max_tokens))
    counter = CachedCounter(count_tokens)
    pieces = list(_document_pieces(doc.elements, max_tokens, counter))
    section_tokens = _section_sizes(pieces)

    def tiny(section: int) -> bool:
        return section_tokens[section] < min_tokens

    groups = pack(pieces, max_tokens, min_tokens, tiny)
    groups = merge_small(groups, max_tokens, min_tokens, tiny)
    return _to_chunks(enforce_budget(groups, max_tokens, counter))


def _document_pieces(
    elements: Iterable[Element], max_tokens: int, counter: CachedCounter
) -> Iterable[Piece]:
    """Pieces of every non-heading element, tagged with heading path and top-level section."""
    elements = list(elements)
    levels = [el.level or 1 for el in elements if el.kind == "heading" and el.text.strip()]
    top_level = min(levels, default=1)
    separator_tokens = counter(ELEMENT_SEPARATOR)
    stack: list[tuple[int, str]] = []
    section = 0
    seen_content = False
    after_heading = False
    for el in elements:
        if el.kind == "heading":
            title = " ".join(el.text.split())
            if not title:
                continue
            level = el.level or 1
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            if level <= top_level and seen_content:
                section += 1
            after_heading = True
            continue
        path = tuple(title for _, title in stack)
        parts = element_parts(el, max_tokens, counter)
        split_block = len(parts) > 1 and el.kind in LINE_SPLIT_KINDS
        for index, (glue, text, tokens) in enumerate(parts):
            first = index == 0
            yield Piece(
                text=text,
                tokens=tokens,
                page=el.page,
                glue=ELEMENT_SEPARATOR if first else glue,
                glue_tokens=separator_tokens if first else _glue_tokens(glue, counter),
                section=section,
                path=path,
                after_heading=after_heading and first,
                opens_split_block=split_block and first,
            )
            seen_content = True
            after_heading = False


def _glue_tokens(glue: str, counter: CachedCounter) -> int:
    # A space usually fuses with the next word's token; line breaks are tokens of their own.
    return counter(glue) if "\n" in glue else 0


def _section_sizes(pieces: Sequence[Piece]) -> list[int]:
    sizes = [0] * ((pieces[-1].section + 1) if pieces else 1)
    for piece in pieces:
        sizes[piece.section] += piece.tokens
    return sizes


def _to_chunks(measured: Sequence[tuple[Group, str]]) -> list[Chunk]:
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for group, text in measured:
        headings = list(group.pieces[0].path)
        chunk_id = Chunk.make_id(text, headings)
        repeats = seen.get(chunk_id, 0)
        seen[chunk_id] = repeats + 1
        if repeats:
            # Same text under the same headings again (boilerplate): keep ids unique.
            chunk_id = content_id("c", " > ".join(headings), text, f"#{repeats}")
        pages = [piece.page for piece in group.pieces]
        chunks.append(
            Chunk(
                id=chunk_id,
                pages=[min(pages), max(pages)],
                headings=headings,
                text=text,
                state="pending",
            )
        )
    return chunks
