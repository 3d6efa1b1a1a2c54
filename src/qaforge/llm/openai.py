"""The one wire client: any OpenAI-compatible ``/v1/chat/completions`` server.

vLLM, Ollama, llama.cpp's ``llama-server`` (and qaforge's embedded engine), LM Studio and
OpenAI itself all go through :class:`OpenAIClient`. The wire protocol (request body,
reply, usage) is :mod:`qaforge.llm.openai_wire`; server quirks live in
:mod:`qaforge.llm.profiles`. Several base URLs spread requests over servers (least busy
first, round-robin among equals). Failures that may pass (429, 5xx, timeouts, dropped
connections, truncated or non-JSON bodies) are retried with exponential backoff and jitter,
honouring ``Retry-After``; the count lands in ``Completion.retries``.

    >>> client = OpenAIClient(["http://127.0.0.1:8000/v1"], model="Qwen/Qwen2.5-7B-Instruct")
    >>> client.complete(ChatRequest(messages=[{"role": "user", "content": "Hi"}]))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import Any

import httpx

from qaforge.config import LLMSettings
from qaforge.llm import reasoning
from qaforge.llm.base import (
    BackendUnavailable,
    ChatRequest,
    Completion,
    LLMClient,
    LLMError,
    WorkerRecipe,
)
from qaforge.llm.catalogue import is_demo_model
from qaforge.llm.openai_wire import (
    _Retryable,
    first_model_id,
    normalize_base_url,
    parse_retry_after,
    read_reply,
    request_body,
    server_root,
)
from qaforge.llm.profiles import GENERIC, ServerProfile, detect_profile, get_profile
from qaforge.llm.transport import AbortableTransport

# the wire helpers callers have always imported from here
__all__ = ["MAX_RETRY_AFTER", "OpenAIClient", "from_settings", "normalize_base_url",
           "parse_retry_after", "server_root"]

_TOKEN_CACHE_SIZE = 4096
MAX_RETRY_AFTER = 120.0


@dataclass
class _Endpoint:
    url: str
    in_flight: int = 0
    failures: int = 0
    down_until: float = 0.0


class OpenAIClient(LLMClient):
    """Chat completions over HTTP against one or more OpenAI-compatible servers.

    ``concurrency`` is per server: with two URLs and concurrency 4, eight requests are in
    flight. ``retries`` is the number of extra attempts after the first.
    """

    backend = "openai"

    def __init__(self, base_urls: Sequence[str], *, model: str = "", api_key: str = "",
                 profile: ServerProfile = GENERIC, concurrency: int | None = None,
                 timeout: float = 120.0, retries: int = 3, backoff: float = 0.5,
                 max_backoff: float = 30.0, context_length: int | None = None,
                 transport: httpx.BaseTransport | None = None,
                 reasoning_tokens: int = 0) -> None:
        super().__init__()
        if not base_urls:
            raise BackendUnavailable("the openai backend needs at least one --base-url")
        self._endpoints = [_Endpoint(normalize_base_url(u)) for u in base_urls]
        self.model = model
        self.profile = profile
        self.retries = retries
        self.timeout = timeout
        self._api_key = api_key  # for worker_recipe()
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.reasoning_tokens = reasoning_tokens
        self.context_length = context_length
        per_server = concurrency or profile.default_concurrency
        self.max_concurrency = per_server * len(self._endpoints)
        self.supports_schema = profile.enforces_schema and profile.schema_style != "none"
        self.is_demo_model = bool(model) and is_demo_model(model)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        pool = self.max_concurrency + 2
        limits = httpx.Limits(max_connections=pool, max_keepalive_connections=pool)
        self._transport = AbortableTransport(limits) if transport is None else None
        self._http = httpx.Client(
            headers=headers, transport=transport or self._transport, limits=limits,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self._lock = threading.Lock()
        self._turn = 0
        self._closed = False
        self._token_cache: OrderedDict[str, int] = OrderedDict()
        self._tokenize_ok = profile.tokenize_style != "none"

    # ------------------------------------------------------------------ endpoints

    @property
    def base_urls(self) -> list[str]:
        return [e.url for e in self._endpoints]

    @property
    def context_length(self) -> int | None:
        """The model's context less ``reasoning_tokens``: what stages fill with prompt and
        answer (requests ask for that much more, to think first)."""
        return reasoning.usable_context(self._context_length, self.reasoning_tokens)

    @context_length.setter
    def context_length(self, value: int | None) -> None:
        self._context_length = value

    def worker_recipe(self) -> WorkerRecipe:
        """Workers talk to the same servers the same way, and record the same ``backend``
        (``llamacpp`` for the embedded engine's server) and model as this client."""
        servers = len(self._endpoints)
        return WorkerRecipe(_worker_client, {
            "base_urls": tuple(self.base_urls), "model": self.model, "api_key": self._api_key,
            "profile": self.profile, "timeout": self.timeout, "retries": self.retries,
            "context_length": self._context_length, "backend": self.backend,
            "reasoning_tokens": self.reasoning_tokens,
            "demo": self.is_demo_model}, servers=servers,
            concurrency=max(1, self.max_concurrency // servers), sampling=self.sampling)

    def _acquire(self, cancel: threading.Event | None, label: str) -> _Endpoint:
        """Least busy live endpoint; round-robin among ties. Checking for cancellation under
        the same lock as :meth:`close` means a closed client has no request in flight that
        :meth:`_in_flight` does not count."""
        with self._lock:
            if self._closed or (cancel is not None and cancel.is_set()):
                raise LLMError(f"request{label} cancelled")
            now = time.monotonic()
            live = [e for e in self._endpoints if e.down_until <= now] or self._endpoints
            self._turn += 1
            start = self._turn % len(live)
            ordered = live[start:] + live[:start]
            chosen = min(ordered, key=lambda e: e.in_flight)
            chosen.in_flight += 1
            return chosen

    def _release(self, endpoint: _Endpoint, ok: bool) -> None:
        with self._lock:
            endpoint.in_flight -= 1
            if ok:
                endpoint.failures = 0
                endpoint.down_until = 0.0
            elif len(self._endpoints) > 1:
                endpoint.failures += 1
                endpoint.down_until = time.monotonic() + min(30.0, 2.0 ** endpoint.failures)

    # ------------------------------------------------------------------ requests

    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        """One request, retrying what may pass."""
        body = request_body(request, self.profile, model=self.model,
                            reasoning_tokens=self.reasoning_tokens)
        label = f" [{request.tag}]" if request.tag else ""
        last_error = ""
        for attempt in range(self.retries + 1):
            endpoint = self._acquire(cancel, label)
            ok = False
            try:
                completion = self._attempt(endpoint.url, body)
                ok = True
            except LLMError:
                ok = True  # the server answered; the request itself is bad
                raise
            except _Retryable as exc:
                last_error = f"{endpoint.url}: {exc}"
                if attempt < self.retries:
                    self._sleep(self._delay(attempt, exc.retry_after), cancel)
                continue
            finally:
                self._release(endpoint, ok)
            completion.retries = attempt
            return completion
        raise LLMError(f"request{label} failed after {self.retries + 1} attempts; "
                       f"last error: {last_error}")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.max_backoff, self.backoff * (2 ** attempt))
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads synchronized retries

    def _sleep(self, seconds: float, cancel: threading.Event | None = None) -> None:
        waiter = cancel or threading.Event()
        deadline = time.monotonic() + seconds
        while not self._closed and (left := deadline - time.monotonic()) > 0:
            if waiter.wait(min(left, 0.1)):
                return

    def _abandon(self, running: list[Future[Completion]], thread_prefix: str) -> None:
        """Abort requests still in flight (Ctrl-C, ``break``, an error) instead of awaiting
        them."""
        # repeat: a worker may open its connection just after an abort
        while running:
            self.abort_in_flight(thread_prefix)
            _, not_done = wait(running, timeout=0.2)
            running = list(not_done)

    def abort_in_flight(self, thread_prefix: str = "") -> int:
        """Break the connections of requests running in threads named ``thread_prefix...``
        ("" = all); they fail at once instead of waiting for the server."""
        return self._transport.abort(thread_prefix) if self._transport is not None else 0

    def _attempt(self, base_url: str, body: dict[str, Any]) -> Completion:
        try:
            response = self._http.post(f"{base_url}/chat/completions", json=body)
            response.read()  # the whole body: truncation raises here
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"connection problem: {type(exc).__name__}: {exc}") from exc
        return read_reply(response, base_url)

    # ------------------------------------------------------------------ tokens & info

    def count_tokens(self, text: str) -> int:
        """Tokens under the server's tokenizer when its profile has ``/tokenize``; cached."""
        if not text:
            return 0
        if not self._tokenize_ok:
            return super().count_tokens(text)
        with self._lock:
            if text in self._token_cache:
                self._token_cache.move_to_end(text)
                return self._token_cache[text]
        count = self._tokenize(text)
        if count is None:
            return super().count_tokens(text)
        with self._lock:
            self._token_cache[text] = count
            while len(self._token_cache) > _TOKEN_CACHE_SIZE:
                self._token_cache.popitem(last=False)
        return count

    def _tokenize(self, text: str) -> int | None:
        url = server_root(self._endpoints[0].url) + self.profile.tokenize_path
        try:
            response = self._http.post(url, json=self.profile.tokenize_body(text, self.model))
            count = self.profile.token_count(response.json()) if response.is_success else None
        except (httpx.HTTPError, ValueError):
            count = None
        if count is None:
            self._tokenize_ok = False  # estimate from now on rather than fail every call
        return count

    def list_models(self) -> Any:
        """The first server's ``/v1/models`` answer (raises ``httpx.HTTPError``)."""
        response = self._http.get(f"{self._endpoints[0].url}/models", timeout=10.0)
        response.raise_for_status()
        return response.json()

    def server_props(self) -> Any:
        """The first server's info endpoint per the profile (llama.cpp ``/props``), or None."""
        if not self.profile.props_path:
            return None
        try:
            response = self._http.get(server_root(self._endpoints[0].url) + self.profile.props_path,
                                      timeout=10.0)
            return response.json() if response.is_success else None
        except (httpx.HTTPError, ValueError):
            return None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.backend, "model": self.model, "profile": self.profile.name,
                "base_urls": self.base_urls}

    def _in_flight(self) -> int:
        with self._lock:
            return sum(e.in_flight for e in self._endpoints)

    def _stop_requests(self, patience: float = 10.0) -> None:
        """Refuse new requests and break the running ones until none is left."""
        with self._lock:
            self._closed = True
        deadline = time.monotonic() + patience
        while self._in_flight() and time.monotonic() < deadline:
            self.abort_in_flight()
            time.sleep(0.02)

    def close(self) -> None:
        self._stop_requests()
        self._http.close()


def _probe(client: OpenAIClient) -> Any:
    try:
        return client.list_models()
    except httpx.HTTPStatusError as exc:
        code = exc.response.status_code
        hint = " (set OPENAI_API_KEY or --api-key)" if code in (401, 403) else ""
        raise BackendUnavailable(
            f"{client.base_urls[0]}/models answered HTTP {code}{hint}") from exc
    except (httpx.HTTPError, ValueError) as exc:
        raise BackendUnavailable(f"cannot reach {client.base_urls[0]}: {exc}; is the server "
                                 "running and is --base-url right?") from exc


def from_settings(settings: LLMSettings) -> OpenAIClient:
    """``--backend openai``: build the client, check the server answers, fill in defaults.

    Base URLs come from ``base_urls``/``base_url``, else ``$OPENAI_BASE_URL``; the key from
    ``api_key``, else the variable named by ``api_key_env``. The profile is
    ``server_profile`` or detected; the model defaults to the server's first one.
    """
    urls = list(settings.base_urls) or ([settings.base_url] if settings.base_url else [])
    if not urls and os.environ.get("OPENAI_BASE_URL"):
        urls = [os.environ["OPENAI_BASE_URL"]]
    if not urls:
        raise BackendUnavailable(
            "the openai backend needs --base-url (e.g. http://localhost:8000/v1 for vLLM, "
            "http://localhost:11434/v1 for Ollama, https://api.openai.com/v1 for OpenAI)")
    api_key = settings.api_key or os.environ.get(settings.api_key_env or "OPENAI_API_KEY", "")
    explicit = "concurrency" in settings.model_fields_set
    kwargs: dict[str, Any] = {"model": settings.model, "api_key": api_key,
                              "timeout": settings.timeout, "retries": settings.retries,
                              "reasoning_tokens": settings.reasoning_tokens}
    client = OpenAIClient(urls, profile=GENERIC, **kwargs)
    try:
        models = _probe(client)
    finally:
        client.close()
    if settings.server_profile:
        try:
            profile = get_profile(settings.server_profile)
        except KeyError as exc:
            raise BackendUnavailable(str(exc.args[0])) from None
    else:
        profile = detect_profile(client.base_urls[0], models)
    model = settings.model or first_model_id(models)
    if profile.needs_model and not model:
        raise BackendUnavailable(f"{urls[0]} serves no model to default to; pass --model NAME")
    final = OpenAIClient(urls, profile=profile,
                         concurrency=settings.concurrency if explicit else None,
                         **{**kwargs, "model": model})
    final.context_length = profile.context_length(models, final.server_props())
    return final


def _worker_client(base_urls: Sequence[str], *, backend: str, demo: bool,
                   **options: Any) -> OpenAIClient:
    """:meth:`OpenAIClient.worker_recipe`'s builder, run on the worker."""
    client = OpenAIClient(list(base_urls), **options)
    # the driver's label and flag, so files, verdicts and cache keys name the model exactly
    # as the local runner does
    client.backend = backend
    client.is_demo_model = demo
    return client
