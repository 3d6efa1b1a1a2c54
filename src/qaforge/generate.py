"""Stage 1's LLM step: draft question/answer pairs for chunks.

:class:`GenerateQA` is a stage: built once with a client, then called on chunks (or on
JSON records, for cluster runners). It asks for JSON constrained by :func:`qa_schema`, falls
back to the tolerant parser, retries once, and keeps what still fails verbatim in the
chunk's ``raw`` with its ``error``: nothing is dropped silently.

With several question forms (:mod:`qaforge.forms`), each chunk's pairs are allotted across
them and each form gets its own request; the chunk is final when all of them are.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from qaforge.forms import FORMS, QA, FormPair, allot
from qaforge.languages import detect_language, language_name
from qaforge.llm.base import ChatRequest, Completion, LLMClient, LLMError
from qaforge.llm.retry import stream_with_retry
from qaforge.prompts import DEFAULT_QA_PROMPT, PromptTemplate, load_prompt, passage_values
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


def _unique(pairs: Sequence[FormPair], limit: int) -> list[FormPair]:
    seen: set[str] = set()
    out = []
    for pair in pairs:
        key = " ".join(pair.question.lower().split())
        if key not in seen:
            seen.add(key)
            out.append(pair)
    return out[:limit]


@dataclass(slots=True)
class _Unit:
    """One request of a chunk: ``count`` pairs of one form."""

    job: int
    form: str
    count: int


@dataclass(slots=True)
class _Read:
    """What one unit's final reply gave: its pairs, or why none, and the raw text to keep."""

    pairs: list[FormPair]
    error: str | None
    raw: str | None
    reasoning: str | None = None  # kept with the pairs (``--reasoning keep``)


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
                 coverage: float = 0.0, coverage_rounds: int = 2,
                 forms: Mapping[str, float] | None = None) -> None:
        self.client = client
        #: form -> share of each chunk's pairs (:mod:`qaforge.forms`); ``qa`` alone by default
        self.forms = dict(forms or {QA: 1.0})
        self.form_prompts = {name: load_prompt(FORMS[name].prompt)
                             for name in self.forms if name != QA}
        #: ``--coverage``: share of a chunk's informative sentences its pairs should cover,
        #: reached by up to ``coverage_rounds`` extra requests (0: one request per chunk)
        self.coverage = coverage
        self.coverage_rounds = coverage_rounds
        self.language = language  # ISO 639-1 code the pairs are written in; None: the chunk's
        self.pairs = pairs_per_chunk
        self.prompt = prompt or load_prompt(DEFAULT_QA_PROMPT)
        # by default the client's sampling: [llm] temperature, max_tokens capping our budget
        self.max_tokens = max_tokens or client.sampling.budget(answer_token_budget(pairs_per_chunk))
        self._max_tokens_set = max_tokens
        self.temperature = client.sampling.temperature if temperature is None else temperature
        self.schema = qa_schema(pairs_per_chunk)
        #: ``[llm] reasoning = "keep"``: a reply's reasoning goes with its pairs
        self.keep_reasoning = client.sampling.keep_reasoning

    @property
    def prompt_overhead_tokens(self) -> int:
        """Tokens the template costs without a chunk (for sizing chunks)."""
        messages = self.prompt.render(text="", document="document.pdf", headings="-",
                                      pages="1-1", n=self.pairs,
                                      language="the language of the passage")
        return sum(self.client.count_tokens(m["content"]) for m in messages) + 16

    def _messages(self, prompt: PromptTemplate, job: ChunkJob, n: int) -> list[dict[str, str]]:
        chunk = job.chunk
        language = self.language_of(job)
        return prompt.render(
            **passage_values(job.document, chunk.pages, chunk.headings, chunk.text), n=n,
            language=language_name(language) if language else "the language of the passage")

    def allot(self, job: ChunkJob) -> dict[str, int]:
        """How many of ``job``'s pairs each form gets (:func:`qaforge.forms.allot`)."""
        return allot(self.pairs, self.forms, job.chunk.id)

    def form_request(self, job: ChunkJob, form: str, n: int, retry: bool = False
                     ) -> ChatRequest:
        """The request for ``n`` pairs of ``form`` about ``job`` (``qa``: :meth:`request`)."""
        if form == QA:
            return self.request(job, retry, n)
        spec = FORMS[form]
        messages = self._messages(self.form_prompts[form], job, n)
        if retry:
            messages.append({"role": "user", "content": "Your last reply could not be read. "
                             "Reply with JSON only, in the shape asked for above."})
        return ChatRequest(
            messages=messages, schema=spec.schema(n), schema_name=f"{form}_pairs",
            max_tokens=self.token_limit(form, n),
            tag=job.chunk.id, passage=job.chunk.text,
            temperature=self.temperature if not retry else max(self.temperature, 0.3))

    def request(self, job: ChunkJob, retry: bool = False, n: int | None = None) -> ChatRequest:
        chunk = job.chunk
        n = self.pairs if n is None else n
        messages = self._messages(self.prompt, job, n)
        if retry:
            messages.append({"role": "user", "content": "Your last reply could not be read. "
                             'Reply with JSON only: {"pairs": [{"question": "...", '
                             '"answer": "..."}]}'})
        return ChatRequest(messages=messages, schema=self.schema if n == self.pairs
                           else qa_schema(n), schema_name="qa_pairs",
                           max_tokens=self.token_limit(QA, n), tag=chunk.id,
                           passage=chunk.text,
                           temperature=self.temperature if not retry else
                           max(self.temperature, 0.3))

    def token_limit(self, form: str, n: int) -> int:
        """Reply tokens a request for ``n`` pairs of ``form`` may use: the one set, else
        sized for ``n`` items at the form's caps (``qa`` with every pair: :attr:`max_tokens`)."""
        if self._max_tokens_set or (form == QA and n == self.pairs):
            return self.max_tokens
        per_item = TOKENS_PER_PAIR if form == QA else FORMS[form].tokens_per_item
        return self.client.sampling.budget(n * per_item + 32)

    def language_of(self, job: ChunkJob) -> str | None:
        """The language ``job``'s pairs are asked in: the one set (``--language``), else the
        chunk's own (a document may mix languages), else its document's."""
        return self.language or detect_language(job.chunk.text) or job.language

    def apply(self, chunk: Chunk, result: Completion | LLMError) -> tuple[Chunk, bool]:
        """Record ``result`` on a copy of ``chunk``; the flag says whether it succeeded."""
        return self._finish(chunk, [(QA, self._read(QA, self.pairs, result))])

    def _read(self, form: str, count: int, result: Completion | LLMError) -> _Read:
        if isinstance(result, LLMError):
            return _Read([], f"model request failed: {result}", None)
        if form == QA:
            draft = read_reply(result.text)
            pairs = [FormPair(q, a) for q, a in draft.pairs]
            error, parsed_raw = draft.error, (result.text if draft.method != "json" else None)
        else:
            pairs = FORMS[form].read(result.text)
            error, parsed_raw = f"unparseable model output: no {form} items found", None
        pairs = _unique(pairs, count)
        if pairs:
            return _Read(pairs, None, parsed_raw, self.kept_reasoning(result))
        error = result.reasoning_error or error
        if result.finish_reason == "length":
            error = f"{error} (reply hit the {self.token_limit(form, count)}-token limit)"
        return _Read([], error, result.raw)  # verbatim, reasoning included

    def kept_reasoning(self, result: Completion) -> str | None:
        """What goes in the ``reasoning`` of ``result``'s pairs: its reasoning with
        ``--reasoning keep``, else (or when it had none) nothing."""
        return (result.reasoning or None) if self.keep_reasoning else None

    def _finish(self, chunk: Chunk, reads: list[tuple[str, _Read]]) -> tuple[Chunk, bool]:
        """``chunk`` with the pairs of all its forms' replies; failed when none gave any
        (with every reason), else generated (a form that failed says so in ``error``)."""
        out = chunk.model_copy(deep=True)
        several = len(reads) > 1
        pairs = [(form, pair, read.reasoning) for form, read in reads for pair in read.pairs]
        errors = [f"{form}: {read.error}" if several else str(read.error)
                  for form, read in reads if not read.pairs]
        raws = [read.raw for _, read in reads if read.raw is not None]
        if not pairs:
            out.state, out.error = "failed", "; ".join(errors)
            out.raw = "\n\n".join(raws) if raws else None
            return out, False
        out.suggestions = [
            Suggestion(id=model_pair_id(chunk.id, i, pair.question, pair.answer),
                       question=pair.question, answer=pair.answer, status="draft",
                       form=form, turns=pair.turns, reasoning=reasoning)
            for i, (form, pair, reasoning) in enumerate(pairs)]
        out.state, out.error = "generated", "; ".join(errors) or None
        out.raw = "\n\n".join(raws) if raws and not several else None
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
        units = [_Unit(i, form, n) for i, job in enumerate(jobs)
                 for form, n in self.allot(job).items()]

        def read(index: int, result: Completion | LLMError, first: _Read | None
                 ) -> tuple[_Read, ChatRequest | None]:
            unit = units[index]
            outcome = self._read(unit.form, unit.count, result)
            if outcome.pairs or first is not None:
                return outcome, None
            return outcome, self.form_request(jobs[unit.job], unit.form, unit.count, True)

        requests = [self.form_request(jobs[u.job], u.form, u.count) for u in units]
        left = [0] * len(jobs)
        for unit in units:
            left[unit.job] += 1
        done: dict[int, dict[int, _Read]] = {}
        for index, outcome in stream_with_retry(self.client, requests, read):
            job = units[index].job
            done.setdefault(job, {})[index] = outcome
            left[job] -= 1
            if not left[job]:
                reads = [(units[i].form, r) for i, r in sorted(done.pop(job).items())]
                yield self._finish(jobs[job].chunk, reads)[0]

    def __call__(self, jobs: Sequence[ChunkJob]) -> list[Chunk]:
        """Batch form for cluster stages: :meth:`stream`'s chunks in input order."""
        done = {c.id: c for c in self.stream(jobs)}
        return [done[job.chunk.id] for job in jobs]

