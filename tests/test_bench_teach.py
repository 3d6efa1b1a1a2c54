"""Smoke test of ``bench/teach.py`` (issue 17 item 3): datasets built with the fake backend
from one tiny PDF, two training steps of a real LoRA on the bundled model per recipe and
seed, and ``qaforge eval`` of the base and every adapter on one quiz. It asserts that every
step ran and the table was printed, never a figure (two steps teach nothing).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import pdfgen
from test_bench_smoke import run_script

# ~5.5 CPU-minutes: 14 min wall on the busy 2-core dev machine, over the suite's 600 s limit
pytestmark = [pytest.mark.slow, pytest.mark.transformers, pytest.mark.timeout(1500)]


def test_teach_builds_trains_and_evaluates_every_recipe(tmp_path: Path,
                                                        bundled_model: Path) -> None:
    for name in ("torch", "transformers", "trl", "peft", "datasets"):
        pytest.importorskip(name)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdfgen.plain_pdf(corpus, pages=2)
    work = tmp_path / "teach"
    out = run_script("teach.py", "--pdfs", str(corpus), "--files", "plain.pdf",
                     "--model", str(bundled_model), "--backend", "fake",
                     "--recipes", "default,seed,raw", "--seeds", "2", "--max-steps", "2",
                     "--max-length", "256",
                     "--control", "1", "--eval-limit", "1", "--seed-max-new-tokens", "48",
                     "--threads", "1", "--workdir", str(work), timeout=1500)
    lines = out.splitlines()
    for recipe in ("default", "seed", "raw"):
        assert any(line.startswith(f"dataset {recipe}: ") for line in lines), out
    assert any(line.startswith("quiz built once in ") for line in lines), out
    assert any(line.startswith("trained default seed 2 in ") for line in lines), out
    assert any(line.startswith("trained raw seed 1 in ") for line in lines), out
    assert any(line.startswith("eval: base + ") for line in lines), out
    assert any(line.startswith("recipe ") and "closed-book" in line for line in lines), out
    for recipe in ("default", "raw"):
        row = next(line for line in lines if line.startswith(f"{recipe} "))
        assert "± " in row and "(2)" in row and "pts" in row, row
    seed_row = next(line for line in lines if line.startswith("seed "))
    assert "(2)" in seed_row or "not trained: no rows" in seed_row, seed_row

    figures = json.loads((work / "teach.json").read_text(encoding="utf-8"))
    recipes = {r["recipe"]: r for r in figures["recipes"]}
    assert len(recipes["default"]["closed"]) == 2 and recipes["raw"]["text"] is True
    assert len(recipes["default"]["closed_recall"]) == 2
    eval_doc = json.loads((work / "quiz" / "eval.json").read_text(encoding="utf-8"))
    labels = {m["label"] for m in eval_doc["models"]}
    assert {"base", "default-s1", "default-s2", "raw-s1", "raw-s2"} <= labels
    for adapter in recipes["default"]["adapters"]:
        config = json.loads((Path(adapter) / "adapter_config.json").read_text("utf-8"))
        assert config["base_model_name_or_path"] == str(bundled_model.resolve())
