"""``qaforge export``: each format as its consumers read it, the split, the dataset card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from export_helpers import PAIRS, read_jsonl, refined
from qaforge.export import CARD_MARKER, CardInfo, ExportError, dataset_card, export_dataset
from qaforge.export.formats import PROVENANCE
from qaforge.fileio import JsonFileError

# -- what each consumer checks, restated from its documentation and source ---------------

def trl_conversational(row: dict[str, Any]) -> bool:
    """TRL's ``is_conversational``: a ``messages`` list of ``{"role", "content"}`` dicts."""
    messages = row.get("messages")
    return (isinstance(messages, list) and bool(messages)
            and all(isinstance(m, dict) and set(m) == {"role", "content"} for m in messages))


def llamafactory_sharegpt(row: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """LLaMA-Factory's ShareGPT converter: human/gpt alternate from the first turn, an even
    number of turns, the system prompt in the ``system`` column (or a leading system turn)."""
    turns = row["conversations"]
    system = row.get("system", "")
    if turns and turns[0]["from"] == "system":
        system, turns = turns[0]["value"], turns[1:]
    roles = {"human": "user", "gpt": "assistant"}
    expected = ["human", "gpt"] * (len(turns) // 2)
    assert [t["from"] for t in turns] == expected and len(turns) % 2 == 0, turns
    assert all(set(t) == {"from", "value"} and isinstance(t["value"], str) for t in turns)
    return system, [{"role": roles[t["from"]], "content": t["value"]} for t in turns]


def alpaca_row(row: dict[str, Any]) -> None:
    assert {"instruction", "input", "output"} <= set(row) <= {
        "instruction", "input", "output", "system", "history", *PROVENANCE}
    assert all(isinstance(row[k], str) for k in ("instruction", "input", "output"))


@pytest.mark.slow  # importing datasets takes seconds
def test_messages_format_loads_with_datasets_and_fits_trl(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    work = refined(tmp_path / "work")
    result = export_dataset(work, output=tmp_path / "out")
    assert result.train == len(PAIRS) and result.validation == 0
    rows = read_jsonl(tmp_path / "out" / "train.jsonl")
    assert all(trl_conversational(r) for r in rows)
    assert rows[0]["messages"] == [{"role": "user", "content": PAIRS[0][0]},
                                   {"role": "assistant", "content": PAIRS[0][1]}]
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "out" / "train.jsonl"),
                               split="train")
    assert ds.num_rows == len(PAIRS) and ds.column_names == ["messages", *PROVENANCE]
    assert ds[1]["messages"][1]["content"] == PAIRS[1][1]


@pytest.mark.slow
def test_messages_rows_render_with_a_real_chat_template(tmp_path: Path,
                                                        bundled_model: Path) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from refine.refine_helpers import gguf_chat_tokenizer

    work = refined(tmp_path / "work", system_prompt="You know rivers.")
    export_dataset(work, output=tmp_path / "out")
    tokenizer = gguf_chat_tokenizer(bundled_model)
    for row in read_jsonl(tmp_path / "out" / "train.jsonl"):
        text = tokenizer.apply_chat_template(row["messages"], tokenize=False)
        assert "You know rivers." in text and row["messages"][-1]["content"] in text
        ids = tokenizer.apply_chat_template(row["messages"], tokenize=True)["input_ids"]
        assert tokenizer.decode(ids) == text


def test_sharegpt_as_llamafactory_reads_it(tmp_path: Path) -> None:
    work = refined(tmp_path / "work", system_prompt="You know rivers.")
    export_dataset(work, fmt="sharegpt", output=tmp_path / "out")
    rows = read_jsonl(tmp_path / "out" / "train.jsonl")
    for row, (question, answer) in zip(rows, PAIRS, strict=True):
        system, messages = llamafactory_sharegpt(row)
        assert system == "You know rivers."
        assert messages == [{"role": "user", "content": question},
                            {"role": "assistant", "content": answer}]
    info = json.loads((tmp_path / "out" / "dataset_info.json").read_text(encoding="utf-8"))
    assert info["qaforge_train"]["formatting"] == "sharegpt"


def test_alpaca(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    export_dataset(work, fmt="alpaca", output=tmp_path / "out")
    rows = read_jsonl(tmp_path / "out" / "train.jsonl")
    for row, (question, answer) in zip(rows, PAIRS, strict=True):
        alpaca_row(row)
        assert (row["instruction"], row["input"], row["output"]) == (question, "", answer)
        assert "system" not in row


def test_dataset_card_states_sources_models_counts_labels(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    export_dataset(work, output=tmp_path / "out")
    card = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("---\n") and CARD_MARKER in card
    assert "| rivers.pdf | 1 | 1 | 5 | 5 |" in card
    assert "generator: gen-model (fake)" in card and "judge: fake-model (fake)" in card
    assert "| Clear | 5 |" in card and "| kept | 5 |" in card
    assert "Retention: 100%" in card
    assert "## How it was made" in card


def test_reexport_replaces_its_own_files_and_drops_a_stale_split(tmp_path: Path) -> None:
    work = refined(tmp_path / "work", chunks=2)
    export_dataset(work, split=0.8)
    assert (work / "export" / "validation.jsonl").is_file()
    export_dataset(work)
    assert not (work / "export" / "validation.jsonl").exists()
    assert len(read_jsonl(work / "export" / "train.jsonl")) == len(PAIRS) + 2


def test_refuses_to_overwrite_foreign_files(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "README.md").write_text("# my project\n", encoding="utf-8")
    with pytest.raises(ExportError, match="not written by `qaforge export`"):
        export_dataset(work, output=tmp_path / "repo")
    assert (tmp_path / "repo" / "README.md").read_text(encoding="utf-8") == "# my project\n"


def test_bad_dataset_line_names_file_and_line(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    path = work / "cleaned_finetune.jsonl"
    path.write_text(path.read_text(encoding="utf-8") + '{"messages": [{"role": "assistant", '
                    '"content": "x"}]}\n', encoding="utf-8")
    with pytest.raises(JsonFileError, match=r"cleaned_finetune.jsonl:6:1: roles must alternate"):
        export_dataset(work)


def test_without_evaluation_the_card_says_so(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    (work / "evaluation.json").unlink()
    export_dataset(work)
    assert "sources are unknown" in (work / "export" / "README.md").read_text(encoding="utf-8")


def test_card_keeps_hostile_names_inert(tmp_path: Path) -> None:
    evaluation = {"summary": {"coverage": {"<script>x</script>|.pdf": {
        "chunks": 1, "chunks_in_dataset": 1, "pairs_in": 1, "dataset_rows": 1}}}}
    card = dataset_card(CardInfo(fmt="messages", files={"train": "train.jsonl"},
                                 counts={"train": 1}, pretty_name="<b>x</b>",
                                 documents=[{"file": "<i>.pdf", "sha256": "0", "pages": 1}]),
                        evaluation)
    assert "<b>" not in card.split("---", 2)[2] and "<i>" not in card
    assert "<script>" not in card and "&lt;script&gt;x&lt;/script&gt;\\|.pdf" in card
