"""Stage 1's LLM step: draft question/answer pairs for chunks.

:class:`GenerateQA` is a stage: built once with a client, then called on chunks (or on
JSON records, for cluster runners). It asks for JSON constrained by :func:`qa_schema`, falls
back to the tolerant parser, retries once, and keeps what still fails verbatim in the
chunk's ``raw`` with its ``error``: nothing is dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from qaforge.languages import detect_language, language_name
from qaforge.llm.base import ChatRequest, Completion, LLMClient, LLMError
from qaforge.llm.retry import stream_with_retry
from qaforge.prompts import DEFAULT_QA_PROMPT, PromptTemplate, load_prompt
from qaforge.qa_parsing import parse_pairs
from qaforge.records import Chunk, Suggestion, model_pair_id

QUESTION_MAX_CHARS = 300
ANSWER_MAX_CHARS = 700
# a reply that runs out of tokens inside a string is the classic small-model failure:
# size max_tokens for n full pairs at the caps (~3.2 chars/token plus JSON overhead)
TOKENS_PER_PAIR = (QUESTION_MAX_CHARS + ANSWER_MAX_CHARS) // 3 + 24


def qa_schema(pairs: int) -> dict[str, Any]:
    """JSON schema for a reply of up to ``pairs`` pairs, with length caps (see module doc)."""
    return {
        "type": "object",
        "properties": {
            "pairs": {
                "type": "array", "minItems": 1, "maxItems": pairs,
                "items": {
                    "type": "object",
                    "properties": {
                        "question": {"type": "string", "minLength": 5,
                                     "maxLength": QUESTION_MAX_CHARS},
                        "answer": {"type": "string", "minLength": 1,
                                   "maxLength": ANSWER_MAX_CHARS},
                    },
                    "required": ["question", "answer"],
                    "additionalProperties": False,
                },
            },
        },
        "required": ["pairs"],
        "additionalProperties": False,
    }


def answer_token_budget(pairs: int) -> int:
    return pairs * TOKENS_PER_PAIR + 32


class _Pair(BaseModel):
    question: str
    answer: str


class _Reply(BaseModel):
    pairs: list[_Pair]


@dataclass(slots=True)
class Draft:
    """What one model reply yielded for a chunk."""

    pairs: list[tuple[str, str]]
    method: str
    error: str | None


def read_reply(text: str) -> Draft:
    """Strict JSON first (the schema's shape), then the tolerant parser."""
    try:
        reply = _Reply.model_validate(json.loads(text))
        pairs = [(p.question.strip(), p.answer.strip()) for p in reply.pairs]
        pairs = [(q, a) for q, a in pairs if q and a]
        if pairs:
            return Draft(pairs, "json", None)
    except (ValueError, ValidationError):
        pass
    parsed = parse_pairs(text)
    if parsed.pairs:
        return Draft(list(parsed.pairs), parsed.method, None)
    reason = parsed.error or "no question/answer pairs found"
    return Draft([], "none", f"unparseable model output: {reason}")


def _unique(pairs: Sequence[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for question, answer in pairs:
        key = " ".join(question.lower().split())
        if key not in seen:
            seen.add(key)
            out.append((question, answer))
    return out[:limit]


@dataclass(slots=True)
class ChunkJob:
    """A chunk to generate for, with the document it belongs to (for the prompt)."""

    document: str
    chunk: Chunk
    language: str | None = None  # the document's, for a chunk too short to tell its own


class GenerateQA:
    """Stage: pending chunks in, chunks with drafted suggestions (or a recorded failure) out."""

    def __init__(self, client: LLMClient, *, pairs_per_chunk: int = 3,
                 prompt: PromptTemplate | None = None, max_tokens: int | None = None,
                 temperature: float | None = None, language: str | None = None,
                 coverage: float = 0.0, coverage_rounds: int = 2) -> None:
        self.client = client
        #: ``--coverage``: share of a chunk's informative sentences its pairs should cover,
        #: reached by up to ``coverage_rounds`` extra requests (0: one request per chunk)
        self.coverage = coverage
        self.coverage_rounds = coverage_rounds
        self.language = language  # ISO 639-1 code the pairs are written in; None: the chunk's
        self.pairs = pairs_per_chunk
        self.prompt = prompt or load_prompt(DEFAULT_QA_PROMPT)
        # by default the client's sampling: [llm] temperature, max_tokens capping our budget
        self.max_tokens = max_tokens or client.sampling.budget(answer_token_budget(pairs_per_chunk))
        self.temperature = client.sampling.temperature if temperature is None else temperature
        self.schema = qa_schema(pairs_per_chunk)

    @property
    def prompt_overhead_tokens(self) -> int:
        """Tokens the template costs without a chunk (for sizing chunks)."""
        messages = self.prompt.render(text="", document="document.pdf", headings="-",
                                      pages="1-1", n=self.pairs,
                                      language="the language of the passage")
        return sum(self.client.count_tokens(m["content"]) for m in messages) + 16

    def request(self, job: ChunkJob, retry: bool = False) -> ChatRequest:
        chunk = job.chunk
        pages = f"{chunk.pages[0]}-{chunk.pages[-1]}" if chunk.pages else "?"
        language = self.language_of(job)
        messages = self.prompt.render(
            text=chunk.text, document=job.document, pages=pages, n=self.pairs,
            headings=" > ".join(chunk.headings) or "(none)",
            language=language_name(language) if language else "the language of the passage")
        if retry:
            messages.append({"role": "user", "content": "Your last reply could not be read. "
                             'Reply with JSON only: {"pairs": [{"question": "...", '
                             '"answer": "..."}]}'})
        return ChatRequest(messages=messages, schema=self.schema, schema_name="qa_pairs",
                           max_tokens=self.max_tokens, tag=chunk.id, passage=chunk.text,
                           temperature=self.temperature if not retry else
                           max(self.temperature, 0.3))

    def language_of(self, job: ChunkJob) -> str | None:
        """The language ``job``'s pairs are asked in: the one set (``--language``), else the
        chunk's own (a document may mix languages), else its document's."""
        return self.language or detect_language(job.chunk.text) or job.language

    def apply(self, chunk: Chunk, result: Completion | LLMError) -> tuple[Chunk, bool]:
        """Record ``result`` on a copy of ``chunk``; the flag says whether it succeeded."""
        out = chunk.model_copy(deep=True)
        if isinstance(result, LLMError):
            out.state, out.raw, out.error = "failed", None, f"model request failed: {result}"
            return out, False
        draft = read_reply(result.text)
        pairs = _unique(draft.pairs, self.pairs)
        if not pairs:
            out.state, out.raw = "failed", result.raw  # verbatim, reasoning included
            out.error = result.reasoning_error or draft.error
            if result.finish_reason == "length":
                out.error = f"{out.error} (reply hit the {self.max_tokens}-token limit)"
            return out, False
        out.suggestions = [Suggestion(id=model_pair_id(chunk.id, i, q, a), question=q,
                                      answer=a, status="draft")
                           for i, (q, a) in enumerate(pairs)]
        out.state, out.error = "generated", None
        out.raw = result.text if draft.method != "json" else None
        return out, True

    def stream(self, jobs: Sequence[ChunkJob]) -> Iterator[Chunk]:
        """Generate for ``jobs``; yield each finished chunk as soon as it is final.

        Failures get one retry, sent after the first round so the slots stay busy. With a
        coverage target, chunks below it get extra rounds first (:mod:`.coverage_rounds`).
        """
        if self.coverage > 0:
            from qaforge.coverage_rounds import with_rounds

            yield from with_rounds(self, jobs, self._first_pass(jobs), self.coverage,
                                   self.coverage_rounds)
        else:
            yield from self._first_pass(jobs)

    def _first_pass(self, jobs: Sequence[ChunkJob]) -> Iterator[Chunk]:
        def read(index: int, result: Completion | LLMError, first: Chunk | None
                 ) -> tuple[Chunk, ChatRequest | None]:
            chunk, ok = self.apply(jobs[index].chunk, result)
            if ok or first is not None:
                return chunk, None
            return chunk, self.request(jobs[index], retry=True)

        requests = [self.request(job) for job in jobs]
        for _, chunk in stream_with_retry(self.client, requests, read):
            yield chunk

    def __call__(self, jobs: Sequence[ChunkJob]) -> list[Chunk]:
        """Batch form for cluster stages: :meth:`stream`'s chunks in input order."""
        done = {c.id: c for c in self.stream(jobs)}
        return [done[job.chunk.id] for job in jobs]
