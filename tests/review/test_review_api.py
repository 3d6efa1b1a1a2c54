"""The review API over a real uvicorn server on loopback: what reaches the disk, and when not."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx

from qaforge.review.server import ReviewServer

DOC = "manual_suggestions.json"
OPS = f"/api/docs/{DOC}/ops"


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def post_op(client: httpx.Client, revision: str, **op: Any) -> httpx.Response:
    return client.post(OPS, json={"revision": revision, "op": op})


def test_each_action_persists_exactly(client: httpx.Client, manual: Path) -> None:
    expected = on_disk(manual)
    chunk = expected["chunks"][0]
    pairs = chunk["suggestions"]
    revision = client.get(f"/api/docs/{DOC}").json()["revision"]

    def step(**op: Any) -> dict[str, Any]:
        nonlocal revision
        response = post_op(client, revision, chunk=chunk["id"], **op)
        assert response.status_code == 200, response.text
        revision = response.json()["revision"]
        return response.json()

    step(op="update", pair=pairs[0]["id"], status="accepted")
    pairs[0]["status"] = "accepted"
    assert on_disk(manual) == expected

    step(op="update", pair=pairs[1]["id"], question="What battery does the pump use?",
         answer="A 12 volt battery.")
    pairs[1].update(question="What battery does the pump use?", answer="A 12 volt battery.",
                    status="edited")
    assert on_disk(manual) == expected

    step(op="update", pair=pairs[2]["id"], status="rejected")
    pairs[2]["status"] = "rejected"
    assert on_disk(manual) == expected

    added = step(op="add", question="How heavy is the pump?", answer="3.2 kilograms.")
    new_pair = added["chunk"]["pairs"][-1]
    pairs.append({"id": new_pair["id"], "question": "How heavy is the pump?",
                  "answer": "3.2 kilograms.", "status": "edited"})
    assert on_disk(manual) == expected

    step(op="delete", pair=pairs[2]["id"])
    del pairs[2]
    assert on_disk(manual) == expected
    assert revision == client.get(f"/api/docs/{DOC}").json()["revision"]
    assert client.get("/api/docs").json()["documents"][0]["reviewed"] == 3


def test_stale_revision_is_refused(client: httpx.Client, manual: Path) -> None:
    doc = client.get(f"/api/docs/{DOC}").json()
    chunk = doc["chunk_list"][0]
    first = post_op(client, doc["revision"], op="update", chunk=chunk["id"],
                    pair=chunk["pairs"][0]["id"], status="accepted")
    assert first.status_code == 200
    second = post_op(client, doc["revision"], op="update", chunk=chunk["id"],
                     pair=chunk["pairs"][1]["id"], status="accepted")
    assert second.status_code == 409
    assert second.json()["kind"] == "stale"
    assert second.json()["revision"] == first.json()["revision"]
    assert [p["status"] for p in on_disk(manual)["chunks"][0]["suggestions"]] == [
        "accepted", "draft", "draft"]


def test_hand_edit_between_read_and_write_is_never_clobbered(client: httpx.Client,
                                                              manual: Path) -> None:
    doc = client.get(f"/api/docs/{DOC}").json()
    chunk = doc["chunk_list"][0]
    # a person fixes a typo in their editor while the page is open
    edited = manual.read_text(encoding="utf-8").replace("What powers the Model 7 pump?",
                                                        "What powers the Model 7 pump, exactly?")
    manual.write_text(edited, encoding="utf-8")
    response = post_op(client, doc["revision"], op="update", chunk=chunk["id"],
                       pair=chunk["pairs"][1]["id"], answer="Batteries.")
    assert response.status_code == 409
    assert "changed on disk" in response.json()["error"]
    assert manual.read_text(encoding="utf-8") == edited
    reloaded = client.get(f"/api/docs/{DOC}").json()
    assert reloaded["revision"] == response.json()["revision"] != doc["revision"]
    assert reloaded["chunk_list"][0]["pairs"][1]["question"].endswith("exactly?")


def test_concurrent_writers_never_corrupt_or_lose_a_write(server: ReviewServer,
                                                          manual: Path) -> None:
    chunk_id = on_disk(manual)["chunks"][1]["id"]
    accepted: list[str] = []
    refusals = 0
    lock = threading.Lock()

    def writer(number: int) -> None:
        nonlocal refusals
        with httpx.Client(base_url=server.base_url, timeout=60,
                          headers={"X-QAForge-Token": server.token}) as http:
            for _ in range(200):
                revision = http.get(f"/api/docs/{DOC}").json()["revision"]
                question = f"Writer {number} question?"
                response = post_op(http, revision, op="add", chunk=chunk_id,
                                   question=question, answer=f"Answer {number}.")
                if response.status_code == 200:
                    with lock:
                        accepted.append(question)
                    return
                assert response.status_code == 409, response.text
                with lock:
                    refusals += 1
            raise AssertionError(f"writer {number} never got through in 200 tries")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    final = on_disk(manual)  # parses: never a half-written file
    questions = [p["question"] for p in final["chunks"][1]["suggestions"]]
    assert len(accepted) == 12
    assert sorted(q for q in questions if q.startswith("Writer")) == sorted(accepted)
    assert len(final["chunks"][1]["suggestions"]) == 2 + 12
    assert not list(manual.parent.glob("*.tmp"))
    print(f"12 concurrent writers: {refusals} stale refusals before all got through")


def test_malformed_file_reported_with_line_and_column(client: httpx.Client,
                                                      workdir: Path) -> None:
    bad = workdir / "output_json" / "broken_suggestions.json"
    bad.write_text('{\n  "schema": "qaforge.suggestions/1",\n  "chunks": [}\n', encoding="utf-8")
    listing = client.get("/api/docs").json()["documents"]
    entry = next(d for d in listing if d["id"] == bad.name)
    assert (entry["error"]["line"], entry["error"]["column"]) == (3, 14)
    response = client.get(f"/api/docs/{bad.name}")
    assert response.status_code == 422
    body = response.json()
    assert (body["kind"], body["line"], body["column"]) == ("malformed", 3, 14)
    assert "broken_suggestions.json:3:14" in body["error"]
    ok = next(d for d in listing if d["id"] == DOC)
    assert ok["error"] is None and ok["pairs"] == 5  # the other files are unaffected


def test_unknown_pair_and_bad_bodies_get_clear_errors(client: httpx.Client) -> None:
    doc = client.get(f"/api/docs/{DOC}").json()
    chunk = doc["chunk_list"][0]
    missing = post_op(client, doc["revision"], op="delete", chunk=chunk["id"], pair="q-gone")
    assert missing.status_code == 404 and "no pair 'q-gone'" in missing.json()["error"]
    bad_status = post_op(client, doc["revision"], op="update", chunk=chunk["id"],
                         pair=chunk["pairs"][0]["id"], status="approved")
    assert bad_status.status_code == 422 and bad_status.json()["kind"] == "invalid"
    no_revision = client.post(OPS, json={"op": {"op": "delete", "chunk": chunk["id"],
                                                "pair": chunk["pairs"][0]["id"]}})
    assert no_revision.status_code == 422 and "revision" in no_revision.json()["error"]
    not_json = client.post(OPS, content=b"{not json", headers={"Content-Type":
                                                               "application/json"})
    assert not_json.status_code == 422
    assert client.get("/api/docs").json()["documents"][0]["reviewed"] == 0


def test_files_with_values_that_break_code_are_listed_as_broken(client: httpx.Client,
                                                                 manual: Path) -> None:
    """One file with a schema that is a number, a 5,000-digit integer or 100,000 levels of
    nesting is listed with its reason; every other document opens and the queue works."""
    base = on_disk(manual)
    folder = manual.parent
    (folder / "schema_suggestions.json").write_text(json.dumps({**base, "schema": 5}))
    (folder / "digits_suggestions.json").write_text(
        json.dumps(base)[:-1] + ', "n": ' + "7" * 5000 + "}")
    (folder / "deep_suggestions.json").write_text(
        json.dumps(base)[:-1] + ', "deep": ' + "[" * 100_000 + "]" * 100_000 + "}")
    listing = client.get("/api/docs")
    assert listing.status_code == 200, listing.text
    documents = {doc["id"]: doc for doc in listing.json()["documents"]}
    reasons = {name: documents[f"{name}_suggestions.json"]["error"]["message"]
               for name in ("schema", "digits", "deep")}
    assert "schema" in reasons["schema"] and "digits" in reasons["digits"], reasons
    assert "nested deeper" in reasons["deep"], reasons
    assert documents[DOC]["error"] is None and client.get(f"/api/docs/{DOC}").status_code == 200
    queue = client.get("/api/queue")
    assert queue.status_code == 200, queue.text
    assert {item["doc"] for item in queue.json()["items"]} == {DOC}
    for name in ("schema", "digits", "deep"):
        refused = client.get(f"/api/docs/{name}_suggestions.json")
        assert (refused.status_code, refused.json()["kind"]) == (422, "malformed")
