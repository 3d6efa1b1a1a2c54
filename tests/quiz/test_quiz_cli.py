"""``qaforge quiz`` then ``qaforge eval`` through the real CLI (subprocesses), with the
fake backend over a work dir generated from real PDFs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pdfgen
from qaforge.quiz import read_quiz
from qaforge.suggestions import load_suggestions

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def qaforge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, text=True, capture_output=True,
                          timeout=180, check=False)


@pytest.fixture(scope="module")
def refined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quizcli")
    (root / "pdfs").mkdir()
    pdfgen.plain_pdf(root / "pdfs", pages=2, name="pumps.pdf")
    pdfgen.two_column_pdf(root / "pdfs", name="valves.pdf")
    for args in (["generate", "pdfs", "-o", "work", "--backend", "fake", "-q"],
                 ["refine", "work", "--backend", "fake", "-q"]):
        done = qaforge(*args, cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def test_quiz_then_eval_with_the_fake_backend(refined: Path) -> None:
    root, work = refined, refined / "work"
    dataset = (work / "cleaned_finetune.jsonl").read_bytes()
    done = qaforge("quiz", "work", "--backend", "fake", "--per-chunk", "3", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "quiz items kept" in done.stdout and "dropped as near-duplicates" in done.stdout
    items = read_quiz(work / "quiz.jsonl")
    documents = [i for i in items if i.kind == "document"]
    assert len([i for i in items if i.kind == "control"]) == 30
    assert documents and {i.form for i in documents} == {"short", "yesno", "fill"}
    for item in documents:
        assert " ".join(item.evidence.split()) in " ".join(item.chunk_text.split())
        assert item.closest_training is not None and item.closest_training.similarity < 0.8
    report = json.loads((work / "quiz" / "report.json").read_text(encoding="utf-8"))
    assert report["items"] == len(documents) and report["prompt"] == "quiz/v2"
    assert report["near_duplicate_check"]["training_questions"] > 0
    review = sorted(p.name for p in (work / "quiz" / "output_json").iterdir()
                    if not p.name.startswith("."))
    assert review == ["_control_suggestions.json", "pumps_suggestions.json",
                      "valves_suggestions.json"]
    review_ids = {s.id for name in review
                  for c in load_suggestions(work / "quiz" / "output_json" / name).data.chunks
                  for s in c.suggestions if not isinstance(s, str)}
    assert review_ids == {i.id for i in items}

    done = qaforge("eval", "work", "-m", "base=fake:base", "-m", "tuned=fake:tuned",
                   "--judge-backend", "fake", "--control", "5", cwd=root)
    assert done.returncode == 0, done.stderr
    for row in ("closed-book", "open-book", "control", "tuned - base", "yesno (closed)",
                "pumps.pdf (closed)", "valves.pdf (closed)"):
        assert row in done.stdout
    result = json.loads((work / "eval.json").read_text(encoding="utf-8"))
    summary = result["models"][1]["summary"]
    assert result["models"][1]["label"] == "tuned" and result["models"][1]["model"] == "tuned"
    assert summary["closed"]["n"] == summary["open"]["n"] == len(documents)
    assert summary["control"]["n"] == 5
    assert summary["open"]["accuracy"] > summary["closed"]["accuracy"]
    assert len(result["items"]) == len(documents) + 5

    # the quiz never reaches the training set: refine and export read none of it
    again = qaforge("refine", "work", "--backend", "fake", "-q", cwd=root)
    assert again.returncode == 0, again.stderr
    assert (work / "cleaned_finetune.jsonl").read_bytes() == dataset
    exported = qaforge("export", "work", "-o", "out", "-q", cwd=root)
    assert exported.returncode == 0, exported.stderr
    text = "".join(p.read_text(encoding="utf-8") for p in (root / "out").rglob("*.jsonl"))
    assert text and not any(item.question in text for item in items)

    # nor when refine is pointed at the quiz's review copy by mistake
    wrong = qaforge("refine", "work/quiz", "--backend", "fake", cwd=root)
    assert wrong.returncode != 0 and "held out for `qaforge eval`" in wrong.stderr
    held_out = work / "quiz" / "cleaned_finetune.jsonl"
    assert not held_out.exists() or not held_out.read_text(encoding="utf-8").strip()


def test_a_second_quiz_is_refused_and_replace_keeps_the_first(refined: Path,
                                                             tmp_path: Path) -> None:
    root = refined
    if not (root / "work" / "quiz.jsonl").exists():
        assert qaforge("quiz", "work", "--backend", "fake", cwd=root).returncode == 0
    before = (root / "work" / "quiz.jsonl").read_bytes()
    done = qaforge("quiz", "work", "--backend", "fake", cwd=root)
    assert done.returncode == 2
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {Path('work') / 'quiz.jsonl'}: a quiz already exists; evaluate with it, "
        "or pass --replace to set it aside and write a new one"]
    done = qaforge("quiz", "work", "--backend", "fake", "--replace", "--control", "0",
                   cwd=root)
    assert done.returncode == 0, done.stderr
    kept = list((root / "work").glob("quiz-previous-*/quiz.jsonl"))
    assert len(kept) == 1 and kept[0].read_bytes() == before


def test_eval_without_a_quiz_says_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "work").mkdir()
    done = qaforge("eval", "work", "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 2
    assert "no quiz yet; run `qaforge quiz" in done.stderr


def test_help_lists_both_commands(tmp_path: Path) -> None:
    done = qaforge("--help", cwd=tmp_path)
    assert "quiz" in done.stdout and "eval" in done.stdout
    assert "[LABEL=][BACKEND:]MODEL[@URL]" in qaforge("eval", "--help", cwd=tmp_path).stdout
