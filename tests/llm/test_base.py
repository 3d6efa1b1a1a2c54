"""The shared request scheduler of :meth:`LLMClient.stream`."""

from __future__ import annotations

import threading
import time

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

    def complete(self, request: ChatRequest) -> Completion:
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
