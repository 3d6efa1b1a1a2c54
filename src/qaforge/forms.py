"""Question forms beyond one-shot factual Q&A (issue 18 part 4).

Each form is a versioned prompt (``prompts/<form>_v1.txt``) with its own JSON schema and
its own reader; ``generate`` mixes them per run (``--forms qa,yes_no`` or ``[generate]
forms = {qa = 0.5, yes_no = 0.5}``), one request per form per chunk. Every form yields
plain question/answer pairs, so every reader that knows only Q/A still works; a
``multi_turn`` pair also carries its whole conversation as ``turns`` (the question and
answer are its first exchange).

Several phrasings of one fact (``yes_no``, ``fill_in`` beside ``qa``) are what makes it
retrievable after fine-tuning (Allen-Zhu & Li, "Physics of Language Models 3.1").
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from qaforge.errors import ConfigError
from qaforge.records import content_id

QA = "qa"
BLANK = "____"
_WORD = re.compile(r"[^\W\d_]+")
#: a blank as refine's checks find it (three or more underscores)
BLANK_PATTERN = re.compile(r"_{3,}")
#: the most words a fill-in item's missing part may have (refine checks it too)
FILL_IN_MAX_WORDS = 8
#: answers a yes/no question opens with
YES_NO = ("yes", "no")

Turns = list[dict[str, str]]


@dataclass(frozen=True, slots=True)
class FormPair:
    """One drafted item of any form, as a question/answer pair (plus a conversation)."""

    question: str
    answer: str
    turns: Turns | None = None


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": required or list(props),
            "additionalProperties": False}


def _text(min_length: int, max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def _items(key: str, item: dict[str, Any], n: int) -> dict[str, Any]:
    return _obj({key: {"type": "array", "minItems": 1, "maxItems": n, "items": item}})


def _reasoning(n: int) -> dict[str, Any]:
    return _items("pairs", _obj({
        "question": _text(5, 300),
        "steps": {"type": "array", "minItems": 2, "maxItems": 5, "items": _text(5, 300)},
        "conclusion": _text(1, 300)}), n)


def _summary(n: int) -> dict[str, Any]:
    return _items("pairs", _obj({"instruction": _text(5, 300), "summary": _text(20, 900)}), n)


def _yes_no(n: int) -> dict[str, Any]:
    return _items("pairs", _obj({"question": _text(5, 300),
                                 "verdict": {"type": "string", "enum": ["yes", "no"]},
                                 "explanation": _text(1, 400)}), n)


def _fill_in(n: int) -> dict[str, Any]:
    # no "pattern" for the blank: llama.cpp ignores an unanchored one, and with an anchored
    # one (^.*_{3,}.*$) its server failed 5 of 6 requests of the bundled model (HTTP 500,
    # output not matching its own grammar); refine's fill_in_blank check catches a missing blank
    return _items("pairs", _obj({"cloze": _text(5, 300), "missing": _text(1, 120)}), n)


def _multi_turn(n: int) -> dict[str, Any]:
    exchange = _obj({"user": _text(5, 300), "assistant": _text(1, 700)})
    return _items("conversations", _obj({"exchanges": {
        "type": "array", "minItems": 2, "maxItems": 3, "items": exchange}}), n)


def _strings(value: Any) -> list[str]:
    return [v.strip() for v in value if isinstance(v, str) and v.strip()] \
        if isinstance(value, list) else []


def _field(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def _read_reasoning(item: Mapping[str, Any]) -> FormPair | None:
    steps = _strings(item.get("steps"))
    conclusion = _field(item, "conclusion")
    if not steps:
        return None
    lines = [f"{i}. {step}" for i, step in enumerate(steps, 1)]
    return FormPair(_field(item, "question"),
                    "\n".join(lines + ([conclusion] if conclusion else [])))


def _read_summary(item: Mapping[str, Any]) -> FormPair | None:
    return FormPair(_field(item, "instruction"), _field(item, "summary"))


def first_yes_no(text: str) -> str | None:
    """The first "yes" or "no" word of ``text`` (lower case), or ``None``: the verdict a
    yes/no answer gives, however it goes on."""
    return next((w for w in _WORD.findall(text.casefold()) if w in YES_NO), None)


def _read_yes_no(item: Mapping[str, Any]) -> FormPair | None:
    verdict = _field(item, "verdict").lower()
    if verdict not in YES_NO:
        return None
    explanation = _field(item, "explanation")
    return FormPair(_field(item, "question"),
                    f"{verdict.capitalize()}. {explanation}".strip())


def _read_fill_in(item: Mapping[str, Any]) -> FormPair | None:
    cloze, missing = _field(item, "cloze"), _field(item, "missing")
    return FormPair(with_blank(cloze, missing), missing)


def with_blank(cloze: str, missing: str) -> str:
    """``cloze`` with its first whole-word ``missing`` replaced by :data:`BLANK` when the
    model wrote the sentence whole instead of blanking it (Qwen2.5-Coder-1.5B did so for 21
    of 21 items: "It is case sensitive as are most UNIX based packages" / "packages").
    A statement that already has a blank, or whose missing words are not short words of it
    (or are all of it), is left as it is for refine's checks to judge."""
    words = missing.split()
    if BLANK_PATTERN.search(cloze) or not words or len(words) > FILL_IN_MAX_WORDS:
        return cloze
    found = re.search(rf"(?<!\w){re.escape(missing)}(?!\w)", cloze, re.IGNORECASE)
    if found is None:
        return cloze
    before, after = cloze[:found.start()], cloze[found.end():]
    if not before.strip() and not after.strip(" .!?;:"):  # the missing words are all of it
        return cloze
    return before + BLANK + after


def _read_multi_turn(item: Mapping[str, Any]) -> FormPair | None:
    exchanges = item.get("exchanges")
    if not isinstance(exchanges, list):
        return None
    turns: Turns = []
    for exchange in exchanges:
        if not isinstance(exchange, dict):
            return None
        user, assistant = _field(exchange, "user"), _field(exchange, "assistant")
        if not user or not assistant:
            return None
        turns += [{"role": "user", "content": user},
                  {"role": "assistant", "content": assistant}]
    if not turns:
        return None
    return FormPair(turns[0]["content"], turns[1]["content"], turns)


@dataclass(frozen=True, slots=True)
class Form:
    """A question form: its packaged prompt, its reply schema, and how to read a reply."""

    name: str
    prompt: str
    schema: Callable[[int], dict[str, Any]]
    list_key: str
    read_item: Callable[[Mapping[str, Any]], FormPair | None]
    #: reply tokens one item takes at its schema's caps (~3.2 chars/token plus JSON)
    tokens_per_item: int
    #: what the judge is told this form should be (its rubric line)
    rubric: str

    def read(self, text: str) -> list[FormPair]:
        """The items of a strict JSON reply in this form's schema (invalid ones dropped)."""
        try:
            value = json.loads(text)
        except ValueError:
            return []
        items = value.get(self.list_key) if isinstance(value, dict) else None
        out = []
        for item in items if isinstance(items, list) else []:
            pair = self.read_item(item) if isinstance(item, dict) else None
            if pair is not None and pair.question and pair.answer:
                out.append(pair)
        return out


#: every form but ``qa`` (whose schema and reader live in :mod:`qaforge.generate`)
FORMS: dict[str, Form] = {form.name: form for form in (
    Form("reasoning", "reasoning/v1", _reasoning, "pairs", _read_reasoning, 560,
         "a why/how question whose answer explains in steps, each step supported by the "
         "passage, ending in a conclusion"),
    Form("summary", "summary/v1", _summary, "pairs", _read_summary, 400,
         "an instruction (not a question) to summarise a section, answered by a faithful, "
         "complete summary of that section"),
    Form("yes_no", "yes_no/v1", _yes_no, "pairs", _read_yes_no, 250,
         "a yes/no question restating one fact; the answer starts with Yes or No and then "
         "gives the fact"),
    Form("fill_in", "fill_in/v1", _fill_in, "pairs", _read_fill_in, 150,
         "a statement of one fact with a blank (____); the answer is only the missing words"),
    Form("multi_turn", "multi_turn/v1", _multi_turn, "conversations", _read_multi_turn,
         900, "a conversation of 2-3 exchanges where each follow-up builds on the previous "
         "answer and every answer is supported by the passage"),
)}
FORM_NAMES: tuple[str, ...] = (QA, *FORMS)
QA_RUBRIC = "a standalone factual question with a direct, complete answer"


def rubric(form: str) -> str:
    """The judge's rubric line for ``form`` (the ``qa`` one for unknown forms)."""
    known = FORMS.get(form)
    return known.rubric if known is not None else QA_RUBRIC


def parse_forms(value: str | Mapping[str, float]) -> dict[str, float]:
    """``"qa,yes_no"`` (equal shares) or ``{"qa": 2, "yes_no": 1}`` -> shares summing to 1,
    in :data:`FORM_NAMES` order. Unknown forms and shares that are not positive raise
    :class:`ConfigError`."""
    if isinstance(value, str):
        names = [name.strip() for name in value.split(",") if name.strip()]
        weights: dict[str, float] = {name: 1.0 for name in names}
    else:
        weights = {str(k): float(v) for k, v in value.items()}
    unknown = sorted(set(weights) - set(FORM_NAMES))
    if unknown:
        raise ConfigError(f"unknown question form(s) {', '.join(unknown)}; known: "
                          f"{', '.join(FORM_NAMES)}")
    if not weights or any(w <= 0 for w in weights.values()):
        raise ConfigError("forms: give at least one form, each with a share above 0")
    total = sum(weights.values())
    return {name: weights[name] / total for name in FORM_NAMES if name in weights}


def allot(pairs: int, shares: Mapping[str, float], key: str) -> dict[str, int]:
    """How many of a chunk's ``pairs`` each form gets: whole shares first, then the rest
    by largest remainder, ties broken by a hash of ``key`` (the chunk id) so that across
    many chunks every form gets its share, while one chunk always gets the same split.
    Forms that get nothing are left out."""
    exact = {name: pairs * share for name, share in shares.items()}
    counts = {name: int(value) for name, value in exact.items()}
    left = pairs - sum(counts.values())
    order = sorted(shares, key=lambda name: (-(round(exact[name] - counts[name], 9)),
                                             content_id("f", key, name)))
    for name in order[:left]:
        counts[name] += 1
    return {name: n for name, n in counts.items() if n}
