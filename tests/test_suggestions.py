from __future__ import annotations

import contextlib
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qaforge.errors import InputError
from qaforge.fileio import JsonFileError
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.review.app import SafeJSONResponse
from qaforge.review.ops import OpRequest
from qaforge.review.store import ReviewStore
from qaforge.review.views import document_view
from qaforge.suggestions import (
    StaleRevisionError,
    load_suggestions,
    serialize,
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


def test_generate_updates_keep_odd_values_and_refuse_entries_they_would_drop(
        tmp_path: Path) -> None:
    """A rewrite by generate keeps NaN and Infinity as written (they used to become null)
    and never rewrites a file with a chunk it cannot hold (a string was dropped)."""
    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample(2))
    raw = json.loads(path.read_text())
    raw["chunks"][0]["weight"] = float("nan")
    raw["chunks"][0]["suggestions"][0]["score"] = float("-inf")
    path.write_text(json.dumps(raw, indent=2))
    update_suggestions(path, lambda data: setattr(data.chunks[1], "state", "pending"))
    again = path.read_text()
    assert '"weight": NaN' in again and '"score": -Infinity' in again
    raw["chunks"].append("a chunk typed as a string")
    path.write_text(json.dumps(raw, indent=2))
    before = path.read_bytes()
    loaded = load_suggestions(path)
    assert loaded.read_only_reason and "chunks[2]" in loaded.read_only_reason
    with pytest.raises(InputError, match="not rewritten"):
        update_suggestions(path, lambda data: None)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("text", "reason"), [
    ('{"schema": 5, "chunks": []}', "schema is 5"),
    ('{"schema": "qaforge.suggestions/9", "chunks": []}', "newer qaforge"),
    ('{"chunks": [], "n": ' + "1" * 5000 + "}", "digits"),
    ('{"chunks": [], "deep": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
    ('{"chunks": [], "deep": ' + "[" * 500 + "]" * 500 + "}", "nested deeper"),
])
def test_values_that_break_code_are_a_file_error(tmp_path: Path, text: str,
                                                  reason: str) -> None:
    path = tmp_path / "a_suggestions.json"
    path.write_text(text)
    with pytest.raises(JsonFileError, match=reason):
        load_suggestions(path)


# every field of a suggestions file, as a path of keys and indexes into it
FIELDS: list[tuple[Any, ...]] = [
    (), ("schema",), ("source",), ("generator",), ("chunks",), ("extra",),
    *[("source", key) for key in ("file", "sha256", "pages")],
    *[("generator", key) for key in ("backend", "model", "prompt", "params")],
    ("chunks", 0), ("chunks", 1),
    *[("chunks", 0, key) for key in ("id", "pages", "headings", "text", "suggestions", "raw",
                                     "error", "state", "extra")],
    ("chunks", 0, "suggestions", 0),
    *[("chunks", 0, "suggestions", 0, key) for key in ("id", "question", "answer", "status",
                                                       "extra")],
]
LEAVES = (st.none() | st.booleans() | st.integers() | st.integers(min_value=2**53)
          | st.floats() | st.text(max_size=12)
          | st.sampled_from(["<<DIGITS>>", "<<DEEP>>", "c-0", "q-0", "draft", "[1, 2]"]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12)


def _set(doc: Any, where: tuple[Any, ...], value: Any) -> Any:
    if not where:
        return value
    *parents, last = where
    target = doc
    for key in parents:
        try:
            target = target[key]
        except (KeyError, IndexError, TypeError):
            return doc
    with contextlib.suppress(IndexError, TypeError):
        target[last] = value
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(FIELDS), VALUES), min_size=1, max_size=3))
def test_any_value_in_any_field_is_loaded_or_a_file_error(
        changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Random JSON in every field: the loader returns the file or raises JsonFileError; what
    it returns can be shown by the review app and, when editable, edited by it."""
    doc: Any = json.loads(serialize(sample(2)))
    for where, value in changes:
        doc = _set(doc, where, value)
    text = (json.dumps(doc).replace('"<<DIGITS>>"', "9" * 5000)
            .replace('"<<DEEP>>"', "[" * 3000 + "]" * 3000))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "output_json" / "a_suggestions.json"
        path.parent.mkdir()
        path.write_text(text)
        try:
            loaded = load_suggestions(path)
        except JsonFileError:
            return
        SafeJSONResponse({}).render(document_view(path.name, loaded))
        first = loaded.data.chunks[0] if loaded.data.chunks else None
        if loaded.read_only_reason or first is None or not isinstance(first.suggestions, list) \
                or not first.suggestions:
            return
        store = ReviewStore(Path(folder))
        store.apply(path.name, OpRequest.model_validate({"revision": loaded.revision, "op": {
            "op": "update", "chunk": first.id, "pair": first.suggestions[0].id,
            "question": "Changed by the page?", "status": "accepted"}}))
        again = load_suggestions(path).data.chunks[0].suggestions[0]
        assert (again.question, again.status) == ("Changed by the page?", "accepted")  # type: ignore[union-attr]


def test_a_changed_pdf_reports_a_file_it_cannot_rewrite_and_goes_on(tmp_path: Path) -> None:
    """generate merging a changed PDF into a file with an entry qaforge cannot keep (a
    chunk typed as a string) reports that file as failed, leaves it as it is, and does not
    stop the run."""
    from qaforge.records import Document
    from qaforge.workspace import prepare_document

    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4 bytes that changed")
    out = tmp_path / "output_json" / "a_suggestions.json"
    data = sample(1)
    data.source.file = "a.pdf"
    write_suggestions(out, data)
    raw = json.loads(out.read_text())
    raw["chunks"].append("a chunk typed as a string")
    out.write_text(json.dumps(raw, indent=2))
    before = out.read_bytes()
    document = Document(file="a.pdf", path=str(pdf), sha256="new", pages=1)
    chunk = Chunk(id="c-new", pages=[1, 1], text="New text.")
    prepared = prepare_document(pdf, out, extract=lambda _: document, chunk=lambda _: [chunk],
                                generator=GeneratorInfo(backend="fake", model="m",
                                                        prompt="qa/v1"))
    assert prepared.status == "failed" and "chunks[1]" in prepared.message, prepared
    assert out.read_bytes() == before


def test_generate_update_racing_a_hand_save_keeps_both(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A person saves right before generate's write is swapped in: the save is put back,
    generate re-reads the file and applies its change on top of it."""
    from qaforge import fileio

    path = tmp_path / "a_suggestions.json"
    write_suggestions(path, sample(2))
    real_exchange = fileio._exchange
    saved: list[bool] = []

    def exchange_after_a_save(first: str | Path, second: str | Path) -> bool:
        if not saved:
            saved.append(True)
            hand = path.read_text().replace('"Q0?"', '"Q0, edited by hand?"')
            path.with_name("editor~").write_text(hand)
            path.with_name("editor~").replace(path)
        return real_exchange(first, second)

    monkeypatch.setattr(fileio, "_exchange", exchange_after_a_save)

    def generated(data: SuggestionsFile) -> None:
        data.chunks[1].state = "failed"

    update_suggestions(path, generated)
    after = load_suggestions(path).data
    assert after.chunks[0].suggestions[0].question == "Q0, edited by hand?"  # type: ignore[union-attr]
    assert after.chunks[1].state == "failed"
