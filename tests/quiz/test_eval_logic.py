"""``qaforge eval``'s logic in-process: the requests each model gets, the deterministic
scores, the judge's grades, a person's review of the quiz, and the summaries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from quiz_helpers import EIFFEL, NILE, item, quiz_script, write_workdir

from qaforge.llm.base import ChatRequest, LLMError
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.quiz import (
    QuizSettings,
    ask,
    build_quiz,
    comparison_rows,
    evaluate_workdir,
    grade,
    load_reviewed_quiz,
    token_f1,
)
from qaforge.quiz.evaluate import deterministic_score
from qaforge.quiz.items import QuizItem, control_items

SCRIPT = {
    "Eiffel": [item("short", "In which year was the Eiffel Tower completed?", "1889",
                    "completed in 1889 for the World's Fair."),
               item("yesno", "Is the Eiffel Tower in Paris?", "yes",
                    "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars "
                    "in Paris.")],
    "Nile": [item("fill", "The Nile is about ____ kilometres long.", "6,650",
                  "It flows into the Mediterranean Sea and is about 6,650 kilometres long.")],
}


def quiz_workdir(tmp_path: Path, control: int = 2) -> Path:
    workdir = write_workdir(tmp_path / "work")
    build_quiz(workdir, FakeBackend(quiz_script(SCRIPT)), QuizSettings(control=control))
    return workdir


def test_token_f1_is_squad_style() -> None:
    assert token_f1("The Pacific Ocean", "Pacific ocean.") == (1.0, 1.0)
    f1, recall = token_f1("It was completed in 1889", "1889")
    assert recall == 1.0 and f1 == pytest.approx(2 * 0.2 / 1.2)  # 1 of 5 words
    assert token_f1("Paris", "Tokyo") == (0.0, 0.0)
    assert token_f1("", "Tokyo") == (0.0, 0.0)
    yesno = QuizItem(id="x", form="yesno", question="Is it?", answer="No")
    assert deterministic_score(yesno, "No, it is not.") == (1.0, 1.0)
    assert deterministic_score(yesno, "Yes. No doubt.") == (0.0, 0.0)


def test_closed_book_is_the_question_alone_and_open_book_adds_the_passage(
        tmp_path: Path) -> None:
    workdir = quiz_workdir(tmp_path)
    items, _, _ = load_reviewed_quiz(workdir)
    model = FakeBackend()
    answers = ask(model, items, "m")
    requests = {r.tag: r for r in model.history}
    documents = [i for i in items if i.kind == "document"]
    assert len(model.history) == 2 * len(documents) + 2  # control: closed-book only
    for quiz_item in documents:
        closed = requests[f"eval-answer:closed:{quiz_item.id}"]
        assert closed.schema is None and len(closed.messages) == 1
        content = closed.messages[0]["content"]
        assert quiz_item.question in content and quiz_item.chunk_text not in content
        assert "passage" not in content.lower()
        opened = requests[f"eval-answer:open:{quiz_item.id}"].messages[0]["content"]
        assert quiz_item.chunk_text in opened and quiz_item.question in opened
    fill = next(i for i in documents if i.form == "fill")
    assert requests[f"eval-answer:closed:{fill.id}"].messages[0]["content"].startswith(
        "Fill in the blank")
    by_key = {(a.item_id, a.mode): a for a in answers.answers}
    assert by_key[(fill.id, "closed")].text == "I do not know."
    assert by_key[(fill.id, "open")].recall == 1.0  # the fake repeats the passage


def test_judge_grades_with_the_reference_and_failures_stay_ungraded(tmp_path: Path) -> None:
    workdir = quiz_workdir(tmp_path, control=0)
    items, _, _ = load_reviewed_quiz(workdir)

    def model(request: ChatRequest) -> str:
        return "" if "Nile" in request.messages[0]["content"] else "1889, in Paris. Yes."

    answers = ask(FakeBackend(model), items, "m", modes=("closed",))

    def judge_script(request: ChatRequest) -> str | BaseException:
        text = request.messages[-1]["content"]
        if "Is the Eiffel Tower in Paris?" in text:
            return LLMError("judge down")
        return echo_pairs(request)

    judge = FakeBackend(judge_script)
    failures = grade(judge, items, [answers])
    graded = {next(i.form for i in items if i.id == a.item_id): a for a in answers.answers}
    assert failures == 1 and graded["yesno"].grade is None
    assert graded["yesno"].grade_error is not None and graded["yesno"].score is None
    assert graded["short"].grade == "yes"
    assert graded["fill"].grade == "no" and graded["fill"].reason == "no answer"
    prompts = [r.messages[-1]["content"] for r in judge.history]
    assert all("Reference answer:" in p and "<answer>" in p for p in prompts)
    assert not any("Nile" in p for p in prompts)  # an empty answer costs no judge call


def test_a_persons_review_of_the_quiz_decides_what_is_asked(tmp_path: Path) -> None:
    workdir = quiz_workdir(tmp_path, control=2)
    review = workdir / "quiz" / "output_json"
    eiffel = json.loads((review / "eiffel_suggestions.json").read_text(encoding="utf-8"))
    pairs = eiffel["chunks"][0]["suggestions"]
    assert [p["form"] for p in pairs] == ["short", "yesno"]
    pairs[0]["status"], pairs[0]["answer"] = "edited", "In 1889"
    pairs[1]["status"] = "rejected"
    pairs.append({"id": "q-mine", "question": "Who designed the Eiffel Tower's company?",
                  "answer": "Gustave Eiffel", "status": "accepted"})
    (review / "eiffel_suggestions.json").write_text(json.dumps(eiffel), encoding="utf-8")
    control = json.loads((review / "_control_suggestions.json").read_text(encoding="utf-8"))
    del control["chunks"][0]["suggestions"][0]
    (review / "_control_suggestions.json").write_text(json.dumps(control), encoding="utf-8")

    items, counts, warnings = load_reviewed_quiz(workdir)
    assert counts == {"rejected": 1, "deleted": 1, "edited": 1, "added": 1} and not warnings
    questions = {i.question: i for i in items}
    assert questions["In which year was the Eiffel Tower completed?"].answer == "In 1889"
    assert "Is the Eiffel Tower in Paris?" not in questions
    added = questions["Who designed the Eiffel Tower's company?"]
    assert added.origin == "review" and added.chunk_text == EIFFEL
    assert added.document == "eiffel.pdf"
    assert [i.question for i in items if i.kind == "control"] == [control_items()[1].question]
    assert questions["The Nile is about ____ kilometres long."].chunk_text == NILE


def test_eval_json_summarises_each_model_and_compares_them(tmp_path: Path) -> None:
    workdir = quiz_workdir(tmp_path, control=2)

    def knows(request: ChatRequest) -> str:
        return "It was completed in 1889."

    run = evaluate_workdir(workdir, [("base", lambda: FakeBackend(model="base")),
                                     ("tuned", lambda: FakeBackend(knows, model="tuned"))],
                           lambda: FakeBackend(model="judge"))
    document = json.loads(run.path.read_text(encoding="utf-8"))
    assert document == json.loads(json.dumps(run.document))
    assert [m["label"] for m in document["models"]] == ["base", "tuned"]
    assert document["judge"]["prompt"] == "grade/v1" and document["ask"] == "ask/v1"
    base, tuned = (m["summary"] for m in document["models"])
    assert base["closed"]["accuracy"] == 0.0 and base["open"]["accuracy"] == 1.0
    assert tuned["closed"]["accuracy"] == pytest.approx(1 / 3, abs=1e-4)  # the 1889 one
    assert set(base["per_document"]) == {"eiffel.pdf", "nile.pdf"}
    assert set(base["per_form"]) == {"short", "yesno", "fill"}
    assert base["control"]["n"] == 2 and set(base["per_form"]["fill"]) == {"closed", "open"}
    assert document["quiz"]["documents"] == 3 and document["quiz"]["control"] == 2
    entry = document["items"][0]
    assert set(entry["results"]) == {"base", "tuned"}
    assert set(entry["results"]["base"]) == {"closed", "open"}
    assert entry["closest_training"]["similarity"] > 0
    header, rows = comparison_rows(document)
    assert header == ["", "base", "tuned", "tuned - base"]
    closed = next(r for r in rows if r[0] == "closed-book")
    assert closed[3] == "+33 pts" and closed[1].startswith("0% (F1")


def test_model_specs_name_label_backend_model_and_server() -> None:
    from qaforge.cli.eval import parse_model_spec
    from qaforge.config import LLMSettings
    from qaforge.errors import ConfigError

    default = LLMSettings(concurrency=2)
    label, spec = parse_model_spec("tuned=openai:my-ft@http://127.0.0.1:8000/v1", default)
    assert (label, spec.backend, spec.model, spec.base_urls) == (
        "tuned", "openai", "my-ft", ["http://127.0.0.1:8000/v1"])
    assert spec.concurrency == 2  # the rest comes from [llm]
    label, spec = parse_model_spec("/models/a=b.gguf", default)
    assert (label, spec.backend, spec.model) == ("/models/a=b.gguf", "llamacpp",
                                                 "/models/a=b.gguf")
    label, spec = parse_model_spec("base=transformers:out/lora", default)
    assert (label, spec.backend, spec.model) == ("base", "transformers", "out/lora")
    with pytest.raises(ConfigError, match="no model named"):
        parse_model_spec("x=llamacpp:", default)


def test_grades_the_token_scores_contradict_are_counted(tmp_path: Path) -> None:
    from qaforge.quiz import summarise

    workdir = quiz_workdir(tmp_path, control=0)
    items, _, _ = load_reviewed_quiz(workdir)
    answers = ask(FakeBackend(lambda r: "Venus, I think."), items, "m", modes=("closed",))
    lenient = FakeBackend([json.dumps({"correct": "partial", "reason": "close enough"})])
    grade(lenient, items, [answers])
    assert all(a.disagrees for a in answers.answers)  # no reference word in any answer
    summary = summarise(items, answers)
    assert summary["closed"]["judge_disagrees"] == 3 and summary["closed"]["accuracy"] == 0.5
    exact = ask(FakeBackend(lambda r: "1889"), items[:1], "m", modes=("closed",))
    grade(FakeBackend([json.dumps({"correct": "no", "reason": "strict"})]), items, [exact])
    assert exact.answers[0].f1 == 1.0 and exact.answers[0].disagrees
