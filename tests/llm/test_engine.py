"""The embedded llama.cpp engine with the real bundled SmolLM2 (1 CPU thread)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import pytest

from qaforge.config import LLMSettings
from qaforge.llm import make_client
from qaforge.llm.base import BackendUnavailable, ChatRequest, Completion, LLMError
from qaforge.llm.engine import DEMO_MODEL_NOTICE, EmbeddedEngine, from_settings
from qaforge.llm.openai import from_settings as openai_from_settings

pytestmark = pytest.mark.model

PAIRS_SCHEMA = {
    "type": "object",
    "properties": {"pairs": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
        "type": "object",
        "properties": {"question": {"type": "string", "maxLength": 120},
                       "answer": {"type": "string", "maxLength": 200}},
        "required": ["question", "answer"], "additionalProperties": False}}},
    "required": ["pairs"], "additionalProperties": False,
}
PASSAGES = [
    "Tuples are immutable sequences, typically used to store collections of heterogeneous "
    "data. A tuple of one item is written with a trailing comma.",
    "A context manager is an object that defines the runtime context to be established "
    "when executing a with statement.",
]


def qa_request(passage: str) -> ChatRequest:
    return ChatRequest(messages=[
        {"role": "system", "content": "You always answer with a single JSON object."},
        {"role": "user", "content": f"Write question-answer pairs about this text:\n{passage}"},
    ], schema=PAIRS_SCHEMA, schema_name="qa_pairs", max_tokens=200)


def listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def engine(bundled_model: Path) -> Iterator[EmbeddedEngine]:
    with from_settings(LLMSettings(model=str(bundled_model), threads=1, concurrency=2)) as llm:
        yield llm


def test_schema_requests_return_valid_json(engine: EmbeddedEngine) -> None:
    results = dict(engine.stream([qa_request(p) for p in PASSAGES]))
    assert sorted(results) == [0, 1]
    for result in results.values():
        assert isinstance(result, Completion), result
        jsonschema.validate(json.loads(result.text), PAIRS_SCHEMA)
        assert result.completion_tokens > 0 and result.prompt_tokens > 0
    assert engine.usage.requests == 2 and engine.usage.failures == 0


def test_engine_facts(engine: EmbeddedEngine) -> None:
    assert engine.is_demo_model
    assert engine.supports_schema
    assert engine.max_concurrency == 2
    assert engine.context_length == 2048
    assert engine.profile.name == "llamacpp"
    assert urlsplit(engine.url).hostname == "127.0.0.1"
    assert engine.describe()["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "qaforge models" in DEMO_MODEL_NOTICE


def test_count_tokens_uses_the_model_tokenizer(engine: EmbeddedEngine) -> None:
    text = "Hello world"
    assert engine.count_tokens(text) == 2  # SmolLM2's BPE; the 4-chars estimate says 3
    long_text = "Tokenization " * 50
    assert engine.count_tokens(long_text) != max(1, (len(long_text) + 3) // 4)


def test_openai_client_against_the_engine_http_endpoint(engine: EmbeddedEngine) -> None:
    """The remote code path (vLLM, Ollama, llama-server) against a real llama.cpp server."""
    with openai_from_settings(LLMSettings(backend="openai", base_url=engine.url,
                                          concurrency=2)) as client:
        assert client.profile.name == "llamacpp"  # detected from /v1/models
        assert client.context_length == 2048  # per slot, from /props
        assert client.is_demo_model
        result = client.complete(qa_request(PASSAGES[0]))
        jsonschema.validate(json.loads(result.text), PAIRS_SCHEMA)


def test_close_frees_the_port(bundled_model: Path) -> None:
    llm = make_client(LLMSettings(model=str(bundled_model), threads=1, concurrency=1))
    assert isinstance(llm, EmbeddedEngine)
    assert listening(llm.url)
    llm.close()
    llm.close()  # twice is fine
    assert not llm.running
    assert not listening(llm.url)


def test_close_during_generation_does_not_hang(bundled_model: Path) -> None:
    """llama.cpp's server cannot stop while it owes responses: close() must break them."""
    llm = from_settings(LLMSettings(model=str(bundled_model), threads=1, concurrency=2))
    story = ChatRequest(messages=[{"role": "user", "content": "Write a very long story."}],
                        max_tokens=4000)
    outcomes: list[object] = []

    def run() -> None:
        try:
            outcomes.append(llm.complete(story))
        except LLMError as exc:
            outcomes.append(exc)

    workers = [threading.Thread(target=run) for _ in range(2)]
    for worker in workers:
        worker.start()
    time.sleep(1.5)  # both slots generating
    started = time.monotonic()
    llm.close()
    for worker in workers:
        worker.join(timeout=10)
    assert time.monotonic() - started < 10
    assert len(outcomes) == 2 and all(isinstance(o, LLMError) for o in outcomes)
    assert not listening(llm.url)


def test_missing_model_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailable, match="model file not found"):
        from_settings(LLMSettings(model=str(tmp_path / "nope.gguf")))
    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(BackendUnavailable, match="not a GGUF"):
        from_settings(LLMSettings(model=str(not_gguf)))


def test_corrupt_gguf_is_refused_quietly(bundled_model: Path, tmp_path: Path,
                                         capfd: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.gguf"
    with open(bundled_model, "rb") as handle:
        broken.write_bytes(handle.read(1 << 20))
    with pytest.raises(BackendUnavailable, match="could not load"):
        from_settings(LLMSettings(model=str(broken), threads=1))
    assert capfd.readouterr().err == ""  # llama.cpp's log is silenced by default


ENGINE_SCRIPT = textwrap.dedent("""
    import socket, sys
    from qaforge.config import LLMSettings
    from qaforge.llm.base import ChatRequest
    from qaforge.llm.engine import from_settings

    host = port = None
    try:
        with from_settings(LLMSettings(model=sys.argv[1], threads=1, concurrency=2)) as llm:
            host, port = llm.url.rsplit("/", 1)[-1].split(":")
            request = ChatRequest(messages=[{"role": "user",
                                             "content": "Write a very long story."}],
                                  max_tokens=4000)
            print("READY", llm.url, flush=True)
            for _ in llm.stream([request] * 4):
                pass
    except KeyboardInterrupt:
        try:
            socket.create_connection((host, int(port)), timeout=1).close()
            print("STILL-LISTENING", flush=True)
        except OSError:
            print("PORT-FREE", flush=True)
        sys.exit(130)
""")


@pytest.mark.slow
def test_sigint_stops_engine_and_frees_port(bundled_model: Path, tmp_path: Path) -> None:
    script = tmp_path / "engine_run.py"
    script.write_text(ENGINE_SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), str(bundled_model)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY"), line + (proc.stderr.read() if proc.stderr else "")
        url = line.split()[1]
        time.sleep(2.0)  # generation under way in both slots
        assert listening(url)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "PORT-FREE" in out, (out, err)
    assert proc.returncode == 130, err
    assert took < 10, f"took {took:.1f}s to stop after Ctrl-C"
    assert not listening(url)


EXIT_SCRIPT = textwrap.dedent("""
    import sys
    from qaforge.config import LLMSettings
    from qaforge.llm.engine import from_settings
    llm = from_settings(LLMSettings(model=sys.argv[1], threads=1, concurrency=1))
    print("READY", llm.url, flush=True)
    # no close(): interpreter exit must stop the server and not hang
""")


@pytest.mark.slow
def test_engine_left_open_stops_at_exit(bundled_model: Path, tmp_path: Path) -> None:
    script = tmp_path / "engine_exit.py"
    script.write_text(EXIT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(bundled_model)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("READY")
    assert proc.stderr == ""  # nothing chatty from llama.cpp


@pytest.mark.slow
def test_engine_log_escape_hatch(bundled_model: Path, tmp_path: Path) -> None:
    script = tmp_path / "engine_exit.py"
    script.write_text(EXIT_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), str(bundled_model)],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QAFORGE_ENGINE_LOG": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "load_model" in proc.stderr  # llama.cpp's own log is back


def test_default_threads_leave_busy_cores_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from qaforge.llm import engine

    monkeypatch.setattr(engine, "available_cores", lambda: 4)
    monkeypatch.setattr(engine.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(engine.time, "sleep", lambda _: None)

    def sampled(busy_share: float) -> None:  # two /proc/stat readings 1,000 jiffies apart
        readings = iter([(0, 0), (1000, round(1000 * (1 - busy_share)))])
        monkeypatch.setattr(engine, "_cpu_times", lambda: next(readings))

    sampled(0.05)
    assert engine.default_threads() == 4
    sampled(0.40)  # 1.6 cores busy
    assert engine.default_threads() == 2
    sampled(1.0)
    assert engine.default_threads() == 1
    # the load average is the fallback where /proc/stat cannot be read
    monkeypatch.setattr(engine, "_cpu_times", lambda: None)
    monkeypatch.setattr(engine.os, "getloadavg", lambda: (1.6, 0.0, 0.0))
    assert engine.default_threads() == 2


def test_busy_cores_reads_this_machine() -> None:
    from qaforge.llm import engine

    if engine._cpu_times() is None:
        pytest.skip("no /proc/stat here")
    assert 0.0 <= engine.busy_cores(0.05) <= (os.cpu_count() or 1)
