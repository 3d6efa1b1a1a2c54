"""Loading suggestions files whatever a person did to them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from refine_helpers import EIFFEL, NILE, chunk, pair, write_doc

from qaforge.refine.load import load_workdir


def test_statuses_and_pending_chunks(tmp_path: Path) -> None:
    write_doc(tmp_path, "a.pdf", [
        chunk(EIFFEL, [pair("d", "Who designed it?", "Eiffel.", "draft"),
                       pair("e", "Who designed the tower?", "Eiffel's company.", "edited"),
                       pair("x", "Is it tall?", "Yes.", "rejected")]),
        chunk(NILE, [], state="pending"),
    ])
    loaded = load_workdir(tmp_path)
    assert [(r.pair_id, r.status, r.decision) for r in loaded.records] == [
        ("d", "draft", "pending"), ("e", "edited", "pending"), ("x", "rejected", "rejected")]
    assert loaded.files[0].chunk_states == {"generated": 1, "pending": 1}
    assert loaded.records[0].chunk_text == EIFFEL
    assert loaded.records[0].document == "a.pdf"
    assert loaded.records[0].source_file == "output_json/a_suggestions.json"


def test_malformed_entries_are_reported_not_dropped(tmp_path: Path) -> None:
    good = chunk(EIFFEL, [pair("ok", "Who designed the tower?", "Eiffel's company."),
                          {"id": "no-answer", "question": "What is missing?"},
                          {"id": "bad-status", "question": "Q?", "answer": "A.",
                           "status": "maybe"}])
    broken_chunk = {"id": "c-broken", "pages": "three", "text": NILE, "suggestions": []}
    path = write_doc(tmp_path, "a.pdf", [good, broken_chunk])
    loaded = load_workdir(tmp_path)
    by_id = {r.pair_id: r for r in loaded.records}
    assert by_id["ok"].decision == "pending"
    assert by_id["no-answer"].decision == "malformed"
    assert "suggestions[1].answer" in by_id["no-answer"].reason
    assert by_id["no-answer"].question == "What is missing?"
    assert by_id["bad-status"].decision == "malformed"
    assert "status" in by_id["bad-status"].reason
    chunk_entry = next(r for r in loaded.records if r.chunk_id == "c-broken")
    assert chunk_entry.decision == "malformed" and "chunks[1].pages" in chunk_entry.reason
    assert loaded.errors == []
    # the file itself is untouched
    assert json.loads(path.read_text(encoding="utf-8"))["chunks"][1] == broken_chunk


def test_problem_that_is_not_an_entry_is_a_warning(tmp_path: Path) -> None:
    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, [
        {"question": "Who designed the tower?", "answer": "Eiffel's company."}])])
    loaded = load_workdir(tmp_path)
    assert len(loaded.records) == 1 and loaded.records[0].decision == "pending"
    assert any("no id" in w for w in loaded.files[0].warnings)


def test_broken_json_names_file_line_and_column(tmp_path: Path) -> None:
    write_doc(tmp_path, "good.pdf", [chunk(EIFFEL, [pair("g", "Who designed it?", "Eiffel.")])])
    bad = tmp_path / "output_json" / "bad_suggestions.json"
    bad.write_text('{\n  "chunks": [\n    {"id": "c-1",, "text": "x"}\n  ]\n}\n',
                   encoding="utf-8")
    loaded = load_workdir(tmp_path)
    assert [r.pair_id for r in loaded.records] == ["g"]
    assert loaded.errors == [f"{bad}:3:18: invalid JSON: Expecting property name enclosed "
                             "in double quotes"]


def test_string_style_suggestions_are_parsed(tmp_path: Path) -> None:
    text = ("**Question 1:** Who designed the Eiffel Tower?\n"
            "**Answer 1:** The engineering company of Gustave Eiffel.\n\n"
            "**Question 2:** How tall is the Eiffel Tower?\n"
            "**Answer 2:** It is 330 metres tall.\n")
    qa = "Q: Into which sea does the Nile flow?\nA: The Mediterranean Sea.\n"
    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, text), chunk(NILE, qa)])
    loaded = load_workdir(tmp_path)
    assert [(r.question, r.answer, r.status, r.origin) for r in loaded.records] == [
        ("Who designed the Eiffel Tower?", "The engineering company of Gustave Eiffel.",
         "edited", "text"),
        ("How tall is the Eiffel Tower?", "It is 330 metres tall.", "edited", "text"),
        ("Into which sea does the Nile flow?", "The Mediterranean Sea.", "edited", "text")]
    assert len({r.pair_id for r in loaded.records}) == 3


def test_unparseable_string_suggestions_are_malformed(tmp_path: Path) -> None:
    write_doc(tmp_path, "a.pdf", [chunk(EIFFEL, "I could not think of any questions.")])
    loaded = load_workdir(tmp_path)
    assert [r.decision for r in loaded.records] == ["malformed"]
    assert "could not be parsed" in loaded.records[0].reason


def test_no_files_at_all(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_workdir(tmp_path)
