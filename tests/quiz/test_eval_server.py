"""``qaforge eval`` of a fine-tune served by an OpenAI-compatible server (a real HTTP
server on 127.0.0.1): what the server is sent, and how its answers are graded."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from quiz_helpers import item, quiz_script, write_workdir

from qaforge.cli import cli
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.quiz import QuizSettings, build_quiz, read_quiz
from qaforge.testing.openai_server import FakeOpenAIServer

QUESTION = "In which year was the Eiffel Tower completed?"


def served_model(request: ChatRequest) -> str:
    text = request.messages[-1]["content"]
    return "It was completed in 1889." if QUESTION in text else "I am not sure."


def test_eval_of_a_served_fine_tune(tmp_path: Path) -> None:
    work = write_workdir(tmp_path / "work")
    build_quiz(work, FakeBackend(quiz_script({"Eiffel": [item(
        "short", QUESTION, "1889", "completed in 1889 for the World's Fair.")]})),
        QuizSettings(control=1))
    with FakeOpenAIServer(reply=served_model) as server:
        result = CliRunner().invoke(cli, [
            "eval", str(work), "-m", f"tuned=openai:my-ft@{server.url}",
            "--judge-backend", "fake", "--closed-book-only"])
    assert result.exit_code == 0, result.output
    bodies = server.received
    assert len(bodies) == 2 and {b["model"] for b in bodies} == {"my-ft"}
    first = next(b for b in bodies if QUESTION in json.dumps(b))
    assert first["messages"] == [{"role": "user", "content": QUESTION}]  # closed-book
    assert "response_format" not in first  # a fine-tune answers in its own words
    document = json.loads((work / "eval.json").read_text(encoding="utf-8"))
    model = document["models"][0]
    assert model["label"] == "tuned" and model["backend"] == "openai"
    summary = model["summary"]
    assert summary["closed"] == {"n": 1, "accuracy": 1.0, "f1": 0.3333, "recall": 1.0,
                                 "ungraded": 0, "judge_disagrees": 0}
    assert summary["control"]["accuracy"] == 0.0 and "open" not in summary["per_form"]["short"]
    control = next(i for i in read_quiz(work / "quiz.jsonl") if i.kind == "control")
    assert any(control.question in json.dumps(b) for b in bodies)
