"""The refine driver: runs the steps in order, the records flowing through in groups.

Each step is a plain function (or a small class holding an :class:`LLMClient`) over a list
of JSON-safe :class:`PairRecord`, so a distributed runner can call the same code per batch.
Between the steps the records wait on disk (:class:`RecordStore`), so memory holds a file's
or a group's records, never the corpus: loading, the checks and grounding go file by file;
the near-duplicate search walks every pair through a disk index; the model steps
(:func:`judge_and_correct`) take :data:`MODEL_BATCH` records at a time; the outputs are
written record by record. Both runners follow :func:`model_steps`; a runner only supplies
:class:`ModelSteps`, i.e. *where* judging and correcting run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

from qaforge.config import RefineSettings
from qaforge.llm.base import LLMClient, usage_counters, usage_since
from qaforge.progress import ProgressFn
from qaforge.refine.cache import ReplyCache
from qaforge.refine.checks import check_questions
from qaforge.refine.correct import CORRECT_PROMPT, CorrectionTrial, Corrector, decide
from qaforge.refine.coverage import CoverageLedger, FileSentences, document_names
from qaforge.refine.dedup import deduplicate_stored, deduplicate_stored_rewrites
from qaforge.refine.grounding import ground
from qaforge.refine.judge import Judge, method_prompt
from qaforge.refine.load import FileReport, list_workdir, load_file
from qaforge.refine.pair_record import PairRecord
from qaforge.refine.record_store import RecordStore
from qaforge.refine.report import (
    DATASET_NAME,
    EVALUATION_NAME,
    RefineSummary,
    Tally,
    entry_json,
    summary_of,
    write_dataset,
    write_report,
)


class Laps:
    """Wall time per stage (``seconds``), measured from one lap to the next."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = self.clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        """Add the time since the last lap to stage ``name`` (a stage may come back)."""
        current = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + current - self.clock, 3)
        self.clock = current


@dataclass(slots=True)
class Prepared:
    """A run's records, loaded, checked and de-duplicated, waiting in ``store``; the
    report of every suggestions file; which files have a coverage ledger entry (path ->
    file number in the store)."""

    files: list[FileReport]
    store: RecordStore
    ledger_files: dict[str, int] = field(default_factory=dict)

    def __enter__(self) -> Prepared:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()


def prepare_records(workdir: Path, settings: RefineSettings, laps: Laps,
                    progress: ProgressFn | None = None) -> Prepared:
    """The steps before any model call, file by file: load, question-form checks,
    grounding; then dedup over every pair. Close what it returns (``with``)."""
    refused, paths = list_workdir(workdir)
    prepared = Prepared(files=refused, store=RecordStore())
    try:
        for path in paths:
            records, report = load_file(path, workdir)
            laps("load")
            check_questions(records)
            ground(records)
            number = len(prepared.files)
            if report.sentences is not None:  # kept in the store until the report
                prepared.store.put_sentences(number, report.sentences)
                prepared.ledger_files[report.path] = number
                report.sentences = None
            prepared.store.add(records)
            prepared.files.append(report)
            laps("checks")
            if progress:
                progress("load", len(prepared.files), len(refused) + len(paths))
        if progress and not paths:
            progress("load", len(refused), len(refused))
        deduplicate_stored(prepared.store, settings.near_duplicate_threshold)
        laps("dedup")
    except BaseException:
        prepared.store.close()
        raise
    return prepared


@dataclass(slots=True)
class StepCalls:
    """Model calls one LLM step made: the judge's first looks at pairs and its looks at
    rewrites, the step's own calls (rewrites), requests that failed for good, and the
    tokens its requests read and generated (cached replies cost none)."""

    judge_calls: int = 0
    rejudge_calls: int = 0
    other_calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: of ``prompt_tokens``, those the server had cached (a chunk its draft had read)
    cached_prompt_tokens: int = 0


class ModelSteps(Protocol):
    """Where the two LLM steps run. Each works on ``records`` in place: :meth:`judge` gives
    every active record a verdict, :meth:`correct` rewrites the flagged ones and judges
    the rewrites again."""

    def judge(self, records: list[PairRecord]) -> StepCalls: ...

    def correct(self, records: list[PairRecord]) -> StepCalls: ...


def judge_and_correct(records: list[PairRecord], settings: RefineSettings, steps: ModelSteps,
                      laps: Laps, trial: CorrectionTrial | None = None) -> dict[str, int]:
    """Judge, decide keep/correct, correct (and re-judge) ``records`` (a group of them:
    :func:`model_steps` then drops rewrites that duplicate others, over every pair).
    ``trial`` carries the run's count of rewrites tried and kept from group to group.
    Returns the model call counts by kind for :func:`finish`."""
    judged = steps.judge(records)
    laps("judge")
    decide(records, min_grounding=settings.min_grounding, correct=settings.correct,
           correct_reviewed=settings.correct_reviewed)
    trial = trial or CorrectionTrial(settings.correct_trial, settings.correct_trial_pass)
    corrected = StepCalls()
    for indices in trial.parts(records):
        part = [records[i] for i in indices]
        _add_calls(corrected, steps.correct(part))
        for i, record in zip(indices, part, strict=True):  # a runner may put new objects
            records[i] = record
        trial.count(part)
    laps("correct")
    both = StepCalls()
    for step in (judged, corrected):
        _add_calls(both, step)
    return {"judge": both.judge_calls, "correct": both.other_calls,
            "re_judge": both.rejudge_calls, "failed": both.failures,
            "prompt_tokens": both.prompt_tokens, "completion_tokens": both.completion_tokens,
            "cached_prompt_tokens": both.cached_prompt_tokens}


def _add_calls(total: StepCalls, more: StepCalls) -> None:
    for name in (f.name for f in fields(StepCalls)):
        setattr(total, name, getattr(total, name) + getattr(more, name))


#: records a model step takes at once: its requests are all built before they are sent, so
#: this bounds the prompts in memory (~3 KB a pair; every pair's at once before); also the
#: records :func:`model_steps` reads from the store at once
MODEL_BATCH = 2_000


class GroupProgress:
    """A step's ``progress(stage, done, total)`` over the whole run, when the step sees one
    group at a time (``totals``: the stages whose total is known before; the others grow
    group by group)."""

    def __init__(self, report: ProgressFn, totals: dict[str, int]) -> None:
        self.report, self.totals = report, totals
        self.base: dict[str, int] = {}
        self.last: dict[str, int] = {}

    def __call__(self, stage: str, done: int, of: int) -> None:
        base = self.base.get(stage, 0)
        self.last[stage] = of
        self.report(stage, base + done, self.totals.get(stage) or base + of)

    def next_group(self) -> None:
        for stage, of in self.last.items():
            self.base[stage] = self.base.get(stage, 0) + of
        self.last.clear()


def group_progress(prepared: Prepared, progress: ProgressFn | None) -> GroupProgress | None:
    """The progress to give the model steps for :func:`model_steps`."""
    if progress is None:
        return None
    return GroupProgress(progress, {"judge": prepared.store.count("decision = 'pending'")})


def no_calls() -> dict[str, int]:
    """The model call counts (and tokens) of a refine that has made none yet."""
    return {"judge": 0, "correct": 0, "re_judge": 0, "failed": 0, "prompt_tokens": 0,
            "completion_tokens": 0, "cached_prompt_tokens": 0, "correction_stopped": 0}


def model_steps(prepared: Prepared, settings: RefineSettings, steps: ModelSteps, laps: Laps,
                progress: GroupProgress | None = None, group: int = 0) -> dict[str, int]:
    """:func:`judge_and_correct` over the pairs still in the running, ``group`` at a time
    (:data:`MODEL_BATCH` by default; a chunk's pairs stay together), each group written
    back to the store; then drop rewrites that duplicate pairs of the dataset."""
    calls = no_calls()
    store = prepared.store
    trial = CorrectionTrial(settings.correct_trial, settings.correct_trial_pass)
    # last drafted first: an engine's prompt cache that cannot hold every chunk the run
    # drafted still holds the latest ones, which the judge then reads from it (first
    # drafted first would find each one already evicted: docs/benchmarks.md 3.4)
    for stored in store.groups(group or MODEL_BATCH, "decision = 'pending'",
                               last_first=True):
        records = [record for _, record in stored]
        # a runner may put new record objects in the list (Ray's come back from workers)
        got = judge_and_correct(records, settings, steps, laps, trial)
        for kind, n in got.items():
            calls[kind] = calls.get(kind, 0) + n
        store.put(zip((pos for pos, _ in stored), records, strict=True))
        if progress is not None:
            progress.next_group()
    calls["correction_stopped"] = trial.stopped
    deduplicate_stored_rewrites(store, settings.near_duplicate_threshold)
    laps("correct")
    return calls


class _Step(Protocol):
    progress: ProgressFn | None

    def __call__(self, records: list[PairRecord]) -> list[PairRecord]: ...


def in_batches(step: _Step, records: list[PairRecord], stage: str,
               counts: Callable[[PairRecord], bool]) -> None:
    """Run ``step`` over ``records`` :data:`MODEL_BATCH` at a time, its ``stage`` progress
    reported over the whole run (``counts`` says which records the step works on)."""
    report = step.progress
    total = sum(1 for r in records if counts(r))
    offset = 0

    def overall(name: str, done: int, of: int) -> None:
        if report is not None and name == stage:
            report(name, offset + done, total)
        elif report is not None:
            report(name, done, of)

    step.progress = overall if report is not None else None
    try:
        for start in range(0, len(records), MODEL_BATCH):
            batch = records[start:start + MODEL_BATCH]
            work = sum(1 for r in batch if counts(r))
            step(batch)
            offset += work
    finally:
        step.progress = report


class InProcessSteps:
    """:class:`ModelSteps` in this process: a :class:`Judge` and a :class:`Corrector`."""

    def __init__(self, judge: Judge, corrector: Corrector, clients: list[LLMClient]) -> None:
        self.judge_step = judge
        self.correct_step = corrector
        self.clients = clients

    def judge(self, records: list[PairRecord]) -> StepCalls:
        calls, before = self.judge_step.calls, usage_counters(self.clients)
        in_batches(self.judge_step, records, "judge", lambda r: r.active)
        return StepCalls(judge_calls=self.judge_step.calls - calls,
                         **usage_since(before, self.clients))

    def correct(self, records: list[PairRecord]) -> StepCalls:
        judge_calls, before = self.judge_step.calls, usage_counters(self.clients)
        calls, rejudged = self.correct_step.calls, self.correct_step.rejudge_calls
        in_batches(self.correct_step, records, "correct", lambda r: r.active and bool(r.flags))
        rejudge_calls = self.correct_step.rejudge_calls - rejudged
        return StepCalls(judge_calls=self.judge_step.calls - judge_calls - rejudge_calls,
                         rejudge_calls=rejudge_calls,
                         other_calls=self.correct_step.calls - calls,
                         **usage_since(before, self.clients))


def finish(workdir: Path, prepared: Prepared, settings: RefineSettings, *,
           judge: LLMClient, corrector: LLMClient, demo: bool, calls: dict[str, int],
           cache_stats: dict[str, Any], laps: Laps, progress: ProgressFn | None = None
           ) -> RefineSummary:
    """Summarise and write both outputs. ``calls`` counts model calls by kind
    (``judge``, ``correct``, ``re_judge``, ``failed``)."""
    files = prepared.files
    paths = (workdir / DATASET_NAME, workdir / EVALUATION_NAME)
    tally, ledger = Tally(), CoverageLedger(_StoredSentences(prepared))
    write_dataset(paths[0], (r for _, r in prepared.store.records()),
                  settings.system_prompt, _Counting(tally, ledger))
    summary = summary_of(tally, files, paths)
    summary.demo_judge = demo
    summary.judge_calls = calls["judge"]
    summary.correct_calls = calls["correct"] + calls["re_judge"]
    summary.model_errors = calls["failed"]
    summary.completion_tokens = calls["completion_tokens"]
    summary.correction_stopped = calls["correction_stopped"]
    summary.cache_hits = cache_stats["hits"]
    seconds = laps.seconds
    seconds["total"] = round(time.perf_counter() - laps.started, 3)
    summary.seconds = {**seconds, "judge_pairs_per_min": round(
        calls["judge"] / seconds["judge"] * 60, 1) if calls["judge"] and seconds.get("judge")
        else 0.0}
    covered = ledger.report(document_names((f.path, f.document) for f in files))
    summary.sentence_coverage = covered["coverage"]
    summary.pairs_per_page = covered["pairs_per_page"]
    summary.chunks_skipped = covered["chunks_skipped"]
    meta = {
        "models": {"judge": judge.describe(), "corrector": corrector.describe(),
                   "demo_judge": demo, "generators": _generators(files)},
        "prompts": {"judge": method_prompt(settings.judge_method),
                    "correct": CORRECT_PROMPT},
        "settings": settings.model_dump(mode="json"),
        "model_calls": {**calls, "pairs_judged": tally.judged},
        "cache": cache_stats,
        "sentence_coverage": covered,
    }
    write_report(summary, tally, files, meta,
                 (entry_json(r) for _, r in prepared.store.records()))
    if progress:
        progress("write", 1, 1)
    summary.seconds["write"] = round(time.perf_counter() - laps.clock, 3)
    return summary


class _Counting:
    """Counts each record into the tally and the coverage ledger, closing a file's
    figures when its records are past (they come file by file)."""

    def __init__(self, tally: Tally, ledger: CoverageLedger) -> None:
        self.tally, self.ledger = tally, ledger
        self.file: str | None = None

    def __call__(self, record: PairRecord) -> None:
        if record.source_file != self.file:
            if self.file is not None:
                self.tally.close_file(self.file)
                self.ledger.close(self.file)
            self.file = record.source_file
        self.tally.add(record)
        self.ledger.add(record)


class _StoredSentences(Mapping[str, FileSentences]):
    """The coverage ledger's entries, read from the store when asked for."""

    def __init__(self, prepared: Prepared) -> None:
        self.prepared = prepared

    def __getitem__(self, path: str) -> FileSentences:
        entry = self.prepared.store.sentences(self.prepared.ledger_files[path])
        if entry is None:
            raise KeyError(path)
        return entry

    def __iter__(self) -> Iterator[str]:
        return iter(self.prepared.ledger_files)

    def __len__(self) -> int:
        return len(self.prepared.ledger_files)


def refine_workdir(workdir: Path, *, judge: LLMClient, corrector: LLMClient | None = None,
                   settings: RefineSettings, progress: ProgressFn | None = None
                   ) -> RefineSummary:
    """Stage 3 on ``workdir``: suggestions files in, dataset and evaluation out.

    Never writes to the suggestions files. Safe to re-run: model replies are cached in
    ``WORKDIR/.qaforge/cache.sqlite``, so only pairs whose text, chunk, model or prompt
    changed are sent again. ``progress(stage, done, total)`` is called as work finishes.
    """
    workdir = Path(workdir)
    corrector = corrector or judge
    clients = list({id(c): c for c in (judge, corrector)}.values())
    laps = Laps()
    with prepare_records(workdir, settings, laps, progress) as prepared:
        demo = bool(judge.is_demo_model)
        overall = group_progress(prepared, progress)
        with ReplyCache.for_workdir(workdir) as cache:
            judge_step = Judge(judge, cache, accept_threshold=settings.accept_threshold,
                               advisory=demo, method=settings.judge_method,
                               min_grounding=settings.min_grounding, progress=overall)
            correct_step = Corrector(corrector, judge_step, cache,
                                     min_grounding=settings.min_grounding, progress=overall)
            calls = model_steps(prepared, settings,
                                InProcessSteps(judge_step, correct_step, clients), laps, overall)
            cache_stats = {"hits": cache.hits, "misses": cache.misses,
                           "path": str(cache.path.relative_to(workdir)) if cache.path else None}
        return finish(workdir, prepared, settings, judge=judge, corrector=corrector,
                      demo=demo, calls=calls, cache_stats=cache_stats, laps=laps,
                      progress=progress)


def _generators(files: list[Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for report in files:
        if report.generator:
            seen.setdefault(json.dumps(report.generator, sort_keys=True), report.generator)
    return list(seen.values())
