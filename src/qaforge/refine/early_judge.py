"""Judging a chunk's pairs as soon as they are drafted (``qaforge run``, judge = generator).

A judge call spends most of its time reading the chunk (on 2 cores, 11-16 s of a 13-17 s
call: docs/benchmarks.md 3.4). Its prompt begins as the drafting prompt did, so an engine
that still holds the chunk serves it from its prompt cache; but that cache holds only the
last few dozen chunks (1 GiB, ~30 MB a chunk with a 1.5B model), so by the time refine
starts on a long document its first chunks are gone. Asked right after its chunk is
drafted, a check finds the chunk still there. Only the model's reply is kept, in refine's
reply cache, where refine finds it (a cached reply costs no call): refine still decides
everything (dedup, the deterministic checks, the label), and a pair a person edits in
between is asked again.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from qaforge.config import RefineSettings
from qaforge.llm.base import LLMClient
from qaforge.records import Chunk
from qaforge.refine.cache import ReplyCache
from qaforge.refine.judge import Candidate, Judge
from qaforge.refine.pair_record import PairRecord

log = logging.getLogger(__name__)

__all__ = ["EarlyJudge"]


class EarlyJudge:
    """Asks refine's judge about each drafted chunk's pairs, one chunk at a time, beside
    generation (on the same client), into ``WORKDIR/.qaforge/cache.sqlite``."""

    def __init__(self, workdir: Path, client: LLMClient, settings: RefineSettings) -> None:
        self._cache = ReplyCache.for_workdir(workdir)
        self.judge = Judge(client, self._cache, method=settings.judge_method,
                           min_grounding=settings.min_grounding)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="qaforge-early-judge")
        self._pending: list[Future[object]] = []
        #: pairs handed to the judge so far
        self.pairs = 0

    @staticmethod
    def useful(client: LLMClient, settings: RefineSettings) -> bool:
        """Whether judging early can save refine a call: not for the advisory demo judge
        (refine does not ask it about every pair), nor for the rubric method (its prompt
        carries findings refine makes later)."""
        return (settings.judge_early and not client.is_demo_model
                and settings.judge_method != "rubric")

    def drafted(self, document: str, chunk: Chunk, drafted_with: str) -> None:
        """Queue the checks of ``chunk``'s freshly drafted pairs (of ``document``, drafted
        with the packaged prompt ``drafted_with``)."""
        if chunk.state != "generated" or not isinstance(chunk.suggestions, list):
            return
        base = PairRecord(source_file="", document=document, chunk_id=chunk.id,
                          pages=list(chunk.pages), headings=list(chunk.headings),
                          chunk_text=chunk.text, drafted_with=drafted_with, pair_id="")
        candidates = [
            Candidate(base.model_copy(update={"pair_id": pair.id, "form": pair.form,
                                              "question": pair.question,
                                              "answer": pair.answer}),
                      pair.question, pair.answer)
            for pair in chunk.suggestions if pair.question and pair.answer]
        if candidates:
            self.pairs += len(candidates)
            self._pending.append(self._pool.submit(self.judge.judge, candidates))

    def close(self, wait: bool = True) -> None:
        """Finish (or, with ``wait=False``, drop) the queued checks and close the cache.
        A check that failed is only logged: refine asks again."""
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
        for future in self._pending:
            if future.done() and not future.cancelled() and future.exception() is not None:
                log.warning("early judging failed (refine will judge those pairs): %s",
                            future.exception())
        self._pending.clear()
        self._cache.close()
