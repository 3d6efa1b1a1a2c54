"""Judging each chunk's pairs as soon as they are drafted: the replies wait in refine's
reply cache, so refine asks the model nothing more about them, and decides as always."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pdfgen
from qaforge.config import GenerateSettings, RefineSettings
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.early_judge import EarlyJudge
from qaforge.refine.verify import ANSWER_SCHEMA
from qaforge.runners.local import run_generate
from sample_texts import EIFFEL, NILE


def checks(history: list[ChatRequest]) -> list[str]:
    return [r.pair[0] for r in history if r.schema == ANSWER_SCHEMA and r.pair]


def drafted_workdir(tmp_path: Path, client: FakeBackend, settings: RefineSettings) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "eiffel.md").write_text("# Eiffel\n\n" + EIFFEL + "\n", encoding="utf-8")
    (docs / "nile.md").write_text("# Nile\n\n" + NILE + "\n", encoding="utf-8")
    work = tmp_path / "work"
    early = EarlyJudge(work, client, settings)
    run_generate([docs], work, client=client, settings=GenerateSettings(),
                 drafted=early.drafted)
    early.close()
    assert early.pairs > 0
    return work


def test_pairs_checked_as_drafted_cost_refine_no_judge_call(tmp_path: Path) -> None:
    client, settings = FakeBackend(), RefineSettings()
    work = drafted_workdir(tmp_path, client, settings)
    early = checks(list(client.history))
    assert early  # every drafted pair was checked right after its chunk

    refine_workdir(work, judge=client, settings=settings)
    assert checks(list(client.history)) == early  # refine asked nothing again
    summary = json.loads((work / "evaluation.json").read_text(encoding="utf-8"))["summary"]
    assert summary["model_calls"]["judge"] == 0
    assert summary["cache"]["hits"] >= summary["model_calls"]["pairs_judged"] > 0
    assert summary["decisions"]["kept"] > 0  # refine still labelled and decided


def test_a_question_edited_after_drafting_is_checked_again(tmp_path: Path) -> None:
    client, settings = FakeBackend(), RefineSettings()
    work = drafted_workdir(tmp_path, client, settings)
    [path, *_] = sorted((work / "output_json").glob("*_suggestions.json"))
    doc = json.loads(path.read_text(encoding="utf-8"))
    edited = doc["chunks"][0]["suggestions"][0]
    edited["question"], edited["status"] = "What is described in the Eiffel text?", "edited"
    path.write_text(json.dumps(doc), encoding="utf-8")
    before = len(checks(list(client.history)))

    refine_workdir(work, judge=client, settings=settings)
    assert checks(list(client.history))[before:] == [edited["question"]]


@pytest.mark.parametrize(("client", "settings", "useful"), [
    (FakeBackend(), RefineSettings(), True),
    (FakeBackend(), RefineSettings(judge_method="strict"), True),
    (FakeBackend(is_demo_model=True), RefineSettings(), False),  # advisory: refine skips
    (FakeBackend(), RefineSettings(judge_method="rubric"), False),  # needs refine's findings
    (FakeBackend(), RefineSettings(judge_early=False), False),
])
def test_early_judging_only_where_it_saves_a_call(client: FakeBackend,
                                                  settings: RefineSettings,
                                                  useful: bool) -> None:
    assert EarlyJudge.useful(client, settings) is useful


def test_run_judges_as_it_drafts_and_says_so(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=2)
    cli = [sys.executable, "-c", "from qaforge.cli import main; main()"]
    done = subprocess.run([*cli, "run", str(pdfs), "-o", "work", "--backend", "fake"],
                          cwd=tmp_path, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert b"as their chunks were drafted" in done.stderr
    summary = json.loads((tmp_path / "work" / "evaluation.json").read_text())["summary"]
    assert summary["model_calls"]["judge"] == 0 and summary["cache"]["hits"] > 0
