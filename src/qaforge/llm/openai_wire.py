"""The OpenAI chat-completions wire protocol: server URLs, the request body, the reply.

What every ``/v1/chat/completions`` server speaks, apart from how the client sends, spreads
and retries requests (:mod:`qaforge.llm.openai`) and from each server's quirks
(:mod:`qaforge.llm.profiles`, asked here for field names and formats). A reply that may
succeed if the request is sent again raises :class:`_Retryable`; one that will not, an
:class:`~qaforge.llm.base.LLMError`.
"""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from qaforge.llm import reasoning
from qaforge.llm.base import BackendUnavailable, ChatRequest, Completion, LLMError
from qaforge.llm.profiles import ServerProfile

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    """One failed attempt that may succeed if repeated."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def normalize_base_url(url: str) -> str:
    """``http://host:8080`` -> ``http://host:8080/v1``; a URL with a path is kept as given."""
    url = url.strip().rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BackendUnavailable(f"{url!r} is not an http(s) URL (e.g. http://localhost:8000/v1)")
    if parts.path in ("", "/"):
        url = urlunsplit((parts.scheme, parts.netloc, "/v1", "", ""))
    return url


def server_root(base_url: str) -> str:
    """The URL without its trailing ``/v1`` (where llama.cpp and vLLM put ``/tokenize``)."""
    return base_url[:-3] if base_url.endswith("/v1") else base_url


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def request_body(request: ChatRequest, profile: ServerProfile, *, model: str,
                 reasoning_tokens: int) -> dict[str, Any]:
    """The JSON body of ``POST /chat/completions`` for ``request``, as ``profile`` wants it;
    ``max_tokens`` grows by ``reasoning_tokens`` so a thinking model has room to think."""
    body: dict[str, Any] = {
        "messages": request.messages,
        profile.max_tokens_field: reasoning.with_budget(request.max_tokens, reasoning_tokens),
        "temperature": request.temperature,
    }
    if model:
        body["model"] = model
    if request.seed is not None and profile.accepts_seed:
        body["seed"] = request.seed
    if request.schema is not None:
        fmt = profile.response_format(request.schema, request.schema_name)
        if fmt is not None:
            body["response_format"] = fmt
    body.update(profile.extra_body)
    return body


def read_reply(response: httpx.Response, base_url: str) -> Completion:
    """The completion in a response whose body has been read; raises :class:`_Retryable` for
    a status or body that may pass, :class:`~qaforge.llm.base.LLMError` for a refusal."""
    raw = response.content
    status = response.status_code
    if status in RETRY_STATUS or status >= 500:
        raise _Retryable(f"HTTP {status}: {error_message(raw)}",
                        parse_retry_after(response.headers.get("retry-after")))
    if status >= 400:
        raise LLMError(f"{base_url}: HTTP {status}: {error_message(raw)}")
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _Retryable(f"response body is not JSON ({exc.msg if hasattr(exc, 'msg') else exc}"
                        f"; {len(raw)} bytes: {raw[:80]!r})") from exc
    return parse_completion(data, base_url)


def parse_completion(data: Any, base_url: str) -> Completion:
    """Text, reasoning, token usage, finish reason and server timings of a decoded reply."""
    try:
        choice = data["choices"][0]
        message = choice["message"]
    except (KeyError, IndexError, TypeError) as exc:
        raise _Retryable(f"response has no choices[0].message: {str(data)[:120]}") from exc
    text = message.get("content")
    if text is None:
        refusal = message.get("refusal")
        if refusal:
            raise LLMError(f"{base_url}: the model refused: {refusal}")
        text = ""
    usage = data.get("usage") or {}
    extra: dict[str, Any] = {"server": base_url}
    if isinstance(data.get("timings"), dict):
        extra["timings"] = data["timings"]
    # vLLM and llama.cpp say reasoning_content; Ollama and newer vLLM say reasoning
    thought = message.get("reasoning_content") or message.get("reasoning") or ""
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else 0
    return Completion(text=str(text), prompt_tokens=int(usage.get("prompt_tokens") or 0),
                      completion_tokens=int(usage.get("completion_tokens") or 0),
                      cached_prompt_tokens=cached if isinstance(cached, int) else 0,
                      finish_reason=choice.get("finish_reason"), extra=extra,
                      reasoning=thought if isinstance(thought, str) else "")


def error_message(raw: bytes) -> str:
    """The server's own error text, short."""
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return raw[:200].decode("utf-8", "replace").strip() or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data)
        if isinstance(err, dict):
            return str(err.get("message") or err)[:300]
        return str(err)[:300]
    return str(data)[:300]


def first_model_id(models: Any) -> str:
    """The first model's id in a ``/v1/models`` answer, or ``""``."""
    entries = models.get("data") if isinstance(models, dict) else None
    if isinstance(entries, list) and entries and isinstance(entries[0], dict):
        return str(entries[0].get("id") or "")
    return ""
