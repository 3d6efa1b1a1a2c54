"""Question forms on the review page (issue 18 part 4): the API shows each pair's form and
a conversation's turns, and reviewing a pair keeps them on disk."""

from __future__ import annotations

import json
from pathlib import Path

from review_helpers import WriteDoc, review_api

TEXT = "The pump starts when the green button is pressed. It stops after ten minutes."
TURNS = [{"role": "user", "content": "How does the pump start?"},
         {"role": "assistant", "content": "When the green button is pressed."},
         {"role": "user", "content": "And when does it stop?"},
         {"role": "assistant", "content": "After ten minutes."}]


def test_api_shows_form_and_turns_and_review_keeps_them(workdir: Path,
                                                        write_doc: WriteDoc) -> None:
    path = write_doc("pump", [{"headings": ["Use"], "pages": [1, 1], "text": TEXT, "pairs": [
        ("How does the pump start?", "When the green button is pressed."),
        ("Does the pump stop after ten minutes?", "Yes. It stops after ten minutes.")]}])
    data = json.loads(path.read_text("utf-8"))
    talk, yes_no = data["chunks"][0]["suggestions"]
    talk.update(form="multi_turn", turns=TURNS)
    yes_no["form"] = "yes_no"
    path.write_text(json.dumps(data), "utf-8")

    with review_api(workdir) as client:
        doc = client.get(f"/api/docs/{path.name}").json()
        chunk = doc["chunk_list"][0]
        shown = chunk["pairs"]
        assert [p["form"] for p in shown] == ["multi_turn", "yes_no"]
        assert shown[0]["turns"] == TURNS and "turns" not in shown[1]
        done = client.post(f"/api/docs/{path.name}/ops", json={
            "revision": doc["revision"], "op": {"op": "update", "chunk": chunk["id"],
                                                "pair": shown[0]["id"], "status": "accepted"}})
        assert done.status_code == 200, done.text
    kept = json.loads(path.read_text("utf-8"))["chunks"][0]["suggestions"][0]
    assert (kept["status"], kept["form"], kept["turns"]) == ("accepted", "multi_turn", TURNS)
