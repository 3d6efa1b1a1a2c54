"""OpenAIClient against a real HTTP server on loopback that misbehaves on cue."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from qaforge.config import LLMSettings
from qaforge.languages import estimate_tokens
from qaforge.llm.base import BackendUnavailable, ChatRequest, Completion, LLMError
from qaforge.llm.openai import (
    OpenAIClient,
    from_settings,
    normalize_base_url,
    parse_retry_after,
)
from qaforge.llm.profiles import LLAMACPP, OPENAI, VLLM
from qaforge.testing import FakeOpenAIServer

SCHEMA = {"type": "object", "properties": {"pairs": {"type": "array", "items": {
    "type": "object", "properties": {"question": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["question", "answer"]}}}, "required": ["pairs"]}


def ask(text: str, **kw: object) -> ChatRequest:
    return ChatRequest(messages=[{"role": "user", "content": text}], **kw)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(hang_seconds=3.0) as srv:
        yield srv


def fast_client(url: str, **kw: object) -> OpenAIClient:
    options: dict[str, object] = {"timeout": 0.5, "retries": 5, "backoff": 0.01,
                                  "max_backoff": 0.05}
    options.update(kw)
    return OpenAIClient([url], **options)


def test_every_fault_is_retried_until_success(server: FakeOpenAIServer) -> None:
    server.faults = ["429", "500", "timeout", "truncated", "not-json", "ok"]
    with fast_client(server.url) as client:
        started = time.monotonic()
        result = client.complete(ask("The sky is blue because of Rayleigh scattering.",
                                     schema=SCHEMA))
        elapsed = time.monotonic() - started
    assert server.served == ["429", "500", "timeout", "truncated", "not-json", "ok"]
    assert result.retries == 5
    assert json.loads(result.text)["pairs"]
    assert client.usage.retries == 5 and client.usage.failures == 0
    assert elapsed >= 1.0  # the 429 said Retry-After: 1


def test_retry_after_is_honoured(server: FakeOpenAIServer) -> None:
    server.faults = ["429"]
    server.retry_after = "2"
    with fast_client(server.url) as client:
        started = time.monotonic()
        assert client.complete(ask("hello there, general reader.")).retries == 1
        assert time.monotonic() - started >= 2.0


def test_missing_choices_is_retried_then_reported(server: FakeOpenAIServer) -> None:
    server.faults = ["no-choices"] * 3
    with fast_client(server.url, retries=2) as client, pytest.raises(LLMError) as info:
        client.complete(ask("x", tag="chunk-7"))
    message = str(info.value)
    assert "chunk-7" in message and "3 attempts" in message and "no choices" in message


def test_non_json_body_gives_clear_error(server: FakeOpenAIServer) -> None:
    server.faults = ["not-json"] * 2
    with fast_client(server.url, retries=1) as client, pytest.raises(LLMError,
                                                                      match="not JSON"):
        client.complete(ask("x"))


def test_client_error_is_not_retried(server: FakeOpenAIServer) -> None:
    server.faults = ["400"]
    with fast_client(server.url) as client, pytest.raises(LLMError, match="HTTP 400"):
        client.complete(ask("x"))
    assert server.served == ["400"]


def test_doomed_request_fails_alone_in_stream(server: FakeOpenAIServer) -> None:
    server.doomed = ["DOOMED"]
    server.faults = ["500", "timeout", "ok"]
    texts = [f"Sentence number {i} is about a topic worth asking about." for i in range(6)]
    texts[3] = "DOOMED request that the server always fails."
    with fast_client(server.url, retries=2, concurrency=3) as client:
        results = dict(client.stream([ask(t) for t in texts]))
    assert sorted(results) == list(range(6))
    assert isinstance(results[3], LLMError)
    assert "3 attempts" in str(results[3])
    for index in (0, 1, 2, 4, 5):
        assert isinstance(results[index], Completion), results[index]
        assert json.loads(results[index].text)["pairs"]
    doomed_calls = [b for b in server.received if "DOOMED" in json.dumps(b)]
    assert len(doomed_calls) == 3
    assert client.usage.failures == 1 and client.usage.requests == 6


def test_request_body_shape(server: FakeOpenAIServer) -> None:
    with fast_client(server.url, model="m1", profile=OPENAI) as client:
        client.complete(ask("hi", schema=SCHEMA, schema_name="qa pairs/v1", seed=7,
                            max_tokens=99))
    body = server.received[0]
    assert body["model"] == "m1" and body["seed"] == 7
    assert body["max_completion_tokens"] == 99 and "max_tokens" not in body
    fmt = body["response_format"]
    assert fmt == {"type": "json_schema", "json_schema": {
        "name": "qa_pairs_v1", "schema": SCHEMA, "strict": True}}


def test_llamacpp_profile_adds_prompt_cache(server: FakeOpenAIServer) -> None:
    with fast_client(server.url, profile=LLAMACPP) as client:
        client.complete(ask("hi", max_tokens=12))
    assert server.received[0]["cache_prompt"] is True
    assert server.received[0]["max_tokens"] == 12


def test_requests_spread_over_servers_and_survive_a_dead_one() -> None:
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}/v1"
    dead.close()  # nothing listens there: connection refused
    with FakeOpenAIServer() as one, FakeOpenAIServer() as two:
        client = OpenAIClient([one.url, two.url, dead_url], concurrency=2, retries=4,
                              backoff=0.01, max_backoff=0.02, timeout=2.0)
        with client:
            assert client.max_concurrency == 6
            results = dict(client.stream([ask(f"Question {i} is here.") for i in range(12)]))
    assert all(isinstance(r, Completion) for r in results.values())
    assert len(one.received) > 0 and len(two.received) > 0
    assert len(one.received) + len(two.received) == 12


def test_count_tokens_uses_tokenize_endpoint_and_caches(server: FakeOpenAIServer) -> None:
    with fast_client(server.url, profile=LLAMACPP) as client:
        assert client.count_tokens("one two three four five") == 5  # fake tokenizer: words
        assert client.count_tokens("") == 0
    with fast_client(server.url) as generic:
        # the base's per-script estimate
        assert generic.count_tokens("one two three four five") == estimate_tokens(
            "one two three four five")


def test_close_aborts_a_request_stuck_in_a_thread(server: FakeOpenAIServer) -> None:
    server.faults = ["timeout"]
    server.hang_seconds = 30
    client = OpenAIClient([server.url], timeout=60.0, retries=3)
    started = time.monotonic()
    results = client.stream([ask("hang please")])
    timer = threading.Timer(0.5, client.close)
    timer.start()
    _index, result = next(iter(results))
    assert isinstance(result, LLMError)
    assert time.monotonic() - started < 5


def test_breaking_out_of_stream_does_not_wait_for_in_flight(server: FakeOpenAIServer) -> None:
    server.doomed, server.doomed_fault = ["HANG"], "timeout"
    server.hang_seconds = 30
    with OpenAIClient([server.url], timeout=60.0, retries=0, concurrency=3) as client:
        started = time.monotonic()
        texts = ["answer me", "HANG one", "HANG two"]
        for _index, result in client.stream([ask(t) for t in texts]):
            assert isinstance(result, Completion)
            break
        assert time.monotonic() - started < 5
        # the client stays usable after an abandoned stream
        assert client.complete(ask("still there?")).text


def test_from_settings_detects_profile_and_model() -> None:
    with FakeOpenAIServer(model="Qwen/Qwen2.5-7B-Instruct", owned_by="vllm") as srv:
        client = from_settings(LLMSettings(backend="openai", base_url=srv.url))
        with client:
            assert client.profile is VLLM
            assert client.model == "Qwen/Qwen2.5-7B-Instruct"
            assert client.max_concurrency == VLLM.default_concurrency
        explicit = from_settings(LLMSettings(backend="openai", base_url=srv.url,
                                             concurrency=3, server_profile="ollama",
                                             model="llama3.1:8b"))
        with explicit:
            assert explicit.profile.name == "ollama"
            assert explicit.model == "llama3.1:8b" and explicit.max_concurrency == 3


def test_from_settings_reads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer() as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        with from_settings(LLMSettings(backend="openai")) as client:
            assert client.base_urls == [srv.url]
            assert client._http.headers["Authorization"] == "Bearer sk-test"


def test_from_settings_without_url_or_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendUnavailable, match="needs --base-url"):
        from_settings(LLMSettings(backend="openai"))
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    with pytest.raises(BackendUnavailable, match="cannot reach"):
        from_settings(LLMSettings(backend="openai", base_url=f"http://127.0.0.1:{port}"))
    with FakeOpenAIServer() as srv, pytest.raises(BackendUnavailable, match="unknown server"):
        from_settings(LLMSettings(backend="openai", base_url=srv.url, server_profile="nope"))


@pytest.mark.parametrize(("given", "expected"), [
    ("http://host:8080", "http://host:8080/v1"),
    ("http://host:8080/", "http://host:8080/v1"),
    ("http://host:8000/v1/", "http://host:8000/v1"),
    ("http://host:8000/v1/chat/completions", "http://host:8000/v1"),
    ("https://example.com/openai/v1", "https://example.com/openai/v1"),
])
def test_normalize_base_url(given: str, expected: str) -> None:
    assert normalize_base_url(given) == expected


def test_normalize_base_url_refuses_non_http() -> None:
    with pytest.raises(BackendUnavailable):
        normalize_base_url("localhost:8000")


def test_parse_retry_after() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
