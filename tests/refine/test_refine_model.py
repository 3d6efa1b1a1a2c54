"""Refine a work dir built from a real PDF with the real bundled model (llama.cpp, 1 thread).

Asserts structure only (the 135M demo model's verdicts are not meaningful): the dataset
loads with ``datasets`` and renders with the model's own chat template, and the evaluation
accounts for every pair that entered.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import chunk, gguf_chat_tokenizer, pair, write_doc

from qaforge.config import LLMSettings, RefineSettings
from qaforge.refine import refine_workdir

pytestmark = [pytest.mark.model, pytest.mark.slow]

_SECTION = re.compile(r"^(1\.\d) (.+)$", re.MULTILINE)


def r_intro_sections(pdfs: Path) -> dict[str, tuple[str, str]]:
    """Sections 1.1-1.5 of "An Introduction to R" (pages 8-9), as pypdfium2 reads them."""
    pdfium = pytest.importorskip("pypdfium2")
    document = pdfium.PdfDocument(str(pdfs / "R-intro.pdf"))
    text = "\n".join(document[i].get_textpage().get_text_range() for i in (7, 8))
    marks = list(_SECTION.finditer(text))
    sections = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(text)
        sections[mark.group(1)] = (mark.group(2).strip(), text[mark.end():end].strip())
    return sections


def build_workdir(root: Path, pdfs: Path) -> int:
    sections = r_intro_sections(pdfs)
    env_title, env = sections["1.1"]
    docs_title, docs = sections["1.2"]
    stats_title, stats = sections["1.3"]
    assert "integrated suite of software facilities" in env and "Bell" in docs
    write_doc(root, "R-intro.pdf", [
        chunk(env, [
            pair("q-what", "What is R?", "R is an integrated suite of software facilities for "
                 "data manipulation, calculation and graphical display."),
            pair("q-lang", "What programming language does R include?", "A well developed, "
                 "simple and effective programming language called S, which includes "
                 "conditionals, loops, user defined recursive functions and input and output "
                 "facilities.", status="accepted"),
            pair("q-context", "According to the text, what is the term environment meant to "
                 "characterize?", "It characterizes R as a fully planned and coherent system "
                 "rather than an incremental accretion of specific and inflexible tools."),
            pair("q-wrong", "Who created R?", "R was created by Guido van Rossum at Google in "
                 "2005 as a replacement for Java."),
            pair("q-dup", "what is R", "R is an integrated suite of software facilities for "
                 "data manipulation, calculation and graphical display."),
            pair("q-rejected", "Is R fast?", "Yes.", status="rejected"),
        ], headings=["1 Introduction and preliminaries", env_title], pages=[8, 8]),
        chunk(docs, [
            pair("q-bell", "Where was the S language developed?", "The S language was "
                 "developed at Bell Laboratories by Rick Becker, John Chambers and Allan "
                 "Wilks."),
            pair("q-ref", "What is the basic reference for R?", "The New S Language: A "
                 "Programming Environment for Data Analysis and Graphics, by Richard A. "
                 "Becker, John M. Chambers and Allan R. Wilks.", status="edited"),
            {"id": "q-malformed", "question": 42, "answer": "Numbers are not questions."},
        ], headings=["1 Introduction and preliminaries", docs_title], pages=[8, 8]),
        chunk(stats, [
            pair("q-steps", "How is a statistical analysis normally done in S?", "In S a "
                 "statistical analysis is normally done as a series of steps, with "
                 "intermediate results being stored in objects."),
        ], headings=["1 Introduction and preliminaries", stats_title], pages=[8, 9]),
        chunk("Section 1.4 was not drafted yet.", [], state="pending", pages=[9, 9]),
    ])
    return 10  # pairs in the file, the malformed entry and the rejected pair included


def test_refine_with_the_bundled_model(tmp_path: Path, shared_pdfs: Path,
                                       bundled_model: Path) -> None:
    datasets = pytest.importorskip("datasets")
    pytest.importorskip("gguf")
    pytest.importorskip("transformers")
    from qaforge.llm import make_client

    pairs_in = build_workdir(tmp_path, shared_pdfs)
    settings = LLMSettings(backend="llamacpp", model=str(bundled_model), threads=1,
                           concurrency=2)
    with make_client(settings) as judge:
        assert judge.is_demo_model
        started = time.perf_counter()
        summary = refine_workdir(tmp_path, judge=judge, settings=RefineSettings(
            system_prompt="You answer questions about the R language."))
        elapsed = time.perf_counter() - started
        requests_first = judge.usage.requests
        first = json.loads((tmp_path / "evaluation.json").read_text("utf-8"))
        # a judge reply that stayed unusable after its retry is not cached (the next run
        # asks again): the demo model produces one now and then
        unusable = sum(1 for e in first["entries"] if (e["verdict"] or {}).get("error"))
        again = refine_workdir(tmp_path, judge=judge, settings=RefineSettings(
            system_prompt="You answer questions about the R language."))
        # resumed from the cache: only the unusable replies are asked for again
        assert judge.usage.requests - requests_first <= 2 * unusable
        if not unusable:
            assert judge.usage.requests == requests_first
        assert again.decisions == summary.decisions

    evaluation: dict[str, Any] = json.loads((tmp_path / "evaluation.json").read_text("utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert summary.pairs_in == pairs_in == len(entries)
    assert sum(evaluation["summary"]["decisions"].values()) == pairs_in
    assert summary.demo_judge and "demo model" in evaluation["demo_judge"]
    assert entries["q-rejected"]["final_decision"] == "rejected"
    assert entries["q-malformed"]["final_decision"] == "malformed"
    assert entries["q-dup"]["final_decision"] == "duplicate"
    assert entries["q-lang"]["final_decision"] == "kept"  # accepted by a person
    assert entries["q-lang"]["corrected_messages"] is None
    assert entries["q-what"]["final_decision"] == "kept"
    assert entries["q-wrong"]["final_decision"] in ("skipped", "corrected", "duplicate")
    assert entries["q-wrong"]["flags"]
    assert entries["q-context"]["final_decision"] != "kept"
    asked = 0
    for entry in entries.values():
        if entry["final_decision"] in ("rejected", "malformed", "duplicate"):
            continue
        verdict = entry["verdict"]
        if verdict is None:  # not asked: the checks flag it, and the demo judge decides nothing
            assert entry["flags"]
        else:
            asked += 1
            assert verdict["advisory"] and (verdict["label"] or verdict["error"])
    assert asked and entries["q-what"]["verdict"] is not None
    coverage = evaluation["summary"]["coverage"]["R-intro.pdf"]
    assert coverage["chunks"] == 4 and coverage["chunks_pending"] == 1

    rows = datasets.load_dataset("json", data_files=str(tmp_path / "cleaned_finetune.jsonl"),
                                 split="train")
    assert rows.num_rows == summary.dataset_rows >= 4
    tokenizer = gguf_chat_tokenizer(bundled_model)
    for row in rows:
        roles = [m["role"] for m in row["messages"]]
        assert roles == ["system", "user", "assistant"]
        text = tokenizer.apply_chat_template(row["messages"], tokenize=False)
        assert row["messages"][2]["content"] in text
        assert tokenizer.apply_chat_template(row["messages"], tokenize=True)["input_ids"]

    print(f"\nreal model: {summary.decisions} labels={summary.labels} "
          f"retention={summary.retention_rate:.0%} judge calls={summary.judge_calls} "
          f"correct calls={summary.correct_calls} judge pairs/min="
          f"{summary.seconds['judge_pairs_per_min']} total={elapsed:.1f}s")


def test_generate_then_refine_with_the_bundled_model(tmp_path: Path, shared_pdfs: Path,
                                                     bundled_model: Path) -> None:
    """Stage 1 then stage 3 through their commands, on a real one-page PDF."""
    from click.testing import CliRunner

    from qaforge.cli.generate import command as generate_command
    from qaforge.cli.refine import refine_command

    engine = ["--model", str(bundled_model), "--threads", "1", "--concurrency", "2"]
    runner = CliRunner()
    result = runner.invoke(generate_command, [str(shared_pdfs / "amt_handbook_sample.pdf"),
                                              "-o", str(tmp_path), *engine])
    assert result.exit_code == 0, result.output
    suggestions = json.loads((tmp_path / "output_json" /
                              "amt_handbook_sample_suggestions.json").read_text("utf-8"))
    drafted = sum(len(c["suggestions"]) for c in suggestions["chunks"]
                  if isinstance(c["suggestions"], list))
    assert drafted > 0

    result = runner.invoke(refine_command, [str(tmp_path), *engine])
    assert result.exit_code == 0, result.output
    assert "demo judge" in result.output
    evaluation = json.loads((tmp_path / "evaluation.json").read_text("utf-8"))
    assert evaluation["summary"]["pairs_in"] == drafted == len(evaluation["entries"])
    assert sum(evaluation["summary"]["decisions"].values()) == drafted
    lines = (tmp_path / "cleaned_finetune.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == evaluation["summary"]["dataset_rows"]
    for line in lines:
        assert [m["role"] for m in json.loads(line)["messages"]] == ["user", "assistant"]
    print(f"\ngenerate+refine: {drafted} pairs drafted -> "
          f"{evaluation['summary']['decisions']}")

    result = runner.invoke(refine_command, [str(tmp_path), *engine])
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "evaluation.json").read_text("utf-8"))
    assert again["summary"]["model_calls"]["judge"] == 0  # all from the cache
    assert again["summary"]["decisions"] == evaluation["summary"]["decisions"]
