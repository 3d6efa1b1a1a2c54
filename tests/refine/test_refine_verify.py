"""The judge's checks method: the model answers the question from the passage, and the label
follows from how the answers compare and from the deterministic findings."""

from __future__ import annotations

import json
from pathlib import Path

from refine_helpers import EIFFEL, chunk, pair, prompt_pair, write_doc

from qaforge.config import RefineSettings
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.judge import Judge
from qaforge.refine.pair_record import Issue, PairRecord
from qaforge.refine.verify import ANSWER_SCHEMA, compare_answers, label_from_checks

QUESTION = "Who designed the Eiffel Tower?"
ANSWER = "It was designed by the engineering company of Gustave Eiffel."


def record(question: str = QUESTION, answer: str = ANSWER) -> PairRecord:
    return PairRecord(source_file="output_json/a_suggestions.json", document="a.pdf",
                      chunk_id="c-1", chunk_text=EIFFEL, pair_id="q-1", question=question,
                      answer=answer)


def answering(answers: dict[str, str]) -> FakeBackend:
    """A fake judge that answers the answer check with ``answers[question]`` (by the
    request's structured pair, never the prompt's wording)."""
    def reply(request: ChatRequest) -> str:
        assert request.schema == ANSWER_SCHEMA
        return json.dumps({"answer": answers[prompt_pair(request)[0]]})
    return FakeBackend(reply)


def test_the_request_sends_the_passage_and_question_but_not_the_answer() -> None:
    model = answering({QUESTION: "The engineering company of Gustave Eiffel."})
    Judge(model)([record()])
    request = model.history[0]
    prompt = request.messages[-1]["content"]
    assert EIFFEL in prompt and QUESTION in prompt
    assert ANSWER not in prompt  # the model answers blind to the pair's answer
    assert request.schema == ANSWER_SCHEMA and request.passage == EIFFEL
    assert request.tag == "check-answer:q-1"


def test_an_agreeing_answer_is_clear_and_the_figures_are_kept() -> None:
    rec = record()
    Judge(answering({QUESTION: "The engineering company of Gustave Eiffel."}))([rec])
    assert rec.verdict is not None and rec.verdict.label == "Clear"
    checks = rec.verdict.checks or {}
    assert checks["containment"] == 1.0 and 0.5 < checks["agreement"] < 1.0
    assert checks["model_answer"] == "The engineering company of Gustave Eiffel."
    assert rec.verdict.fix is None and rec.verdict.clarity is None


def test_an_answer_the_passage_does_not_give_is_unclear() -> None:
    rec = record(answer="It was designed by Le Corbusier in 1920.")
    Judge(answering({QUESTION: "The engineering company of Gustave Eiffel."}))([rec])
    assert rec.verdict is not None and rec.verdict.label == "Unclear"
    assert rec.verdict.fix == "answer" and "pair's answer" in rec.verdict.reason

    rec = record(question="What colour is the Eiffel Tower?", answer="It is red.")
    Judge(answering({"What colour is the Eiffel Tower?": "Not stated."}))([rec])
    assert rec.verdict is not None and rec.verdict.label == "Unclear"
    assert "not stated" in rec.verdict.reason


def test_a_judge_answer_that_only_repeats_the_question_says_the_passage_lacks_it() -> None:
    question = "What is the name of the GLARF converter used?"
    answer = "The current GLARF converter gives about 75% F-score."
    measures = compare_answers("GLARF converter", answer, question)
    assert measures["repeats_question"] and measures["containment"] == 0.0
    label, reason, fix = label_from_checks(measures, [])
    assert (label, fix) == ("Unclear", "answer") and "repeat the question" in reason
    # the same words count when they answer: only the question's own words are left out
    named = compare_answers("The GLARF converter is called Glarfer.", "It is called Glarfer.",
                            question)
    assert not named["repeats_question"] and named["containment"] == 1.0


def test_a_number_the_passage_does_not_give_is_unclear_even_with_words_in_common() -> None:
    measures = compare_answers("330 metres.", "It is 1,200 metres tall.")
    assert measures["containment"] == 0.5 and measures["numbers_differ"]
    assert label_from_checks(measures, [])[0] == "Unclear"
    same = compare_answers("1200 metres.", "The tower is 1,200 metres high.")
    assert not same["numbers_differ"] and label_from_checks(same, [])[0] == "Clear"
    words = compare_answers("Gustave Eiffel's company.", "Built in 1889 by Eiffel.")
    assert not words["numbers_differ"]  # only one side has numbers: nothing to compare


def test_a_yes_no_pair_is_compared_by_its_verdict() -> None:
    # what the 1.5B judge answered for its own yes/no items in bench_forms.py
    question, answer = "Is R case sensitive?", "Yes. R is case sensitive as are most UNIX tools."
    assert label_from_checks(compare_answers("Yes", answer, question), [])[0] == "Unclear"
    same = compare_answers("Yes", answer, question, form="yes_no")
    assert same["verdicts"] == ["yes", "yes"] and not same["verdicts_differ"]
    assert label_from_checks(same, [])[0] == "Clear"
    other = compare_answers("No, it is not.", answer, question, form="yes_no")
    label, reason, fix = label_from_checks(other, [])
    assert (label, fix) == ("Unclear", "answer") and "'no' where the pair says 'yes'" in reason
    # no verdict in the judge's answer, or "not stated": compared as any other answer
    assert "verdicts" not in compare_answers("R is case sensitive.", answer, question,
                                             form="yes_no")
    assert compare_answers("Not stated.", answer, question, form="yes_no")["not_stated"]


def test_a_fixable_defect_with_an_agreeing_answer_needs_improvement() -> None:
    dangling = Issue(code="dangling_reference", message="leans on the passage")
    label, reason, fix = label_from_checks(
        compare_answers("Gustave Eiffel's company.", ANSWER), [dangling])
    assert (label, fix) == ("Needs Improvement", "question") and "dangling_reference" in reason
    cut = Issue(code="truncated", message="cut off", target="answer")
    assert label_from_checks(compare_answers("Gustave Eiffel's company.", ANSWER),
                             [cut])[::2] == ("Needs Improvement", "answer")
    # a cut-off answer misses part of the judge's: still fixable, not unsalvageable
    measures = compare_answers("It was designed by the engineering company of Gustave "
                               "Eiffel.", "It was designed by the", QUESTION)
    assert measures["containment"] < 0.5
    assert label_from_checks(measures, [cut])[::2] == ("Needs Improvement", "answer")
    assert label_from_checks(measures, [])[0] == "Unclear"
    # notes (they only inform the rubric judge) keep a pair from Clear here
    note = Issue(code="points_elsewhere", message="see the table", target="answer",
                 severity="note")
    assert label_from_checks(compare_answers("Gustave Eiffel's company.", ANSWER),
                             [note])[::2] == ("Needs Improvement", "answer")
    template = Issue(code="template_question", message="same template", severity="note")
    assert label_from_checks(compare_answers("Gustave Eiffel's company.", ANSWER),
                             [template])[0] == "Clear"  # about the chunk's set, not the pair


def test_refine_keeps_agreeing_pairs_and_corrects_the_half_the_checks_name(
        tmp_path: Path) -> None:
    wrong_q = "How tall is the Eiffel Tower?"
    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, [
        pair("good", QUESTION, ANSWER),
        pair("wrong", wrong_q, "It is 120 metres tall.")])])
    fixed = "The Eiffel Tower is 330 metres tall."
    corrections: list[str] = []

    def reply(request: ChatRequest) -> str:
        question = prompt_pair(request)[0]
        if request.schema == ANSWER_SCHEMA:
            return json.dumps({"answer": "330 metres." if question == wrong_q
                               else "The engineering company of Gustave Eiffel."})
        corrections.append(question)
        return json.dumps({"question": question, "answer": fixed})

    refine_workdir(tmp_path, judge=FakeBackend(reply), settings=RefineSettings())
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert entries["good"]["final_decision"] == "kept"
    assert entries["good"]["verdict"]["checks"]["containment"] == 1.0
    wrong = entries["wrong"]
    assert wrong["verdict"]["label"] == "Unclear" and wrong["verdict"]["fix"] == "answer"
    assert corrections == [wrong_q]
    # the rewrite (answer replaced) is checked again, agrees, and goes in
    assert wrong["final_decision"] == "corrected"
    assert wrong["corrected_messages"][1]["content"] == fixed
    assert evaluation["summary"]["prompts"]["judge"] == "check_answer/v2"
