"""Send JSON-schema requests through an :class:`LLMClient`, with the cache and one retry.

Shared by the judge and the corrector. A reply is parsed tolerantly (code fences and text
around the object are stripped) and validated; a reply that fails is retried once with the
error shown to the model; what still fails is returned as an error, never raised, and never
cached (so a later run tries again).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from qaforge.llm.base import ChatRequest, Completion, LLMClient, LLMError
from qaforge.llm.retry import stream_with_retry
from qaforge.refine.cache import ReplyStore, request_key

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class Reply:
    """A validated reply (``value``), or why there is none (``error``)."""

    value: dict[str, Any] | None = None
    error: str | None = None
    cached: bool = False
    raw: str = ""


def extract_json_object(text: str) -> Any:
    """The JSON object in ``text``; tolerates code fences and chatter around it."""
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except ValueError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start < 0 or end <= start:
            raise ValueError("no JSON object in the reply") from None
        return json.loads(stripped[start:end + 1])


def _without_lone_surrogates(data: Any) -> Any:
    """U+FFFD for lone surrogates (``"\\ud800"`` in JSON), which no encoder can write."""
    if isinstance(data, str):
        return _LONE_SURROGATE.sub("\ufffd", data)
    if isinstance(data, list):
        return [_without_lone_surrogates(item) for item in data]
    if isinstance(data, dict):
        return {key: _without_lone_surrogates(value) for key, value in data.items()}
    return data


def validate_reply(text: str, model: type[BaseModel]) -> dict[str, Any]:
    """Parse and validate ``text``; raise ``ValueError`` with a short reason."""
    try:
        data = extract_json_object(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    try:
        return model.model_validate(_without_lone_surrogates(data)).model_dump(mode="json")
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "reply"
        raise ValueError(f"{where}: {err['msg']}") from None


def _retry_request(request: ChatRequest, bad_reply: str, error: str) -> ChatRequest:
    messages = [*request.messages,
                {"role": "assistant", "content": bad_reply[:2000]},
                {"role": "user", "content": f"That reply is not usable ({error}). Reply again "
                                            "with the JSON object only, exactly as asked."}]
    # replace(): every other field (schema, sampling, affinity, ...) carries over as it is
    return replace(request, messages=messages, tag=f"{request.tag}:retry")


def ask_json(client: LLMClient, requests: Sequence[ChatRequest], model: type[BaseModel], *,
             kind: str, cache: ReplyStore | None = None,
             on_done: Callable[[int], None] | None = None) -> list[Reply]:
    """Answer every request (cache first), in input order; ``on_done(n)`` reports progress."""
    replies: list[Reply | None] = [None] * len(requests)
    keys = [request_key(kind, client, r) for r in requests]
    todo: list[int] = []
    for i, key in enumerate(keys):
        hit = cache.get(key) if cache is not None else None
        if hit is not None:
            replies[i] = Reply(value=hit, cached=True)
        else:
            todo.append(i)
    if on_done and len(todo) < len(requests):
        on_done(len(requests) - len(todo))

    def read(position: int, result: Completion | LLMError, first: Reply | None
             ) -> tuple[Reply, ChatRequest | None]:
        reply = _interpret(result, model)
        if reply.value is not None:
            return reply, None
        if first is not None:
            reply.error = (f"reply could not be parsed after one retry: {first.error or ''}; "
                           f"then: {reply.error}")
        elif isinstance(result, Completion):  # a failed call already had its backend retries
            return reply, _retry_request(requests[todo[position]], result.text,
                                         reply.error or "")
        return reply, None

    for position, reply in stream_with_retry(client, [requests[i] for i in todo], read):
        i = todo[position]
        _finish(replies, i, reply, cache, keys[i], kind, on_done)
    return [r if r is not None else Reply(error="no reply") for r in replies]


def _interpret(result: Completion | LLMError, model: type[BaseModel]) -> Reply:
    if isinstance(result, LLMError):
        return Reply(error=f"model call failed: {result}")
    try:
        return Reply(value=validate_reply(result.text, model), raw=result.text)
    except ValueError as exc:
        return Reply(error=str(exc), raw=result.text)


def _finish(replies: list[Reply | None], i: int, reply: Reply, cache: ReplyStore | None,
            key: str, kind: str, on_done: Callable[[int], None] | None) -> None:
    replies[i] = reply
    if reply.value is not None and cache is not None:
        cache.put(key, kind, reply.value)
    if on_done:
        on_done(1)
