"""Stages in record form: plain functions and small classes over lists of JSON-safe dicts.

A cluster runner ships these to its workers and calls them on batches; nothing here knows
which runner drives it. The work itself is the same code the local runner calls
(:func:`~qaforge.extract.extract_pdf`, :func:`~qaforge.chunking.chunk_document`,
:class:`~qaforge.generate.GenerateQA`, :class:`~qaforge.refine.judge.Judge`,
:class:`~qaforge.refine.correct.Corrector`); these wrappers only convert records.

Records carry a ``kind``:

* ``pdf``: ``{"pdf": path, "file": suggestions file name, "settled": [chunk ids]}``, the
  input of :func:`extract_records`;
* ``extracted``: the same plus ``"document"`` (a :class:`~qaforge.records.Document`);
* ``failed``: the same plus ``"error"`` (one line naming the file);
* ``document``: a chunked PDF, ``{"file", "pdf", "pages", "warnings", "chunks", "todo"}``;
  its chunks are all listed (the driver writes the suggestions file from it), ``todo`` says
  how many of them follow as ``chunk`` records;
* ``chunk``: ``{"file", "document": PDF name, "chunk": {...}}``, the input and output of
  :class:`GenerateRecords`.

Refine stages (:class:`JudgeRecords`, :class:`CorrectRecords`) take and return
``{"index": position, "record": PairRecord}`` rows; the driver puts them back in place.

Stages holding an LLM client are classes built from a :class:`ClientSpec`, a picklable
description of the client that every worker turns into its own connection.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qaforge.chunking import chunk_document
from qaforge.config import LLMSettings
from qaforge.generate import GenerateQA
from qaforge.llm import make_client
from qaforge.llm.base import LLMClient, WorkerRecipe
from qaforge.prompts import PromptTemplate
from qaforge.records import Chunk, Document
from qaforge.refine.cache import ReplyStore
from qaforge.refine.correct import Corrector
from qaforge.refine.judge import Judge
from qaforge.refine.record import PairRecord

Record = dict[str, Any]
#: key of the per-batch counters (tokens, calls) an LLM stage adds to one record it returns
STATS_KEY = "_stats"


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


def extract_records(records: list[Record], *, password: str = "", ocr: bool = False
                    ) -> list[Record]:
    """Stage: ``pdf`` records in, ``extracted`` (or ``failed``) records out."""
    from qaforge.extract import ExtractionError, extract_pdf

    out: list[Record] = []
    for record in records:
        if record.get("kind") != "pdf":
            out.append(record)
            continue
        try:
            document = extract_pdf(Path(record["pdf"]), password=password or None, ocr=ocr)
        except ExtractionError as exc:
            out.append({**record, "kind": "failed", "error": str(exc)})
            continue
        out.append({**record, "kind": "extracted",
                    "document": document.model_dump(mode="json")})
    return out


class ChunkRecords:
    """Stage: ``extracted`` records in; per PDF one ``document`` record and its ``chunk``
    records out (a fan-out). Chunk ids listed in ``settled`` are not sent on: the suggestions
    file already has them done."""

    def __init__(self, spec: ClientSpec, *, max_tokens: int, min_tokens: int) -> None:
        self.client = spec.build()
        self.count = functools.lru_cache(maxsize=65536)(self.client.count_tokens)
        self.max_tokens = max_tokens
        self.min_tokens = min_tokens

    def __call__(self, records: list[Record]) -> list[Record]:
        out: list[Record] = []
        for record in records:
            if record.get("kind") != "extracted":
                out.append(record)
                continue
            document = Document.model_validate(record["document"])
            chunks = chunk_document(document, max_tokens=self.max_tokens,
                                    count_tokens=self.count, min_tokens=self.min_tokens)
            settled = set(record.get("settled") or ())
            todo: dict[str, Chunk] = {c.id: c for c in chunks if c.id not in settled}
            pdf_name = Path(record["pdf"]).name
            out.append({"kind": "document", "file": record["file"], "pdf": record["pdf"],
                        "pages": document.pages, "warnings": list(document.warnings),
                        "chunks": [c.model_dump(mode="json") for c in chunks],
                        "todo": len(todo)})
            out.extend({"kind": "chunk", "file": record["file"], "document": pdf_name,
                        "chunk": c.model_dump(mode="json")} for c in todo.values())
        return out

    def close(self) -> None:
        self.client.close()


class GenerateRecords:
    """Stage: ``chunk`` records get their suggestions drafted; other records pass through.
    Input order is kept."""

    def __init__(self, spec: ClientSpec, *, pairs_per_chunk: int, prompt: PromptTemplate,
                 temperature: float = 0.0) -> None:
        self.client = spec.build()
        self.generate = GenerateQA(self.client, pairs_per_chunk=pairs_per_chunk, prompt=prompt,
                                   temperature=temperature)

    def __call__(self, records: list[Record]) -> list[Record]:
        wanted = [i for i, r in enumerate(records) if r.get("kind") == "chunk"]
        if not wanted:
            return records
        usage = self.client.usage
        before = (usage.prompt_tokens, usage.completion_tokens)
        done = self.generate([records[i] for i in wanted])
        out = list(records)
        for i, record in zip(wanted, done, strict=True):
            out[i] = record
        out[wanted[0]] = {**out[wanted[0]], STATS_KEY: {
            "prompt_tokens": usage.prompt_tokens - before[0],
            "completion_tokens": usage.completion_tokens - before[1]}}
        return out

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------- stage 3


def _usage_failures(clients: list[LLMClient]) -> int:
    return sum(c.usage.failures for c in clients)


class _RefineStage:
    """Shared plumbing: indexed ``{"index": int, "record": PairRecord}`` rows in and out,
    with this batch's counters on the first row out (:data:`STATS_KEY`)."""

    def __init__(self, judge: ClientSpec, cache: ReplyStore | None, *,
                 accept_threshold: float, advisory: bool,
                 corrector: ClientSpec | None = None) -> None:
        self.judge_client = judge.build()
        self.clients = [self.judge_client]
        if corrector is None or corrector == judge:
            self.corrector_client = self.judge_client
        else:
            self.corrector_client = corrector.build()
            self.clients.append(self.corrector_client)
        self.cache = cache
        self.judge = Judge(self.judge_client, self.cache, accept_threshold=accept_threshold,
                           advisory=advisory)

    def run(self, records: list[PairRecord]) -> int:
        """Do the step on ``records`` in place; returns model calls made besides judging."""
        raise NotImplementedError

    def __call__(self, rows: list[Record]) -> list[Record]:
        records = [PairRecord.model_validate(row["record"]) for row in rows]
        judge_calls = self.judge.calls
        failures = _usage_failures(self.clients)
        other_calls = self.run(records)
        stats = {"judge_calls": self.judge.calls - judge_calls, "other_calls": other_calls,
                 "failures": _usage_failures(self.clients) - failures}
        out = [{"index": row["index"], "record": record.model_dump(mode="json")}
               for row, record in zip(rows, records, strict=True)]
        if out:
            out[0][STATS_KEY] = stats
        return out

    def close(self) -> None:
        for client in self.clients:
            client.close()


class JudgeRecords(_RefineStage):
    """Stage: every record still in the running gets the judge's verdict."""

    def run(self, records: list[PairRecord]) -> int:
        self.judge(records)
        return 0


class CorrectRecords(_RefineStage):
    """Stage: flagged records are rewritten and the rewrites judged again."""

    def __init__(self, judge: ClientSpec, cache: ReplyStore | None, *,
                 accept_threshold: float, advisory: bool, min_grounding: float,
                 corrector: ClientSpec | None = None) -> None:
        super().__init__(judge, cache, accept_threshold=accept_threshold, advisory=advisory,
                         corrector=corrector)
        self.corrector = Corrector(self.corrector_client, self.judge, self.cache,
                                   min_grounding=min_grounding)

    def run(self, records: list[PairRecord]) -> int:
        before = self.corrector.calls
        self.corrector(records)
        return self.corrector.calls - before
