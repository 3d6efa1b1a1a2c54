"""Issue 14 item 6: every pair in every file read is accounted for, whatever its shape."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from click.testing import CliRunner
from refine_helpers import EIFFEL, NILE, chunk, pair, suggestions_doc

from qaforge.cli.refine import refine_command
from qaforge.fileio import atomic_write_json
from qaforge.refine.load import load_workdir


def _write(workdir: Path, name: str, doc: dict) -> Path:
    path = workdir / "output_json" / f"{name}_suggestions.json"
    atomic_write_json(path, doc)
    return path


def test_chunks_as_an_object_yield_their_pairs(tmp_path: Path) -> None:
    doc = suggestions_doc("a.pdf", [])
    doc["chunks"] = {"first": chunk(NILE, [pair("n1", "Into which sea does the Nile flow?",
                                                 "The Mediterranean Sea.")]),
                     "second": chunk(EIFFEL, [pair("e1", "How tall is the Eiffel Tower?",
                                                   "330 metres.")])}
    _write(tmp_path, "a", doc)
    one = suggestions_doc("b.pdf", [])
    one["chunks"] = chunk(EIFFEL, [pair("e2", "Who designed the Eiffel Tower?",
                                        "Gustave Eiffel's company.")])  # one chunk, no list
    _write(tmp_path, "b", one)
    loaded = load_workdir(tmp_path)
    assert [(r.pair_id, r.decision, r.location) for r in loaded.records] == [
        ("n1", "pending", 'chunks["first"].suggestions[0]'),
        ("e1", "pending", 'chunks["second"].suggestions[0]'),
        ("e2", "pending", "chunks.suggestions[0]")]
    assert loaded.records[0].chunk_text == NILE


def test_suggestions_as_an_object_and_pairs_as_lists(tmp_path: Path) -> None:
    doc = suggestions_doc("a.pdf", [
        chunk(NILE, {"p": pair("n2", "How long is the Nile?", "About 6,650 kilometres.")}),
        chunk(EIFFEL, [["How tall is the Eiffel Tower?", "330 metres."], 42,
                       ["only one string"]]),
        chunk(NILE + " More.", pair("n3", "Where do the two Niles meet?", "At Khartoum.")),
    ])
    _write(tmp_path, "a", doc)
    loaded = load_workdir(tmp_path)
    got = [(r.question, r.decision, r.location) for r in loaded.records]
    assert got == [
        ("How long is the Nile?", "pending", 'chunks[0].suggestions["p"]'),
        ("How tall is the Eiffel Tower?", "pending", "chunks[1].suggestions[0]"),
        ("", "malformed", "chunks[1].suggestions[1]"),
        ("", "malformed", "chunks[1].suggestions[2]"),
        ("Where do the two Niles meet?", "pending", "chunks[2].suggestions")]
    assert loaded.records[2].answer == "42"
    assert "chunks[1].suggestions[1]" in loaded.records[2].reason


def test_chunks_that_are_not_objects_are_malformed_entries(tmp_path: Path) -> None:
    good = chunk(EIFFEL, [pair("g", "Who designed the Eiffel Tower?", "Eiffel's company.")])
    broken = {"id": "c-broken", "pages": "three", "text": NILE,
              "suggestions": [pair("b1", "How long is the Nile?", "6,650 km."),
                              pair("b2", "Where does it flow?", "North.")]}
    _write(tmp_path, "a", suggestions_doc("a.pdf", [good, "a chunk as a string", 7, broken]))
    text_chunks = suggestions_doc("c.pdf", [])
    text_chunks["chunks"] = "not chunks at all"
    _write(tmp_path, "c", text_chunks)
    loaded = load_workdir(tmp_path)
    got = [(r.source_file, r.pair_id, r.decision, r.location) for r in loaded.records]
    assert got == [
        ("output_json/a_suggestions.json", "g", "pending", "chunks[0].suggestions[0]"),
        ("output_json/a_suggestions.json", "chunks[1]", "malformed", "chunks[1]"),
        ("output_json/a_suggestions.json", "chunks[2]", "malformed", "chunks[2]"),
        ("output_json/a_suggestions.json", "b1", "malformed", "chunks[3].suggestions[0]"),
        ("output_json/a_suggestions.json", "b2", "malformed", "chunks[3].suggestions[1]"),
        ("output_json/c_suggestions.json", "chunks", "malformed", "chunks")]
    assert loaded.records[1].answer == "a chunk as a string"
    assert "a chunk must be a JSON object" in loaded.records[1].reason
    assert "chunks[3].pages" in loaded.records[3].reason
    assert loaded.errors == []


def test_evaluation_counts_add_up_to_every_entry_seen(tmp_path: Path) -> None:
    doc = suggestions_doc("a.pdf", [])
    doc["chunks"] = {"x": chunk(NILE, {"p": pair("n1", "Into which sea does the Nile flow?",
                                                 "It flows into the Mediterranean Sea."),
                                       "q": ["How long is the Nile?", "About 6,650 km."],
                                       "r": "neither a pair nor text"}),
                     "y": "a chunk as a string"}
    _write(tmp_path, "a", doc)
    result = CliRunner().invoke(refine_command, [str(tmp_path), "--judge-backend", "fake"])
    assert result.exit_code == 0, result.output
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    entries = evaluation["entries"]
    assert len(entries) == 4 == evaluation["summary"]["pairs_in"]
    assert sum(evaluation["summary"]["decisions"].values()) == 4
    assert Counter(e["final_decision"] for e in entries)["malformed"] == 2
    assert {e["location"] for e in entries if e["final_decision"] == "malformed"} == {
        'chunks["x"].suggestions["r"]', 'chunks["y"]'}
