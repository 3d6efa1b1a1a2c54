"""Issue 15 item 3: deterministic detectors, measured on labelled real pairs.

``data/detector_cases.json`` holds pairs a real model generated from the PDFs in
``/work/shared/pdfs`` (the source of each says which) and hand-written ones, each labelled
with whether its detector must flag it. Precision is what matters (a detector that cries
wolf teaches the judge to ignore it), so every negative must pass unflagged; every positive
of the set must be caught too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import EIFFEL, chunk, pair, write_doc

from qaforge.refine import detectors
from qaforge.refine.checks import check_questions, question_issues
from qaforge.refine.pair_record import Issue, PairRecord

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "detector_cases.json").read_text(encoding="utf-8"))["cases"]


def _found(case: dict[str, Any]) -> list[Issue]:
    name = case["detector"]
    if name == "template_question":
        records = [PairRecord(source_file="f", document="d", chunk_id="c", pair_id=str(i),
                              question=q, answer="An answer.")
                   for i, q in enumerate(case["questions"])]
        detectors.template_overuse(records)
        return [i for r in records for i in r.issues]
    found = {
        "truncated": lambda: detectors.truncated(case["answer"], case.get("chunk", "")),
        "points_elsewhere": lambda: detectors.points_elsewhere(case["question"], case["answer"]),
        "dangling_reference": lambda: detectors.dangling_reference(case["question"]),
        "padded_copy": lambda: detectors.padded_copy(case["question"], case["answer"],
                                                     case.get("chunk", "")),
    }[name]()
    return [found] if found is not None else []


NEGATIVES = [c for c in CASES if not c["expect"]]
#: positives a detector may miss by design (it stays quiet when in doubt); each is listed
MISSED = {"What is the weighting function used?", "What is the similarity score used for?"}


@pytest.mark.parametrize("case", NEGATIVES, ids=lambda c: f"{c['detector']}-"
                         f"{(c.get('question') or c['questions'][0])[:40]}")
def test_precision_no_negative_is_flagged(case: dict[str, Any]) -> None:
    found = _found(case)
    assert not found, [i.message for i in found]


@pytest.mark.parametrize("name", ["truncated", "points_elsewhere", "dangling_reference",
                                  "padded_copy", "template_question"])
def test_recall_on_the_positives(name: str) -> None:
    positives = [c for c in CASES if c["expect"] and c["detector"] == name]
    missed = []
    for case in positives:
        found = _found(case)
        assert all(issue.code == name and issue.message for issue in found)
        if not found:
            missed.append(case.get("question") or case["questions"][0])
    assert set(missed) <= MISSED, missed
    assert len(missed) <= len(positives) // 4, missed


def test_every_detector_has_real_positives_and_negatives() -> None:
    for name in ("truncated", "points_elsewhere", "dangling_reference", "padded_copy",
                 "template_question"):
        mine = [c for c in CASES if c["detector"] == name]
        assert any(c["expect"] for c in mine) and sum(not c["expect"] for c in mine) >= 3, name
        assert any(c["source"].startswith(("qwen", "SmolLM2")) for c in mine), name


def test_only_truncation_and_dangling_references_send_a_pair_to_correction() -> None:
    severities = {
        "truncated": question_issues("How tall is the tower?", "It is 330 metres tall and")[0],
        "dangling": question_issues("What does it return?", "A list.")[0],
        "points": question_issues("Which options are there?", "They are listed below.")[0],
    }
    assert severities["truncated"].severity == "fix"
    assert severities["dangling"].severity == "fix"
    assert severities["points"].severity == "note"
    # a question already flagged as passage-bound is not flagged twice
    codes = [i.code for i in question_issues("What is the main idea of the passage?", "X.")]
    assert "not_standalone" in codes and "dangling_reference" not in codes


def test_flags_reach_the_judge_and_evaluation(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qaforge.cli.refine import refine_command

    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, [
        pair("t1", "What is the height of the Eiffel Tower?", "The tower is 330 metres tall."),
        pair("t2", "What is the height of the Eiffel Tower in feet?",
             "It is about 1,083 feet tall, and"),
        pair("t3", "What is the height of the Eiffel Tower's lattice?",
             "The tower is 330 metres tall, as listed in the following table.")])])
    result = CliRunner().invoke(refine_command, [str(tmp_path), "--judge-backend", "fake",
                                                 "--no-correct"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    by_id = {e["pair_id"]: e for e in evaluation["entries"]}
    codes = {pid: {c["code"]: c["severity"] for c in e["checks"]} for pid, e in by_id.items()}
    assert codes["t1"] == {"template_question": "note"}
    assert codes["t2"]["truncated"] == "fix"
    assert codes["t3"]["points_elsewhere"] == "note"
    assert by_id["t1"]["final_decision"] == "kept"  # a chunk's template does not decide
    # a note about the pair itself keeps the checks judge from calling it Clear
    assert by_id["t3"]["verdict"]["label"] == "Needs Improvement"
    assert "points_elsewhere" in by_id["t3"]["verdict"]["reason"]
    assert by_id["t3"]["final_decision"] == "skipped"
    assert by_id["t2"]["final_decision"] == "skipped"  # a fix, and correction is off
    assert "cut off mid-sentence" in by_id["t2"]["reason"]
    assert evaluation["summary"]["checks"]["template_question"] == 3


def test_check_questions_notes_templates_per_chunk() -> None:
    records = [PairRecord(source_file="f", document="d", chunk_id=cid, pair_id=f"{cid}{i}",
                          chunk_text=EIFFEL, question=f"What is the purpose of thing {i}?",
                          answer="To hold the tower up.")
               for cid in ("a", "b") for i in range(2)]
    check_questions(records)  # two per chunk: below the template bar, even if four in all
    assert not any(i.code == "template_question" for r in records for i in r.issues)
