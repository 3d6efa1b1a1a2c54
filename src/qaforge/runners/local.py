"""The local runner: drives stage 1 in this process.

Phases, one after the other (never CPU-heavy extraction beside a generating engine: with
all cores given to llama.cpp, a competing thread makes it spin-wait and crawl):

1. prepare: extract and chunk every PDF, write its suggestions file (chunks ``pending``);
2. generate: every pending chunk of every file through :class:`~qaforge.generate.GenerateQA`,
   with the engine's parallel slots kept busy across documents; results are journaled at
   once and written into the files every few seconds.

What to do at each step (and every never-lose-data rule) is the
:class:`~qaforge.runners.driver.GenerateDriver`'s; this module only runs it here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from qaforge.boilerplate import mark_skipped
from qaforge.chunking import chunk_document
from qaforge.config import GenerateSettings
from qaforge.extract import extract_pdf
from qaforge.generate import ChunkJob
from qaforge.llm.base import LLMClient
from qaforge.progress import Reporter, SilentReporter
from qaforge.records import Chunk, Document
from qaforge.runners.driver import GenerateDriver, GenerateSetup, GenerateSummary
from qaforge.workspace import FoundPdf, output_path, prepare_document

__all__ = ["GenerateSummary", "run_generate"]


def run_generate(inputs: Iterable[Path], workdir: Path, *, client: LLMClient,
                 settings: GenerateSettings, reporter: Reporter | None = None) -> GenerateSummary:
    """Stage 1 over files and folders of PDFs into ``workdir``; resumable."""
    driver = GenerateDriver(workdir, settings, reporter or SilentReporter())
    setup = GenerateSetup.for_client(client, settings)
    pdfs = driver.discover(inputs)
    started = time.monotonic()
    _prepare_all(driver, pdfs, setup, settings, client)
    driver.summary.extract_seconds = time.monotonic() - started

    started = time.monotonic()
    _generate_all(driver, setup)
    summary = driver.summary
    summary.generate_seconds = time.monotonic() - started
    summary.prompt_tokens = client.usage.prompt_tokens
    summary.completion_tokens = client.usage.completion_tokens
    return summary


def _prepare_all(driver: GenerateDriver, pdfs: list[FoundPdf], setup: GenerateSetup,
                 settings: GenerateSettings, client: LLMClient) -> None:
    count = functools.lru_cache(maxsize=65536)(client.count_tokens)
    extract = functools.partial(extract_pdf, password=settings.password or None,
                                ocr=settings.ocr, memory_limit_mb=settings.extract_memory_mb)
    chunk = functools.partial(chunk_document, max_tokens=setup.budget, count_tokens=count,
                              min_tokens=settings.min_chunk_tokens)
    if settings.skip_boilerplate:
        chunk = functools.partial(_marked, chunk)
    reporter = driver.reporter
    reporter.phase("extract", len(pdfs))
    for pdf, name, source in pdfs:
        prepared = prepare_document(pdf, output_path(driver.workdir, name), extract=extract,
                                    chunk=chunk, generator=setup.info, source=source)
        driver.summary.files.append(prepared)
        driver.report_prepared(prepared)
        reporter.advance(1, status=pdf.name)
    reporter.close()


def _marked(chunk: Callable[[Document], list[Chunk]], document: Document) -> list[Chunk]:
    """``chunk`` with the chunks that have nothing to learn marked skipped."""
    return mark_skipped(chunk(document))


def _generate_all(driver: GenerateDriver, setup: GenerateSetup) -> None:
    summary, reporter, gen = driver.summary, driver.reporter, setup.gen
    files = [p for p in summary.files if p.status != "failed"]
    driver.open_writer({p.path.name: p.path for p in files})
    jobs: list[ChunkJob] = []
    for prepared in files:
        jobs.extend(driver.queue_file(prepared.path.name, prepared.path))

    reporter.phase("generate", len(jobs))
    started = time.monotonic()
    try:
        for chunk in gen.stream(jobs):
            for file_name in driver.generated(chunk):
                driver.land(file_name, chunk)
            rate = gen.client.usage.completion_tokens / max(time.monotonic() - started, 1e-6)
            reporter.advance(1, status=f"{summary.pairs} pairs, {rate:.0f} tok/s")
    finally:
        driver.close_writer()
        reporter.close()
