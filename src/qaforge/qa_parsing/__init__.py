"""Tolerant parser for question/answer pairs in model output and hand-written suggestions.

Tried in order, first success wins:

1. JSON: the whole text (``json``), inside ```` ``` ```` fences (``json-fenced``), or
   embedded in prose (``json-embedded``). Accepted shapes: ``{"pairs": [...]}`` and other
   container keys (``qa_pairs``, ``questions``, ...), a bare list, a single object; entry
   keys ``question``/``answer``, ``q``/``a``, ``Question``/``Answer`` and a few more; a
   two-item list ``["Q", "A"]``. Numbers and booleans become text; entries without both
   parts are skipped and the reason given in ``error``. Malformed JSON (single quotes,
   trailing commas, cut off by the token limit) is repaired with ``json_repair``; an entry
   cut off mid-answer is dropped, not kept truncated.
2. The seed's Markdown style ``**Question 1:** ... **Answer 1:** ...`` (bold and numbering
   optional, answers may span lines): ``markdown``.
3. ``Q:`` / ``A:`` lines (also ``Q1:``, ``**Q:**``, ``1. Q: ... A: ...``): ``qa-lines``.
4. Numbered lists ``1. Question? Answer ...``: ``numbered``.

:func:`parse_pairs` never raises and runs in time linear in the input: every regular
expression has bounded repetition and the JSON scans have a work budget.
"""

from __future__ import annotations

from qaforge.qa_parsing.json_reply import parse_json
from qaforge.qa_parsing.markup import markdown_pairs, numbered_pairs, qa_line_pairs
from qaforge.qa_parsing.result import Pair, ParsedPairs, summarise

__all__ = ["Pair", "ParsedPairs", "parse_pairs"]


def parse_pairs(text: str) -> ParsedPairs:
    """Find question/answer pairs in ``text`` (model output or a hand-written string).

    Never raises; an unusable input gives ``ParsedPairs([], "none", reason)``.
    """
    if not isinstance(text, str):
        return ParsedPairs([], "none", f"expected text, got {type(text).__name__}")
    try:
        return _parse(text)
    except Exception as exc:  # a last guard: model output must never crash a run
        return ParsedPairs([], "none", f"could not parse ({type(exc).__name__}: {exc})")


def _parse(text: str) -> ParsedPairs:
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        return ParsedPairs([], "none", "empty text")
    json_result = parse_json(stripped, _parse)
    if json_result is not None and json_result.pairs:
        return json_result
    first_problems: list[str] = []
    for method, finder in (
        ("markdown", markdown_pairs),
        ("qa-lines", qa_line_pairs),
        ("numbered", numbered_pairs),
    ):
        pairs, problems = finder(stripped)
        if pairs:
            return ParsedPairs(pairs, method, summarise(problems))
        first_problems = first_problems or problems
    if json_result is not None:
        return json_result
    return ParsedPairs([], "none", summarise(["no question/answer pairs found", *first_problems]))
