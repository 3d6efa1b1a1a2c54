"""Stage 3 on Ray: the judge and the corrector as Ray Data actor pools.

The cheap, whole-dataset steps stay on the driver exactly as in
:func:`qaforge.refine.refine_workdir` (load, question checks, grounding, de-duplication,
the keep/correct decision, writing the outputs), with the records on disk between them and
:data:`RAY_GROUP` of them at a time sent to the cluster; the two LLM steps run as
``map_batches`` actor pools of :class:`~qaforge.runners.stages.JudgeRecords` and
:class:`~qaforge.runners.stages.CorrectRecords`, each actor with its own client to the
OpenAI-compatible servers. The reply cache stays with the work directory: one small actor
pinned to the driver's node owns ``WORKDIR/.qaforge/cache.sqlite`` and answers the
workers, so a re-run (or a preempted job) sends only what is not cached yet. Outputs are
the same files as the local runner's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qaforge.config import LLMSettings, RefineSettings
from qaforge.llm import make_client
from qaforge.llm.base import LLMClient
from qaforge.progress import ProgressFn
from qaforge.refine.cache import CACHE_PATH, ReplyCache
from qaforge.refine.pair_record import PairRecord
from qaforge.refine.pipeline import (
    Laps,
    StepCalls,
    finish,
    group_progress,
    model_steps,
    no_calls,
    prepare_records,
)
from qaforge.refine.report import RefineSummary
from qaforge.runners.ray_support import (
    BATCH_BLOCK_BYTES,
    Stage,
    block_size,
    borrowed,
    dataset_of,
    iter_records,
    llm_actor_pool,
    ray_session,
    require_ray,
    run_error,
)
from qaforge.runners.stage_records import PairRow, StageRecord
from qaforge.runners.stages import ClientSpec, CorrectRecords, JudgeRecords

#: records the driver sends through the actor pools at once (and holds): each group is
#: one Ray dataset, so larger than the local runner's to keep the pools busy
RAY_GROUP = 20_000


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
    laps = Laps()
    with prepare_records(workdir, settings, laps, progress) as prepared:
        demo = bool(judge.is_demo_model)
        calls = no_calls()
        hits = misses = 0
        if not prepared.store.count("decision = 'pending'"):  # nothing for a model
            laps("judge")
            laps("correct")
        else:
            with ray_session(ray_address) as ray:
                service = _start_cache(ray, workdir)
                try:
                    overall = group_progress(prepared, progress)
                    steps = _RaySteps(ray, settings, RemoteCache(service), judge_spec,
                                      corrector_spec, actors, demo, overall)
                    calls = model_steps(prepared, settings, steps, laps, overall,
                                        group=RAY_GROUP)
                    hits, misses = ray.get(service.counts.remote())
                finally:
                    ray.get(service.close.remote())
                    ray.kill(service)
        cache_stats = {"hits": hits, "misses": misses, "path": str(CACHE_PATH)}
        return finish(workdir, prepared, settings, judge=judge, corrector=corrector,
                      demo=demo, calls=calls, cache_stats=cache_stats, laps=laps,
                      progress=progress)


class _RaySteps:
    """:class:`~qaforge.refine.pipeline.ModelSteps` on actor pools of
    :class:`~qaforge.runners.stages.JudgeRecords` and
    :class:`~qaforge.runners.stages.CorrectRecords`."""

    def __init__(self, ray: Any, settings: RefineSettings, cache: RemoteCache,
                 judge_spec: ClientSpec, corrector_spec: ClientSpec, actors: int, demo: bool,
                 progress: ProgressFn | None) -> None:
        self.ray = ray
        self.settings = settings
        self.cache = cache
        self.workers = actors or judge_spec.servers
        self.spec = judge_spec.split(self.workers)
        self.fixer = corrector_spec.split(self.workers)
        self.demo = demo
        self.progress = progress

    def judge(self, records: list[PairRecord]) -> StepCalls:
        active = [i for i, r in enumerate(records) if r.active]
        return self._run(records, active, "judge", functools.partial(
            JudgeRecords, self.spec, self.cache,
            accept_threshold=self.settings.accept_threshold, advisory=self.demo,
            min_grounding=self.settings.min_grounding, method=self.settings.judge_method))

    def correct(self, records: list[PairRecord]) -> StepCalls:
        flagged = [i for i, r in enumerate(records) if r.active and r.flags]
        return self._run(records, flagged, "correct", functools.partial(
            CorrectRecords, self.spec, self.cache,
            accept_threshold=self.settings.accept_threshold, advisory=self.demo,
            method=self.settings.judge_method, min_grounding=self.settings.min_grounding,
            corrector=self.fixer))

    def _run(self, records: list[PairRecord], indices: list[int], name: str,
             factory: Callable[[], Stage]) -> StepCalls:
        """Send ``records[i]`` for ``i`` in ``indices`` through an actor pool; put the
        results back in place. Returns the summed per-batch counters."""
        totals = {"judge_calls": 0, "rejudge_calls": 0, "other_calls": 0, "failures": 0}
        if not indices:
            return StepCalls(**totals)
        ray = self.ray
        rows: list[StageRecord] = [PairRow(index=i, record=records[i]) for i in indices]
        done = 0
        try:
            with block_size(ray, BATCH_BLOCK_BYTES):
                ds = llm_actor_pool(ray, dataset_of(ray, rows), factory, workers=self.workers,
                                    slots=self.spec.total_concurrency)
                for row in iter_records(ds):
                    assert isinstance(row, PairRow)
                    for key, value in (row.stats or {}).items():
                        totals[key] = totals.get(key, 0) + value
                    records[row.index] = row.record
                    done += 1
                    if self.progress:
                        self.progress(name, done, len(indices))
        except ray.exceptions.RayError as exc:
            raise run_error(exc) from exc
        return StepCalls(**totals)


def _start_cache(ray: Any, workdir: Path) -> Any:
    """The cache actor, pinned to this node (the work directory need not be shared)."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    here = ray.get_runtime_context().get_node_id()
    actor = ray.remote(num_cpus=0)(CacheService).options(
        scheduling_strategy=NodeAffinitySchedulingStrategy(here, soft=False))
    return actor.remote(str(workdir.resolve() / CACHE_PATH))
