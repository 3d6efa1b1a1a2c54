"""Stages in record form: plain functions and small classes over lists of typed records
(:mod:`qaforge.runners.stage_records`).

A cluster runner ships these to its workers and calls them on batches; nothing here knows
which runner drives it. The work itself is the same code the local runner calls
(:func:`~qaforge.extract.extract_pdf`, :func:`~qaforge.chunking.chunk_document`,
:class:`~qaforge.generate.GenerateQA`, :class:`~qaforge.refine.judge.Judge`,
:class:`~qaforge.refine.correct.Corrector`); these wrappers only convert records. A record
of a kind a stage does not take passes through it unchanged.

Refine stages (:class:`JudgeRecords`, :class:`CorrectRecords`) take and return
:class:`~qaforge.runners.stage_records.PairRow`; the driver puts them back in place.

Stages holding an LLM client are classes built from a :class:`ClientSpec`, a picklable
description of the client that every worker turns into its own connection.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path

from qaforge.boilerplate import is_skipped, mark_skipped
from qaforge.chunking import chunk_document
from qaforge.config import JudgeMethod, LLMSettings
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm import make_client
from qaforge.llm.base import LLMClient, WorkerRecipe, usage_counters, usage_since
from qaforge.prompts import PromptTemplate
from qaforge.records import Chunk
from qaforge.refine.cache import ReplyStore
from qaforge.refine.correct import Corrector
from qaforge.refine.judge import Judge
from qaforge.refine.pair_record import PairRecord
from qaforge.runners.stage_records import (
    ChunkedDocument,
    ChunkTask,
    Extracted,
    ExtractFailed,
    PairRow,
    PdfTask,
    StageRecord,
)


@dataclass(frozen=True)
class ClientSpec:
    """How a worker builds its own LLM client (a client itself cannot travel).

    The driver's client describes itself (:meth:`~qaforge.llm.base.LLMClient.worker_recipe`:
    an OpenAI-compatible server's client, the embedded engine's included, hands over its
    URLs, model, profile and label, so every worker talks to the same servers the same way
    and records the same ``backend``/``model``); a backend without a recipe (``fake``,
    plugins) is rebuilt on the worker from ``settings``.
    """

    settings: LLMSettings
    recipe: WorkerRecipe | None = None
    #: requests in flight for a client rebuilt from ``settings``
    concurrency: int = 1

    @classmethod
    def of(cls, client: LLMClient, settings: LLMSettings) -> ClientSpec:
        """The spec for workers that should behave like the driver's ``client``."""
        return cls(settings=settings, recipe=client.worker_recipe(),
                   concurrency=client.max_concurrency)

    @property
    def servers(self) -> int:
        """Servers the workers share (1 without a recipe)."""
        return self.recipe.servers if self.recipe is not None else 1

    @property
    def total_concurrency(self) -> int:
        """Requests worth having in flight over all servers."""
        if self.recipe is None:
            return self.concurrency
        return self.recipe.concurrency * self.recipe.servers

    def split(self, workers: int) -> ClientSpec:
        """The spec for one of ``workers`` that share the servers' slots."""
        if self.recipe is None:
            return self
        share = -(-self.recipe.concurrency // max(1, workers))
        return dataclasses.replace(
            self, recipe=dataclasses.replace(self.recipe, concurrency=max(1, share)))

    def build(self) -> LLMClient:
        """A new client (on the worker that calls this)."""
        return self.recipe() if self.recipe is not None else make_client(self.settings)


# ---------------------------------------------------------------------------- stage 1


def extract_records(records: list[StageRecord], *, password: str = "", ocr: bool = False
                    ) -> list[StageRecord]:
    """Stage: :class:`PdfTask` records in, :class:`Extracted` (or :class:`ExtractFailed`)
    records out."""
    from qaforge.extract import ExtractionError, extract_pdf

    out: list[StageRecord] = []
    for record in records:
        if not isinstance(record, PdfTask):
            out.append(record)
            continue
        task = record.model_dump(exclude={"kind"})
        try:
            document = extract_pdf(Path(record.pdf), password=password or None, ocr=ocr)
        except ExtractionError as exc:
            out.append(ExtractFailed(**task, error=str(exc)))
            continue
        out.append(Extracted(**task, document=document))
    return out


class ChunkRecords:
    """Stage: :class:`Extracted` records in; per PDF one :class:`ChunkedDocument` and its
    :class:`ChunkTask` records out (a fan-out). Chunk ids listed in ``settled`` are not sent
    on: the suggestions file already has them done."""

    def __init__(self, spec: ClientSpec, *, max_tokens: int, min_tokens: int,
                 skip_boilerplate: bool = True) -> None:
        self.client = spec.build()
        self.skip_boilerplate = skip_boilerplate
        self.count = functools.lru_cache(maxsize=65536)(self.client.count_tokens)
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens

    def __call__(self, records: list[StageRecord]) -> list[StageRecord]:
        out: list[StageRecord] = []
        for record in records:
            if not isinstance(record, Extracted):
                out.append(record)
                continue
            document = record.document
            chunks = chunk_document(document, max_tokens=self.max_tokens,
                                    count_tokens=self.count, min_tokens=self.min_tokens)
            if self.skip_boilerplate:  # nothing to learn: marked, never sent
                chunks = mark_skipped(chunks)
            settled = set(record.settled)
            todo: dict[str, Chunk] = {c.id: c for c in chunks if c.id not in settled
                                      and not (self.skip_boilerplate and is_skipped(c))}
            pdf_name = Path(record.pdf).name
            out.append(ChunkedDocument(file=record.file, pdf=record.pdf, pages=document.pages,
                                       warnings=list(document.warnings), chunks=chunks,
                                       todo=len(todo)))
            out.extend(ChunkTask(file=record.file, document=pdf_name, chunk=c)
                       for c in todo.values())
        return out

    def close(self) -> None:
        self.client.close()


class GenerateRecords:
    """Stage: :class:`ChunkTask` records get their suggestions drafted; other records pass
    through. Input order is kept."""

    def __init__(self, spec: ClientSpec, *, pairs_per_chunk: int, prompt: PromptTemplate,
                 language: str | None = None, coverage: float = 0.0,
                 coverage_rounds: int = 2, forms: dict[str, float] | None = None) -> None:
        self.client = spec.build()
        self.generate = GenerateQA(self.client, pairs_per_chunk=pairs_per_chunk, prompt=prompt,
                                   language=language, coverage=coverage,
                                   coverage_rounds=coverage_rounds, forms=forms)

    def __call__(self, records: list[StageRecord]) -> list[StageRecord]:
        wanted = [(i, r) for i, r in enumerate(records) if isinstance(r, ChunkTask)]
        if not wanted:
            return records
        before = usage_counters([self.client])
        done = self.generate([ChunkJob(r.document, r.chunk) for _, r in wanted])
        out = list(records)
        for (i, record), chunk in zip(wanted, done, strict=True):
            out[i] = record.model_copy(update={"chunk": chunk})
        first = wanted[0][0]
        out[first] = out[first].model_copy(
            update={"stats": usage_since(before, [self.client])})
        return out

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------- stage 3


class _RefineStage:
    """Shared plumbing: :class:`PairRow` records in and out, with this batch's counters in
    ``stats`` of the first row out."""

    def __init__(self, judge: ClientSpec, cache: ReplyStore | None, *,
                 accept_threshold: float, advisory: bool, min_grounding: float,
                 method: JudgeMethod = "checks", corrector: ClientSpec | None = None) -> None:
        self.judge_client = judge.build()
        self.clients = [self.judge_client]
        if corrector is None or corrector == judge:
            self.corrector_client = self.judge_client
        else:
            self.corrector_client = corrector.build()
            self.clients.append(self.corrector_client)
        self.cache = cache
        self.judge = Judge(self.judge_client, self.cache, accept_threshold=accept_threshold,
                           advisory=advisory, method=method, min_grounding=min_grounding)

    def run(self, records: list[PairRecord]) -> tuple[int, int]:
        """Do the step on ``records`` in place; returns the model calls made besides
        judging, and those of the judge's calls that looked at rewrites."""
        raise NotImplementedError

    def __call__(self, rows: list[StageRecord]) -> list[StageRecord]:
        pairs = [row for row in rows if isinstance(row, PairRow)]
        judge_calls = self.judge.calls
        before = usage_counters(self.clients)
        other_calls, rejudge_calls = self.run([row.record for row in pairs])  # in place
        if pairs:
            pairs[0].stats = {"judge_calls": self.judge.calls - judge_calls - rejudge_calls,
                              "rejudge_calls": rejudge_calls, "other_calls": other_calls,
                              **usage_since(before, self.clients)}
        return rows

    def close(self) -> None:
        for client in self.clients:
            client.close()


class JudgeRecords(_RefineStage):
    """Stage: every record still in the running gets the judge's verdict."""

    def run(self, records: list[PairRecord]) -> tuple[int, int]:
        self.judge(records)
        return 0, 0


class CorrectRecords(_RefineStage):
    """Stage: flagged records are rewritten and the rewrites judged again."""

    def __init__(self, judge: ClientSpec, cache: ReplyStore | None, *,
                 accept_threshold: float, advisory: bool, min_grounding: float,
                 method: JudgeMethod = "checks", corrector: ClientSpec | None = None) -> None:
        super().__init__(judge, cache, accept_threshold=accept_threshold, advisory=advisory,
                         min_grounding=min_grounding, method=method, corrector=corrector)
        self.corrector = Corrector(self.corrector_client, self.judge, self.cache,
                                   min_grounding=min_grounding)

    def run(self, records: list[PairRecord]) -> tuple[int, int]:
        before, rejudged = self.corrector.calls, self.corrector.rejudge_calls
        self.corrector(records)
        return self.corrector.calls - before, self.corrector.rejudge_calls - rejudged
