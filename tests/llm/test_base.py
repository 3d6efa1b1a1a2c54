"""The shared request scheduler of :meth:`LLMClient.stream`."""

from __future__ import annotations

import threading
import time

import pytest

from qaforge.llm.base import ChatRequest, Completion, LLMClient


class _Recorder(LLMClient):
    """Records which requests run at the same time and in which order they start."""

    backend = "recorder"

    def __init__(self, concurrency: int) -> None:
        super().__init__()
        self.max_concurrency = concurrency
        self.started: list[str] = []
        self.running: set[str] = set()
        self.overlaps: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        with self._lock:
            self.started.append(request.tag)
            self.overlaps.extend((request.tag, other) for other in self.running)
            self.running.add(request.tag)
        time.sleep(0.02)
        with self._lock:
            self.running.discard(request.tag)
        return Completion(text=request.tag)


def _requests(groups: dict[str, int]) -> list[ChatRequest]:
    return [ChatRequest(messages=[], tag=f"{name}{i}", affinity=name)
            for name, count in groups.items() for i in range(count)]


def test_requests_sharing_an_affinity_never_run_at_once_and_keep_their_order() -> None:
    client = _Recorder(concurrency=3)
    requests = _requests({"a": 3, "b": 3, "c": 2, "d": 1})
    results = dict(client.stream(requests))
    assert sorted(results) == list(range(len(requests)))
    assert all(isinstance(r, Completion) and r.text == requests[i].tag
               for i, r in results.items())
    assert not [pair for pair in client.overlaps if pair[0][0] == pair[1][0]]
    for group in "abcd":
        seen = [tag for tag in client.started if tag[0] == group]
        assert seen == sorted(seen)
    # three groups start at once, one per worker
    assert set(client.started[:3]) == {"a0", "b0", "c0"}
    assert client.usage.requests == len(requests)


def test_requests_without_affinity_all_run_concurrently() -> None:
    client = _Recorder(concurrency=4)
    requests = [ChatRequest(messages=[], tag=f"x{i}") for i in range(8)]
    assert len(dict(client.stream(requests))) == 8
    assert client.started[:4] == ["x0", "x1", "x2", "x3"]
    assert client.overlaps  # they did overlap


def test_usage_is_counted_once_by_the_base_however_a_request_runs() -> None:
    """Issue 16 item 2: a backend only answers; ``complete`` and ``stream`` both count each
    request once (the fake backend used to count only inside ``stream``)."""
    from qaforge.llm.base import LLMError
    from qaforge.llm.fake import FakeBackend

    client = FakeBackend(["ok", LLMError("down"), "ok again"])
    assert client.complete(ChatRequest(messages=[{"role": "user", "content": "a b c d"}])).text
    assert (client.usage.requests, client.usage.failures) == (1, 0)
    assert client.usage.prompt_tokens > 0 and client.usage.completion_tokens > 0
    with pytest.raises(LLMError, match="down"):
        client.complete(ChatRequest(messages=[]))
    assert (client.usage.requests, client.usage.failures) == (2, 1)
    results = dict(client.stream([ChatRequest(messages=[]) for _ in range(3)]))
    assert len(results) == 3
    assert (client.usage.requests, client.usage.failures) == (5, 1)
