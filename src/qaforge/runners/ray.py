"""The Ray runner (``--runner ray``): stage 1 as one Ray Data pipeline over a cluster.

    file list -> extract (tasks) -> chunk (actors) -> generate (actors) -> driver

The stages are the record-form wrappers of :mod:`qaforge.runners.stages` around the same
code the local runner calls. LLM stages talk to OpenAI-compatible servers (vLLM on the
cluster's GPUs: ``base_urls``); with the default ``llamacpp`` backend the driver starts one
embedded engine and the actors use its loopback URL (for tests and single-node use).

The driver process keeps what must stay in one place, through the same
:class:`~qaforge.runners.driver.GenerateDriver` as the local runner: it decides from the
suggestions files which PDFs need extracting (:func:`~qaforge.workspace.plan_document`),
writes each extracted document's file (:func:`~qaforge.workspace.store_document`), and
lands generated chunks through the crash-safe :class:`~qaforge.journal.ChunkWriter`. The
output files are exactly the local runner's, so ``review``, ``refine`` and ``export`` work
on them unchanged, and a re-run (after a preempted job too) skips every chunk already done.

Stage 3 on Ray is :func:`qaforge.runners.ray_refine.refine_workdir_ray`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.config import GenerateSettings, LLMSettings
from qaforge.fileio import JsonFileError
from qaforge.llm import make_client
from qaforge.llm.base import LLMClient
from qaforge.progress import Reporter, SilentReporter
from qaforge.records import Chunk
from qaforge.runners.driver import GenerateDriver, GenerateSetup, GenerateSummary
from qaforge.runners.ray_support import (
    actor_stage,
    apply_stage,
    borrowed,
    dataset_of,
    iter_records,
    llm_actor_pool,
    ray_session,
    require_ray,
    run_error,
)
from qaforge.runners.stage_records import ChunkedDocument, ChunkTask, ExtractFailed, PdfTask
from qaforge.runners.stages import ChunkRecords, ClientSpec, GenerateRecords, extract_records
from qaforge.suggestions import load_suggestions
from qaforge.workspace import (
    DocumentPlan,
    FoundPdf,
    Prepared,
    output_path,
    plan_document,
    store_document,
)

#: nominal CPU reservation of a chunking actor (it only counts tokens)
CHUNK_ACTOR_CPUS = 0.5


def run_generate_ray(inputs: Iterable[Path], workdir: Path, *, llm: LLMSettings,
                     settings: GenerateSettings, ray_address: str = "",
                     reporter: Reporter | None = None, actors: int = 0,
                     client: LLMClient | None = None) -> GenerateSummary:
    """Stage 1 over files and folders of PDFs into ``workdir`` on a Ray cluster; resumable.

    ``ray_address`` connects to a running cluster (else ``$RAY_ADDRESS``, else a local one
    is started). ``actors`` is the size of the generating actor pool (0: one per server);
    the servers' request slots (``llm.concurrency`` each) are shared among the actors.
    ``client`` is the driver's client for ``llm`` when the caller has already started it
    (an embedded engine shared with a later refine; it is not closed here).
    PDFs must be readable at the same path on every node (a shared file system); the
    suggestions files are written by this process only.
    """
    require_ray()  # fail before starting an engine
    driver = GenerateDriver(workdir, settings, reporter or SilentReporter())
    pdfs = driver.discover(inputs)
    with borrowed(client) if client is not None else make_client(llm) as client:
        job = _GenerateJob(driver=driver, spec=ClientSpec.of(client, llm), settings=settings,
                           setup=GenerateSetup.for_client(client, settings), actors=actors)
        job.run(pdfs, ray_address)
    return driver.summary


@dataclass
class _GenerateJob:
    """One run's driver-side state: where each PDF's work is (Ray's part of the run)."""

    driver: GenerateDriver
    spec: ClientSpec
    settings: GenerateSettings
    setup: GenerateSetup
    actors: int = 0
    plans: dict[str, DocumentPlan] = field(default_factory=dict)
    prepared: dict[str, Prepared] = field(default_factory=dict)
    stored: set[str] = field(default_factory=set)
    waiting: dict[str, list[Chunk]] = field(default_factory=dict)

    @property
    def reporter(self) -> Reporter:
        return self.driver.reporter

    def run(self, pdfs: list[FoundPdf], ray_address: str) -> None:
        order = [found.name for found in pdfs]
        started = time.monotonic()
        to_extract = self._plan(pdfs)
        paths = {name: p.path for name, p in self.plans.items() if p.done is None
                 or p.done.status != "failed"}
        summary = self.driver.summary
        try:
            self.driver.open_writer(paths)
            self._settle(to_extract)
            pending = self._pending_chunks()
            if to_extract or pending:
                with ray_session(ray_address, log=self.reporter.log) as ray:
                    self.reporter.phase("generate", len(to_extract) + len(self.driver.left))
                    self._execute(ray, to_extract, pending, started)
        finally:
            self.driver.close_writer()
            self.reporter.close()
            summary.files = [self.prepared[n] for n in order if n in self.prepared]
            summary.generate_seconds = time.monotonic() - started

    # ------------------------------------------------------------------ driver steps

    def _plan(self, pdfs: list[FoundPdf]) -> list[PdfTask]:
        """Decide per PDF; returns the ``pdf`` records that need extracting."""
        records: list[PdfTask] = []
        for pdf, name, source in pdfs:
            plan = plan_document(pdf, output_path(self.driver.workdir, name), source)
            self.plans[name] = plan
            if plan.done is not None:
                self.prepared[name] = plan.done
                if plan.done.status == "failed":
                    self.reporter.log(f"error: {plan.done.message}")
                continue
            records.append(PdfTask(pdf=str(pdf.resolve()), file=name))
        return records

    def _settle(self, records: list[PdfTask]) -> None:
        """For changed PDFs: the chunk ids their file already has done (after the journal
        landed), which the re-chunked document keeps and need not generate again."""
        for record in records:
            plan = self.plans[record.file]
            if plan.existing is None:
                continue
            try:
                chunks = load_suggestions(plan.path).data.chunks
            except JsonFileError:
                chunks = plan.existing.chunks
            record.settled = self.driver.settled(record.file, chunks)

    def _pending_chunks(self) -> list[ChunkTask]:
        """Tasks for the waiting chunks of files that need no extraction."""
        records: list[ChunkTask] = []
        for name, plan in self.plans.items():
            if plan.done is None or plan.done.status != "unchanged":
                continue
            jobs = self.driver.queue_file(name, plan.path)
            self.stored.add(name)
            records.extend(ChunkTask(file=name, document=job.document, chunk=job.chunk)
                           for job in jobs)
        return records

    def _execute(self, ray: Any, to_extract: list[PdfTask], pending: list[ChunkTask],
                 started: float) -> None:
        ds = self._pipeline(ray, to_extract, pending)
        extracted = 0
        try:
            for record in iter_records(ds):
                if isinstance(record, ChunkTask):
                    self._generated(record)
                elif isinstance(record, ChunkedDocument | ExtractFailed):
                    self._document(record)
                    extracted += 1
                    if extracted == len(to_extract):
                        self.driver.summary.extract_seconds = time.monotonic() - started
        except ray.exceptions.RayError as exc:
            raise run_error(exc) from exc

    def _pipeline(self, ray: Any, to_extract: list[PdfTask], pending: list[ChunkTask]) -> Any:
        workers = self.actors or self.spec.servers
        worker_spec = self.spec.split(workers)
        parts = []
        if to_extract:
            cpus = int(ray.cluster_resources().get("CPU", 1))
            chunker = functools.partial(ChunkRecords, self.spec.split(cpus),
                                        max_tokens=self.setup.budget,
                                        min_tokens=self.settings.min_chunk_tokens,
                                        skip_boilerplate=self.settings.skip_boilerplate)
            parts.append(
                dataset_of(ray, list(to_extract))
                .map_batches(apply_stage, batch_size=1, batch_format="pyarrow", num_cpus=1,
                             fn_kwargs={"stage": extract_records, "options": {
                                 "password": self.settings.password, "ocr": self.settings.ocr}})
                .map_batches(actor_stage(chunker), batch_size=1,
                             batch_format="pyarrow", num_cpus=CHUNK_ACTOR_CPUS,
                             compute=ray.data.ActorPoolStrategy(
                                 min_size=1, max_size=max(1, cpus // 2))))
        if pending:
            parts.append(dataset_of(ray, list(pending)))
        ds = parts[0] if len(parts) == 1 else parts[0].union(*parts[1:])
        generator = functools.partial(GenerateRecords, worker_spec,
                                      pairs_per_chunk=self.settings.pairs_per_chunk,
                                      prompt=self.setup.prompt, language=self.setup.gen.language,
                                      coverage=self.setup.gen.coverage,
                                      coverage_rounds=self.setup.gen.coverage_rounds,
                                      forms=self.setup.gen.forms)
        return llm_actor_pool(ray, ds, generator, workers=workers,
                              slots=worker_spec.total_concurrency)

    def _document(self, record: ChunkedDocument | ExtractFailed) -> None:
        """An extracted PDF came back: write its suggestions file, release its chunks."""
        name = record.file
        plan = self.plans[name]
        if isinstance(record, ExtractFailed):
            prepared = Prepared(plan.pdf, plan.path, "failed", message=record.error)
        else:
            try:
                prepared = store_document(plan, pages=record.pages, warnings=record.warnings,
                                          chunks=record.chunks, generator=self.setup.info)
            except (JsonFileError, ValueError, OSError) as exc:
                prepared = Prepared(plan.pdf, plan.path, "failed",
                                    message=f"{plan.path}: {exc}")
        self.prepared[name] = prepared
        self.driver.report_prepared(prepared)
        if isinstance(record, ExtractFailed) or prepared.status == "failed":
            self.waiting.pop(name, None)
            self.reporter.advance(1, status=plan.pdf.name)
            return
        self.driver.stored(name, len(record.chunks), record.todo, skipped=record.chunks)
        self.stored.add(name)
        for chunk in self.waiting.pop(name, []):
            self._land(name, chunk)
        if record.todo == 0:
            self.reporter.advance(1, status=plan.pdf.name)

    def _generated(self, record: ChunkTask) -> None:
        summary = self.driver.summary
        stats = record.stats or {}
        summary.prompt_tokens += stats.get("prompt_tokens", 0)
        summary.completion_tokens += stats.get("completion_tokens", 0)
        chunk = record.chunk
        # a chunk of a newly extracted document belongs to its record's file
        for name in self.driver.generated(chunk, record.file):
            if name in self.stored:
                self._land(name, chunk)
            elif self.prepared.get(name, None) is None:  # its document is still on its way
                self.waiting.setdefault(name, []).append(chunk)

    def _land(self, name: str, chunk: Chunk) -> None:
        if self.driver.land(name, chunk) == 0:
            pairs = self.driver.summary.pairs
            self.reporter.advance(1, status=f"{name}: done ({pairs} pairs so far)")
