"""Stage 3 on Ray: the judge and the corrector as Ray Data actor pools.

The cheap, whole-dataset steps stay on the driver exactly as in
:func:`qaforge.refine.refine_workdir` (load, question checks, grounding, de-duplication,
the keep/correct decision, writing the outputs); the two LLM steps run as
``map_batches`` actor pools of :class:`~qaforge.runners.stages.JudgeRecords` and
:class:`~qaforge.runners.stages.CorrectRecords`, each actor with its own client to the
OpenAI-compatible servers. The reply cache stays with the work directory: one small actor
pinned to the driver's node owns ``WORKDIR/.qaforge/cache.sqlite`` and answers the
workers, so a re-run (or a preempted job) sends only what is not cached yet. Outputs are
the same files as the local runner's.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qaforge.config import LLMSettings, RefineSettings
from qaforge.llm import make_client
from qaforge.llm.base import LLMClient
from qaforge.refine.cache import CACHE_PATH, ReplyCache
from qaforge.refine.checks import check_questions
from qaforge.refine.correct import CORRECT_PROMPT, decide
from qaforge.refine.dedup import deduplicate, deduplicate_rewrites
from qaforge.refine.grounding import ground
from qaforge.refine.judge import JUDGE_PROMPT
from qaforge.refine.load import FileReport, load_workdir
from qaforge.refine.record import PairRecord
from qaforge.refine.report import (
    DATASET_NAME,
    EVALUATION_NAME,
    RefineSummary,
    summarise,
    write_outputs,
)
from qaforge.runners.ray_support import (
    actor_stage,
    borrowed,
    dataset_of,
    iter_records,
    ray_session,
    require_ray,
    run_error,
)
from qaforge.runners.stages import STATS_KEY, ClientSpec, CorrectRecords, JudgeRecords, Record

ProgressFn = Callable[[str, int, int], None]
#: requests queued per actor for each request slot it has
BATCH_PER_SLOT = 4
LLM_ACTOR_CPUS = 0.25


class CacheService:
    """The reply cache as a Ray actor, living where the work directory is."""

    def __init__(self, path: str) -> None:
        self.cache = ReplyCache(Path(path))

    def get(self, key: str) -> Any | None:
        return self.cache.get(key)

    def put(self, key: str, kind: str, value: Any) -> None:
        self.cache.put(key, kind, value)

    def counts(self) -> tuple[int, int]:
        return self.cache.hits, self.cache.misses

    def close(self) -> None:
        self.cache.close()


class RemoteCache:
    """What the workers hold: a :class:`~qaforge.refine.cache.ReplyStore` that asks the
    :class:`CacheService` actor (one short round trip per request, beside seconds of LLM)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def get(self, key: str) -> Any | None:
        import ray

        return ray.get(self.handle.get.remote(key))

    def put(self, key: str, kind: str, value: Any) -> None:
        import ray

        ray.get(self.handle.put.remote(key, kind, value))


def refine_workdir_ray(workdir: Path, *, judge: LLMSettings, settings: RefineSettings,
                       corrector: LLMSettings | None = None, ray_address: str = "",
                       actors: int = 0, progress: ProgressFn | None = None,
                       judge_client: LLMClient | None = None) -> RefineSummary:
    """Stage 3 on ``workdir`` with the LLM steps on a Ray cluster; same outputs as
    :func:`qaforge.refine.refine_workdir`. ``corrector`` defaults to the judge's settings;
    ``actors`` is the size of each LLM actor pool (0: one per server); ``judge_client`` is
    the driver's client for ``judge`` when the caller already started it (not closed
    here). ``progress(stage, done, total)`` is called as batches come back."""
    require_ray()
    workdir = Path(workdir)
    separate = corrector is not None and corrector != judge
    with (borrowed(judge_client) if judge_client is not None
          else make_client(judge)) as client:
        corrector_client = make_client(corrector) if separate and corrector else client
        try:
            judge_spec = ClientSpec.of(client, judge)
            corrector_spec = (ClientSpec.of(corrector_client, corrector)
                              if separate and corrector else judge_spec)
            return _refine(workdir, settings, client, corrector_client, judge_spec,
                           corrector_spec, ray_address, actors, progress)
        finally:
            if corrector_client is not client:
                corrector_client.close()


def _refine(workdir: Path, settings: RefineSettings, judge: LLMClient, corrector: LLMClient,
            judge_spec: ClientSpec, corrector_spec: ClientSpec, ray_address: str,
            actors: int, progress: ProgressFn | None) -> RefineSummary:
    seconds: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        current = time.perf_counter()
        seconds[name] = round(current - clock, 3)
        clock = current

    loaded = load_workdir(workdir)
    records = loaded.records
    if progress:
        progress("load", len(loaded.files), len(loaded.files))
    lap("load")
    check_questions(records)
    ground(records)
    lap("checks")
    deduplicate(records, settings.near_duplicate_threshold)
    lap("dedup")

    demo = bool(judge.is_demo_model)
    calls = {"judge": 0, "correct": 0, "re_judge": 0, "failed": 0}
    hits = misses = 0
    if not any(r.active for r in records):  # nothing for a model: no cluster needed
        lap("judge")
        lap("correct")
    else:
        with ray_session(ray_address) as ray:
            service = _start_cache(ray, workdir)
            try:
                _llm_steps(ray, records, settings, RemoteCache(service), judge_spec,
                           corrector_spec, actors, demo, calls, lap, progress)
                hits, misses = ray.get(service.counts.remote())
            finally:
                ray.get(service.close.remote())
                ray.kill(service)
    cache_stats = {"hits": hits, "misses": misses, "path": str(CACHE_PATH)}

    paths = (workdir / DATASET_NAME, workdir / EVALUATION_NAME)
    summary = summarise(records, loaded.files, paths)
    summary.demo_judge = demo
    summary.judge_calls = calls["judge"]
    summary.correct_calls = calls["correct"] + calls["re_judge"]
    summary.model_errors = calls["failed"]
    summary.cache_hits = hits
    judged = sum(1 for r in records if r.verdict is not None)
    seconds["total"] = round(time.perf_counter() - started, 3)
    summary.seconds = {**seconds, "judge_pairs_per_min": round(
        calls["judge"] / seconds["judge"] * 60, 1) if calls["judge"] and seconds["judge"]
        else 0.0}
    meta = {
        "models": {"judge": judge.describe(), "corrector": corrector.describe(),
                   "demo_judge": demo, "generators": _generators(loaded.files)},
        "prompts": {"judge": JUDGE_PROMPT, "correct": CORRECT_PROMPT},
        "settings": settings.model_dump(mode="json"),
        "model_calls": {**calls, "pairs_judged": judged},
        "cache": cache_stats,
    }
    write_outputs(workdir, records, loaded.files, summary,
                  system_prompt=settings.system_prompt, meta=meta)
    if progress:
        progress("write", 1, 1)
    summary.seconds["write"] = round(time.perf_counter() - clock, 3)
    return summary


def _llm_steps(ray: Any, records: list[PairRecord], settings: RefineSettings,
               cache: RemoteCache, judge_spec: ClientSpec, corrector_spec: ClientSpec,
               actors: int, demo: bool, calls: dict[str, int], lap: Callable[[str], None],
               progress: ProgressFn | None) -> None:
    """Judge, decide, correct (and re-judge), as :func:`qaforge.refine.refine_workdir`
    does, with the two LLM steps on actor pools; ``calls`` gets the model call counts."""
    workers = actors or max(1, len(judge_spec.base_urls))
    spec, fixer = judge_spec.split(workers), corrector_spec.split(workers)
    active = [i for i, r in enumerate(records) if r.active]
    stats = _run_stage(ray, records, active, functools.partial(
        JudgeRecords, spec, cache, accept_threshold=settings.accept_threshold,
        advisory=demo), spec, workers, "judge", progress)
    calls["judge"], calls["failed"] = stats["judge_calls"], stats["failures"]
    lap("judge")
    decide(records, min_grounding=settings.min_grounding, correct=settings.correct,
           correct_reviewed=settings.correct_reviewed)
    flagged = [i for i, r in enumerate(records) if r.active and r.flags]
    stats = _run_stage(ray, records, flagged, functools.partial(
        CorrectRecords, spec, cache, accept_threshold=settings.accept_threshold,
        advisory=demo, min_grounding=settings.min_grounding, corrector=fixer),
        spec, workers, "correct", progress)
    calls["correct"], calls["re_judge"] = stats["other_calls"], stats["judge_calls"]
    calls["failed"] += stats["failures"]
    deduplicate_rewrites(records, settings.near_duplicate_threshold)
    lap("correct")


def _start_cache(ray: Any, workdir: Path) -> Any:
    """The cache actor, pinned to this node (the work directory need not be shared)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    actor = ray.remote(num_cpus=0)(CacheService).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
    return actor.remote(str(workdir.resolve() / CACHE_PATH))


def _run_stage(ray: Any, records: list[PairRecord], indices: list[int],
               factory: Callable[[], Any], spec: ClientSpec, workers: int, name: str,
               progress: ProgressFn | None) -> dict[str, int]:
    """Send ``records[i]`` for ``i`` in ``indices`` through an actor pool; put the results
    back in place. Returns the summed per-batch counters."""
    totals = {"judge_calls": 0, "other_calls": 0, "failures": 0}
    if not indices:
        return totals
    rows: list[Record] = [{"index": i, "record": records[i].model_dump(mode="json")}
                          for i in indices]
    ds = dataset_of(ray, rows).map_batches(
        actor_stage(factory), batch_format="pyarrow",
        batch_size=BATCH_PER_SLOT * spec.total_concurrency, num_cpus=LLM_ACTOR_CPUS,
        compute=ray.data.ActorPoolStrategy(size=workers))
    done = 0
    try:
        for row in iter_records(ds):
            for key, value in (row.pop(STATS_KEY, None) or {}).items():
                totals[key] = totals.get(key, 0) + int(value)
            records[row["index"]] = PairRecord.model_validate(row["record"])
            done += 1
            if progress:
                progress(name, done, len(indices))
    except ray.exceptions.RayError as exc:
        raise run_error(exc) from exc
    return totals


def _generators(files: list[FileReport]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for report in files:
        if report.generator:
            seen.setdefault(json.dumps(report.generator, sort_keys=True), report.generator)
    return list(seen.values())
