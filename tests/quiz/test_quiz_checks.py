"""The quiz's checks, with a scripted writer over real suggestions files: what is kept,
what is dropped and why, and the near-duplicate check against the training questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from quiz_helpers import DATASET_ONLY, EIFFEL, NILE, chunk_id, item, quiz_script, write_workdir

from qaforge.errors import InputError
from qaforge.llm.fake import FakeBackend
from qaforge.prompts import load_prompt
from qaforge.quiz import QuizSettings, build_quiz, read_quiz
from qaforge.quiz.make import TrainingQuestions

EIFFEL_ITEMS = [
    # kept: a new question, evidence copied from the chunk
    item("short", "In which year was the Eiffel Tower completed?", "1889",
         "It was designed by the engineering company of Gustave Eiffel and completed in "
         "1889 for the World's Fair."),
    # dropped: nearly the training question "How tall is the Eiffel Tower?"
    item("short", "How tall is the Eiffel tower?", "330 metres",
         "The tower is 330 metres tall and was the tallest man-made structure"),
    # dropped: the evidence is not in the chunk
    item("yesno", "Is the Eiffel Tower made of steel?", "Yes",
         "The Eiffel Tower is built from modern stainless steel beams."),
    # dropped: refers to a passage the model under test never sees
    item("short", "According to the passage, where is the tower?", "On the Champ de Mars",
         "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris."),
]
NILE_ITEMS = [
    # kept: fill-in with a blank, answer in its evidence
    item("fill", "The Nile is about ____ kilometres long.", "6,650",
         "It flows into the Mediterranean Sea and is about 6,650 kilometres long."),
    # dropped: a question only the dataset (cleaned_finetune.jsonl) holds
    item("short", "Where do the White Nile and the Blue Nile meet?", "At Khartoum",
         "The Nile has two major tributaries, the White Nile and the Blue Nile, which meet "
         "at Khartoum in Sudan."),
    # dropped: a fill-in item without a blank; a yes/no item answered "maybe"
    item("fill", "The Nile flows north.", "north",
         "The Nile is a major north-flowing river in northeastern Africa."),
    item("yesno", "Does the Nile flow into the Red Sea?", "Maybe",
         "It flows into the Mediterranean Sea and is about 6,650 kilometres long."),
]


def make(tmp_path: Path, **settings: object) -> tuple[Path, dict[str, object]]:
    workdir = write_workdir(tmp_path / "work")
    client = FakeBackend(quiz_script({"Eiffel": EIFFEL_ITEMS, "Nile": NILE_ITEMS}))
    build_quiz(workdir, client, QuizSettings(per_chunk=4, control=2, **settings))  # type: ignore[arg-type]
    report = json.loads((workdir / "quiz" / "report.json").read_text(encoding="utf-8"))
    return workdir, report


def test_checks_keep_grounded_new_questions_and_say_why_others_went(tmp_path: Path) -> None:
    workdir, report = make(tmp_path)
    items = read_quiz(workdir / "quiz.jsonl")
    documents = [i for i in items if i.kind == "document"]
    assert [(i.form, i.question) for i in documents] == [
        ("short", "In which year was the Eiffel Tower completed?"),
        ("fill", "The Nile is about ____ kilometres long.")]
    first = documents[0]
    assert first.chunk_id == chunk_id(EIFFEL) and first.chunk_text == EIFFEL
    assert first.evidence in EIFFEL and first.grounding == 1.0
    assert first.origin.startswith("quiz/v2 fake:")
    assert documents[1].document == "nile.pdf" and documents[1].chunk_text == NILE
    assert sum(1 for i in items if i.kind == "control") == 2
    reasons = {d["question"]: (d["code"], d["reason"]) for d in report["dropped"]}
    assert reasons["How tall is the Eiffel tower?"][0] == "near_duplicate"
    assert "How tall is the Eiffel Tower?" in reasons["How tall is the Eiffel tower?"][1]
    assert reasons[DATASET_ONLY][0] == "near_duplicate"
    assert reasons["Is the Eiffel Tower made of steel?"][0] == "ungrounded"
    assert reasons["According to the passage, where is the tower?"][0] == "question"
    assert reasons["The Nile flows north."][0] == "form"
    assert reasons["Does the Nile flow into the Red Sea?"][0] == "form"
    assert report["dropped_by_reason"] == {"near_duplicate": 2, "ungrounded": 1,
                                           "question": 1, "form": 2}


def test_every_item_records_its_closest_training_question(tmp_path: Path) -> None:
    workdir, report = make(tmp_path)
    documents = [i for i in read_quiz(workdir / "quiz.jsonl") if i.kind == "document"]
    for quiz_item in documents:
        neighbour = quiz_item.closest_training
        assert neighbour is not None and 0.0 < neighbour.similarity < 0.8
    assert documents[0].closest_training is not None
    assert documents[0].closest_training.where == "output_json/eiffel_suggestions.json"
    check = report["near_duplicate_check"]
    assert check["training_questions"] == 4 and check["dropped"] == 2
    assert check["max_similarity_kept"] == max(i.closest_training.similarity  # type: ignore[union-attr]
                                               for i in documents)
    dropped = {d["question"]: d["similarity"] for d in report["dropped"]}
    assert dropped["How tall is the Eiffel tower?"] == 1.0  # equal after normalisation
    assert dropped[DATASET_ONLY] == 1.0


def test_the_threshold_decides_near_duplicates_but_never_lets_an_equal_question_in(
        tmp_path: Path) -> None:
    training = TrainingQuestions.from_workdir(write_workdir(tmp_path / "probe"))
    closest = training.closest("How high is the Eiffel Tower?")
    assert closest is not None and closest.question == "How tall is the Eiffel Tower?"
    assert 0.8 < closest.similarity < 1.0  # dropped at the default 0.8, kept at 0.95
    workdir, report = make(tmp_path, near_duplicate=1.0)
    questions = [i.question for i in read_quiz(workdir / "quiz.jsonl")]
    assert "How tall is the Eiffel tower?" not in questions and DATASET_ONLY not in questions
    assert report["near_duplicate_check"]["dropped"] == 2


def test_quiz_prompt_and_forms_are_not_the_training_prompt(tmp_path: Path) -> None:
    workdir = write_workdir(tmp_path / "work")
    client = FakeBackend(quiz_script({}))
    build_quiz(workdir, client, QuizSettings(control=0))
    quiz_requests = [r for r in client.history if r.tag.startswith("quiz:")]
    assert len(quiz_requests) == 2
    text = "\n".join(m["content"] for m in quiz_requests[0].messages)
    for name in ("qa/v1", "qa/v2"):
        qa = load_prompt(name)
        assert qa.user.strip().splitlines()[-1] not in text
    assert "exam items" in text and "____" in text
    schema = quiz_requests[0].schema or {}
    assert set(schema["properties"]["items"]["items"]["properties"]) == {
        "form", "question", "answer", "evidence"}


def test_an_existing_quiz_is_never_overwritten(tmp_path: Path) -> None:
    workdir, _ = make(tmp_path)
    before = (workdir / "quiz.jsonl").read_bytes()
    client = FakeBackend(quiz_script({}))
    with pytest.raises(InputError, match="already exists"):
        build_quiz(workdir, client, QuizSettings(control=1))
    assert (workdir / "quiz.jsonl").read_bytes() == before
    run = build_quiz(workdir, client, QuizSettings(control=1), replace=True)
    assert run.set_aside is not None
    assert (run.set_aside / "quiz.jsonl").read_bytes() == before
    assert (run.set_aside / "quiz" / "output_json" / "eiffel_suggestions.json").is_file()
    assert len(read_quiz(workdir / "quiz.jsonl")) == 1


def test_a_fill_in_written_as_a_question_is_kept_as_short_answer(tmp_path: Path) -> None:
    workdir = write_workdir(tmp_path / "work")
    question = "Which city do the White Nile and the Blue Nile flow together at?"
    client = FakeBackend(quiz_script({"Nile": [item(
        "fill", question, "Khartoum", "which meet at Khartoum in Sudan")]}))
    build_quiz(workdir, client, QuizSettings(control=0, near_duplicate=0.95))
    [kept] = read_quiz(workdir / "quiz.jsonl")
    assert (kept.form, kept.question, kept.answer) == ("short", question, "Khartoum")


def yes_no(question: str, answer: str, evidence: str) -> dict[str, str]:
    return item("yesno", question, answer, evidence)


def test_yes_no_items_are_kept_balanced_between_yes_and_no(tmp_path: Path) -> None:
    """The first quiz's yes/no items were all "Yes", so a fine-tune answering "Yes" to
    everything gained on every one: now the later of the surplus go, with the reason."""
    eiffel = [yes_no("Is the Eiffel Tower in Paris?", "Yes",
                     "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars "
                     "in Paris."),
              yes_no("Was the Eiffel Tower completed in 1889?", "Yes.",
                     "It was designed by the engineering company of Gustave Eiffel and "
                     "completed in 1889 for the World's Fair."),
              yes_no("Is the Eiffel Tower 500 metres tall?", "No",
                     "The tower is 330 metres tall and was the tallest man-made structure "
                     "in the world until 1930.")]
    nile = [yes_no("Does the Nile flow north?", "Yes",
                   "The Nile is a major north-flowing river in northeastern Africa."),
            yes_no("Does the Nile flow into the Mediterranean Sea?", "Yes",
                   "It flows into the Mediterranean Sea and is about 6,650 kilometres long.")]
    workdir = write_workdir(tmp_path / "work")
    client = FakeBackend(quiz_script({"Eiffel": eiffel, "Nile": nile}))
    build_quiz(workdir, client, QuizSettings(per_chunk=4, control=0))
    kept = [(i.question, i.answer) for i in read_quiz(workdir / "quiz.jsonl")]
    assert kept == [("Is the Eiffel Tower in Paris?", "Yes"),
                    ("Was the Eiffel Tower completed in 1889?", "Yes"),
                    ("Is the Eiffel Tower 500 metres tall?", "No")]
    report = json.loads((workdir / "quiz" / "report.json").read_text(encoding="utf-8"))
    dropped = {d["question"]: d for d in report["dropped"]}
    assert set(dropped) == {"Does the Nile flow north?",
                            "Does the Nile flow into the Mediterranean Sea?"}
    assert all(d["code"] == "unbalanced" and "4 answered 'Yes' against 1 'No'" in d["reason"]
               for d in dropped.values())


def test_the_quiz_prompt_asks_for_no_items() -> None:
    """The balance would otherwise drop most yes/no items: the prompt asks for both."""
    text = " ".join(m["content"] for m in load_prompt("quiz/v2").render(
        document="d", headings="h", pages="1", n=2, text="t"))
    assert '"No" items as "Yes" items' in " ".join(text.split())
