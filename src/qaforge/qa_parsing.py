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

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import json_repair

Pair = tuple[str, str]

# fmt: off
_CONTAINER_KEYS = (
    "pairs", "qa_pairs", "qa", "qas", "questions", "question_answer_pairs", "generated_qna_pairs",
    "qna", "faq", "faqs", "items", "data", "results", "examples",
)
# fmt: on
_QUESTION_KEYS = ("question", "q", "query", "prompt", "instruction")
_ANSWER_KEYS = ("answer", "a", "response", "reply", "output")
_KEY_SUFFIX = re.compile(r"[\s_\-#]*\d+$")
_MAX_NESTING = 4
# json_repair is pure Python and slows down on pathological input; model output is small.
_REPAIR_LIMIT = 16_000
_EMBEDDED_FAILURES = 1000
_REPAIR_MAX_BRACKETS = 1000
_EMBEDDED_SCAN_BUDGET = 4_000_000
_OPENERS = re.compile(r"[\[{]")
_MENTIONS_QUESTION_KEY = re.compile(r"""["']?(?:question|q)["']?[ \t]{0,4}:""", re.IGNORECASE)

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


@dataclass(slots=True)
class ParsedPairs:
    """What :func:`parse_pairs` found."""

    pairs: list[Pair] = field(default_factory=list)
    """``(question, answer)``, stripped; pairs missing either part are dropped."""
    method: str = "none"
    """``json``, ``json-fenced``, ``json-embedded``, ``markdown``, ``qa-lines``, ``numbered``
    or ``none``."""
    error: str | None = None
    """Why nothing, or not everything, could be parsed; ``None`` when all went well."""


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
    json_result = _parse_json(stripped)
    if json_result is not None and json_result.pairs:
        return json_result
    first_problems: list[str] = []
    for method, finder in (
        ("markdown", _marker_pairs(_LONG_MARKER)),
        ("qa-lines", _marker_pairs(_SHORT_MARKER)),
        ("numbered", _numbered_pairs),
    ):
        pairs, problems = finder(stripped)
        if pairs:
            return ParsedPairs(pairs, method, _summarise(problems))
        first_problems = first_problems or problems
    if json_result is not None:
        return json_result
    return ParsedPairs([], "none", _summarise(["no question/answer pairs found", *first_problems]))


# ---------------------------------------------------------------------------- JSON


class _Extracted:
    """Pairs pulled out of decoded JSON plus what was skipped and why."""

    def __init__(self) -> None:
        self.pairs: list[Pair] = []
        self.problems: list[str] = []
        self.entries = 0

    def add_entries(self, entries: Sequence[Any]) -> None:
        for entry in entries:
            self.entries += 1
            pair, problem = _entry_pair(entry, self.entries)
            if pair is not None:
                self.pairs.append(pair)
            elif problem:
                self.problems.append(problem)


def _parse_json(text: str) -> ParsedPairs | None:
    """Pairs from JSON in any of its placements; ``None`` when there is no pair-shaped JSON."""
    shaped_but_empty: ParsedPairs | None = None
    if text[0] in '{["':
        value = _loads(text)
        if isinstance(value, str):
            nested = _parse(value) if value.strip() != text else None
            if nested is not None and nested.pairs:
                return nested
        result = _result_from_values([value], "json")
        if result is not None:
            if result.pairs:
                return result
            shaped_but_empty = result
    fenced = [_loads(_fence_body(body)) for body in text.split("```")[1::2]]
    result = _result_from_values(fenced, "json-fenced")
    if result is not None:
        if result.pairs:
            return result
        shaped_but_empty = shaped_but_empty or result
    result = _embedded_json(text)
    if result is not None and result.pairs:
        return result
    repaired = _repaired_json(text)
    if repaired is not None and repaired.pairs:
        return repaired
    return shaped_but_empty or result or repaired


_MISSING = object()


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _MISSING


def _fence_body(body: str) -> str:
    """Drop the info string (```` ```json ````) from a fenced block."""
    first, newline, rest = body.partition("\n")
    if newline and re.fullmatch(r"[ \t]{0,8}[\w+\-.]{0,20}[ \t]{0,8}", first):
        return rest
    return body


def _result_from_values(values: Sequence[Any], method: str) -> ParsedPairs | None:
    extracted = _Extracted()
    shaped = False
    for value in values:
        entries = _pair_entries(value, 0)
        if entries is not None:
            shaped = True
            extracted.add_entries(entries)
    if not shaped:
        return None
    return _json_result(extracted, method)


def _json_result(extracted: _Extracted, method: str, note: str | None = None) -> ParsedPairs:
    problems = ([note] if note else []) + extracted.problems
    if not extracted.pairs and not extracted.problems:
        problems.append("the JSON holds no question/answer pairs")
    return ParsedPairs(extracted.pairs, method, _summarise(problems))


def _pair_entries(value: Any, depth: int) -> list[Any] | None:
    """The list of pair-like entries inside ``value``; ``None`` when it is not pair-shaped."""
    if depth > _MAX_NESTING:
        return None
    if isinstance(value, list):
        return value if any(_looks_like_entry(item) for item in value) else None
    if not isinstance(value, dict):
        return None
    if _looks_like_entry(value):
        return [value]
    keys = _normalised_keys(value)
    for name in _CONTAINER_KEYS:
        if name in keys and isinstance(value[keys[name]], list):
            return list(value[keys[name]])
    for child in value.values():
        if isinstance(child, dict | list):
            entries = _pair_entries(child, depth + 1)
            if entries is not None:
                return entries
    return None


def _looks_like_entry(item: Any) -> bool:
    """A question/answer object (both keys, or one of them holding a plain value) or a
    two-item list of strings. ``{"response": {...}}`` is a wrapper, not an entry."""
    if isinstance(item, dict):
        keys = _normalised_keys(item)
        found = [_find_key(keys, _QUESTION_KEYS), _find_key(keys, _ANSWER_KEYS)]
        if all(key is not None for key in found):
            return True
        return any(key is not None and not isinstance(item[key], dict | list) for key in found)
    return (
        isinstance(item, list | tuple) and len(item) == 2 and all(isinstance(x, str) for x in item)
    )


def _normalised_keys(value: dict[Any, Any]) -> dict[str, Any]:
    """Lower-case keys without a trailing number (``"Question 1"`` -> ``"question"``)."""
    keys: dict[str, Any] = {}
    for key in value:
        if isinstance(key, str):
            keys.setdefault(_KEY_SUFFIX.sub("", key.strip().lower()), key)
    return keys


def _find_key(keys: dict[str, Any], names: Sequence[str]) -> Any | None:
    for name in names:
        if name in keys:
            return keys[name]
    return None


def _entry_pair(entry: Any, number: int) -> tuple[Pair | None, str | None]:
    """``(pair, None)`` or ``(None, why it was skipped)``."""
    if isinstance(entry, list | tuple) and len(entry) == 2:
        question, answer = entry
    elif isinstance(entry, dict):
        keys = _normalised_keys(entry)
        question_key = _find_key(keys, _QUESTION_KEYS)
        answer_key = _find_key(keys, _ANSWER_KEYS)
        question = entry[question_key] if question_key is not None else None
        answer = entry[answer_key] if answer_key is not None else None
    else:
        return None, f"entry {number} is not a question/answer object"
    question_text, question_problem = _as_text(question, "question")
    answer_text, answer_problem = _as_text(answer, "answer")
    if question_problem or answer_problem:
        return None, f"entry {number} {question_problem or answer_problem}"
    return (question_text, answer_text), None


def _as_text(value: Any, part: str) -> tuple[str, str | None]:
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str | int | float):
        text = str(value)
    elif value is None:
        return "", f"has no {part}"
    else:
        return "", f"has a {part} that is not text ({type(value).__name__})"
    text = text.strip()
    return (text, None) if text else ("", f"has an empty {part}")


def _embedded_json(text: str) -> ParsedPairs | None:
    """Decode JSON values that start at ``{`` or ``[`` anywhere in the text.

    Complete values are collected in order (a cut-off container still yields its complete
    entries). The scan skips over decoded values and stops after a fixed amount of work.
    """
    decoder = json.JSONDecoder()
    extracted = _Extracted()
    shaped = False
    cursor = 0
    work = 0
    first_kept: int | None = None
    failed_spans: list[tuple[int, int]] = []
    for match in _OPENERS.finditer(text):
        start = match.start()
        if start < cursor:
            continue
        if len(failed_spans) >= _EMBEDDED_FAILURES or work >= _EMBEDDED_SCAN_BUDGET:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            work += max(exc.pos - start, 1)
            failed_spans.append((start, exc.pos))
            continue
        except (ValueError, RecursionError):
            work += 1
            failed_spans.append((start, start))
            continue
        work += end - start
        cursor = end
        entries = _pair_entries(value, 0)
        if entries is None:
            continue
        shaped = True
        before = len(extracted.pairs)
        extracted.add_entries(entries)
        if first_kept is None and len(extracted.pairs) > before:
            first_kept = start
    if not shaped:
        return None
    note = None
    if first_kept is not None and any(s < first_kept <= pos for s, pos in failed_spans):
        kept = len(extracted.pairs)
        note = f"the JSON was cut off or malformed; kept {kept} complete {_plural(kept, 'entry')}"
    return _json_result(extracted, "json-embedded", note)


def _repaired_json(text: str) -> ParsedPairs | None:
    """Last JSON attempt: repair single quotes, trailing commas, a cut-off end and the like."""
    opener = _OPENERS.search(text)
    if opener is None:
        return None
    region = text[opener.start() :]
    if len(region) > _REPAIR_LIMIT or not _MENTIONS_QUESTION_KEY.search(region):
        return None
    if region.count("{") + region.count("[") > _REPAIR_MAX_BRACKETS:
        return None
    try:
        value = json_repair.loads(region)
    except Exception:  # the repairer gives up on some inputs (deep nesting); so do we
        return None
    entries = _pair_entries(value, 0)
    if entries is None:
        return None
    extracted = _Extracted()
    extracted.add_entries(entries)
    note = "the JSON was malformed and has been repaired"
    if extracted.pairs and _ends_mid_string(region, extracted.pairs[-1][1]):
        extracted.pairs.pop()
        note = "the JSON was cut off; the last, unfinished pair was dropped"
    method = "json" if opener.start() == 0 else "json-embedded"
    return _json_result(extracted, method, note)


def _ends_mid_string(region: str, last_answer: str) -> bool:
    """True when the text stops inside the last answer (the model ran out of tokens)."""
    tail = last_answer[-24:]
    return bool(tail) and region.rstrip().endswith(tail)


# ---------------------------------------------------------------------------- Markdown / Q: A:


def _marker_pairs(pattern: re.Pattern[str]) -> Any:
    def find(text: str) -> tuple[list[Pair], list[str]]:
        return _pairs_between_markers(text, _accepted_markers(pattern.finditer(text)))

    return find


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


def _pairs_between_markers(text: str, markers: Sequence[_Marker]) -> tuple[list[Pair], list[str]]:
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


def _numbered_pairs(text: str) -> tuple[list[Pair], list[str]]:
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


# ---------------------------------------------------------------------------- helpers


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


def _plural(count: int, noun: str) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def _summarise(problems: Sequence[str]) -> str | None:
    if not problems:
        return None
    shown = "; ".join(problems[:3])
    more = len(problems) - 3
    return f"{shown}; and {more} more" if more > 0 else shown
