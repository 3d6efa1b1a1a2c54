"""Pairs from text markup: the seed's ``**Question 1:** ... **Answer 1:**`` Markdown,
``Q:``/``A:`` lines and numbered ``1. Question? Answer`` lists."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from qaforge.qa_parsing.result import Pair

# Markers that open a question or an answer. Every repetition is bounded so a scan stays
# linear on hostile input. ``lead`` matches only at the start of a line (after an optional
# bullet, heading mark or list number); the acceptance rules are in ``_accepted_markers``.
_LEAD = r"""
    (?P<lead>^[ \t]{0,12}(?:(?:[-*+>]|\#{1,6}|\d{1,4}[.)])[ \t]{0,4})?)?
    (?P<open>\*\*|__)?[ \t]{0,4}(?<!\w)
"""
_LONG_MARKER = re.compile(
    _LEAD
    + r"""
    (?P<label>question|answer)
    (?:[ \t]{0,4}(?:\#[ \t]?)?(?P<num>\d{1,4}))?[ \t]{0,4}
    (?:
        (?P<close1>\*\*|__)?[ \t]{0,4}
        (?P<sep>[:：]|[.)\-–—](?=\s))
        [ \t]{0,4}(?P<close2>\*\*|__)?
      | (?P<close3>\*\*|__)
      | (?P<eol>(?=[ \t]{0,8}$))
    )
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_SHORT_MARKER = re.compile(
    _LEAD
    + r"""
    (?P<label>q|a)
    (?:[ \t]{0,2}(?P<num>\d{1,4}))?[ \t]{0,4}
    (?P<close1>\*\*|__)?[ \t]{0,4}
    (?P<sep>[:：]|(?<=\d)[.)])
    [ \t]{0,4}(?P<close2>\*\*|__)?
    """,
    re.IGNORECASE | re.MULTILINE | re.VERBOSE,
)
_NUMBERED_ITEM = re.compile(r"^[ \t]{0,12}(?:\*\*|__)?\(?\d{1,4}[.)](?:\*\*|__)?[ \t]{1,8}", re.M)
_ANSWER_LEAD = re.compile(
    r"^(?:(?:\*\*|__)?(?:answer|a)(?:\*\*|__)?[ \t]{0,4}[:：\-–—][ \t]{0,4}|[-–—:][ \t]{0,4})",
    re.IGNORECASE,
)
_SEPARATOR_LINE = re.compile(
    r"[ \t]{0,12}(?:[-*_=]{3,}|\#{1,6}(?:[ \t][^\n]*)?|```[\w+\-.]{0,20})[ \t]*"
)
_QUESTION_MARKS = ("?", "？")


Found = tuple[list[Pair], list[str]]
"""Pairs, and the problems met on the way."""


def markdown_pairs(text: str) -> Found:
    """``**Question 1:** ... **Answer 1:** ...`` (bold and numbering optional)."""
    return _pairs_between_markers(text, _accepted_markers(_LONG_MARKER.finditer(text)))


def qa_line_pairs(text: str) -> Found:
    """``Q:`` / ``A:`` lines (also ``Q1:``, ``**Q:**``, ``1. Q: ... A: ...``)."""
    return _pairs_between_markers(text, _accepted_markers(_SHORT_MARKER.finditer(text)))


@dataclass(slots=True)
class _Marker:
    label: str  # "q" or "a"
    start: int
    end: int


def _accepted_markers(matches: Iterator[re.Match[str]]) -> list[_Marker]:
    """Keep the markers that really open a question or an answer.

    A bold marker, or one at the start of a line, always counts. An inline plain marker
    (``... Answer: ...``) counts only where it is expected (an answer after a question,
    a question after an answer) and only when capitalised, so prose such as "the short
    answer: yes" inside an answer is left alone.
    """
    accepted: list[_Marker] = []
    expecting = "q"
    for match in matches:
        label_text = match.group("label")
        label = label_text[0].lower()
        bold = bool(match.group("open")) and bool(
            match.group("close1") or match.group("close2") or _group(match, "close3")
        )
        at_line_start = match.group("lead") is not None
        separator = match.group("sep")
        if _group(match, "eol") is not None and not (at_line_start and label_text[0].isupper()):
            continue
        strong = bold or (
            at_line_start and (separator is not None or _group(match, "eol") is not None)
        )
        if not strong:
            inline_ok = separator in (":", "：") and label_text[0].isupper() and label == expecting
            if not inline_ok:
                continue
        accepted.append(_Marker(label, match.start(), match.end()))
        expecting = "a" if label == "q" else "q"
    return accepted


def _group(match: re.Match[str], name: str) -> str | None:
    return match.groupdict().get(name)


def _pairs_between_markers(text: str, markers: Sequence[_Marker]) -> Found:
    pairs: list[Pair] = []
    problems: list[str] = []
    question: str | None = None
    questions_seen = 0
    for index, marker in enumerate(markers):
        end = markers[index + 1].start if index + 1 < len(markers) else len(text)
        body = _clean(text[marker.end : end])
        if marker.label == "q":
            if question is not None:
                problems.append(f"question {questions_seen} has no answer")
            questions_seen += 1
            question = body
            continue
        if question is None:
            problems.append("an answer without a question was skipped")
            continue
        if question and body:
            pairs.append((question, body))
        else:
            problems.append(
                f"question {questions_seen} has an empty {'question' if not question else 'answer'}"
            )
        question = None
    if question is not None:
        problems.append(f"question {questions_seen} has no answer")
    return pairs, problems


def numbered_pairs(text: str) -> Found:
    """``1. Question? Answer`` items: the question runs to the first question mark."""
    starts = [(m.start(), m.end()) for m in _NUMBERED_ITEM.finditer(text)]
    pairs: list[Pair] = []
    problems: list[str] = []
    for index, (_, body_start) in enumerate(starts):
        body_end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        body = text[body_start:body_end]
        mark = min((i for i in (body.find(q) for q in _QUESTION_MARKS) if i >= 0), default=-1)
        if mark < 0:
            problems.append(f"item {index + 1} has no question mark")
            continue
        question = _clean(body[: mark + 1])
        answer = _clean(_ANSWER_LEAD.sub("", _clean(body[mark + 1 :]), count=1))
        if question and answer:
            pairs.append((question, answer))
        else:
            problems.append(f"item {index + 1} has no answer")
    return pairs, problems


def _clean(text: str) -> str:
    """Strip whitespace, trailing separator lines (``---``, headings, fences) and a bold
    marker left over from the surrounding markup (``**What is X?**`` -> ``What is X?``)."""
    text = text.strip()
    while True:
        cut = text.rfind("\n")
        if cut < 0 or not _SEPARATOR_LINE.fullmatch(text, cut + 1):
            break
        text = text[:cut].rstrip()
    count = text.count("**")
    if count == 2 and len(text) > 4 and text.startswith("**") and text.endswith("**"):
        text = text[2:-2].strip()
    elif count % 2 == 1 and text.startswith("**"):
        text = text[2:].lstrip()
    elif count % 2 == 1 and text.endswith("**"):
        text = text[:-2].rstrip()
    return text
