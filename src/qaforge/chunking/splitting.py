"""One element's text cut into parts that each fit the budget, never mid-sentence.

A paragraph is cut between sentences, a table or code block between lines; only a sentence
(or line) longer than the whole budget is cut between words, and only a word longer than
the budget between characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qaforge.chunking.budget import CachedCounter
from qaforge.records import Element
from qaforge.text import split_sentences

LINE_SPLIT_KINDS = frozenset({"table", "code"})
_WORD = re.compile(r"\S+")
_LINE_BREAKS = re.compile(r"(\n+)")
_CJK_TERMINATORS = ("。", "！", "？", "｡")
# Enough probes to binary-search a million cut points; each probe counts at most one chunk.
_MAX_PROBES = 24
# Accept a probed prefix without searching further once it fills this share of the budget.
_GOOD_ENOUGH_FILL = 0.9


def element_parts(
    el: Element, max_tokens: int, counter: CachedCounter
) -> list[tuple[str, str, int]]:
    """``(glue, text, tokens)`` parts of one element, each within ``max_tokens``."""
    text = el.text.strip()
    if not text:
        return []
    tokens = counter(text)
    if tokens <= max_tokens:
        return [("", text, tokens)]
    if el.kind in LINE_SPLIT_KINDS:
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
    text: str, tokens: int, max_tokens: int, counter: CachedCounter
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


def _split_word(word: str, max_tokens: int, counter: CachedCounter) -> list[tuple[str, str, int]]:
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
    counter: CachedCounter,
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
