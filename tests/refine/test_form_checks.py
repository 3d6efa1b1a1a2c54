"""Refine on question forms (issue 18 part 4): each form's checks, the judge's rubric line,
and counts by form in evaluation.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refine_helpers import EIFFEL, chunk, pair, write_doc

from qaforge.config import RefineSettings
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.checks import question_issues
from qaforge.refine.judge import Candidate, Judge
from qaforge.refine.pair_record import PairRecord

TALK = [{"role": "user", "content": "When was the Eiffel Tower completed?"},
        {"role": "assistant", "content": "It was completed in 1889 for the World's Fair."},
        {"role": "user", "content": "How tall is it?"},
        {"role": "assistant", "content": "The tower is 330 metres tall."}]


def codes(question: str, answer: str, form: str, turns: list[dict[str, str]] | None = None
          ) -> set[str]:
    return {i.code for i in question_issues(question, answer, EIFFEL, form, turns)}


def test_summary_is_an_instruction_not_a_question() -> None:
    summary = "The tower was designed by Eiffel's company and completed in 1889."
    assert "summary_not_instruction" not in codes(
        "Summarise how the Eiffel Tower was built.", summary, "summary")
    assert "summary_not_instruction" in codes(
        "What is the history of the Eiffel Tower?", summary, "summary")


def test_yes_no_answer_opens_with_yes_or_no() -> None:
    question = "Was the Eiffel Tower completed in 1889?"
    assert "yes_no_answer" not in codes(question, "Yes. It was completed in 1889.", "yes_no")
    assert "yes_no_answer" in codes(question, "It was completed in 1889.", "yes_no")


def test_yes_no_question_is_one_yes_or_no_can_answer() -> None:
    """The demo model wrote "What is the purpose of X?" -> "No. ..." for most yes/no items."""
    answer = "No. It was completed in 1889."
    for question in ("What is the purpose of the Eiffel Tower?", "How tall is the tower?",
                     "Wann wurde der Turm gebaut?", "Où se trouve la tour ?"):
        assert "yes_no_question" in codes(question, answer, "yes_no"), question
    for question in ("Was the Eiffel Tower completed in 1889?", "Is the tower in Paris?",
                     "Wurde der Turm 1889 fertig?", "Whatever the weather, does it open?",
                     "Est-ce que la tour est à Paris ?", "에펠탑은 파리에 있습니까?"):
        assert "yes_no_question" not in codes(question, answer, "yes_no"), question


def test_fill_in_has_a_blank_and_a_short_answer_and_needs_no_question_mark() -> None:
    good = codes("The Eiffel Tower was completed in ____.", "1889", "fill_in")
    assert not {"fill_in_blank", "fill_in_answer", "not_a_question", "too_short"} & good
    assert "not_a_question" in codes("The Eiffel Tower was completed in ____.", "1889", "qa")
    assert "fill_in_blank" in codes("The Eiffel Tower was completed in 1889.", "1889",
                                    "fill_in")
    assert "fill_in_answer" in codes("The Eiffel Tower was completed in ____.",
                                     "it was completed in the year 1889 for the fair",
                                     "fill_in")


def test_reasoning_answer_explains_in_steps() -> None:
    question = "Why was the Eiffel Tower built in 1889?"
    steps = "1. It was built for the World's Fair.\n2. The fair was in 1889.\nSo 1889."
    assert "reasoning_steps" not in codes(question, steps, "reasoning")
    assert "reasoning_steps" in codes(question, "For the fair", "reasoning")


def test_multi_turn_turns_alternate_and_are_grounded() -> None:
    first, answer = TALK[0]["content"], TALK[1]["content"]
    assert not {"turns_shape", "turn_not_grounded"} & codes(first, answer, "multi_turn", TALK)
    assert "turns_shape" in codes(first, answer, "multi_turn", TALK[:2])
    assert "turns_shape" in codes(first, answer, "multi_turn", [TALK[0], *TALK[2:], TALK[1]])
    made_up = [*TALK[:3], {"role": "assistant", "content": "Penguins live in Antarctica."}]
    assert "turn_not_grounded" in codes(first, answer, "multi_turn", made_up)


def test_judge_sees_the_forms_rubric_and_a_conversations_later_turns() -> None:
    judge = Judge(FakeBackend())

    def prompt(**fields: Any) -> str:
        record = PairRecord(source_file="f.json", document="d.pdf", chunk_id="c", pair_id="p",
                            chunk_text=EIFFEL, question=TALK[0]["content"],
                            answer=TALK[1]["content"], **fields)
        request = judge.request(Candidate(record, record.question, record.answer))
        return request.messages[-1]["content"]

    plain = prompt()
    assert "form" not in plain.split("Automatic checks")[-1]
    talk = prompt(form="multi_turn", turns=TALK)
    assert "'multi_turn'" in talk and "2-3 exchanges" in talk
    assert "User: How tall is it?" in talk and "Assistant: The tower is 330" in talk
    assert "starts with Yes or No" in prompt(form="yes_no")


def test_refine_counts_by_form_and_writes_conversations(tmp_path: Path) -> None:
    pairs = [pair("q1", "Who designed the Eiffel Tower?",
                  "The engineering company of Gustave Eiffel designed it."),
             {**pair("q2", "Was the Eiffel Tower completed in 1889?",
                     "Yes. The Eiffel Tower was completed in 1889 for the World's Fair."),
              "form": "yes_no"},
             {**pair("q3", TALK[0]["content"], TALK[1]["content"]), "form": "multi_turn",
              "turns": TALK},
             {**pair("q4", "The Eiffel Tower was completed in 1889.", "1889"),
              "form": "fill_in"}]
    write_doc(tmp_path, "tower.pdf", [chunk(EIFFEL, pairs)])
    summary = refine_workdir(tmp_path, judge=FakeBackend(), settings=RefineSettings())
    evaluation = json.loads(summary.evaluation_path.read_text("utf-8"))
    assert evaluation["summary"]["forms"] == {
        "qa": {"pairs_in": 1, "dataset_rows": 1},
        "yes_no": {"pairs_in": 1, "dataset_rows": 1},
        "multi_turn": {"pairs_in": 1, "dataset_rows": 1},
        "fill_in": {"pairs_in": 1, "dataset_rows": 0}}
    assert summary.forms["fill_in"] == {"pairs_in": 1, "dataset_rows": 0}
    assert ("pairs in / rows by form",
            "qa 1/1, yes_no 1/1, multi_turn 1/1, fill_in 1/0") in summary.rows()
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert entries["q4"]["form"] == "fill_in"
    assert "fill_in_blank" in {c["code"] for c in entries["q4"]["checks"]}
    assert entries["q3"]["turns"] == TALK
    rows = [json.loads(line) for line in summary.dataset_path.read_text("utf-8").splitlines()]
    by_id = {row["id"]: row for row in rows}
    assert by_id["q3"]["messages"] == TALK and by_id["q3"]["form"] == "multi_turn"
    assert "form" not in by_id["q1"]


def test_one_fact_in_two_forms_is_no_duplicate() -> None:
    from qaforge.refine.dedup import deduplicate

    def record(pid: str, form: str) -> PairRecord:
        return PairRecord(source_file="f.json", document="d.pdf", chunk_id="c", pair_id=pid,
                          chunk_text=EIFFEL, question=TALK[0]["content"],
                          answer=TALK[1]["content"], form=form)

    records = deduplicate([record("a", "qa"), record("b", "multi_turn"), record("c", "qa")])
    assert [r.decision for r in records] == ["pending", "pending", "duplicate"]
