"""What the corrector asks for (correct/v3): only a question when only the question is
wrong, and the problems without the judge's label, with its own answer from the passage."""

from __future__ import annotations

import json
from pathlib import Path

from refine_helpers import EIFFEL, chunk, pair, write_doc

from qaforge.config import RefineSettings
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.correct import QUESTION_SCHEMA, problems_for
from qaforge.refine.pair_record import Issue, PairRecord, Verdict

DANGLING_Q = "What does the paper say about the height of the tower?"
STANDALONE_Q = "How tall is the Eiffel Tower?"
WRONG_Q = "When was the Eiffel Tower completed?"


def reply(request: ChatRequest) -> str:
    """The judge answers from the passage; the corrector answers from the schema it gets."""
    properties = (request.schema or {}).get("properties", {})
    question, _ = request.pair or ("", "")
    if set(properties) == {"answer"}:  # the judge's answer check
        return json.dumps({"answer": {WRONG_Q: "It was completed in 1889.",
                                      STANDALONE_Q: "It is 330 metres tall."}.get(
                                          question, "The tower is 330 metres tall.")})
    if set(properties) == {"question"}:
        return json.dumps({"question": STANDALONE_Q})
    return json.dumps({"question": WRONG_Q, "answer": "It was completed in 1889."})


def test_a_question_only_rewrite_asks_for_the_question_alone(tmp_path: Path) -> None:
    write_doc(tmp_path, "eiffel.pdf", [chunk(EIFFEL, [
        pair("dangling", DANGLING_Q, "The tower is 330 metres tall."),
        pair("wrong", WRONG_Q, "It was completed in 1925.")])])
    backend = FakeBackend(reply)
    refine_workdir(tmp_path, judge=backend, settings=RefineSettings())
    rewrites = [r for r in backend.history if "question" in (r.schema or {}).get("properties", {})]
    by_question = {r.pair[0]: r for r in rewrites if r.pair}
    assert by_question[DANGLING_Q].schema == QUESTION_SCHEMA
    assert by_question[DANGLING_Q].max_tokens <= 100
    assert set(by_question[WRONG_Q].schema["properties"]) == {"question", "answer"}
    text = by_question[WRONG_Q].messages[-1]["content"]
    assert "answering from the passage gives: It was completed in 1889." in text
    assert "judged" not in text and "Unclear" not in text
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert entries["dangling"]["final_decision"] == "corrected"
    assert entries["dangling"]["corrected_messages"][1]["content"] == (
        "The tower is 330 metres tall.")
    assert entries["wrong"]["final_decision"] == "corrected"
    assert entries["wrong"]["corrected_messages"][1]["content"] == "It was completed in 1889."


def record(**fields: object) -> PairRecord:
    base = {"pair_id": "p", "question": "Q?", "answer": "A.", "chunk_text": EIFFEL,
            "chunk_id": "c", "source_file": "f.json", "document": "d.pdf"}
    return PairRecord.model_validate({**base, **fields})


def test_problems_name_what_is_wrong_one_a_line() -> None:
    issue = Issue(code="dangling_reference", severity="fix", target="question",
                  message="the question leans on the passage ('the paper')")
    not_stated = Verdict(label="Unclear", reason="not stated", fix="answer",
                         checks={"not_stated": True, "model_answer": "not stated"})
    assert problems_for(record(issues=[issue], verdict=not_stated), 0.5) == [
        "the question leans on the passage ('the paper')",
        "the passage does not answer this question: ask one it answers, about the same "
        "subject"]
    rubric = Verdict(label="Needs Improvement", reason="too vague", clarity=2)
    assert problems_for(record(verdict=rubric), 0.5) == ["too vague"]
    advisory = Verdict(label="Unclear", reason="same score", advisory=True)
    assert problems_for(record(verdict=advisory), 0.5) == ["unclear"]
