"""Kept reasoning (``--reasoning keep``) in every export format: beside the answer, never in
it; only in the rows that have some."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from export_helpers import read_jsonl
from qaforge.export import export_dataset
from qaforge.export.formats import FORMATS, ExportFormat
from qaforge.fileio import JsonFileError, atomic_write_text

THOUGHT = "Ask where the river rises, then how long it is."
LATER = "A follow-up about the length fits the first answer."
ROWS: list[dict[str, Any]] = [
    {"messages": [{"role": "user", "content": "Where does the Rhine rise?"},
                  {"role": "assistant", "content": "In the Swiss Alps.",
                   "reasoning_content": THOUGHT}],
     "id": "q-1", "source_file": "output_json/rivers_suggestions.json", "decision": "kept"},
    {"messages": [{"role": "user", "content": "How long is the Rhine?"},
                  {"role": "assistant", "content": "1,230 kilometres."}],
     "id": "q-2", "source_file": "output_json/rivers_suggestions.json", "decision": "kept"},
    {"messages": [{"role": "user", "content": "Where does the Danube rise?"},
                  {"role": "assistant", "content": "In the Black Forest."},
                  {"role": "user", "content": "And how long is it?"},
                  {"role": "assistant", "content": "2,850 kilometres.",
                   "reasoning_content": LATER}],
     "id": "q-3", "source_file": "output_json/rivers_suggestions.json", "decision": "kept",
     "form": "multi_turn"},
]


def workdir(root: Path, rows: list[dict[str, Any]] = ROWS) -> Path:
    atomic_write_text(root / "cleaned_finetune.jsonl",
                      "".join(json.dumps(row) + "\n" for row in rows))
    return root


def exported(tmp_path: Path, fmt: ExportFormat) -> list[dict[str, Any]]:
    export_dataset(workdir(tmp_path / "work"), fmt=fmt, output=tmp_path / fmt)
    return read_jsonl(tmp_path / fmt / "train.jsonl")


def answers(row: dict[str, Any]) -> list[dict[str, Any]]:
    messages = row.get("messages") or [*row["prompt"], *row["completion"]]
    return [m for m in messages if m["role"] == "assistant"]


@pytest.mark.parametrize("fmt", ["messages", "prompt-completion"])
def test_chat_formats_put_it_on_the_assistant_message(tmp_path: Path, fmt: ExportFormat
                                                      ) -> None:
    rows = exported(tmp_path, fmt)
    assert answers(rows[0]) == [{"role": "assistant", "content": "In the Swiss Alps.",
                                 "reasoning_content": THOUGHT}]
    assert answers(rows[1]) == [{"role": "assistant", "content": "1,230 kilometres."}]
    assert answers(rows[2]) == [
        {"role": "assistant", "content": "In the Black Forest."},
        {"role": "assistant", "content": "2,850 kilometres.", "reasoning_content": LATER}]
    assert "reasoning_content" not in rows[0]  # not a column too


def test_alpaca_and_sharegpt_get_a_column_for_the_final_answer(tmp_path: Path) -> None:
    alpaca = exported(tmp_path, "alpaca")
    assert (alpaca[0]["output"], alpaca[0]["reasoning_content"]) == (
        "In the Swiss Alps.", THOUGHT)
    assert "reasoning_content" not in alpaca[1]
    assert (alpaca[2]["output"], alpaca[2]["reasoning_content"]) == ("2,850 kilometres.", LATER)
    sharegpt = exported(tmp_path, "sharegpt")
    assert sharegpt[0]["reasoning_content"] == THOUGHT
    assert "reasoning_content" not in sharegpt[1]
    assert all(set(turn) == {"from", "value"} for row in sharegpt
               for turn in row["conversations"])


def answer_texts(row: dict[str, Any]) -> list[str]:
    """Every answer of a row, in whichever format."""
    if "conversations" in row:
        return [t["value"] for t in row["conversations"] if t["from"] == "gpt"]
    if "output" in row:
        return [row["output"], *(answer for _, answer in row.get("history", []))]
    return [m["content"] for m in answers(row)]


@pytest.mark.parametrize("fmt", FORMATS)
def test_never_inside_an_answer(tmp_path: Path, fmt: ExportFormat) -> None:
    texts = [text for row in exported(tmp_path, fmt) for text in answer_texts(row)]
    assert len(texts) == 4
    assert not any(THOUGHT in text or LATER in text for text in texts)


def test_reasoning_that_is_not_text_names_the_line(tmp_path: Path) -> None:
    bad = [ROWS[1], {"messages": [{"role": "user", "content": "Q?"},
                                  {"role": "assistant", "content": "A.",
                                   "reasoning_content": 5}]}]
    with pytest.raises(JsonFileError, match="reasoning_content") as caught:
        export_dataset(workdir(tmp_path / "work", bad), output=tmp_path / "out")
    assert caught.value.line == 2


def test_the_card_says_which_rows_carry_reasoning_and_where(tmp_path: Path) -> None:
    exported(tmp_path, "messages")
    card = (tmp_path / "messages" / "README.md").read_text(encoding="utf-8")
    assert "- reasoning: 2 rows carry" in card and "`reasoning_content`" in card
    export_dataset(workdir(tmp_path / "plain", ROWS[1:2]), output=tmp_path / "plain-out")
    assert "reasoning" not in (tmp_path / "plain-out" / "README.md").read_text(
        encoding="utf-8")
