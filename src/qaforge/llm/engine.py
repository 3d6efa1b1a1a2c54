"""The embedded default backend: llama.cpp's server inside this process (``--backend llamacpp``).

:class:`EmbeddedEngine` starts ``xllamacpp.Server`` on 127.0.0.1 with a free port, one
parallel slot per concurrent request (continuous batching) and prompt caching, then talks
to it over HTTP as an :class:`~qaforge.llm.openai.OpenAIClient` with the ``llamacpp``
profile: local and remote models share one code path. The server stops on :meth:`close`,
at the end of a ``with`` block (Ctrl-C included) and at interpreter exit.

    >>> from qaforge.config import LLMSettings
    >>> with from_settings(LLMSettings(threads=1)) as llm:     # doctest: +SKIP
    ...     print(llm.complete(ChatRequest(messages=[{"role": "user", "content": "Hi"}])).text)

llama.cpp logs a lot to stderr; it is silenced unless ``QAFORGE_ENGINE_LOG=1``.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from qaforge.config import LLMSettings
from qaforge.llm.base import BackendUnavailable
from qaforge.llm.catalogue import ModelError, is_demo_model, resolve_model
from qaforge.llm.openai import OpenAIClient
from qaforge.llm.profiles import LLAMACPP

DEMO_MODEL_NOTICE = (
    "Using the bundled demo model (SmolLM2-135M): fine for trying qaforge, too small for "
    "real data or for judging. See `qaforge models` for better ones, or pass --model "
    "FILE.gguf or --backend openai --base-url URL.")

LOG_ENV = "QAFORGE_ENGINE_LOG"
_GGUF_MAGIC = b"GGUF"


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _cpu_times() -> tuple[int, int] | None:
    """(total, idle) jiffies of all CPUs since boot, or None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            values = [int(v) for v in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    return sum(values), values[3] + values[4]  # idle + iowait


def busy_cores(sample: float = 0.3) -> float:
    """How many cores other processes keep busy right now (this one sleeps meanwhile).

    Sampled from ``/proc/stat`` over ``sample`` seconds; the 1-minute load average lags by
    minutes (a job that just ended still counts), so it is only the fallback.
    """
    before = _cpu_times()
    if before is not None:
        time.sleep(sample)
        after = _cpu_times()
        if after is not None and after[0] > before[0]:
            total, idle = after[0] - before[0], after[1] - before[1]
            return (total - idle) / total * (os.cpu_count() or 1)
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - no load average on this platform
        return 0.0


def default_threads() -> int:
    """Threads for the engine when none are asked for: the cores nobody else is using.

    llama.cpp's threads spin-wait for each other, so one thread more than the free cores
    is catastrophic (measured here: 117 -> 2 tok/s with 2 threads beside one busy process),
    while one thread fewer costs little.
    """
    cores = available_cores()
    busy = int(busy_cores() + 0.5)
    return max(1, min(cores, cores - busy))


class _ServerHandle:
    """Owns the ``xllamacpp.Server``; stopping drops the last reference (its destructor
    joins llama.cpp's threads and closes the socket). Kept apart from the engine so a
    ``weakref.finalize`` can stop it at exit without keeping the engine alive."""

    def __init__(self, server: Any) -> None:
        self._server: Any = server
        self._lock = threading.Lock()

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
        del server  # last reference: ~Server stops the HTTP listener and the main loop

    @property
    def running(self) -> bool:
        return self._server is not None


def _check_gguf(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise BackendUnavailable(f"{path}: cannot read model file: {exc.strerror}") from exc
    if magic != _GGUF_MAGIC:
        raise BackendUnavailable(f"{path}: not a GGUF model file (the embedded engine needs "
                                 ".gguf; other formats run with --backend transformers)")


def _start_server(model: Path, *, parallel: int, context: int, threads: int,
                  gpu_layers: int, prompt_cache_mib: int, verbose: bool) -> Any:
    try:
        import xllamacpp
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise BackendUnavailable(f"the embedded engine needs xllamacpp ({exc}); "
                                 "pip install xllamacpp") from exc
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.port = 0  # the OS picks a free port; listening_address reports it
    params.hostnames = ["127.0.0.1"]
    params.n_parallel = parallel
    params.n_ctx = parallel * context
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_prompt = True
    # old prompts kept in RAM besides the slots' own caches: a judge call that begins as its
    # chunk's draft did is served from there (llama.cpp's default, 8 GiB, grew the engine
    # from 402 to 764 MB over 24 requests here, so the size is the user's setting)
    params.cache_ram_mib = prompt_cache_mib
    if gpu_layers >= 0:
        params.n_gpu_layers = gpu_layers
    if not verbose:
        params.verbosity = 0
    try:
        return xllamacpp.Server(params)
    except RuntimeError as exc:
        raise BackendUnavailable(
            f"{model}: llama.cpp could not load this model (corrupt or unsupported GGUF, or "
            f"not enough memory for {parallel} x {context} tokens of context); set "
            f"{LOG_ENV}=1 to see llama.cpp's log") from exc


class EmbeddedEngine(OpenAIClient):
    """llama.cpp in-process, reached over loopback HTTP like any OpenAI-compatible server."""

    backend = "llamacpp"

    def __init__(self, model_path: Path, *, concurrency: int = 4, context: int = 2048,
                 threads: int = 0, gpu_layers: int = -1, timeout: float = 600.0,
                 retries: int = 1, verbose: bool | None = None,
                 reasoning_tokens: int = 0, prompt_cache_mib: int = 1024) -> None:
        model_path = Path(model_path)
        _check_gguf(model_path)
        if verbose is None:
            verbose = os.environ.get(LOG_ENV, "") not in ("", "0")
        self.model_path = model_path
        self.threads = threads or default_threads()
        self.prompt_cache_mib = prompt_cache_mib
        server = _start_server(model_path, parallel=concurrency, context=context,
                               threads=self.threads, gpu_layers=gpu_layers,
                               prompt_cache_mib=prompt_cache_mib, verbose=verbose)
        self._handle = _ServerHandle(server)
        self._finalizer = weakref.finalize(self, self._handle.stop)
        self.url: str = server.listening_address
        try:
            super().__init__([self.url], model=model_path.name, profile=LLAMACPP,
                             concurrency=concurrency, timeout=timeout, retries=retries,
                             context_length=context, reasoning_tokens=reasoning_tokens)
        except BaseException:
            self._finalizer()
            raise
        self.is_demo_model = is_demo_model(model_path)

    @property
    def running(self) -> bool:
        """True until :meth:`close` (or exit) stopped the server."""
        return self._handle.running

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "model_path": str(self.model_path),
                "parallel": self.max_concurrency, "context": self._context_length,
                "threads": self.threads, "prompt_cache_mib": self.prompt_cache_mib}

    def close(self) -> None:
        """Stop the server and free its port. Safe to call twice."""
        # llama.cpp's server waits for every response it owes before it can stop, so break
        # the in-flight connections first (the server then cancels those generations)
        self._stop_requests()
        self._finalizer()
        super().close()

    def __enter__(self) -> EmbeddedEngine:
        return self


def from_settings(settings: LLMSettings) -> EmbeddedEngine:
    """``--backend llamacpp``: resolve the model (``--model`` path or catalog name, else the
    bundled demo model) and start the engine. Raises :class:`BackendUnavailable` with the
    command that fixes a missing model."""
    try:
        model_path = resolve_model(settings.model)
    except ModelError as exc:
        raise BackendUnavailable(str(exc)) from None
    return EmbeddedEngine(model_path, concurrency=settings.concurrency, context=settings.context,
                          threads=settings.threads, gpu_layers=settings.gpu_layers,
                          timeout=max(settings.timeout, 600.0), retries=settings.retries,
                          reasoning_tokens=settings.reasoning_tokens,
                          prompt_cache_mib=settings.prompt_cache_mib)
