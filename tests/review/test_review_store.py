"""The review store's operations on suggestions files (no server involved)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from review_helpers import SEED_TEXT, WriteDoc

from qaforge.review.ops import OpRequest
from qaforge.review.store import QueueFilter, ReviewError, ReviewStore

DOC = "manual_suggestions.json"


def op(store: ReviewStore, doc: str = DOC, **body: Any) -> dict[str, Any]:
    revision = store.document(doc)["revision"]
    return store.apply(doc, OpRequest.model_validate({"revision": revision, "op": body}))


def first_chunk(store: ReviewStore, doc: str = DOC) -> dict[str, Any]:
    return store.document(doc)["chunk_list"][0]


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def store(workdir: Path, manual: Path) -> ReviewStore:
    return ReviewStore(workdir)


def test_status_change_keeps_fields_a_person_added(store: ReviewStore, manual: Path) -> None:
    raw = on_disk(manual)
    raw["chunks"][0]["suggestions"][0]["tags"] = ["units"]
    raw["chunks"][0]["note"] = "check the figure"
    manual.write_text(json.dumps(raw), encoding="utf-8")
    chunk = first_chunk(store)
    op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][0]["id"], status="accepted")
    after = on_disk(manual)
    pair = after["chunks"][0]["suggestions"][0]
    assert (pair["status"], pair["tags"], after["chunks"][0]["note"]) == (
        "accepted", ["units"], "check the figure")
    assert [p["status"] for p in after["chunks"][0]["suggestions"][1:]] == ["draft", "draft"]


def test_editing_text_marks_edited_and_unchanged_text_writes_nothing(
        store: ReviewStore, manual: Path) -> None:
    chunk = first_chunk(store)
    pair = chunk["pairs"][1]
    before = manual.read_bytes()
    same = op(store, op="update", chunk=chunk["id"], pair=pair["id"],
              question=pair["question"], answer="  " + pair["answer"] + "\n")
    assert manual.read_bytes() == before and same["revision"] == store.document(DOC)["revision"]
    op(store, op="update", chunk=chunk["id"], pair=pair["id"], answer="A 12 V battery.")
    saved = on_disk(manual)["chunks"][0]["suggestions"][1]
    assert (saved["answer"], saved["status"], saved["question"]) == (
        "A 12 V battery.", "edited", pair["question"])


def test_add_delete_and_restore(store: ReviewStore, manual: Path) -> None:
    chunk = first_chunk(store)
    original = on_disk(manual)["chunks"][0]["suggestions"]
    result = op(store, op="add", chunk=chunk["id"], question="How heavy is it?",
                answer="3.2 kilograms.", index=0)
    added = result["chunk"]["pairs"][0]
    assert (added["question"], added["status"]) == ("How heavy is it?", "edited")
    assert added["id"] not in {p["id"] for p in original}
    op(store, op="delete", chunk=chunk["id"], pair=original[2]["id"])
    now = on_disk(manual)["chunks"][0]["suggestions"]
    assert [p["id"] for p in now] == [added["id"], original[0]["id"], original[1]["id"]]
    op(store, op="restore", chunk=chunk["id"], suggestions=original)
    assert on_disk(manual)["chunks"][0]["suggestions"] == original


def test_blank_text_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 character"):
        OpRequest.model_validate({"revision": "r", "op": {"op": "add", "chunk": "c",
                                                          "question": "  ", "answer": "x"}})


def test_unknown_chunk_or_pair_is_a_clear_404(store: ReviewStore) -> None:
    chunk = first_chunk(store)
    with pytest.raises(ReviewError, match="no chunk 'c-nope'") as info:
        op(store, op="delete", chunk="c-nope", pair="q-x")
    assert info.value.status_code == 404
    with pytest.raises(ReviewError, match="no pair 'q-nope'"):
        op(store, op="update", chunk=chunk["id"], pair="q-nope", status="accepted")


def test_stale_revision_is_refused_and_nothing_written(store: ReviewStore, manual: Path) -> None:
    chunk = first_chunk(store)
    old = store.document(DOC)["revision"]
    op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][0]["id"], status="rejected")
    after_first = manual.read_bytes()
    request = OpRequest.model_validate({"revision": old, "op": {
        "op": "update", "chunk": chunk["id"], "pair": chunk["pairs"][1]["id"],
        "status": "accepted"}})
    with pytest.raises(ReviewError) as info:
        store.apply(DOC, request)
    assert (info.value.status_code, info.value.kind) == (409, "stale")
    assert manual.read_bytes() == after_first


def test_file_with_invalid_entries_is_read_only(store: ReviewStore, manual: Path) -> None:
    raw = on_disk(manual)
    raw["chunks"][1]["suggestions"].append({"id": "q-bad", "question": 42})
    manual.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    before = manual.read_bytes()
    summary = next(d for d in store.summaries() if d["id"] == DOC)
    assert summary["read_only"] and any("question" in p for p in summary["problems"])
    chunk = first_chunk(store)
    with pytest.raises(ReviewError) as info:
        op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][0]["id"],
           status="accepted")
    assert (info.value.status_code, info.value.kind) == (409, "read_only")
    assert manual.read_bytes() == before


def test_hand_written_text_is_converted_and_kept(store: ReviewStore, write_doc: WriteDoc) -> None:
    path = write_doc("notes", [{"headings": ["Charging"], "pages": [1, 1],
                                "text": "The light is amber while charging.",
                                "pairs": SEED_TEXT}])
    chunk = first_chunk(store, path.name)
    assert (chunk["kind"], chunk["suggestions_text"]) == ("text", SEED_TEXT)
    with pytest.raises(ReviewError, match="convert them to pairs first"):
        op(store, path.name, op="add", chunk=chunk["id"], question="Q?", answer="A.")
    result = op(store, path.name, op="convert", chunk=chunk["id"])
    assert [(p["question"], p["answer"], p["status"]) for p in result["chunk"]["pairs"]] == [
        ("What colour is the status light when charging?", "It is amber while charging.",
         "edited")]
    assert on_disk(path)["chunks"][0]["converted_from_text"] == SEED_TEXT
    op(store, path.name, op="restore", chunk=chunk["id"], suggestions=SEED_TEXT)
    restored = on_disk(path)["chunks"][0]
    assert restored["suggestions"] == SEED_TEXT and "converted_from_text" not in restored


def test_summary_counts_progress(store: ReviewStore) -> None:
    chunk = first_chunk(store)
    op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][0]["id"], status="accepted")
    op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][1]["id"], status="rejected")
    (summary,) = store.summaries()
    assert (summary["pairs"], summary["reviewed"], summary["pending_chunks"]) == (5, 2, 1)
    assert summary["status_counts"] == {"draft": 3, "accepted": 1, "edited": 0, "rejected": 1}


def test_queue_filters_by_status_document_and_text(store: ReviewStore,
                                                   write_doc: WriteDoc) -> None:
    write_doc("other", [{"headings": ["Battery"], "pages": [1, 1],
                         "text": "The battery lasts six hours.",
                         "pairs": [("How long does the battery last?", "Six hours.")]}])
    everything = store.queue(QueueFilter())["items"]
    assert [(i["doc"], i["index"]) for i in everything] == [
        (DOC, 0), (DOC, 1), (DOC, 2), ("other_suggestions.json", 0)]  # pending chunk too
    chunk = first_chunk(store)
    op(store, op="update", chunk=chunk["id"], pair=chunk["pairs"][0]["id"], status="accepted")
    accepted = store.queue(QueueFilter(status="accepted"))["items"]
    assert [(i["chunk"], i["pairs"]) for i in accepted] == [(chunk["id"],
                                                              [chunk["pairs"][0]["id"]])]
    battery = store.queue(QueueFilter(query="BATTERY"))["items"]
    # the pair that mentions it is picked out, not every pair of the chunk
    assert [(i["doc"], len(i["pairs"])) for i in battery] == [(DOC, 1), ("other_suggestions.json",
                                                                         1)]
    split_terms = store.queue(QueueFilter(query="kilograms water"))["items"]
    assert [len(i["pairs"]) for i in split_terms] == [3]  # no pair holds both: the chunk does
    assert [i["doc"] for i in store.queue(QueueFilter(document="other_suggestions.json"))[
        "items"]] == ["other_suggestions.json"]
    two_terms = store.queue(QueueFilter(query="seal minute"))["items"]
    assert [i["index"] for i in two_terms] == [1]
    with pytest.raises(ReviewError, match="unknown status"):
        store.queue(QueueFilter(status="bogus"))


def test_malformed_file_is_listed_with_line_and_column(store: ReviewStore, workdir: Path) -> None:
    bad = workdir / "output_json" / "broken_suggestions.json"
    bad.write_text('{"chunks": [\n  {"id": "c-1" "text": 1}\n]}\n', encoding="utf-8")
    entry = next(d for d in store.summaries() if d["id"] == bad.name)
    assert (entry["error"]["line"], entry["error"]["column"]) == (2, 16)
    assert "Expecting ','" in entry["error"]["message"]
    with pytest.raises(ReviewError) as info:
        store.document(bad.name)
    assert (info.value.status_code, info.value.details["line"]) == (422, 2)
    assert [d["id"] for d in store.summaries() if not d["error"]] == [DOC]


def test_names_outside_the_listing_are_refused(store: ReviewStore, workdir: Path,
                                               tmp_path: Path) -> None:
    outside = tmp_path / "secret_suggestions.json"
    outside.write_bytes((workdir / "output_json" / DOC).read_bytes())
    (workdir / "output_json" / "evil_suggestions.json").symlink_to(outside)
    for name in ["../output_json/" + DOC, str(workdir / "output_json" / DOC), "..", "",
                 "manual", "nope_suggestions.json"]:
        with pytest.raises(ReviewError) as info:
            store.document(name)
        assert info.value.status_code == 404, name
    with pytest.raises(ReviewError) as info:
        store.document("evil_suggestions.json")
    assert info.value.status_code == 403
    refused = next(d for d in store.summaries() if d["id"] == "evil_suggestions.json")
    assert "outside the work dir" in refused["error"]["message"]
