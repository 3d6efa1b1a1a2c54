"""JSON views of suggestions files for the review page (what the browser receives).

Every string here is untrusted (PDF text, model output, hand edits); the page inserts
them as text nodes only, never as HTML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from qaforge.boilerplate import is_skipped, skipped_reason
from qaforge.fileio import JsonFileError
from qaforge.records import Chunk, Suggestion
from qaforge.review.highlight import support_spans, to_utf16_spans
from qaforge.review.judged import Judged, Key, judge_support
from qaforge.suggestions import LoadedSuggestions

STATUSES = ("draft", "accepted", "edited", "rejected")
#: a value the browser's JSON cannot carry exactly travels as its JSON text in this wrapper
#: (``{"$json": "NaN"}``), so that undo can put it back as it was (see ``from_browser``)
EXACT = "$json"
_SAFE_INT = 2**53


def to_browser(value: Any) -> Any:
    """``value`` with every number JavaScript would change (``NaN``, ``Infinity``, integers
    past 2**53) wrapped as its JSON text."""
    if (isinstance(value, float) and not math.isfinite(value)) or (
            isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE_INT):
        return {EXACT: json.dumps(value)}
    if isinstance(value, dict):
        return {key: to_browser(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_browser(item) for item in value]
    return value


def from_browser(value: Any) -> Any:
    """Undo :func:`to_browser`."""
    if isinstance(value, dict):
        if len(value) == 1 and isinstance(value.get(EXACT), str):
            try:
                return json.loads(value[EXACT])
            except ValueError:
                return value
        return {key: from_browser(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_browser(item) for item in value]
    return value


def chunk_kind(chunk: Chunk) -> str:
    """``pairs``, ``text`` (a hand-written string of pairs) or ``pending`` (not generated)."""
    if isinstance(chunk.suggestions, str):
        return "text"
    if chunk.state == "pending" and not chunk.suggestions:
        return "pending"
    return "pairs"


#: what refine found, per (chunk id, pair id) of one suggestions file
JudgedPairs = Mapping[Key, Judged]


def pair_view(pair: Suggestion, chunk_text: str, judged: Judged | None = None
              ) -> dict[str, Any]:
    """A pair with every field it has on disk (so undo can restore it whole) plus highlights:
    the judge's evidence when refine recorded some for this text, else the grounding."""
    spans = judge_support(judged, pair.question, pair.answer, chunk_text)
    if spans is None:
        spans = to_utf16_spans(support_spans(pair.answer, chunk_text), chunk_text)
    return {**to_browser(pair.model_dump(mode="python")),
            "support": [list(span) for span in spans]}


def judge_views(chunk: Chunk, judged: JudgedPairs) -> dict[str, Any]:
    """``{pair id: what refine said}`` for the chunk's pairs refine saw (beside the pairs, so
    that undo never writes it into the file)."""
    pairs = chunk.suggestions if isinstance(chunk.suggestions, list) else []
    out = {}
    for pair in pairs:
        found = judged.get((chunk.id, pair.id))
        if found is not None:
            out[pair.id] = {**found.view(pair.question, pair.answer),
                            "evidence_shown": judge_support(found, pair.question, pair.answer,
                                                            chunk.text) is not None}
    return out


def chunk_view(chunk: Chunk, index: int, judged: JudgedPairs | None = None) -> dict[str, Any]:
    kind = chunk_kind(chunk)
    pairs = chunk.suggestions if isinstance(chunk.suggestions, list) else []
    judged = judged or {}
    return {
        "id": chunk.id,
        "index": index,
        "pages": list(chunk.pages),
        "headings": list(chunk.headings),
        "text": chunk.text,
        "state": chunk.state,
        "kind": kind,
        # nothing to learn (qaforge.boilerplate): not sent to the model, with the reason
        "skipped": skipped_reason(chunk) if is_skipped(chunk) else None,
        "error": chunk.error,
        "raw": chunk.raw,
        "pairs": [pair_view(pair, chunk.text, judged.get((chunk.id, pair.id)))
                  for pair in pairs],
        "judge": judge_views(chunk, judged),
        "suggestions_text": chunk.suggestions if isinstance(chunk.suggestions, str) else None,
    }


def is_flagged(judged: JudgedPairs, chunk: Chunk, pair: Suggestion) -> bool:
    """Refine flagged this pair (see :attr:`Judged.flagged`)."""
    found = judged.get((chunk.id, pair.id))
    return found is not None and found.flagged


def _counts(loaded: LoadedSuggestions, judged: JudgedPairs) -> dict[str, Any]:
    statuses = dict.fromkeys(STATUSES, 0)
    kinds = {"pairs": 0, "text": 0, "pending": 0}
    failed = flagged = skipped = 0
    for chunk in loaded.data.chunks:
        if is_skipped(chunk) and chunk_kind(chunk) == "pending":
            skipped += 1
        else:
            kinds[chunk_kind(chunk)] += 1
        failed += chunk.state == "failed"
        if isinstance(chunk.suggestions, list):
            for pair in chunk.suggestions:
                statuses[pair.status] += 1
                flagged += is_flagged(judged, chunk, pair)
    total = sum(statuses.values())
    return {
        "chunks": len(loaded.data.chunks),
        "pending_chunks": kinds["pending"],
        "skipped_chunks": skipped,
        "text_chunks": kinds["text"],
        "failed_chunks": failed,
        "pairs": total,
        "reviewed": total - statuses["draft"],
        "status_counts": statuses,
        "flagged": flagged,
    }


def document_summary(name: str, loaded: LoadedSuggestions, judged: JudgedPairs | None = None
                     ) -> dict[str, Any]:
    """Progress and health of one suggestions file (the sidebar entry)."""
    return {
        "id": name,
        "source": loaded.data.source.file,
        "revision": loaded.revision,
        "error": None,
        "problems": [str(problem) for problem in loaded.problems],
        # a file with entries qaforge cannot hold exactly is never rewritten: say why
        "read_only": loaded.read_only_reason is not None,
        "read_only_reason": loaded.read_only_reason,
        **_counts(loaded, judged or {}),
    }


def error_summary(name: str, error: JsonFileError | str) -> dict[str, Any]:
    """Sidebar entry for a file that cannot be served (does not parse, or is refused)."""
    if isinstance(error, JsonFileError):
        detail = {"message": error.reason, "line": error.line, "column": error.column,
                  "text": str(error)}
    else:
        detail = {"message": error, "line": None, "column": None, "text": f"{name}: {error}"}
    return {"id": name, "source": name, "revision": None, "error": detail, "problems": [],
            "read_only": True, "read_only_reason": detail["text"], "chunks": 0,
            "pending_chunks": 0, "skipped_chunks": 0, "text_chunks": 0,
            "failed_chunks": 0, "pairs": 0, "reviewed": 0, "flagged": 0,
            "status_counts": dict.fromkeys(STATUSES, 0)}


def document_view(name: str, loaded: LoadedSuggestions, judged: JudgedPairs | None = None
                  ) -> dict[str, Any]:
    generator = loaded.data.generator
    return {
        **document_summary(name, loaded, judged),
        "generator": {"backend": generator.backend, "model": generator.model,
                      "prompt": generator.prompt},
        "pages": loaded.data.source.pages,
        "chunk_list": [chunk_view(chunk, i, judged)
                       for i, chunk in enumerate(loaded.data.chunks)],
    }
