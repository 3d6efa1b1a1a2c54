"""Kept reasoning (``--reasoning keep``) in the review app: the API shows it with its pair,
and reviewing the pair leaves it on disk as it was (refine drops it once the pair is edited;
the page shows it read-only: tests/review/test_review_browser.py)."""

from __future__ import annotations

import json
from pathlib import Path

from review_helpers import WriteDoc, review_api

TEXT = "The pump starts when the green button is pressed. It stops after ten minutes."
THOUGHT = "Two facts: how it starts and when it stops."


def test_api_shows_reasoning_and_review_keeps_it(workdir: Path, write_doc: WriteDoc) -> None:
    path = write_doc("pump", [{"headings": ["Use"], "pages": [1, 1], "text": TEXT, "pairs": [
        ("How does the pump start?", "When the green button is pressed."),
        ("When does the pump stop?", "After ten minutes.")]}])
    data = json.loads(path.read_text("utf-8"))
    for pair in data["chunks"][0]["suggestions"]:
        pair["reasoning"] = THOUGHT
    path.write_text(json.dumps(data), "utf-8")

    with review_api(workdir) as client:
        doc = client.get(f"/api/docs/{path.name}").json()
        chunk = doc["chunk_list"][0]
        assert [p["reasoning"] for p in chunk["pairs"]] == [THOUGHT, THOUGHT]
        revision = doc["revision"]
        for pid, change in ((chunk["pairs"][0]["id"], {"status": "accepted"}),
                            (chunk["pairs"][1]["id"], {"answer": "After 10 minutes."})):
            done = client.post(f"/api/docs/{path.name}/ops", json={
                "revision": revision, "op": {"op": "update", "chunk": chunk["id"],
                                             "pair": pid, **change}})
            assert done.status_code == 200, done.text
            revision = done.json()["revision"]
    pairs = json.loads(path.read_text("utf-8"))["chunks"][0]["suggestions"]
    assert [(p["status"], p["reasoning"]) for p in pairs] == [
        ("accepted", THOUGHT), ("edited", THOUGHT)]
