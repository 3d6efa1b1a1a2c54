"""The ``cite`` judge method: the model says *where* the passage answers the question, and
the pair's answer must rest on those sentences (issues 15 and 20).

The passage goes to the model with its sentences numbered; the model replies with the
numbers of the sentences that answer the question (at most :data:`MAX_CITED`, none when the
passage does not answer it). That reply is a handful of tokens, against the one or two
sentences the ``checks`` method has the model write; measured, that saves little (4.9 vs 4.8
s a pair on round 1 of the labelled set, 3.9 vs 4.4 s on round 2 with the 1.5B on 2 cores):
reading the passage, once per chunk with the prompt cache, is most of a judge call
(docs/benchmarks.md 3.3).

The cited sentences are then compared with the pair's answer without a model:
``support`` is the share of the answer's own content words (those not already in the
question, by stem) found in the cited sentences. An answer that another part of the passage
supports (it answers another question) or that nothing supports (invented) has low support;
an answer that misreads the cited sentence keeps its words and is not caught (neither is it
by the ``checks`` method). A yes/no pair's verdict is not checked, only its explanation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

from qaforge.languages import content_words, stem
from qaforge.refine.checks import normalise, numbers_in
from qaforge.text import sentences

CITE_PROMPT = "check_source/v1"
#: the most sentences a reply may name (a question a pair answers rarely needs more)
MAX_CITED = 3
#: room for ``{"sentences": [12, 13, 14]}`` and the whitespace a grammar allows
CITE_MAX_TOKENS = 32
#: below this share of the answer's own words in the cited sentences, the pair does not say
#: what the passage says about its question (the answer check's 0.5, fixed before the first
#: run on bench/data and not tuned: docs/benchmarks.md 3.3)
MIN_SUPPORT = 0.5


def numbered_passage(passage: str, language: str | None) -> tuple[str, list[str]]:
    """The passage as the model sees it, one sentence a line as ``[n] sentence``, and the
    sentences in order (``n`` is the index + 1)."""
    parts = sentences(passage, language)
    return "\n".join(f"[{n}] {s}" for n, s in enumerate(parts, 1)), parts


def cite_schema(count: int) -> dict[str, Any]:
    """The reply's schema for a passage of ``count`` sentences: numbers in range only."""
    return {
        "type": "object",
        "properties": {"sentences": {
            "type": "array", "maxItems": MAX_CITED,
            "items": {"type": "integer", "minimum": 1, "maximum": max(1, count)}}},
        "required": ["sentences"],
        "additionalProperties": False,
    }


class CiteReply(BaseModel):
    """The model's reply: sentence numbers (out-of-range ones are dropped, not refused)."""

    sentences: list[int]

    @field_validator("sentences", mode="after")
    @classmethod
    def _few(cls, value: list[int]) -> list[int]:
        return sorted(set(value))[:MAX_CITED * 2]


def _stems(text: str, language: str | None) -> set[str]:
    normal = normalise(text)
    words = content_words(normal, language) or normal.split()
    return {stem(w) for w in words}


def compare_cited(cited: list[int], parts: list[str], question: str, answer: str,
                  language: str | None) -> dict[str, Any]:
    """The figures evaluation.json records for the sentences the model ``cited`` (numbers
    into ``parts``) against the pair's ``answer`` (and :func:`.verify.label_from_checks`
    decides on)."""
    chosen = [n for n in cited if 1 <= n <= len(parts)]
    if not chosen:
        return {"cited": [], "not_stated": True}
    source = " ".join(parts[n - 1] for n in chosen)
    asked = _stems(question, language)
    own = _stems(answer, language) - asked
    found = _stems(source, language)
    unsupported_numbers = numbers_in(answer) - numbers_in(source) - numbers_in(question)
    measures: dict[str, Any] = {"cited": chosen, "cited_text": source[:1000],
                                "not_stated": False,
                                "numbers_unsupported": sorted(unsupported_numbers)}
    measures["support"] = round(len(own & found) / len(own), 3) if own else 1.0
    return measures
