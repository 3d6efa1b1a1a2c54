"""Split an extracted :class:`~qaforge.records.Document` into chunks sized for one LLM call.

The rules, in order of strength:

1. Every chunk's text fits ``max_tokens`` as counted by the generating model's own tokenizer
   (the final text is measured, not estimated). The one exception is a single character
   that alone counts more than the budget, which cannot be cut further.
2. A sentence is never cut. A paragraph that does not fit is split between sentences; a
   table or code block that does not fit is split between lines. Only a single sentence (or
   line) longer than the whole budget is split, between words; a single "word" longer than
   the budget (a run of characters with no space) is split between characters.
3. A chunk never spans two top-level sections unless both sections are tiny (under
   ``min_tokens`` in total); a heading starts a new chunk when the current one is
   non-trivial (``min_tokens`` or more).
4. Small consecutive snippets are packed together up to the budget, and a chunk under
   ``min_tokens`` is merged with a neighbour in the same top-level section when it fits.

Headings are not repeated in the chunk text; each chunk carries the heading path in force
at its start. Elements are joined with a blank line. The whole pass is linear in the size
of the document and calls ``count_tokens`` on elements, sentences and final chunks (cached),
never word by word except to split an over-long sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from qaforge.records import Chunk, Document, Element, content_id
from qaforge.text import split_sentences

MIN_BUDGET = 128
MAX_BUDGET = 1536
ELEMENT_SEPARATOR = "\n\n"
_LINE_SPLIT_KINDS = frozenset({"table", "code"})
_WORD = re.compile(r"\S+")
_LINE_BREAKS = re.compile(r"(\n+)")
_CJK_TERMINATORS = ("。", "！", "？", "｡")
# Enough probes to binary-search a million cut points; each probe counts at most one chunk.
_MAX_PROBES = 24
# Accept a probed prefix without searching further once it fills this share of the budget.
_GOOD_ENOUGH_FILL = 0.9

TokenCounter = Callable[[str], int]


def default_chunk_budget(context_length: int, prompt_tokens: int, answer_tokens: int) -> int:
    """Chunk budget that leaves room for the prompt template and the answer.

    ``context_length - prompt_tokens - answer_tokens``, clamped to
    ``MIN_BUDGET..MAX_BUDGET`` (128..1536): below 128 tokens a chunk holds too little to ask
    about, above 1536 small models lose track and drafts get generic.
    """
    room = context_length - prompt_tokens - answer_tokens
    return max(MIN_BUDGET, min(MAX_BUDGET, room))


class _CachedCounter:
    """Memoises ``count_tokens`` (it may be an HTTP call to the engine)."""

    def __init__(self, count_tokens: TokenCounter) -> None:
        self._count = count_tokens
        self._cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._count(text)
            self._cache[text] = cached
        return cached


@dataclass(slots=True)
class _Piece:
    """A piece of one element's text that fits the budget on its own."""

    text: str
    tokens: int
    page: int
    glue: str  # what joins it to the piece before it inside a chunk
    glue_tokens: int
    section: int  # index of the top-level section it belongs to
    path: tuple[str, ...]  # heading path in force
    after_heading: bool = False  # a heading stands between it and the previous piece
    # First part of a table or code block too long for one chunk: it starts a fresh chunk so
    # the header row or the opening lines stay with what follows them.
    opens_split_block: bool = False


@dataclass(slots=True)
class _Group:
    pieces: list[_Piece] = field(default_factory=list)
    tokens: int = 0  # estimate: pieces plus glue; the final text is measured

    def joined_estimate(self, other: _Group) -> int:
        return self.tokens + other.pieces[0].glue_tokens + other.tokens

    def extend(self, other: _Group) -> None:
        self.tokens = self.joined_estimate(other)
        self.pieces.extend(other.pieces)

    def add(self, piece: _Piece) -> None:
        self.tokens = (
            piece.tokens if not self.pieces else self.tokens + piece.glue_tokens + piece.tokens
        )
        self.pieces.append(piece)

    @property
    def first_section(self) -> int:
        return self.pieces[0].section

    @property
    def last_section(self) -> int:
        return self.pieces[-1].section

    def text(self) -> str:
        parts = [self.pieces[0].text]
        for piece in self.pieces[1:]:
            parts.append(piece.glue)
            parts.append(piece.text)
        return "".join(parts)


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
    counter = _CachedCounter(count_tokens)
    pieces = list(_document_pieces(doc.elements, max_tokens, counter))
    section_tokens = _section_sizes(pieces)

    def tiny(section: int) -> bool:
        return section_tokens[section] < min_tokens

    groups = _pack(pieces, max_tokens, min_tokens, tiny)
    groups = _merge_small(groups, max_tokens, min_tokens, tiny)
    return _to_chunks(_enforce_budget(groups, max_tokens, counter))


def _document_pieces(
    elements: Iterable[Element], max_tokens: int, counter: _CachedCounter
) -> Iterable[_Piece]:
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
        parts = _element_parts(el, max_tokens, counter)
        split_block = len(parts) > 1 and el.kind in _LINE_SPLIT_KINDS
        for index, (glue, text, tokens) in enumerate(parts):
            first = index == 0
            yield _Piece(
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


def _glue_tokens(glue: str, counter: _CachedCounter) -> int:
    # A space usually fuses with the next word's token; line breaks are tokens of their own.
    return counter(glue) if "\n" in glue else 0


def _section_sizes(pieces: Sequence[_Piece]) -> list[int]:
    sizes = [0] * ((pieces[-1].section + 1) if pieces else 1)
    for piece in pieces:
        sizes[piece.section] += piece.tokens
    return sizes


def _element_parts(
    el: Element, max_tokens: int, counter: _CachedCounter
) -> list[tuple[str, str, int]]:
    """``(glue, text, tokens)`` parts of one element, each within ``max_tokens``."""
    text = el.text.strip()
    if not text:
        return []
    tokens = counter(text)
    if tokens <= max_tokens:
        return [("", text, tokens)]
    if el.kind in _LINE_SPLIT_KINDS:
        segments = _LINE_BREAKS.split(text)
        raw = ["".join(segments[i : i + 2]) for i in range(0, len(segments), 2)]
    else:
        raw = split_sentences(text)
    parts: list[tuple[str, str, int]] = []
    for glue, unit in _strip_units(raw):
        unit_tokens = counter(unit)
        if unit_tokens <= max_tokens:
            parts.append((glue, unit, unit_tokens))
            continue
        for index, (inner_glue, piece, piece_tokens) in enumerate(
            _split_oversized(unit, unit_tokens, max_tokens, counter)
        ):
            parts.append((glue if index == 0 else inner_glue, piece, piece_tokens))
    return parts


def _strip_units(raw: Sequence[str]) -> list[tuple[str, str]]:
    """Turn lossless pieces into ``(glue, stripped text)``, dropping blank pieces.

    A split is kept only at whitespace (glue: one newline when the whitespace held a line
    break, else one space) or after a CJK full stop (glue: nothing); anywhere else the
    pieces are rejoined, so no word is ever cut.
    """
    units: list[tuple[str, str]] = []
    pending_space = ""
    for piece in raw:
        stripped = piece.strip()
        if not stripped:
            pending_space += piece
            continue
        space = pending_space + piece[: len(piece) - len(piece.lstrip())]
        if units and not space and not units[-1][1].endswith(_CJK_TERMINATORS):
            units[-1] = (units[-1][0], units[-1][1] + stripped)
        elif not space:
            units.append(("", stripped))
        else:
            units.append(("\n" if "\n" in space else " ", stripped))
        pending_space = piece[len(piece.rstrip()) :]
    return units


def _split_oversized(
    text: str, tokens: int, max_tokens: int, counter: _CachedCounter
) -> list[tuple[str, str, int]]:
    """Split one over-budget sentence or line between words (between characters only for a
    single word that alone exceeds the budget)."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    ends = [end for _, end in words]
    parts: list[tuple[str, str, int]] = []
    chars_per_token = max(len(text) / max(tokens, 1), 0.1)
    first = 0
    while first < len(words):
        start = words[first][0]
        previous_end = words[first - 1][1] if first else 0
        glue = "\n" if "\n" in text[previous_end:start] else " "
        taken, piece_tokens = _longest_fitting_prefix(
            text, start, ends, first, max_tokens, counter, chars_per_token
        )
        if taken:
            parts.append((glue, text[start : ends[first + taken - 1]], piece_tokens))
        else:
            word_parts = _split_word(text[start : ends[first]], max_tokens, counter)
            parts.append((glue, *word_parts[0][1:]))
            parts.extend(word_parts[1:])
            taken = 1
        first += taken
    return parts


def _split_word(word: str, max_tokens: int, counter: _CachedCounter) -> list[tuple[str, str, int]]:
    """Last resort for a run of characters with no space that exceeds the budget."""
    parts: list[tuple[str, str, int]] = []
    chars_per_token = max(len(word) / max(counter(word), 1), 0.1)
    ends = range(1, len(word) + 1)
    start = 0
    while start < len(word):
        taken, tokens = _longest_fitting_prefix(
            word, start, ends, start, max_tokens, counter, chars_per_token
        )
        if not taken:
            # A single character over the budget cannot be cut further; it goes out alone.
            taken, tokens = 1, counter(word[start])
        parts.append(("", word[start : start + taken], tokens))
        start += taken
    return parts


def _longest_fitting_prefix(
    text: str,
    start: int,
    ends: Sequence[int],
    first: int,
    max_tokens: int,
    counter: _CachedCounter,
    chars_per_token: float,
) -> tuple[int, int]:
    """How many of the candidate end offsets ``ends[first:]`` (increasing) can close a piece
    that starts at ``start`` and still fit, and that piece's token count; ``(0, 0)`` when not
    even the first one fits.

    Interpolation search on the characters-per-token ratio, falling back to bisection, so a
    piece usually costs two or three counts and never more than ``_MAX_PROBES``.
    """
    available = len(ends) - first
    fit, fit_tokens = 0, 0  # longest prefix known to fit
    over = available + 1  # shortest prefix known not to fit
    guess = _ends_up_to(ends, first, start + max_tokens * chars_per_token * _GOOD_ENOUGH_FILL)
    for _ in range(_MAX_PROBES):
        guess = min(max(guess, fit + 1), over - 1)
        if guess <= fit:
            break
        end = ends[first + guess - 1]
        tokens = counter(text[start:end])
        if tokens <= max_tokens:
            fit, fit_tokens = guess, tokens
            if guess == available or tokens >= max_tokens * _GOOD_ENOUGH_FILL:
                break
        else:
            over = guess
        if over - fit <= 1:
            break
        # Scale the tried length by budget / measured tokens; bisect if that goes nowhere.
        scale = max_tokens * _GOOD_ENOUGH_FILL / max(tokens, 1)
        guess = _ends_up_to(ends, first, start + (end - start) * scale)
        if not fit < guess < over:
            guess = (fit + over) // 2
    return fit, fit_tokens


def _ends_up_to(ends: Sequence[int], first: int, offset: float) -> int:
    """How many of ``ends[first:]`` are <= ``offset`` (at least 1)."""
    lo, hi = first, len(ends)
    while lo < hi:
        mid = (lo + hi) // 2
        if ends[mid] <= offset:
            lo = mid + 1
        else:
            hi = mid
    return max(lo - first, 1)


def _pack(
    pieces: Sequence[_Piece],
    max_tokens: int,
    min_tokens: int,
    tiny: Callable[[int], bool],
) -> list[_Group]:
    """Greedy packing in reading order under the section and heading rules."""
    groups: list[_Group] = []
    current = _Group()
    for piece in pieces:
        if current.pieces:
            if piece.section != current.last_section:
                boundary = not (tiny(current.last_section) and tiny(piece.section))
            else:
                fresh_start = piece.after_heading or piece.opens_split_block
                boundary = fresh_start and current.tokens >= min_tokens
            overflow = current.tokens + piece.glue_tokens + piece.tokens > max_tokens
            if boundary or overflow:
                groups.append(current)
                current = _Group()
        current.add(piece)
    if current.pieces:
        groups.append(current)
    return groups


def _merge_small(
    groups: Sequence[_Group],
    max_tokens: int,
    min_tokens: int,
    tiny: Callable[[int], bool],
) -> list[_Group]:
    """Merge each chunk under ``min_tokens`` into its previous (else next) neighbour when
    both lie in the same top-level section (or two tiny ones) and the result fits."""

    def compatible(first: _Group, second: _Group) -> bool:
        if first.last_section == second.first_section:
            return True
        return tiny(first.last_section) and tiny(second.first_section)

    def fits(first: _Group, second: _Group) -> bool:
        return first.joined_estimate(second) <= max_tokens

    merged: list[_Group] = []
    waiting: _Group | None = None  # a small group to prepend to the next one
    for group in groups:
        if waiting is not None:
            if compatible(waiting, group) and fits(waiting, group):
                waiting.extend(group)
                group = waiting
            else:
                merged.append(waiting)
            waiting = None
        if group.tokens < min_tokens:
            if merged and compatible(merged[-1], group) and fits(merged[-1], group):
                merged[-1].extend(group)
                continue
            waiting = group
            continue
        merged.append(group)
    if waiting is not None:
        merged.append(waiting)
    return merged


def _enforce_budget(
    groups: Sequence[_Group], max_tokens: int, counter: _CachedCounter
) -> list[tuple[_Group, str]]:
    """Measure every chunk's final text; move trailing pieces to a new chunk while over.

    The packing works on estimates (sum of piece counts); tokenizers are nearly but not
    exactly additive, so this is where the budget becomes a guarantee.
    """
    done: list[tuple[_Group, str]] = []
    queue = list(reversed(groups))
    while queue:
        group = queue.pop()
        text = group.text()
        spilled: list[_Piece] = []
        while len(group.pieces) > 1 and counter(text) > max_tokens:
            spilled.append(group.pieces.pop())
            text = group.text()
        if spilled:
            rest = _Group()
            for piece in reversed(spilled):
                rest.add(piece)
            queue.append(rest)
        done.append((group, text))
    return done


def _to_chunks(measured: Sequence[tuple[_Group, str]]) -> list[Chunk]:
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
