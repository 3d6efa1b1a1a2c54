"""The changes a reviewer can make to one chunk, as validated request bodies.

Each operation edits the chunk's pairs in place on the loaded :class:`SuggestionsFile`, so
fields a person added by hand (scores, tags, notes) survive. Undo is a ``restore`` of the
chunk's pairs as they were before the action being undone.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from qaforge.errors import QaforgeError
from qaforge.records import Chunk, PairStatus, Suggestion, SuggestionsFile, content_id
from qaforge.review.views import from_browser

MAX_TEXT = 20_000
#: where a converted chunk keeps the text a person wrote (a field of the chunk on disk)
CONVERTED_FROM = "converted_from_text"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _visible(value: Any) -> Any:
    """A lone surrogate from hostile text shows as U+FFFD in the page; store what was shown
    (the string constraints below cannot even read one)."""
    return _LONE_SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


PairText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                            max_length=MAX_TEXT), BeforeValidator(_visible)]


class OpError(QaforgeError, ValueError):
    """An operation that cannot apply to the file as it is (unknown chunk or pair...)."""

    def __init__(self, message: str, status_code: int = 404) -> None:
        super().__init__(message)
        self.status_code = status_code


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chunk: str = Field(max_length=200)


class UpdatePair(_Op):
    """Change a pair's text and/or status; changing the text makes it ``edited``."""

    op: Literal["update"]
    pair: str = Field(max_length=200)
    question: PairText | None = None
    answer: PairText | None = None
    status: PairStatus | None = None


class AddPair(_Op):
    """A pair a person wrote; it is ``edited`` (human text) unless told otherwise."""

    op: Literal["add"]
    question: PairText
    answer: PairText
    status: PairStatus = "edited"
    index: int | None = Field(default=None, ge=0)


class DeletePair(_Op):
    op: Literal["delete"]
    pair: str = Field(max_length=200)


class RestorePairs(_Op):
    """Put back a chunk's suggestions exactly as they were (how undo works)."""

    op: Literal["restore"]
    suggestions: list[dict[str, Any]] | Annotated[str, StringConstraints(max_length=200_000)]


class ConvertText(_Op):
    """Turn a hand-written ``**Question 1:** ...`` string into editable pairs."""

    op: Literal["convert"]


Operation = Annotated[UpdatePair | AddPair | DeletePair | RestorePairs | ConvertText,
                      Field(discriminator="op")]


class OpRequest(BaseModel):
    """Body of ``POST /api/docs/{doc}/ops``: the revision the change is based on, and it."""

    model_config = ConfigDict(extra="forbid")

    revision: str = Field(min_length=1, max_length=64)
    op: Operation


def apply_operation(data: SuggestionsFile, op: UpdatePair | AddPair | DeletePair
                    | RestorePairs | ConvertText) -> Chunk:
    """Apply ``op`` to ``data`` in place; returns the changed chunk."""
    chunk = data.chunk(op.chunk)
    if chunk is None:
        raise OpError(f"no chunk {op.chunk!r} in this file (it may have been regenerated)")
    if isinstance(op, RestorePairs):
        chunk.suggestions = _restored(data, chunk, op.suggestions)
    elif isinstance(op, ConvertText):
        chunk.suggestions = _converted(chunk)
    else:
        pairs = _pair_list(chunk)
        if isinstance(op, AddPair):
            pair = Suggestion(id=_new_pair_id(chunk.id, op.question), question=op.question,
                              answer=op.answer, status=op.status)
            pairs.insert(len(pairs) if op.index is None else min(op.index, len(pairs)), pair)
        elif isinstance(op, DeletePair):
            pairs.remove(_find_pair(pairs, op.pair))
        else:
            _update(_find_pair(pairs, op.pair), op)
    return chunk


def _pair_list(chunk: Chunk) -> list[Suggestion]:
    if isinstance(chunk.suggestions, str):
        raise OpError("this chunk's pairs are hand-written text; convert them to pairs first",
                      409)
    return chunk.suggestions


def _find_pair(pairs: list[Suggestion], pair_id: str) -> Suggestion:
    found = next((pair for pair in pairs if pair.id == pair_id), None)
    if found is None:
        raise OpError(f"no pair {pair_id!r} in this chunk (it may have been deleted)")
    return found


def _update(pair: Suggestion, op: UpdatePair) -> None:
    text_changed = False
    if op.question is not None and op.question != pair.question:
        pair.question, text_changed = op.question, True
    if op.answer is not None and op.answer != pair.answer:
        pair.answer, text_changed = op.answer, True
    if op.status is not None:
        pair.status = op.status
    elif text_changed:
        pair.status = "edited"


def _new_pair_id(chunk_id: str, question: str) -> str:
    return content_id("q", chunk_id, question, secrets.token_hex(8))


def _restored(data: SuggestionsFile, chunk: Chunk,
              value: list[dict[str, Any]] | str) -> list[Suggestion] | str:
    if isinstance(value, str):
        if chunk.model_extra:  # undoing a conversion: the kept copy is the text itself again
            chunk.model_extra.pop(CONVERTED_FROM, None)
        return value
    try:
        pairs = [Suggestion.model_validate(from_browser(entry)) for entry in value]
    except ValueError as exc:
        raise OpError(f"cannot restore: {exc}", 422) from exc
    taken = {pair.id for other in data.chunks if other is not chunk
             and isinstance(other.suggestions, list) for pair in other.suggestions}
    for pair in pairs:
        if pair.id in taken:
            pair.id = _new_pair_id(chunk.id, pair.question)
        taken.add(pair.id)
    return pairs


def _converted(chunk: Chunk) -> list[Suggestion]:
    if not isinstance(chunk.suggestions, str):
        raise OpError("this chunk already has a list of pairs", 409)
    try:
        from qaforge.qa_parsing import parse_pairs
    except ImportError as exc:
        raise OpError("converting text to pairs needs qaforge.qa_parsing, which is not "
                      "available in this install", 501) from exc
    found = [_question_answer(item) for item in parse_pairs(chunk.suggestions).pairs]
    pairs = [Suggestion(id=_new_pair_id(chunk.id, q), question=q.strip(), answer=a.strip(),
                        status="edited") for q, a in found if q.strip() and a.strip()]
    if not pairs:
        raise OpError("no question/answer pairs found in this chunk's text", 422)
    # keep what the person wrote, in case the parser missed part of it
    setattr(chunk, CONVERTED_FROM, chunk.suggestions)
    return pairs


def _question_answer(item: Any) -> tuple[str, str]:
    """A parsed pair as (question, answer), whatever shape the parser returns."""
    if isinstance(item, dict):
        return str(item.get("question", "")), str(item.get("answer", ""))
    if isinstance(item, tuple | list):
        return str(item[0]), str(item[1])
    return str(item.question), str(item.answer)
