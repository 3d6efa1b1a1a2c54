"""The one interface every LLM backend implements.

A backend turns a :class:`ChatRequest` into a :class:`Completion`. Capabilities are plain
attributes (``supports_schema``, ``max_concurrency``, ``context_length``) that stages read
to size their work. Stages call :meth:`LLMClient.stream` with many requests and get results
back as they finish, so a backend decides how to use its parallelism: threads over HTTP
slots for servers, real batches for ``transformers``.
"""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from qaforge.errors import BackendUnavailable, LLMError  # noqa: F401 (re-exported)
from qaforge.languages import estimate_tokens
from qaforge.llm import reasoning
from qaforge.llm.local_tokenizer import local_token_counter

_stream_ids = itertools.count(1)


@dataclass(slots=True)
class ChatRequest:
    """One chat completion request.

    ``schema`` asks for JSON that validates against it; backends that can constrain decoding
    do so, the others rely on the prompt and the caller's tolerant parser. Requests that share
    an ``affinity`` (e.g. the judge's calls about one chunk) run one after another, so a
    server's slot reuses the prompt prefix they share instead of each slot reading it anew.

    ``passage`` and ``pair`` say in structured form what the prompt is about, so nothing
    (the fake backend, a test) has to find it in a prompt's wording: the passage as sent
    (a chunk; for a grade, the reference answer) and the ``(question, answer)`` judged,
    corrected or graded. Backends send ``messages`` only.
    """

    messages: list[dict[str, str]]
    schema: dict[str, Any] | None = None
    schema_name: str = "output"
    max_tokens: int = 512
    temperature: float = 0.0
    seed: int | None = 0
    tag: str = ""  # caller's label (e.g. chunk id), echoed in logs and errors
    affinity: str = ""
    passage: str = ""
    pair: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Sampling:
    """``[llm] temperature`` and ``max_tokens``, as every stage's requests use them, and
    ``reasoning`` (``keep_reasoning``: generate stores a reply's reasoning with its pairs)."""

    temperature: float = 0.0
    #: 0: each stage asks for its own reply budget; otherwise that budget is capped here
    max_tokens: int = 0
    keep_reasoning: bool = False

    def budget(self, own: int) -> int:
        """A stage's reply budget ``own``, capped by :attr:`max_tokens` when set."""
        return min(own, self.max_tokens) if self.max_tokens else own


@dataclass(slots=True)
class Completion:
    """What came back for one request. ``text`` is the answer only: reasoning (a leading
    ``<think>`` block, or what the server returned apart) is moved to ``reasoning`` when the
    completion is made, by every backend alike (:mod:`qaforge.llm.reasoning`)."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: of ``prompt_tokens``, those the server had read before (its prompt cache)
    cached_prompt_tokens: int = 0
    finish_reason: str | None = None
    retries: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    reasoning: str = ""
    #: the reply ended inside its reasoning: ``text`` is empty, :attr:`raw` has it all
    reasoning_unfinished: bool = False

    _raw: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        split = reasoning.split_reasoning(self.text, self.reasoning, self.finish_reason)
        self._raw = reasoning.verbatim(self.text, self.reasoning, split.unfinished)
        self.text, self.reasoning = split.text, split.reasoning
        self.reasoning_unfinished = self.reasoning_unfinished or split.unfinished

    @property
    def raw(self) -> str:
        """The reply verbatim, reasoning included (what a failure keeps)."""
        return self._raw

    @property
    def reasoning_error(self) -> str | None:
        """Why there is no answer because of the reasoning ("ran out of tokens while
        reasoning"), or ``None``."""
        return reasoning.failure(self.reasoning_unfinished, self.finish_reason)


@dataclass(slots=True)
class UsageTotals:
    """Running totals a backend keeps for progress bars and summaries (thread-safe)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    retries: int = 0
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, result: Completion | BaseException) -> None:
        """Count one finished request: its tokens and retries, or a failure."""
        with self._lock:
            self.requests += 1
            if isinstance(result, Completion):
                self.prompt_tokens += result.prompt_tokens
                self.completion_tokens += result.completion_tokens
                self.cached_prompt_tokens += result.cached_prompt_tokens
                self.retries += result.retries
            else:
                self.failures += 1


def usage_counters(clients: Iterable[LLMClient]) -> dict[str, int]:
    """Failed requests, prompt tokens (and those the server's cache held) and generated
    tokens so far, summed over ``clients`` (a client given twice, as when the judge also
    corrects, counts once). A step's own use is the difference of two snapshots
    (:func:`usage_since`)."""
    totals = {"failures": 0, "prompt_tokens": 0, "completion_tokens": 0,
              "cached_prompt_tokens": 0}
    for client in {id(c): c for c in clients}.values():
        for key in totals:
            totals[key] += getattr(client.usage, key)
    return totals


def usage_since(before: dict[str, int], clients: Iterable[LLMClient]) -> dict[str, int]:
    """:func:`usage_counters` now minus ``before``."""
    now = usage_counters(clients)
    return {key: now[key] - before.get(key, 0) for key in now}


@dataclass(frozen=True)
class WorkerRecipe:
    """How another process (a cluster worker) builds a client that behaves like one already
    running here, since a client itself cannot travel: ``build(concurrency=...,
    **options)``, where ``build`` is importable there and ``options`` picklable.
    ``concurrency`` is per server, of ``servers``; workers that share the servers split it.
    """

    build: Callable[..., LLMClient]
    options: dict[str, Any]
    servers: int = 1
    concurrency: int = 1
    sampling: Sampling = Sampling()

    def __call__(self) -> LLMClient:
        client = self.build(concurrency=self.concurrency, **self.options)
        client.sampling = self.sampling
        return client


class _Schedule:
    """The order :meth:`LLMClient.stream` hands requests out: a request goes next after the
    one of its affinity that just finished (into the slot holding their shared prefix), and a
    free worker otherwise starts the next affinity group, in input order."""

    def __init__(self, requests: Sequence[ChatRequest]) -> None:
        self._groups: dict[str, deque[int]] = {}
        self._group_of: list[str] = []
        for index, request in enumerate(requests):
            key = f"a:{request.affinity}" if request.affinity else f"i:{index}"
            self._groups.setdefault(key, deque()).append(index)
            self._group_of.append(key)
        self._unstarted = deque(self._groups)

    def next(self, finished: int | None = None) -> int | None:
        """The next index to submit (after ``finished``, when one just ended), or None."""
        if finished is not None:
            same = self._groups[self._group_of[finished]]
            if same:
                return same.popleft()
        while self._unstarted:
            group = self._groups[self._unstarted.popleft()]
            if group:
                return group.popleft()
        return None


class LLMClient(ABC):
    """Base class of every backend. Subclasses implement :meth:`_complete`; the base counts
    every request in :attr:`usage`, whichever way it is run (:meth:`complete`,
    :meth:`stream`, or a backend's own ``stream`` through :meth:`UsageTotals.add`)."""

    #: short backend name, recorded in output files ("llamacpp", "openai", "transformers", "fake")
    backend: str = "base"
    #: model id or path, recorded in output files
    model: str = ""
    #: True when ``ChatRequest.schema`` constrains decoding (not merely asks for it)
    supports_schema: bool = False
    #: how many requests are worth having in flight at once
    max_concurrency: int = 1
    #: context window in tokens, when known
    context_length: int | None = None
    #: True for the tiny bundled demo model, whose judgements cannot be trusted
    is_demo_model: bool = False
    #: temperature and reply-budget cap every stage puts in its requests (``make_client``
    #: sets them from the settings)
    sampling: Sampling = Sampling()

    def __init__(self) -> None:
        self.usage = UsageTotals()

    def complete(self, request: ChatRequest) -> Completion:
        """Run one request, counted in :attr:`usage`. Raises :class:`LLMError` when it
        fails for good."""
        return self._counted(request, None)

    @abstractmethod
    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        """The one method a backend implements: run ``request`` (backends that can stop
        early watch ``cancel``, set when a stream's consumer stopped). Raise
        :class:`LLMError` when it fails for good. Do not count it: the base does."""

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` under this model's tokenizer (backends override with the real one;
        else the model's ``tokenizer.json`` when it is on this machine, else a conservative
        per-script estimate: Korean takes ~8x chars/4)."""
        counter = local_token_counter(self.model)
        return counter(text) if counter is not None else estimate_tokens(text)

    def stream(self, requests: Sequence[ChatRequest]
               ) -> Iterator[tuple[int, Completion | LLMError]]:
        """Run ``requests`` with up to ``max_concurrency`` in flight; yield ``(index, result)``
        in completion order. A failed request yields its :class:`LLMError`, never raises.
        When the consumer stops early, queued requests are dropped and the running ones are
        handed to :meth:`_abandon`."""
        if not requests:
            return
        workers = max(1, min(self.max_concurrency, len(requests)))
        prefix = f"qaforge-llm-{next(_stream_ids)}-"
        cancel = threading.Event()
        pending: dict[Future[Completion], int] = {}
        schedule = _Schedule(requests)
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=prefix)

        def submit_next(finished: int | None = None) -> None:
            index = schedule.next(finished)
            if index is not None:
                pending[pool.submit(self._counted, requests[index], cancel)] = index

        finished = False
        try:
            for _ in range(workers):
                submit_next()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index = pending.pop(future)
                    submit_next(index)  # before yielding: the consumer may take a while
                    exc = future.exception()
                    if exc is None:
                        yield index, future.result()
                    else:
                        yield index, (exc if isinstance(exc, LLMError)
                                      else LLMError(f"{type(exc).__name__}: {exc}"))
            finished = True
        finally:
            if not finished:
                cancel.set()
                self._abandon([f for f in pending if not f.cancel()], prefix)
            pool.shutdown(wait=True)

    def _abandon(  # noqa: B027 - most backends just let them finish
            self, running: list[Future[Completion]], thread_prefix: str) -> None:
        """Requests still running when a stream's consumer stopped (default: let them end)."""

    def _counted(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        try:
            completion = self._complete(request, cancel)
        except Exception as exc:
            self.usage.add(exc)
            raise
        self.usage.add(completion)
        return completion

    def worker_recipe(self) -> WorkerRecipe | None:
        """How a worker builds a client like this one; ``None`` (the default): from the
        backend's settings, as this one was built."""
        return None

    def describe(self) -> dict[str, Any]:
        """What to record about this backend in output files."""
        return {"backend": self.backend, "model": self.model}

    def close(self) -> None:  # noqa: B027 - most backends hold nothing to release
        """Release engines, sockets and threads. Safe to call twice."""

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
