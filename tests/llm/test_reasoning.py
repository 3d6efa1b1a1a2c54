"""Reasoning models (issue 18 part 2): ``<think>`` blocks and ``reasoning_content`` never
reach a pair; a reply cut off while reasoning is a failure kept verbatim; ``max_tokens``
leaves room to think. Over a real loopback server and through the fake backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pdfgen
from qaforge.config import LLMSettings, load_settings
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm.base import ChatRequest, Completion
from qaforge.llm.fake import FakeBackend, echo_pairs, thinking
from qaforge.llm.openai import OpenAIClient, from_settings
from qaforge.llm.reasoning import CUT_OFF, reopen, split_reasoning
from qaforge.records import Chunk
from qaforge.suggestions import load_suggestions, suggestions_dir
from qaforge.testing import FakeOpenAIServer

TEXT = "Water boils at 100 degrees Celsius at sea level."
ANSWER = json.dumps({"pairs": [{"question": "At what temperature does water boil?",
                                "answer": "At 100 degrees Celsius at sea level."}]})
# what a reasoning model drafts while it thinks: a pair the dataset must never get
DRAFT = ('Let me draft one. {"pairs": [{"question": "DRAFT: is this the reasoning?", '
         '"answer": "DRAFT answer from the reasoning"}]}\nQ: DRAFT question?\nA: DRAFT.')


def chunk() -> Chunk:
    return Chunk(id=Chunk.make_id(TEXT, ["Physics"]), pages=[1], headings=["Physics"],
                 text=TEXT)


def generate(client: Any) -> Chunk:
    [done] = list(GenerateQA(client, pairs_per_chunk=2).stream([ChunkJob("d.pdf", chunk())]))
    return done


def questions(done: Chunk) -> list[str]:
    return [s.question for s in done.suggestions]


@pytest.mark.parametrize(("text", "server", "finish", "expected"), [
    ("<think>\nhmm\n</think>\n\n{}", "", "stop", ("{}", "hmm", False)),
    ("  <THINKING>a</THINKING><think>b</think>{}", "", "stop", ("{}", "a\n\nb", False)),
    ("opened by the template</think>{}", "", "stop", ("{}", "opened by the template", False)),
    ("<think>cut off mid-th", "", "length", ("", "cut off mid-th", True)),
    ("<think>stopped early", "", "stop", ("", "stopped early", True)),
    ("", "thought apart", "length", ("", "thought apart", True)),
    ("{}", "thought apart", "stop", ("{}", "thought apart", False)),
    (' {"a": "<think>in an answer</think>"}', "", "stop",
     (' {"a": "<think>in an answer</think>"}', "", False)),
])
def test_split_reasoning(text: str, server: str, finish: str,
                         expected: tuple[str, str, bool]) -> None:
    split = split_reasoning(text, server, finish)
    assert (split.text, split.reasoning, split.unfinished) == expected


def test_a_block_the_chat_template_opened_is_reasoning_until_it_closes() -> None:
    prompt = "<|im_start|>assistant\n<think>\n"
    assert reopen(prompt, "cut off mid-th") == "<think>cut off mid-th"
    assert reopen("<think>x</think> answer", "{}") == "{}"
    assert reopen("plain prompt", "{}") == "{}"
    cut = Completion(reopen(prompt, "Q: DRAFT?\nA: DRAFT."), finish_reason="length")
    assert (cut.text, cut.reasoning_error) == ("", CUT_OFF)
    done = Completion(reopen(prompt, "draft</think>{}"), finish_reason="stop")
    assert (done.text, done.reasoning, done.reasoning_unfinished) == ("{}", "draft", False)


@pytest.fixture()
def replies() -> Iterator[tuple[FakeOpenAIServer, list[Any]]]:
    """A loopback server answering from a list the test fills (the last one repeats)."""
    script: list[Any] = []

    def reply(_: ChatRequest) -> Any:
        return script.pop(0) if len(script) > 1 else script[0]

    with FakeOpenAIServer(reply=reply) as server:
        yield server, script


def test_a_draft_inside_think_is_not_a_pair(replies: tuple[FakeOpenAIServer, list[Any]]
                                            ) -> None:
    server, script = replies
    script.append(f"<think>\n{DRAFT}\n</think>\n{ANSWER}")
    client = OpenAIClient([server.url])
    completion = client.complete(ChatRequest(messages=[{"role": "user", "content": "x"}]))
    assert completion.text == ANSWER and completion.reasoning == DRAFT
    done = generate(client)
    assert done.state == "generated"
    assert questions(done) == ["At what temperature does water boil?"]
    assert "DRAFT" not in json.dumps(done.model_dump())


def test_reasoning_content_is_kept_apart(replies: tuple[FakeOpenAIServer, list[Any]]) -> None:
    server, script = replies
    script.append({"content": ANSWER, "reasoning_content": DRAFT})
    completion = OpenAIClient([server.url]).complete(
        ChatRequest(messages=[{"role": "user", "content": "x"}]))
    assert (completion.text, completion.reasoning) == (ANSWER, DRAFT)
    assert not completion.reasoning_unfinished


@pytest.mark.parametrize("reply", [
    {"content": f"<think>\n{DRAFT}", "finish_reason": "length"},
    {"content": None, "reasoning_content": DRAFT, "finish_reason": "length"},
], ids=["inline", "reasoning_content"])
def test_a_reply_cut_off_while_reasoning_is_a_failure_kept_verbatim(
        replies: tuple[FakeOpenAIServer, list[Any]], reply: dict[str, Any]) -> None:
    server, script = replies
    script.append(reply)
    done = generate(OpenAIClient([server.url]))
    assert done.state == "failed" and done.suggestions == []
    assert (done.error or "").startswith(CUT_OFF)
    assert done.raw is not None and DRAFT in done.raw and done.raw.startswith("<think>")
    if reply["content"]:
        assert done.raw == reply["content"]  # byte for byte as the server sent it


def test_reasoning_tokens_widen_max_tokens_and_leave_room_in_the_context(
        replies: tuple[FakeOpenAIServer, list[Any]]) -> None:
    server, script = replies
    script.append(ANSWER)
    client = from_settings(LLMSettings(backend="openai", base_url=server.url,
                                       reasoning_tokens=1000))
    client.context_length = 4096
    client.complete(ChatRequest(messages=[{"role": "user", "content": "x"}], max_tokens=300))
    assert server.received[-1]["max_tokens"] == 1300
    assert client.context_length == 4096 - 1000  # stages size prompt + answer within this
    recipe = client.worker_recipe()
    worker = recipe()
    try:
        assert (worker.context_length, worker.reasoning_tokens) == (3096, 1000)
    finally:
        worker.close()
        client.close()


def test_the_fake_backend_thinks_like_a_reasoning_model() -> None:
    done = generate(FakeBackend(thinking(echo_pairs, DRAFT)))
    assert done.state == "generated" and done.suggestions
    assert not any("DRAFT" in q for q in questions(done))
    scripted = FakeBackend([Completion(f"<think>{DRAFT}", finish_reason="length")])
    done = generate(scripted)
    assert done.state == "failed" and (done.error or "").startswith(CUT_OFF)
    assert done.raw == f"<think>{DRAFT}"


@pytest.mark.slow
def test_generate_cli_with_a_thinking_model_and_the_reasoning_flag(tmp_path: Path) -> None:
    pdf = pdfgen.plain_pdf(tmp_path, pages=1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAFORGE_FAKE_")}
    for mode in ("strip", "keep"):
        done = subprocess.run(
            [sys.executable, "-c", "from qaforge.cli import main; main()", "generate",
             str(pdf), "-o", str(tmp_path / mode), "--backend", "fake", "--reasoning", mode],
            cwd=tmp_path, env={**env, "QAFORGE_FAKE_THINK": DRAFT}, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
        assert done.returncode == 0, done.stdout
        data = load_suggestions(suggestions_dir(tmp_path / mode) / "plain_suggestions.json").data
        assert data.chunks and all(c.state == "generated" and c.suggestions for c in data.chunks)
        pairs = [(s.question, s.answer) for c in data.chunks for s in c.suggestions]
        assert not any("DRAFT" in q + a for q, a in pairs), mode  # never inside a pair
        if mode == "strip":
            assert "DRAFT" not in json.dumps(data.model_dump())
        else:  # beside each pair, as its own field
            assert {s.reasoning for c in data.chunks for s in c.suggestions} == {DRAFT}
    settings = load_settings(overrides={"llm": {"reasoning": "keep"}})
    assert settings.llm.reasoning == "keep" and LLMSettings().reasoning == "strip"
