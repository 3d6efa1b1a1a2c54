"""The split keeps each source on one side (issue 19 item 2); provenance on every row (item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from export_helpers import read_jsonl, refined
from qaforge.cli import cli
from qaforge.export import FORMATS, ExportError, export_dataset, split_rows


def sides(out: Path, key: str) -> tuple[set[str], set[str]]:
    train = {str(r[key]) for r in read_jsonl(out / "train.jsonl")}
    validation = {str(r[key]) for r in read_jsonl(out / "validation.jsonl")}
    return train, validation


def test_split_keeps_each_document_on_one_side(tmp_path: Path) -> None:
    work = refined(tmp_path / "work", documents=2, chunks=2)
    for seed in range(6):
        result = export_dataset(work, split=0.8, seed=seed, output=tmp_path / f"s{seed}")
        assert result.split_by == "document" and result.train and result.validation
        train, validation = sides(tmp_path / f"s{seed}", "document")
        assert train and validation and not train & validation
    again = export_dataset(work, split=0.8, seed=3, output=tmp_path / "again")
    assert again.train == 7 and again.validation == 2  # lakes.pdf (2 rows) is validation
    assert ((tmp_path / "again" / "train.jsonl").read_bytes()
            == (tmp_path / "s3" / "train.jsonl").read_bytes())
    card = (tmp_path / "s3" / "README.md").read_text(encoding="utf-8")
    assert "split 0.8 by document with seed 3" in card


def test_one_document_is_split_by_chunk(tmp_path: Path) -> None:
    work = refined(tmp_path / "work", chunks=2)
    result = export_dataset(work, split=0.7, seed=1, output=tmp_path / "out")
    assert result.split_by == "chunk" and result.train and result.validation
    train, validation = sides(tmp_path / "out", "chunk_id")
    assert train and validation and not train & validation


def test_a_single_source_cannot_be_split_and_nothing_is_written(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    with pytest.raises(ExportError, match="cannot split 5 rows from a single chunk"):
        export_dataset(work, split=0.9, output=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    result = export_dataset(work, split=0.6, split_by="row", seed=3, output=tmp_path / "rows")
    assert (result.train, result.validation, result.split_by) == (3, 2, "row")


def test_an_empty_dataset_is_refused_in_one_line(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    (work / "cleaned_finetune.jsonl").write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["export", str(work), "--split", "0.9"])
    assert result.exit_code == 2, result.output
    assert "has no rows: nothing to export" in result.output
    assert not (work / "export").exists()


def test_rows_without_a_source_split_by_row_only_when_asked(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    rows = [{"messages": [{"role": "user", "content": f"Q{i}?"},
                          {"role": "assistant", "content": f"A{i}."}]} for i in range(4)]
    (work / "cleaned_finetune.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert export_dataset(work).train == 4  # the seed's format still exports
    with pytest.raises(ExportError, match="do not say which document"):
        export_dataset(work, split=0.5)
    assert export_dataset(work, split=0.5, split_by="row").validation == 2


def test_split_rows_never_straddles_a_group_and_fills_both_sides() -> None:
    for n_groups in range(2, 9):
        for size in (1, 3):
            groups = [g for g in range(n_groups) for _ in range(size + g % 2)]
            rows = list(range(len(groups)))
            for seed in range(5):
                train, validation = split_rows(rows, 0.8, seed, groups, unit="document")
                assert train and validation and sorted(train + validation) == rows
                assert not {groups[i] for i in train} & {groups[i] for i in validation}
    assert split_rows(list(range(10)), 0.7, 4) == split_rows(list(range(10)), 0.7, 4)
    others = {tuple(split_rows(list(range(10)), 0.7, seed)[1]) for seed in range(6)}
    assert len(others) > 1
    with pytest.raises(ExportError, match="between 0 and 1"):
        split_rows([1, 2], 1.0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_row_joins_its_evaluation_entry_without_text(tmp_path: Path, fmt: str) -> None:
    work = refined(tmp_path / "work", documents=2, chunks=2)
    export_dataset(work, fmt=fmt, output=tmp_path / "out")  # type: ignore[arg-type]
    evaluation = json.loads((work / "evaluation.json").read_text(encoding="utf-8"))
    entries = {(e["source_file"], e["pair_id"]): e for e in evaluation["entries"]}
    rows = read_jsonl(tmp_path / "out" / "train.jsonl")
    assert len(rows) == 9
    for row in rows:
        entry = entries[(row["source_file"], row["id"])]
        assert (row["document"], row["chunk_id"], row["pages"]) == (
            entry["document"], entry["chunk_id"], entry["pages"])
        assert row["label"] == entry["verdict"]["label"] == "Clear"
        assert row["decision"] == entry["final_decision"] == "kept"
        question = entry["original_messages"][0]["content"]
        assert question in json.dumps(row, ensure_ascii=False)
