from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from qaforge.fileio import JsonFileError
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.suggestions import (
    StaleRevisionError,
    load_suggestions,
    update_suggestions,
    write_suggestions,
)


def sample(n_chunks: int = 2) -> SuggestionsFile:
    chunks = []
    for i in range(n_chunks):
        cid = Chunk.make_id(f"text {i}", ["H"])
        chunks.append(Chunk(id=cid, pages=[i + 1, i + 1], headings=["H"], text=f"text {i}",
                            state="generated",
                            suggestions=[Suggestion(id=f"q-{i}", question=f"Q{i}?", answer="A")]))
    return SuggestionsFile(source=Source(file="a.pdf", sha256="00", pages=n_chunks),
                           generator=GeneratorInfo(backend="fake", model="m", prompt="qa/v1"),
                           chunks=chunks)


def test_round_trip_keeps_schema_name_and_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample())
    raw = json.loads(path.read_text())
    assert raw["schema"] == "qaforge.suggestions/1"
    raw["note"] = "mine"
    raw["chunks"][0]["suggestions"][0]["tags"] = ["good"]
    path.write_text(json.dumps(raw))
    loaded = load_suggestions(path)
    update_suggestions(path, lambda data: None, loaded.revision)
    again = json.loads(path.read_text())
    assert again["note"] == "mine"
    assert again["chunks"][0]["suggestions"][0]["tags"] == ["good"]
    assert any(p.field == "note" for p in loaded.problems)


def test_stale_revision_refused_after_hand_edit(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    revision = write_suggestions(path, sample())
    path.write_text(path.read_text().replace('"Q0?"', '"Edited by hand?"'))
    with pytest.raises(StaleRevisionError):
        update_suggestions(path, lambda d: None, revision)
    assert "Edited by hand?" in path.read_text()


def test_new_file_write_refuses_to_clobber_existing(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample())
    with pytest.raises(StaleRevisionError):
        write_suggestions(path, sample(3), expected_revision=None)


def test_malformed_entries_reported_with_field_and_line_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample(3))
    raw = json.loads(path.read_text())
    raw["chunks"][1]["suggestions"][0]["question"] = 42
    raw["chunks"][2]["suggestions"].append({"question": "No id?", "answer": "ok"})
    raw["chunks"][2]["pages"] = "three"
    path.write_text(json.dumps(raw, indent=2))
    loaded = load_suggestions(path)
    fields = {p.field for p in loaded.problems}
    assert "chunks[1].suggestions[0].question" in fields
    assert any(f and f.startswith("chunks[2].pages") for f in fields)
    assert all(p.line for p in loaded.problems if p.field and p.field.startswith("chunks[1]"))
    assert [c.id for c in loaded.data.chunks] == [raw["chunks"][0]["id"], raw["chunks"][1]["id"]]
    assert loaded.rejected_entries  # kept verbatim for the report
    with pytest.raises(ValueError, match="not rewritten"):
        update_suggestions(path, lambda d: None)


def test_duplicate_ids_reported(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    data = sample(2)
    data.chunks[1].suggestions[0].id = "q-0"  # type: ignore[union-attr]
    data.chunks.append(data.chunks[0].model_copy(deep=True))
    write_suggestions(path, data)
    loaded = load_suggestions(path)
    messages = " ".join(p.message for p in loaded.problems)
    assert "duplicate pair id" in messages and "duplicate chunk id" in messages


def test_invalid_json_raises_with_location(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    path.write_text('{"schema": "qaforge.suggestions/1",\n "chunks": [}\n')
    with pytest.raises(JsonFileError) as info:
        load_suggestions(path)
    assert info.value.line == 2


def test_string_suggestions_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    data = sample(1)
    data.chunks[0].suggestions = "**Question 1:** Why?\n**Answer 1:** Because."
    write_suggestions(path, data)
    chunk = load_suggestions(path).data.chunks[0]
    assert isinstance(chunk.suggestions, str) and chunk.reviewed


def test_concurrent_updates_serialise_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample(1))

    def add(i: int) -> None:
        def change(data: SuggestionsFile) -> None:
            data.chunks[0].suggestions.append(  # type: ignore[union-attr]
                Suggestion(id=f"n-{i}", question=f"q{i}?", answer="a"))
        update_suggestions(path, change)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = {s.id for s in load_suggestions(path).data.chunks[0].suggestions}  # type: ignore[union-attr]
    assert {f"n-{i}" for i in range(20)} <= ids
