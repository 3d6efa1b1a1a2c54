"""The refine driver: runs the steps in order over one list of records.

Each step is a plain function (or a small class holding an :class:`LLMClient`) over a list
of JSON-safe :class:`PairRecord`, so a distributed runner can call the same code per batch.
Both runners follow :func:`judge_and_correct` for the model steps; a runner only supplies
:class:`ModelSteps`, i.e. *where* judging and correcting run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qaforge.config import RefineSettings
from qaforge.llm.base import LLMClient
from qaforge.progress import ProgressFn
from qaforge.refine.cache import ReplyCache
from qaforge.refine.checks import check_questions
from qaforge.refine.correct import CORRECT_PROMPT, Corrector, decide
from qaforge.refine.coverage import CoverageLedger, document_names
from qaforge.refine.dedup import deduplicate, deduplicate_rewrites
from qaforge.refine.grounding import ground
from qaforge.refine.judge import JUDGE_PROMPT, Judge
from qaforge.refine.load import LoadResult, load_workdir
from qaforge.refine.pair_record import PairRecord
from qaforge.refine.report import (
    DATASET_NAME,
    EVALUATION_NAME,
    RefineSummary,
    summarise,
    write_outputs,
)


class Laps:
    """Wall time per stage (``seconds``), measured from one lap to the next."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = self.clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        current = time.perf_counter()
        self.seconds[name] = round(current - self.clock, 3)
        self.clock = current


def prepare_records(workdir: Path, settings: RefineSettings, laps: Laps,
                    progress: ProgressFn | None = None) -> LoadResult:
    """The steps before any model call: load, question-form checks, grounding, dedup."""
    loaded = load_workdir(workdir)
    if progress:
        progress("load", len(loaded.files), len(loaded.files))
    laps("load")
    check_questions(loaded.records)
    ground(loaded.records)
    laps("checks")
    deduplicate(loaded.records, settings.near_duplicate_threshold)
    laps("dedup")
    return loaded


@dataclass(slots=True)
class StepCalls:
    """Model calls one LLM step made: judge calls, the step's own calls (rewrites) and
    requests that failed for good."""

    judge_calls: int = 0
    other_calls: int = 0
    failures: int = 0


class ModelSteps(Protocol):
    """Where the two LLM steps run. Each works on ``records`` in place: :meth:`judge` gives
    every active record a verdict, :meth:`correct` rewrites the flagged ones and judges
    the rewrites again."""

    def judge(self, records: list[PairRecord]) -> StepCalls: ...

    def correct(self, records: list[PairRecord]) -> StepCalls: ...


def judge_and_correct(records: list[PairRecord], settings: RefineSettings, steps: ModelSteps,
                      laps: Laps) -> dict[str, int]:
    """Judge, decide keep/correct, correct (and re-judge), drop rewrites that duplicate
    others. Returns the model call counts by kind for :func:`finish`."""
    judged = steps.judge(records)
    laps("judge")
    decide(records, min_grounding=settings.min_grounding, correct=settings.correct,
           correct_reviewed=settings.correct_reviewed)
    corrected = steps.correct(records)
    deduplicate_rewrites(records, settings.near_duplicate_threshold)
    laps("correct")
    return {"judge": judged.judge_calls, "correct": corrected.other_calls,
            "re_judge": corrected.judge_calls,
            "failed": judged.failures + corrected.failures}


#: records a model step takes at once: its requests are all built before they are sent, so
#: this bounds the prompts in memory (~3 KB a pair; every pair's at once before)
MODEL_BATCH = 2_000


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

    def _failures(self) -> int:
        return sum(c.usage.failures for c in self.clients)

    def judge(self, records: list[PairRecord]) -> StepCalls:
        calls, failures = self.judge_step.calls, self._failures()
        in_batches(self.judge_step, records, "judge", lambda r: r.active)
        return StepCalls(judge_calls=self.judge_step.calls - calls,
                         failures=self._failures() - failures)

    def correct(self, records: list[PairRecord]) -> StepCalls:
        judge_calls, failures = self.judge_step.calls, self._failures()
        calls = self.correct_step.calls
        in_batches(self.correct_step, records, "correct", lambda r: r.active and bool(r.flags))
        return StepCalls(judge_calls=self.judge_step.calls - judge_calls,
                         other_calls=self.correct_step.calls - calls,
                         failures=self._failures() - failures)


def finish(workdir: Path, loaded: LoadResult, settings: RefineSettings, *,
           judge: LLMClient, corrector: LLMClient, demo: bool, calls: dict[str, int],
           cache_stats: dict[str, Any], laps: Laps, progress: ProgressFn | None = None
           ) -> RefineSummary:
    """Summarise and write both outputs. ``calls`` counts model calls by kind
    (``judge``, ``correct``, ``re_judge``, ``failed``)."""
    records = loaded.records
    paths = (workdir / DATASET_NAME, workdir / EVALUATION_NAME)
    summary = summarise(records, loaded.files, paths)
    summary.demo_judge = demo
    summary.judge_calls = calls["judge"]
    summary.correct_calls = calls["correct"] + calls["re_judge"]
    summary.model_errors = calls["failed"]
    summary.cache_hits = cache_stats["hits"]
    judged = sum(1 for r in records if r.verdict is not None)
    seconds = laps.seconds
    seconds["total"] = round(time.perf_counter() - laps.started, 3)
    summary.seconds = {**seconds, "judge_pairs_per_min": round(
        calls["judge"] / seconds["judge"] * 60, 1) if calls["judge"] and seconds["judge"]
        else 0.0}
    covered = CoverageLedger(
        {f.path: f.sentences for f in loaded.files if f.sentences is not None}
    ).add_all(records).report(document_names((f.path, f.document) for f in loaded.files))
    summary.sentence_coverage = covered["coverage"]
    summary.pairs_per_page = covered["pairs_per_page"]
    summary.chunks_skipped = covered["chunks_skipped"]
    meta = {
        "models": {"judge": judge.describe(), "corrector": corrector.describe(),
                   "demo_judge": demo, "generators": _generators(loaded.files)},
        "prompts": {"judge": JUDGE_PROMPT, "correct": CORRECT_PROMPT},
        "settings": settings.model_dump(mode="json"),
        "model_calls": {**calls, "pairs_judged": judged},
        "cache": cache_stats,
        "sentence_coverage": covered,
    }
    write_outputs(workdir, records, loaded.files, summary,
                  system_prompt=settings.system_prompt, meta=meta)
    if progress:
        progress("write", 1, 1)
    summary.seconds["write"] = round(time.perf_counter() - laps.clock, 3)
    return summary


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
    loaded = prepare_records(workdir, settings, laps, progress)

    demo = bool(judge.is_demo_model)
    with ReplyCache.for_workdir(workdir) as cache:
        judge_step = Judge(judge, cache, accept_threshold=settings.accept_threshold,
                           advisory=demo, progress=progress)
        correct_step = Corrector(corrector, judge_step, cache,
                                 min_grounding=settings.min_grounding, progress=progress)
        calls = judge_and_correct(loaded.records, settings,
                                  InProcessSteps(judge_step, correct_step, clients), laps)
        cache_stats = {"hits": cache.hits, "misses": cache.misses,
                       "path": str(cache.path.relative_to(workdir)) if cache.path else None}
    return finish(workdir, loaded, settings, judge=judge, corrector=corrector, demo=demo,
                  calls=calls, cache_stats=cache_stats, laps=laps, progress=progress)


def _generators(files: list[Any]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for report in files:
        if report.generator:
            seen.setdefault(json.dumps(report.generator, sort_keys=True), report.generator)
    return list(seen.values())
