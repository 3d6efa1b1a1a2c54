"""The transformers backend with the bundled SmolLM2 GGUF (dequantized by transformers)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

from qaforge.config import LLMSettings
from qaforge.llm.base import BackendUnavailable, ChatRequest, Completion
from qaforge.llm.hf import DEFAULT_MODEL, split_model_spec


def test_missing_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from qaforge.llm import hf

    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` fail
    with pytest.raises(BackendUnavailable) as info:
        hf.from_settings(LLMSettings(backend="transformers"))
    message = str(info.value)
    assert "pip install 'qaforge[transformers]'" in message and "\n" not in message


def test_split_model_spec(tmp_path: Path) -> None:
    gguf = tmp_path / "m.Q4.gguf"
    gguf.write_bytes(b"GGUF")
    assert split_model_spec(str(gguf)) == (str(tmp_path), "m.Q4.gguf")
    assert split_model_spec("") == (DEFAULT_MODEL, "")
    assert split_model_spec("org/model", "x.gguf") == ("org/model", "x.gguf")
    with pytest.raises(BackendUnavailable, match="not found"):
        split_model_spec(str(tmp_path / "missing.gguf"))


ANSWER_SCHEMA = {"type": "object",
                 "properties": {"answer": {"type": "string", "maxLength": 40}},
                 "required": ["answer"]}


@pytest.fixture(scope="module")
def backend(bundled_model: Path) -> Iterator[object]:
    pytest.importorskip("torch", reason="needs the [transformers] extra (torch)")
    from qaforge.llm.hf import from_settings

    llm = from_settings(LLMSettings(backend="transformers", model=str(bundled_model),
                                    threads=1, batch_size=2))
    yield llm
    llm.close()


@pytest.mark.transformers
@pytest.mark.slow
def test_batch_of_two_chat_requests(backend: object) -> None:
    from qaforge.llm.hf import TransformersBackend

    assert isinstance(backend, TransformersBackend)
    assert backend.is_demo_model and backend.device == "cpu"
    assert backend.count_tokens("Hello world") == 2  # the model's own tokenizer
    calls: list[int] = []
    original = backend.generate_batch

    def counting(batch: list[ChatRequest]) -> list[Completion]:
        calls.append(len(batch))
        return original(batch)

    backend.generate_batch = counting
    try:
        requests = [ChatRequest(messages=[{"role": "user", "content": f"Name {thing}."}],
                                max_tokens=12) for thing in ("a colour", "a fruit")]
        results = dict(backend.stream(requests))
    finally:
        del backend.generate_batch
    assert calls == [2]  # one real batch, not two calls
    for result in results.values():
        assert isinstance(result, Completion)
        assert result.text.strip() and 0 < result.completion_tokens <= 12
        assert result.prompt_tokens > 0
    assert backend.usage.requests == 2


@pytest.mark.transformers
@pytest.mark.slow
def test_schema_constrained_output(backend: object) -> None:
    from qaforge.llm.hf import TransformersBackend

    assert isinstance(backend, TransformersBackend)
    if not backend.supports_schema:
        pytest.skip("lm-format-enforcer is not installed: no constrained decoding")
    request = ChatRequest(messages=[{"role": "user", "content": "What colour is the sky?"}],
                          schema=ANSWER_SCHEMA, max_tokens=40)
    result = backend.complete(request)
    jsonschema.validate(json.loads(result.text), ANSWER_SCHEMA)


@pytest.mark.transformers
@pytest.mark.slow
def test_reasoning_tokens_and_a_think_block_the_template_opened(backend: object) -> None:
    """Issue 18: room to think on top of max_tokens; a reply to a prompt that ends inside
    ``<think>`` (as reasoning models' templates do) is reasoning until it closes."""
    from qaforge.llm.hf import TransformersBackend

    assert isinstance(backend, TransformersBackend)
    request = ChatRequest(messages=[{"role": "user", "content": "Count from 1 to 100."}],
                          max_tokens=4)
    backend.reasoning_tokens = 8
    original = backend.render
    backend.render = lambda messages: original(messages) + "<think>\n"  # type: ignore[method-assign]
    try:
        result = backend.complete(request)
    finally:
        backend.reasoning_tokens = 0
        del backend.render
    assert 4 < result.completion_tokens <= 12  # greedy: 7 tokens, then end of turn
    assert result.finish_reason == "stop" or result.completion_tokens == 12
    assert result.reasoning_unfinished and result.reasoning_error
    assert result.text == "" and result.raw.startswith("<think>")
