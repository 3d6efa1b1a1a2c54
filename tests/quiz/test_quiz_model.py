"""``qaforge quiz`` and ``qaforge eval`` with the real bundled model (llama.cpp, 1 thread)
on a few items: the whole path runs and accounts for every item. The 135M demo model's
items and grades are not meaningful, so only the structure is asserted; its quiz items
rarely pass the checks, so eval runs on a scripted quiz of the same documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from quiz_helpers import item, quiz_script, write_workdir

from qaforge.llm.fake import FakeBackend
from qaforge.quiz import QuizSettings, build_quiz

pytestmark = [pytest.mark.model, pytest.mark.slow]

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def qaforge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, text=True, capture_output=True,
                          timeout=600, check=False)


def test_quiz_and_eval_with_the_bundled_model(tmp_path: Path, bundled_model: Path) -> None:
    work = write_workdir(tmp_path / "work")
    model = str(bundled_model)
    done = qaforge("quiz", "work", "--model", model, "--threads", "1", "--per-chunk", "2",
                   "--control", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the bundled demo model writes few quiz items" in done.stderr
    report = json.loads((work / "quiz" / "report.json").read_text(encoding="utf-8"))
    # every drafted item is either kept or dropped with a reason; no chunk is lost
    assert report["chunks"] == 2
    drafted = report["items"] + len(report["dropped"])
    assert drafted + len(report["failed_chunks"]) > 0
    assert all(d["reason"] and d["code"] for d in report["dropped"])

    scripted = quiz_script({
        "Eiffel": [item("short", "In which year was the Eiffel Tower completed?", "1889",
                        "completed in 1889 for the World's Fair.")],
        "Nile": [item("yesno", "Does the Nile flow into the Mediterranean Sea?", "Yes",
                      "It flows into the Mediterranean Sea")]})
    build_quiz(work, FakeBackend(scripted), QuizSettings(control=1), replace=True)
    report = json.loads((work / "quiz" / "report.json").read_text(encoding="utf-8"))
    assert report["items"] == 2

    done = qaforge("eval", "work", "-m", f"demo=llamacpp:{model}", "--threads", "1",
                   "--limit", "2", "--control", "1", "--judge-model", model, cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr  # 1: the demo judge may fail a grade
    assert "closed-book" in done.stdout and "control" in done.stdout
    result = json.loads((work / "eval.json").read_text(encoding="utf-8"))
    documents = 2
    assert result["quiz"]["documents"] == documents and result["quiz"]["control"] == 1
    assert result["judge"]["demo"] is True
    summary = result["models"][0]["summary"]
    assert summary["closed"]["n"] == summary["open"]["n"] == documents
    assert summary["control"]["n"] == 1
    for entry in result["items"]:
        for answer in entry["results"]["demo"].values():
            assert answer["error"] is None and answer["answer"]
            assert answer["grade"] in ("yes", "partial", "no") or answer["grade_error"]
            assert 0.0 <= answer["f1"] <= 1.0
