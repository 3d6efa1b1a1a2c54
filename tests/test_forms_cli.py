"""Question forms through the real CLI with the fake backend (issue 18 part 4): generate
--forms, refine's counts by form, and exported multi-turn rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import pdfgen

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def qaforge(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250"}
    return subprocess.run([*CLI, *args], env=env, text=True, capture_output=True, timeout=300,
                          check=False)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("forms")
    pdfs = root / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=2, name="manual.pdf")
    work = root / "work"
    done = qaforge("generate", str(pdfs), "-o", str(work), "--backend", "fake",
                   "--forms", "qa,yes_no,multi_turn")
    assert done.returncode == 0, done.stderr
    done = qaforge("refine", str(work), "--backend", "fake")
    assert done.returncode == 0, done.stderr
    assert "pairs in / rows by form" in done.stdout
    for fmt in ("messages", "sharegpt"):
        done = qaforge("export", str(work), "--format", fmt, "-o", str(root / fmt))
        assert done.returncode == 0, done.stderr
    return root


def test_suggestions_carry_forms_and_refine_counts_them(exported: Path) -> None:
    [path] = (exported / "work" / "output_json").glob("*_suggestions.json")
    data = json.loads(path.read_text("utf-8"))
    assert data["generator"]["params"]["forms"] == pytest.approx(
        {"qa": 1 / 3, "yes_no": 1 / 3, "multi_turn": 1 / 3})
    forms = [s.get("form", "qa") for c in data["chunks"] for s in c["suggestions"]]
    assert {"qa", "yes_no", "multi_turn"} <= set(forms)
    talks = [s for c in data["chunks"] for s in c["suggestions"] if s.get("form") == "multi_turn"]
    assert all(len(s["turns"]) == 4 and s["question"] == s["turns"][0]["content"]
               for s in talks)
    evaluation = json.loads((exported / "work" / "evaluation.json").read_text("utf-8"))
    counts = evaluation["summary"]["forms"]
    assert set(counts) == {"qa", "yes_no", "multi_turn"}
    assert sum(n["pairs_in"] for n in counts.values()) == len(forms)
    assert counts["multi_turn"]["dataset_rows"] >= 1


def test_multi_turn_rows_are_exported_as_conversations(exported: Path) -> None:
    rows = read_jsonl(exported / "messages" / "train.jsonl")
    long = [r for r in rows if len(r["messages"]) == 4]
    assert long and all([m["role"] for m in r["messages"]] == ["user", "assistant"] * 2
                        for r in long)
    shared = read_jsonl(exported / "sharegpt" / "train.jsonl")
    assert any([t["from"] for t in r["conversations"]] == ["human", "gpt"] * 2 for r in shared)


@pytest.mark.slow  # importing datasets takes seconds
def test_multi_turn_rows_load_with_datasets(exported: Path) -> None:
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("json", data_files=str(exported / "messages" / "train.jsonl"),
                               split="train")
    assert any(len(messages) == 4 for messages in ds["messages"])
