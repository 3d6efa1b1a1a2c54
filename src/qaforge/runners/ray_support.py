"""Plumbing shared by the Ray runners: the optional import, the cluster session, and the
adapter that lets a record stage run as a Ray Data ``map_batches`` function or actor.

Records (:mod:`qaforge.runners.stage_records`) travel as one JSON string column: a chunk's
``suggestions`` may be a list or a person's string, which Arrow's typed columns cannot
hold, and JSON keeps them exactly what the local runner sees.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from qaforge.llm.base import BackendUnavailable, LLMClient
from qaforge.runners import RayRunError
from qaforge.runners.stage_records import StageRecord, from_json, to_json

RAY_EXTRA_HINT = "the ray runner needs the ray extra: pip install 'qaforge[ray]'"
COLUMN = "record"
STREAM_BLOCK_BYTES = 1
#: requests queued per LLM actor for each request slot it has, so slots stay busy at batch ends
BATCH_PER_SLOT = 4
#: nominal CPU reservation of an LLM actor: it only waits on HTTP
LLM_ACTOR_CPUS = 0.25
Stage = Callable[[list[StageRecord]], list[StageRecord]]


def require_ray() -> Any:
    """The ``ray`` module with Ray Data, or :class:`BackendUnavailable` naming the extra."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise BackendUnavailable(RAY_EXTRA_HINT) from None
    return ray


@contextmanager
def ray_session(address: str = "", *, log: Callable[[str], None] | None = None
                ) -> Iterator[Any]:
    """Use the Ray connection this process already has, else connect to ``address`` (or
    ``$RAY_ADDRESS``), else start a local cluster on this machine. A cluster or connection
    opened here is shut down on exit, and the Ray Data settings changed for the run are
    put back. Yields the ``ray`` module."""
    ray = require_ray()
    if ray.is_initialized():
        with _run_settings(ray):
            yield ray
        return
    started = time.monotonic()
    target = address or os.environ.get("RAY_ADDRESS", "")
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING,
                               "configure_logging": True}
    # ray.init replaces the driver's SIGTERM handler with sys.exit(15); the CLI's own one
    # stops a preempted run like Ctrl-C, with its message and exit code
    sigterm = signal.getsignal(signal.SIGTERM)
    try:
        if target:
            ray.init(address=target, **options)
        else:
            ray.init(include_dashboard=False, **options)
        if sigterm is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, sigterm)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {target}" if target else "a local Ray cluster"
        raise BackendUnavailable(f"cannot start or reach {where}: "
                                 f"{one_line(str(exc))}") from None
    try:
        if log is not None:
            cpus = ray.cluster_resources().get("CPU", 0)
            kind = f"connected to {target}" if target else "started a local cluster"
            log(f"ray: {kind} ({cpus:g} CPUs) in {time.monotonic() - started:.1f} s")
        with _run_settings(ray):
            yield ray
    finally:
        ray.shutdown()


#: Ray Data settings for our runs. Progress: our reporter shows it, Ray Data's bars and
#: INFO lines would only clutter. Block size: every batch becomes its own output block (a
#: 1-byte target flushes after each one), so results reach the driver and its journal as
#: each batch finishes, not when a task ends.
_DATA_SETTINGS: dict[str, Any] = {"enable_progress_bars": False,
                                  "print_on_execution_start": False,
                                  "enable_auto_log_stats": False,
                                  "target_max_block_size": STREAM_BLOCK_BYTES}
#: logger -> level; "progress bars disabled" is what we asked for
_LOG_LEVELS = {"ray.data": logging.WARNING, "ray.data._internal.progress": logging.ERROR}


@contextmanager
def _run_settings(ray: Any) -> Iterator[None]:
    levels = {name: logging.getLogger(name).level for name in _LOG_LEVELS}
    for name, level in _LOG_LEVELS.items():
        logging.getLogger(name).setLevel(level)
    try:
        with data_context(ray, **_DATA_SETTINGS):
            yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def data_context(ray: Any, **settings: Any) -> Iterator[None]:
    """Ray Data's ``DataContext`` with ``settings`` in force inside, and put back after. A
    setting this Ray version lacks is left alone."""
    ctx = ray.data.DataContext.get_current()
    saved = {name: getattr(ctx, name) for name in settings if hasattr(ctx, name)}
    for name in saved:
        setattr(ctx, name, settings[name])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ctx, name, value)


#: Output block size for steps whose results need not stream (refine: its reply cache keeps
#: finished work). One block per row costs ~80 ms a row here: with an instant model the
#: corpus's 1,265 pairs took 104 s on Ray with 1-byte blocks and 11 s with these.
BATCH_BLOCK_BYTES = 1 << 20


def block_size(ray: Any, size: int) -> AbstractContextManager[None]:
    """Datasets created (and run) inside use output blocks of up to ``size`` bytes."""
    return data_context(ray, target_max_block_size=size)


@contextmanager
def borrowed(client: LLMClient) -> Iterator[LLMClient]:
    """A client the caller owns, used in a ``with`` block without closing it."""
    yield client


def one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else text.strip()


# ---------------------------------------------------------------------------- batches


def to_table(records: list[StageRecord]) -> Any:
    import pyarrow as pa

    return pa.table({COLUMN: pa.array([to_json(r) for r in records],
                                      type=pa.large_string())})


def from_table(table: Any) -> list[StageRecord]:
    return [from_json(text) for text in table.column(COLUMN).to_pylist()]


def dataset_of(ray: Any, records: list[StageRecord]) -> Any:
    """A Ray dataset holding ``records`` (one block per record, so work spreads at once)."""
    rows = [{COLUMN: to_json(r)} for r in records]
    return ray.data.from_items(rows, override_num_blocks=max(1, len(rows)))


def apply_stage(table: Any, stage: Stage, options: dict[str, Any]) -> Any:
    """``map_batches`` function for a function stage."""
    return to_table(stage(from_table(table), **options))


class ActorStage:
    """``map_batches`` class for a class stage: ``factory()`` runs once per actor."""

    def __init__(self, factory: Callable[[], Stage]) -> None:
        self.stage = factory()

    def __call__(self, table: Any) -> Any:
        return to_table(self.stage(from_table(table)))


def actor_stage(factory: Callable[[], Stage]) -> type[ActorStage]:
    """An :class:`ActorStage` class with ``factory`` built in, named after the stage, so
    Ray's dashboard, logs and errors say ``MapBatches(Stage[GenerateRecords])``."""

    class BoundStage(ActorStage):
        def __init__(self) -> None:
            super().__init__(factory)

    BoundStage.__qualname__ = BoundStage.__name__ = f"Stage[{_stage_name(factory)}]"
    return BoundStage


def _stage_name(factory: Callable[[], Stage]) -> str:
    target = getattr(factory, "func", factory)
    return str(getattr(target, "__name__", "stage"))


def llm_actor_pool(ray: Any, dataset: Any, factory: Callable[[], Stage], *, workers: int,
                   slots: int) -> Any:
    """``dataset`` through a pool of ``workers`` LLM actors, each built by ``factory``
    and fed batches that keep its ``slots`` request slots busy."""
    return dataset.map_batches(
        actor_stage(factory), batch_format="pyarrow", batch_size=BATCH_PER_SLOT * slots,
        num_cpus=LLM_ACTOR_CPUS, compute=ray.data.ActorPoolStrategy(size=workers))


def iter_records(dataset: Any) -> Iterator[StageRecord]:
    """Stream a dataset's records to the driver as they are produced."""
    for batch in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
        yield from from_table(batch)


def run_error(exc: BaseException) -> Exception:
    """The error to raise for a failed cluster job: a worker's own
    :class:`BackendUnavailable` as is (a server that cannot be reached), else one line."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, BackendUnavailable):
            return BackendUnavailable(str(cause))
        cause = getattr(cause, "cause", None) or cause.__cause__
        seen += 1
    return RayRunError(f"the Ray job failed: {type(exc).__name__}: {one_line(str(exc))}")
