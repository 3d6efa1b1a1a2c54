"""The local runner: drives stage 1 in this process.

Phases, one after the other (never CPU-heavy extraction beside a generating engine: with
all cores given to llama.cpp, a competing thread makes it spin-wait and crawl):

1. prepare: extract and chunk every PDF, write its suggestions file (chunks ``pending``);
2. generate: every pending chunk of every file through :class:`~qaforge.generate.GenerateQA`,
   with the engine's parallel slots kept busy across documents; results are journaled at
   once and written into the files every few seconds.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qaforge.chunking import chunk_document, default_chunk_budget
from qaforge.config import GenerateSettings
from qaforge.extract import extract_pdf
from qaforge.fileio import JsonFileError
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.journal import ChunkJournal, ChunkWriter
from qaforge.llm.base import LLMClient
from qaforge.progress import Reporter, SilentReporter
from qaforge.prompts import load_prompt
from qaforge.records import GeneratorInfo
from qaforge.suggestions import load_suggestions
from qaforge.workspace import Prepared, discover_pdfs, output_path, prepare_document, state_dir


@dataclass(slots=True)
class GenerateSummary:
    """What a generate run did, for the summary table and for callers."""

    files: list[Prepared] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    chunks_total: int = 0
    chunks_done: int = 0
    chunks_failed: int = 0
    pairs: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    extract_seconds: float = 0.0
    generate_seconds: float = 0.0
    unwritten: dict[str, str] = field(default_factory=dict)

    @property
    def failed_files(self) -> list[Prepared]:
        return [p for p in self.files if p.status == "failed"]

    @property
    def pages(self) -> int:
        return sum(p.pages for p in self.files)

    @property
    def ok(self) -> bool:
        return not self.failed_files and not self.problems and not self.unwritten


def generator_info(client: LLMClient, gen: GenerateQA, settings: GenerateSettings,
                   chunk_tokens: int) -> GeneratorInfo:
    described = client.describe()
    return GeneratorInfo(
        backend=str(described.get("backend", client.backend)),
        model=str(described.get("model", client.model)), prompt=gen.prompt.name,
        params={"pairs_per_chunk": gen.pairs, "max_tokens": gen.max_tokens,
                "temperature": gen.temperature, "chunk_tokens": chunk_tokens})


def run_generate(inputs: Iterable[Path], workdir: Path, *, client: LLMClient,
                 settings: GenerateSettings, reporter: Reporter | None = None) -> GenerateSummary:
    """Stage 1 over files and folders of PDFs into ``workdir``; resumable."""
    reporter = reporter or SilentReporter()
    summary = GenerateSummary()
    prompt = load_prompt(settings.prompt, settings.prompt_file or None)
    gen = GenerateQA(client, pairs_per_chunk=settings.pairs_per_chunk, prompt=prompt,
                     temperature=0.0)
    budget = settings.chunk_tokens or default_chunk_budget(
        client.context_length or 2048, gen.prompt_overhead_tokens, gen.max_tokens)
    info = generator_info(client, gen, settings, budget)
    count = functools.lru_cache(maxsize=65536)(client.count_tokens)

    pdfs, summary.problems = discover_pdfs(inputs)
    for problem in summary.problems:
        reporter.log(f"error: {problem}")
    started = time.monotonic()
    _prepare_all(pdfs, workdir, summary, reporter, info,
                 extract=functools.partial(extract_pdf, password=settings.password or None,
                                           ocr=settings.ocr),
                 chunk=functools.partial(chunk_document, max_tokens=budget, count_tokens=count,
                                         min_tokens=settings.min_chunk_tokens))
    summary.extract_seconds = time.monotonic() - started

    started = time.monotonic()
    _generate_all(gen, workdir, summary, reporter, retry_failed=settings.retry_failed)
    summary.generate_seconds = time.monotonic() - started
    summary.prompt_tokens = client.usage.prompt_tokens
    summary.completion_tokens = client.usage.completion_tokens
    return summary


def _prepare_all(pdfs: list[tuple[Path, str]], workdir: Path, summary: GenerateSummary,
                 reporter: Reporter, info: GeneratorInfo, *,
                 extract: Callable[..., object], chunk: Callable[..., object]) -> None:
    reporter.phase("extract", len(pdfs))
    for pdf, name in pdfs:
        prepared = prepare_document(pdf, output_path(workdir, name), extract=extract,  # type: ignore[arg-type]
                                    chunk=chunk, generator=info)  # type: ignore[arg-type]
        summary.files.append(prepared)
        if prepared.status == "failed":
            reporter.log(f"error: {prepared.message}")
        elif prepared.message:
            reporter.log(f"warning: {prepared.message}")
        for warning in prepared.warnings:
            reporter.log(f"warning: {warning}")
        reporter.advance(1, status=pdf.name)
    reporter.close()


def _generate_all(gen: GenerateQA, workdir: Path, summary: GenerateSummary,
                  reporter: Reporter, *, retry_failed: bool) -> None:
    files = [p for p in summary.files if p.status != "failed"]
    paths = {p.path.name: p.path for p in files}
    journal = ChunkJournal(state_dir(workdir) / "generate.journal.jsonl")
    replayed = journal.replay()
    for name in replayed:  # results for files outside this run (or unreadable now) are kept
        if name not in paths and output_path(workdir, name).exists():
            paths[name] = output_path(workdir, name)
    writer = ChunkWriter(journal, paths)
    writer.preload(replayed)
    writer.flush()  # land an interrupted run's finished chunks before choosing work

    jobs: list[ChunkJob] = []
    owners: dict[str, list[str]] = {}  # chunk id -> files; identical chunks generate once
    wanted = ("pending", "failed") if retry_failed else ("pending",)
    for prepared in files:
        try:
            loaded = load_suggestions(prepared.path)
        except JsonFileError as exc:
            summary.problems.append(str(exc))
            reporter.log(f"error: {exc}")
            continue
        for problem in loaded.problems:  # a person's hand edits: say where, change nothing
            reporter.log(f"warning: {problem}")
        data = loaded.data
        unwritten = writer.pending.get(prepared.path.name, {})  # done; the file refused them
        summary.chunks_total += len(data.chunks)
        for chunk in data.chunks:
            if chunk.state not in wanted or (chunk.id in unwritten
                                             and unwritten[chunk.id].state not in wanted):
                summary.chunks_done += 1
                continue
            if chunk.id not in owners:
                jobs.append(ChunkJob(data.source.file, chunk))
            owners.setdefault(chunk.id, []).append(prepared.path.name)

    reporter.phase("generate", len(jobs))
    started = time.monotonic()
    try:
        for chunk in gen.stream(jobs):
            for file_name in owners[chunk.id]:
                writer.add(file_name, chunk)
            summary.chunks_done += len(owners[chunk.id])
            if chunk.state == "failed":
                summary.chunks_failed += 1
                reporter.log(f"warning: {owners[chunk.id][0]}: chunk {chunk.id}: {chunk.error}")
            else:
                summary.pairs += len(chunk.suggestions)
            rate = gen.client.usage.completion_tokens / max(time.monotonic() - started, 1e-6)
            reporter.advance(1, status=f"{summary.pairs} pairs, {rate:.0f} tok/s")
    finally:
        writer.close()
        reporter.close()
        summary.unwritten = dict(writer.errors)
