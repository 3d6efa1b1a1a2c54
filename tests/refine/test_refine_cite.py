"""The judge's cite method: the model names the passage's sentences that answer the question,
and the pair's answer must rest on them."""

from __future__ import annotations

import json
from pathlib import Path

from refine_helpers import EIFFEL, chunk, pair, prompt_pair, write_doc

from qaforge.config import RefineSettings
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.correct import problems_for
from qaforge.refine.judge import Judge
from qaforge.refine.pair_record import Issue, PairRecord
from qaforge.refine.verify import label_from_checks

QUESTION = "Who designed the Eiffel Tower?"
ANSWER = "It was designed by the engineering company of Gustave Eiffel."
#: EIFFEL's sentences as the cite prompt numbers them
DESIGNED, TALL = 2, 3
OTHER = "Which engineering company was behind the Eiffel Tower?"


def record(question: str = QUESTION, answer: str = ANSWER) -> PairRecord:
    return PairRecord(source_file="output_json/a_suggestions.json", document="a.pdf",
                      chunk_id="c-1", chunk_text=EIFFEL, pair_id="q-1", question=question,
                      answer=answer)


def citing(cited: dict[str, list[int]]) -> FakeBackend:
    """A fake judge that cites ``cited[question]`` (by the request's structured pair)."""
    def reply(request: ChatRequest) -> str:
        assert set(request.schema["properties"]) == {"sentences"}
        return json.dumps({"sentences": cited[prompt_pair(request)[0]]})
    return FakeBackend(reply)


def test_the_request_numbers_the_sentences_and_bounds_the_reply_to_them() -> None:
    model = citing({QUESTION: [DESIGNED]})
    Judge(model, method="cite")([record()])
    request = model.history[0]
    prompt = request.messages[-1]["content"]
    assert "[1] The Eiffel Tower is a wrought-iron lattice tower" in prompt
    assert "[2] It was designed by the engineering company" in prompt
    assert "[4] " not in prompt and QUESTION in prompt
    assert ANSWER not in prompt  # the model cites blind to the pair's answer
    items = request.schema["properties"]["sentences"]
    assert items["items"]["maximum"] == 3 and items["maxItems"] == 3
    assert request.tag == "check-source:q-1" and request.passage == EIFFEL


def test_an_answer_resting_on_the_cited_sentence_is_clear_with_the_figures_kept() -> None:
    rec = record()
    Judge(citing({QUESTION: [DESIGNED]}), method="cite")([rec])
    assert rec.verdict is not None and rec.verdict.label == "Clear"
    assert rec.verdict.prompt == "check_source/v1"
    checks = rec.verdict.checks or {}
    assert checks["cited"] == [DESIGNED] and checks["support"] == 1.0
    assert checks["cited_text"].startswith("It was designed by")


def test_an_answer_from_another_sentence_is_unclear() -> None:
    # true to the passage, but not where the passage answers the question
    rec = record(answer="It is a wrought-iron lattice tower on the Champ de Mars.")
    Judge(citing({QUESTION: [DESIGNED]}), method="cite")([rec])
    assert rec.verdict is not None and rec.verdict.label == "Unclear"
    assert rec.verdict.fix == "answer" and "hold only" in rec.verdict.reason


def test_no_sentence_or_only_numbers_out_of_range_means_not_stated() -> None:
    for cited in ([], [0, 9]):
        rec = record()
        Judge(citing({QUESTION: cited}), method="cite")([rec])
        assert rec.verdict is not None and rec.verdict.label == "Unclear"
        assert (rec.verdict.checks or {})["not_stated"] is True
        assert "no sentence" in rec.verdict.reason


def test_a_number_the_cited_sentences_do_not_give_is_unclear() -> None:
    question = "How tall is the Eiffel Tower?"
    rec = record(question, "The Eiffel Tower is 320 metres tall.")
    Judge(citing({question: [TALL]}), method="cite")([rec])
    assert rec.verdict is not None and rec.verdict.label == "Unclear"
    assert (rec.verdict.checks or {})["numbers_unsupported"] == ["320"]


def test_a_fixable_defect_on_a_supported_answer_needs_improvement() -> None:
    issue = Issue(code="passage_dependent", target="question", severity="fix",
                  message="the question relies on the passage")
    label, reason, fix = label_from_checks(
        {"cited": [2], "not_stated": False, "support": 1.0, "numbers_unsupported": []}, [issue])
    assert (label, fix) == ("Needs Improvement", "question")
    assert reason.startswith("the answer rests on the sentences the judge cites")


def test_the_corrector_is_shown_the_cited_sentences() -> None:
    rec = record(answer="The tower is 330 metres tall.")
    Judge(citing({QUESTION: [DESIGNED]}), method="cite")([rec])
    problems = problems_for(rec, 0.5)
    assert any("the passage answers it here: It was designed by" in p for p in problems)


def test_refine_with_the_cite_method_keeps_supported_pairs_and_records_the_prompt(
        tmp_path: Path) -> None:
    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, [
        pair("good", QUESTION, ANSWER),
        pair("wrong", OTHER, "It is a wrought-iron lattice tower in Paris.")])])
    refine_workdir(tmp_path, judge=citing({QUESTION: [DESIGNED], OTHER: [DESIGNED]}),
                   settings=RefineSettings(judge_method="cite", correct=False))
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert entries["good"]["final_decision"] == "kept"
    assert entries["wrong"]["verdict"]["label"] == "Unclear"
    assert entries["wrong"]["final_decision"] != "kept"
    assert evaluation["summary"]["prompts"]["judge"] == "check_source/v1"


def test_the_fake_backend_cites_from_the_schema_and_the_pair() -> None:
    # no script: the default fake finds the sentences that share words with the answer
    rec = record()
    Judge(FakeBackend(), method="cite")([rec])
    assert rec.verdict is not None and (rec.verdict.checks or {})["cited"] == [DESIGNED]
    assert rec.verdict.label == "Clear"


def both(answers: dict[str, str], cited: dict[str, list[int]]) -> FakeBackend:
    """A fake judge for the strict method: the answer check answers ``answers[question]``,
    the cite check cites ``cited[question]`` (told apart by their schemas)."""
    def reply(request: ChatRequest) -> str:
        question = prompt_pair(request)[0]
        if set(request.schema["properties"]) == {"sentences"}:
            return json.dumps({"sentences": cited[question]})
        return json.dumps({"answer": answers[question]})
    return FakeBackend(reply)


def test_strict_is_clear_only_when_both_checks_are() -> None:
    agrees = {QUESTION: "The engineering company of Gustave Eiffel."}
    good = record()
    Judge(both(agrees, {QUESTION: [DESIGNED]}), method="strict")([good])
    assert good.verdict is not None and good.verdict.label == "Clear"
    checks = good.verdict.checks or {}
    assert checks["containment"] == 1.0 and checks["cite"]["cited"] == [DESIGNED]
    assert good.verdict.prompt == "check_answer/v2+check_source/v1"
    # the answer check agrees, but the passage answers the question elsewhere
    elsewhere = record()
    Judge(both(agrees, {QUESTION: [TALL]}), method="strict")([elsewhere])
    assert elsewhere.verdict is not None and elsewhere.verdict.label == "Unclear"
    assert "hold only" in elsewhere.verdict.reason
    # and the other way round: the cite check is satisfied, the answer check is not
    disagrees = record()
    Judge(both({QUESTION: "not stated"}, {QUESTION: [DESIGNED]}), method="strict")([disagrees])
    assert disagrees.verdict is not None and disagrees.verdict.label == "Unclear"
    assert "not stated" in disagrees.verdict.reason


def test_strict_reports_progress_over_both_checks() -> None:
    seen: list[tuple[int, int]] = []
    judge = Judge(both({QUESTION: "Gustave Eiffel's company."}, {QUESTION: [DESIGNED]}),
                  method="strict", progress=lambda _stage, done, total: seen.append((done, total)))
    judge([record(), record(answer="The company of Gustave Eiffel designed it.")])
    assert seen[-1] == (4, 4) and judge.calls == 4
