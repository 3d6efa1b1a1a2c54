"""The quiz in the review app (a real server on 127.0.0.1 over ``WORKDIR/quiz``): a
person's decisions there are what ``qaforge eval`` asks."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from quiz_helpers import item, quiz_script, write_workdir

from qaforge.llm.fake import FakeBackend
from qaforge.quiz import QuizSettings, build_quiz, load_reviewed_quiz
from qaforge.review.server import ReviewServer

EIFFEL_ITEMS = [
    item("short", "In which year was the Eiffel Tower completed?", "1889",
         "completed in 1889 for the World's Fair."),
    item("yesno", "Is the Eiffel Tower in Paris?", "Yes",
         "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris."),
]


def test_review_app_curates_the_quiz(tmp_path: Path) -> None:
    work = write_workdir(tmp_path / "work")
    build_quiz(work, FakeBackend(quiz_script({"Eiffel": EIFFEL_ITEMS})), QuizSettings(control=2))
    doc = "eiffel_suggestions.json"
    with ReviewServer(work / "quiz") as server, httpx.Client(
            base_url=server.base_url, headers={"X-QAForge-Token": server.token},
            timeout=30) as http:
        listing = http.get("/api/docs").json()["documents"]
        # eiffel and the control set (no nile item was scripted), both editable
        assert {d["id"] for d in listing} == {doc, "_control_suggestions.json"}
        assert not any(d["error"] or d["read_only"] for d in listing)
        loaded = http.get(f"/api/docs/{doc}").json()
        revision, chunk = loaded["revision"], loaded["chunk_list"][0]
        pairs = chunk["pairs"]
        assert [p["form"] for p in pairs] == ["short", "yesno"]  # the page gets the extras

        def op(**body: object) -> None:
            nonlocal revision
            response = http.post(f"/api/docs/{doc}/ops",
                                 json={"revision": revision, "op": {"chunk": chunk["id"],
                                                                    **body}})
            assert response.status_code == 200, response.text
            revision = response.json()["revision"]

        op(op="update", pair=pairs[0]["id"], question=EIFFEL_ITEMS[0]["question"],
           answer="In 1889.")
        op(op="update", pair=pairs[1]["id"], status="rejected")
    on_disk = json.loads((work / "quiz" / "output_json" / doc).read_text(encoding="utf-8"))
    assert on_disk["chunks"][0]["suggestions"][0]["form"] == "short"  # extras survive
    items, counts, warnings = load_reviewed_quiz(work)
    assert not warnings and counts["edited"] == 1 and counts["rejected"] == 1
    documents = [i for i in items if i.kind == "document"]
    assert [(i.question, i.answer, i.status) for i in documents] == [
        (EIFFEL_ITEMS[0]["question"], "In 1889.", "edited")]
