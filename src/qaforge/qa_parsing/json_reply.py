"""Pairs from JSON: the whole reply, fenced blocks, JSON embedded in prose, and repaired
JSON (single quotes, trailing commas, a reply cut off by the token limit)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import json_repair

from qaforge.qa_parsing.result import Pair, ParsedPairs, plural, summarise

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


def parse_json(text: str, parse_text: Callable[[str], ParsedPairs]) -> ParsedPairs | None:
    """Pairs from JSON in any of its placements; ``None`` when there is no pair-shaped JSON.

    ``parse_text`` parses a JSON string value that itself holds the reply.
    """
    shaped_but_empty: ParsedPairs | None = None
    if text[0] in '{["':
        value = _loads(text)
        if isinstance(value, str):
            nested = parse_text(value) if value.strip() != text else None
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
    return ParsedPairs(extracted.pairs, method, summarise(problems))


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
        note = f"the JSON was cut off or malformed; kept {kept} complete {plural(kept, 'entry')}"
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
