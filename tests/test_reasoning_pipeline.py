"""``--reasoning keep`` end to end through the real CLI and the OpenAI-compatible backend: a
loopback server answers like a reasoning model's (vLLM, llama.cpp: ``reasoning_content``
apart from ``content``); generate, refine and export, and the exported rows carry the
reasoning beside the answer with ``keep`` and nowhere with ``strip``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qaforge.cli import cli
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import echo_pairs
from qaforge.testing import FakeOpenAIServer

THOUGHT = "REASONING: the passage lists the pump's parts; one question per part."
FACTS = ["The pump moves water from the lower tank into the upper tank.",
         "Its motor runs on a single phase supply of two hundred thirty volts.",
         "The impeller is made of bronze and resists corrosion in salt water."]


def reasoning_server_reply(request: ChatRequest) -> dict[str, Any]:
    return {"content": echo_pairs(request), "reasoning_content": THOUGHT,
            "finish_reason": "stop"}


def run(*args: str) -> None:
    done = CliRunner().invoke(cli, list(args))
    assert done.exit_code == 0, done.output


@pytest.mark.parametrize("mode", ["keep", "strip"])
def test_reasoning_content_reaches_the_export_only_with_keep(tmp_path: Path, mode: str
                                                             ) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "pump.md").write_text("# Pump\n\n" + " ".join(FACTS) + "\n", "utf-8")
    work, out = tmp_path / "work", tmp_path / "out"
    with FakeOpenAIServer(reply=reasoning_server_reply) as server:
        run("generate", str(docs), "-o", str(work), "--backend", "openai", "--base-url",
            server.url, "--reasoning", mode, "--no-skip-boilerplate")
    assert server.received  # the real wire client was used
    run("refine", str(work), "--judge-backend", "fake")
    run("export", str(work), "--format", "messages", "-o", str(out))

    rows = [json.loads(line) for line in
            (out / "train.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows
    answers = [m for row in rows for m in row["messages"] if m["role"] == "assistant"]
    assert not any(THOUGHT in m["content"] for m in answers)
    kept = [m.get("reasoning_content") for m in answers if m.get("reasoning_content")]
    if mode == "keep":
        corrected = sum(row["decision"] == "corrected" for row in rows)
        assert kept == [THOUGHT] * (len(rows) - corrected) and kept
    else:
        assert "REASONING" not in (out / "train.jsonl").read_text(encoding="utf-8")
        suggestions = (work / "output_json" / "pump.md_suggestions.json").read_text("utf-8")
        assert "REASONING" not in suggestions
