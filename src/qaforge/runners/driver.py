"""The stage-1 driver: what a generate run does, whichever runner decides where it runs.

Every rule that keeps a run from losing work lives here once, and both runners
(:mod:`~qaforge.runners.local` in this process, :mod:`~qaforge.runners.ray` on a cluster)
call it; a runner only decides *where* extraction, chunking and generation run.

1. :meth:`GenerateSetup.for_client`: the prompt, the :class:`~qaforge.generate.GenerateQA`
   stage, the chunk budget and the generator record written into every file;
2. :meth:`GenerateDriver.discover`: the PDFs under the inputs and their suggestions files;
3. :meth:`GenerateDriver.open_writer`: replay an interrupted run's journal and land it
   before any work is chosen;
4. :func:`needs_model` (through :meth:`GenerateDriver.queue_file` and
   :meth:`GenerateDriver.settled`): which chunks still need the model;
5. :meth:`GenerateDriver.generated` and :meth:`GenerateDriver.land`: count a finished chunk
   and hand it to the crash-safe :class:`~qaforge.journal.ChunkWriter`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qaforge.boilerplate import is_skipped, skipped_reason
from qaforge.chunking import default_chunk_budget
from qaforge.config import GenerateSettings
from qaforge.fileio import JsonFileError
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.journal import ChunkJournal, ChunkWriter
from qaforge.languages import resolve_language
from qaforge.llm.base import LLMClient
from qaforge.progress import Reporter
from qaforge.prompts import PromptTemplate, load_prompt
from qaforge.records import Chunk, GeneratorInfo
from qaforge.suggestions import load_suggestions
from qaforge.workspace import FoundPdf, Prepared, discover_pdfs, output_path, state_dir

JOURNAL_NAME = "generate.journal.jsonl"


@dataclass(slots=True)
class GenerateSummary:
    """What a generate run did, for the summary table and for callers."""

    files: list[Prepared] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    chunks_total: int = 0
    chunks_done: int = 0
    chunks_failed: int = 0
    #: chunks not sent because they have nothing to learn: reason -> count
    skipped: dict[str, int] = field(default_factory=dict)
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


@dataclass(frozen=True, slots=True)
class GenerateSetup:
    """What both runners derive from the driver's client and the settings."""

    prompt: PromptTemplate
    gen: GenerateQA
    budget: int
    info: GeneratorInfo

    @classmethod
    def for_client(cls, client: LLMClient, settings: GenerateSettings) -> GenerateSetup:
        prompt = load_prompt(settings.prompt, settings.prompt_file or None)
        gen = GenerateQA(client, pairs_per_chunk=settings.pairs_per_chunk, prompt=prompt,
                         language=resolve_language(settings.language),
                         coverage=settings.coverage, coverage_rounds=settings.coverage_rounds,
                         forms=settings.forms)
        budget = settings.chunk_tokens or default_chunk_budget(
            client.context_length or 2048, gen.prompt_overhead_tokens, gen.max_tokens)
        return cls(prompt, gen, budget, generator_info(client, gen, budget))


def generator_info(client: LLMClient, gen: GenerateQA, chunk_tokens: int) -> GeneratorInfo:
    """The ``generator`` record of a suggestions file: backend, model, prompt, parameters."""
    described = client.describe()
    return GeneratorInfo(
        backend=str(described.get("backend", client.backend)),
        model=str(described.get("model", client.model)), prompt=gen.prompt.name,
        params={"pairs_per_chunk": gen.pairs, "max_tokens": gen.max_tokens,
                "temperature": gen.temperature, "chunk_tokens": chunk_tokens,
                **({"language": gen.language} if gen.language else {}),
                **({"coverage": gen.coverage, "coverage_rounds": gen.coverage_rounds}
                   if gen.coverage else {}),
                **({"forms": gen.forms, "form_prompts": {
                    name: p.name for name, p in gen.form_prompts.items()}}
                   if gen.form_prompts else {})})


def needs_model(chunk: Chunk, unwritten: dict[str, Chunk], wanted: tuple[str, ...],
                skip_boilerplate: bool = True) -> bool:
    """Whether ``chunk`` (as its file has it) still goes to the model: its state is wanted
    (``pending``, and ``failed`` on a retry run), it is not marked as having nothing to learn
    (:mod:`qaforge.boilerplate`; unless ``skip_boilerplate`` is off) and no finished result
    for it is waiting in ``unwritten`` (journaled results its file refused to take so far)."""
    if chunk.state not in wanted or (skip_boilerplate and is_skipped(chunk)):
        return False
    done = unwritten.get(chunk.id)
    return done is None or done.state in wanted


class GenerateDriver:
    """One generate run's bookkeeping: the work chosen, the results landed, the summary."""

    def __init__(self, workdir: Path, settings: GenerateSettings, reporter: Reporter,
                 summary: GenerateSummary | None = None) -> None:
        self.workdir = workdir
        self.reporter = reporter
        self.summary = summary or GenerateSummary()
        self.wanted: tuple[str, ...] = (("pending", "failed") if settings.retry_failed
                                        else ("pending",))
        self.skip_boilerplate = settings.skip_boilerplate
        #: chunk id -> the files that have it: identical chunks generate once
        self.owners: dict[str, list[str]] = {}
        #: file name -> chunks of it still to land
        self.left: dict[str, int] = {}
        self.writer: ChunkWriter | None = None

    def discover(self, inputs: Iterable[Path]) -> list[FoundPdf]:
        """The PDFs under ``inputs``, each with its suggestions file; problems (a missing
        input) are logged and kept in the summary."""
        pdfs, self.summary.problems = discover_pdfs(inputs, self.workdir)
        for problem in self.summary.problems:
            self.reporter.log(f"error: {problem}")
        return pdfs

    def report_prepared(self, prepared: Prepared) -> None:
        """Log what preparing (or storing) one PDF's file said."""
        if prepared.status == "failed":
            self.reporter.log(f"error: {prepared.message}")
        elif prepared.message:
            self.reporter.log(f"warning: {prepared.message}")
        for warning in prepared.warnings:
            self.reporter.log(f"warning: {warning}")

    def open_writer(self, paths: dict[str, Path]) -> ChunkWriter:
        """The run's writer over ``paths`` (file name -> suggestions file), with an
        interrupted run's journal replayed and landed before any work is chosen."""
        journal = ChunkJournal(state_dir(self.workdir) / JOURNAL_NAME)
        replayed = journal.replay()
        paths = dict(paths)
        for name in replayed:  # results for files outside this run (or unreadable now) are kept
            if name not in paths and output_path(self.workdir, name).exists():
                paths[name] = output_path(self.workdir, name)
        writer = self.writer = ChunkWriter(journal, paths)
        writer.preload(replayed)
        writer.flush()
        return writer

    def close_writer(self) -> None:
        """Land what is left; files that still refuse their chunks go in the summary."""
        if self.writer is not None:
            self.writer.close()
            self.summary.unwritten = dict(self.writer.errors)

    def _unwritten(self, name: str) -> dict[str, Chunk]:
        return self.writer.pending.get(name, {}) if self.writer is not None else {}

    def queue_file(self, name: str, path: Path) -> list[ChunkJob]:
        """Read a suggestions file and choose its work: the jobs for chunks that need the
        model and no other file of this run has queued. Chunks already done count as done;
        a file that does not parse is a problem of the run (and is left alone)."""
        try:
            loaded = load_suggestions(path)
        except JsonFileError as exc:
            self.summary.problems.append(str(exc))
            self.reporter.log(f"error: {exc}")
            return []
        for problem in loaded.problems:  # a person's hand edits: say where, change nothing
            self.reporter.log(f"warning: {problem}")
        data = loaded.data
        unwritten = self._unwritten(name)
        self.summary.chunks_total += len(data.chunks)
        jobs: list[ChunkJob] = []
        for chunk in data.chunks:
            if not needs_model(chunk, unwritten, self.wanted, self.skip_boilerplate):
                self.summary.chunks_done += 1
                if self.skip_boilerplate and is_skipped(chunk):
                    self.count_skipped(chunk)
                continue
            self.left[name] = self.left.get(name, 0) + 1
            if chunk.id not in self.owners:
                jobs.append(ChunkJob(data.source.file, chunk, data.source.language))
            self.owners.setdefault(chunk.id, []).append(name)
        return jobs

    def settled(self, name: str, chunks: list[Chunk]) -> list[str]:
        """Ids of ``chunks`` (a changed PDF's file) that need no model: a re-chunked
        document keeps them."""
        unwritten = self._unwritten(name)
        return [c.id for c in chunks
                if not needs_model(c, unwritten, self.wanted, self.skip_boilerplate)]

    def count_skipped(self, chunk: Chunk) -> None:
        """Count a chunk that is not sent because it has nothing to learn, by reason."""
        reason = skipped_reason(chunk)
        self.summary.skipped[reason] = self.summary.skipped.get(reason, 0) + 1

    def stored(self, name: str, chunks: int, todo: int, skipped: Iterable[Chunk] = ()) -> None:
        """A newly extracted document's file was written: ``todo`` of its ``chunks`` go to
        the model; those of ``skipped`` marked as having nothing to learn are counted."""
        for chunk in skipped:
            if self.skip_boilerplate and is_skipped(chunk):
                self.count_skipped(chunk)
        self.summary.chunks_total += chunks
        self.summary.chunks_done += chunks - todo
        self.left[name] = self.left.get(name, 0) + todo

    def generated(self, chunk: Chunk, file_name: str | None = None) -> list[str]:
        """Count a finished chunk; returns the files it belongs to (``file_name`` for a
        chunk no queued file has)."""
        owners = self.owners.get(chunk.id, [])
        if file_name is not None and file_name not in owners:
            owners = [file_name]
        if chunk.state == "failed":
            self.summary.chunks_failed += 1
            self.reporter.log(f"warning: {owners[0]}: chunk {chunk.id}: {chunk.error}")
        else:
            self.summary.pairs += len(chunk.suggestions)
        return owners

    def land(self, name: str, chunk: Chunk) -> int:
        """Hand a finished chunk of file ``name`` to the writer (journaled at once);
        returns how many chunks of that file are still to land."""
        assert self.writer is not None
        self.writer.add(name, chunk)
        self.summary.chunks_done += 1
        self.left[name] = self.left.get(name, 1) - 1
        return self.left[name]
