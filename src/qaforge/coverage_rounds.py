"""``generate --coverage``: extra rounds that ask only about what no pair covers yet.

After a chunk's first reply, the evidence of its drafted pairs (:mod:`qaforge.refine.evidence`)
is laid over the chunk's informative sentences. Below the target share, the chunk goes back to
the model with the uncovered sentences listed (the same prompt, plus :data:`MORE_PROMPT`),
asking for about one pair per two of them; the new pairs are added after the others. This
repeats until the target is met, a round adds nothing, or ``rounds`` extra rounds are spent.
A chunk's number of pairs thus follows how much it says, not a fixed count. A failed extra
round keeps what the chunk already has (the chunk is never worse for it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from qaforge.llm.base import ChatRequest, Completion, LLMError
from qaforge.records import Chunk, Suggestion, model_pair_id

if TYPE_CHECKING:
    from qaforge.generate import ChunkJob, GenerateQA

MORE_PROMPT = """
Questions already written about this passage:
{asked}

No question covers these sentences of the passage yet:
{sentences}

Write {n} new question-answer pairs, each answered by these sentences, none repeating a
question above."""


def uncovered_sentences(chunk: Chunk) -> tuple[list[str], float]:
    """The informative sentences of ``chunk`` no drafted pair's evidence touches, and the
    share that is covered (1.0 for a chunk with nothing to cover)."""
    from qaforge.refine.evidence import chunk_coverage, evidence_spans

    ledger = chunk_coverage(chunk.text)
    pairs = chunk.suggestions if isinstance(chunk.suggestions, list) else []
    for pair in pairs:
        ledger.cover(evidence_spans(pair.question, pair.answer, chunk.text))
    if not ledger.sentences:
        return [], 1.0
    share = len(ledger.covered) / len(ledger.sentences)
    return [chunk.text[start:end] for start, end in ledger.uncovered], share


def more_request(gen: GenerateQA, job: ChunkJob, chunk: Chunk, sentences: list[str]
                 ) -> ChatRequest:
    """The extra round's request: the chunk's own prompt, its questions so far and the
    uncovered sentences, asking for about one pair per two sentences."""
    base = gen.request(job)
    wanted = max(1, min(gen.pairs, (len(sentences) + 1) // 2))
    asked = [p.question for p in chunk.suggestions] if isinstance(chunk.suggestions, list) else []
    extra = MORE_PROMPT.format(asked="\n".join(f"- {q}" for q in asked) or "- (none)",
                               sentences="\n".join(f"- {s}" for s in sentences), n=wanted)
    messages = [dict(m) for m in base.messages]
    # appended to the last user turn: some chat templates refuse two user turns in a row
    messages[-1]["content"] += "\n" + extra
    return dataclasses.replace(base, messages=messages, passage="\n".join(sentences),
                               tag=f"{chunk.id}:more")


def add_pairs(gen: GenerateQA, chunk: Chunk, result: Completion | LLMError) -> int:
    """Append the new pairs of an extra round's ``result`` to ``chunk``; returns how many."""
    if isinstance(result, LLMError) or not isinstance(chunk.suggestions, list):
        return 0
    from qaforge.generate import read_reply

    seen = {" ".join(p.question.lower().split()) for p in chunk.suggestions}
    added = 0
    for question, answer in read_reply(result.text).pairs[:gen.pairs]:
        key = " ".join(question.lower().split())
        if key in seen:
            continue
        seen.add(key)
        index = len(chunk.suggestions)
        chunk.suggestions.append(Suggestion(
            id=model_pair_id(chunk.id, index, question, answer), question=question,
            answer=answer, status="draft", reasoning=gen.kept_reasoning(result)))
        added += 1
    return added


def with_rounds(gen: GenerateQA, jobs: Sequence[ChunkJob], first: Iterator[Chunk],
                target: float, rounds: int) -> Iterator[Chunk]:
    """``first`` (the chunks of the normal pass), each passed on at once when it is final,
    the others after extra rounds (see the module docstring)."""
    by_id = {job.chunk.id: job for job in jobs}
    waiting: dict[str, tuple[Chunk, list[str]]] = {}
    for chunk in first:
        sentences, share = uncovered_sentences(chunk)
        if chunk.state == "generated" and share < target and rounds > 0 and chunk.id in by_id:
            waiting[chunk.id] = (chunk, sentences)
        else:
            yield chunk
    for round_no in range(1, rounds + 1):
        if not waiting:
            return
        order = list(waiting)
        requests = [more_request(gen, by_id[i], waiting[i][0], waiting[i][1]) for i in order]
        still: dict[str, tuple[Chunk, list[str]]] = {}
        for position, result in gen.client.stream(requests):
            chunk = waiting[order[position]][0]
            added = add_pairs(gen, chunk, result)
            sentences, share = uncovered_sentences(chunk)
            if added and share < target and round_no < rounds:
                still[chunk.id] = (chunk, sentences)
            else:
                yield chunk
        waiting = still
