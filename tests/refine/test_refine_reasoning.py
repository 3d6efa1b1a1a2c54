"""Refine carries a pair's kept reasoning (``--reasoning keep``) into the dataset, as the
assistant message's ``reasoning_content`` beside the answer; a pair refine corrected or a
person edited loses it (the reasoning no longer led to that answer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refine_helpers import EIFFEL, NILE, chunk, pair, rubric, scripted, write_doc

from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.load import load_workdir

CLEAR_Q = "Who designed the Eiffel Tower?"
FIXABLE_Q = "What does the text say about how tall it is?"
FIXED_Q = "How tall is the Eiffel Tower?"
ACCEPTED_Q = "What is the Eiffel Tower made of?"
EDITED_Q = "When was the Eiffel Tower completed?"
NILE_Q = "Into which sea does the Nile flow?"
THOUGHT = "The passage names the designer, the height and the year; ask about each."


def thinking(pid: str, question: str, answer: str, status: str = "draft") -> dict[str, Any]:
    return {**pair(pid, question, answer, status), "reasoning": THOUGHT}


def write_workdir(root: Path) -> Path:
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, [
        thinking("q-clear", CLEAR_Q, "It was designed by the engineering company of Gustave "
                 "Eiffel."),
        thinking("q-fixable", FIXABLE_Q, "The tower is 330 metres tall."),
        thinking("q-accepted", ACCEPTED_Q, "It is a wrought-iron lattice tower.", "accepted"),
        thinking("q-edited", EDITED_Q, "It was completed in 1889 for the World's Fair.",
                 "edited"),
    ])])
    write_doc(root, "nile.pdf", [chunk(NILE, [
        pair("n-1", NILE_Q, "The Nile flows into the Mediterranean Sea.")])])
    return root


def rows(root: Path) -> dict[str, dict[str, Any]]:
    lines = (root / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    return {row["id"]: row for row in map(json.loads, lines)}


def test_load_reads_the_reasoning(tmp_path: Path) -> None:
    records = {r.pair_id: r for r in load_workdir(write_workdir(tmp_path)).records}
    assert records["q-clear"].reasoning == THOUGHT
    assert records["n-1"].reasoning == ""
    assert records["q-edited"].final_reasoning == ""  # edited by a person


def test_kept_pairs_carry_it_beside_the_answer_corrected_and_edited_do_not(
        tmp_path: Path) -> None:
    root = write_workdir(tmp_path)
    model = FakeBackend(scripted(labels={FIXABLE_Q: "Unclear"},
                                 corrections={FIXABLE_Q: (FIXED_Q, "unused")}))
    refine_workdir(root, judge=model, settings=rubric())
    out = rows(root)
    assert out["q-fixable"]["decision"] == "corrected"
    for pid in ("q-clear", "q-accepted"):
        assert out[pid]["decision"] == "kept"
        assert out[pid]["messages"][-1] == {
            "role": "assistant", "content": out[pid]["messages"][-1]["content"],
            "reasoning_content": THOUGHT}
    for pid in ("q-fixable", "q-edited", "n-1"):
        assert all("reasoning_content" not in m for m in out[pid]["messages"]), pid
    assert all(THOUGHT not in m["content"] for row in out.values() for m in row["messages"])
