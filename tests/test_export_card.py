"""The dataset card (issue 19 item 5): license, language, pretty_name, source documents with
their sha256, models, label counts; valid for ``huggingface_hub.DatasetCard`` and for the
``configs`` that ``datasets`` reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from export_helpers import refined
from qaforge.cli import cli
from qaforge.export import export_dataset


def test_card_metadata_reads_as_a_hub_dataset_card(tmp_path: Path) -> None:
    hub = pytest.importorskip("huggingface_hub")
    work = refined(tmp_path / "work", documents=2, chunks=2)
    result = export_dataset(work, split=0.8, seed=3, license="cc-by-4.0",
                            pretty_name='Rivers "and" lakes', output=tmp_path / "out")
    assert result.warnings == []
    card = hub.DatasetCard.load(tmp_path / "out" / "README.md")
    data = card.data.to_dict()
    assert data["license"] == "cc-by-4.0" and data["pretty_name"] == 'Rivers "and" lakes'
    assert "language" not in data  # the suggestions files record none: not guessed
    assert data["configs"] == [{"config_name": "default", "data_files": [
        {"split": "train", "path": "train.jsonl"},
        {"split": "validation", "path": "validation.jsonl"}]}]
    text = card.text
    assert f"| rivers.pdf | 2 | `{'a' * 64}` |" in text
    assert f"| lakes.pdf | 2 | `{'b' * 64}` |" in text
    assert "generator: gen-model (fake)" in text and "judge: fake-model (fake)" in text
    assert "| Clear | 9 |" in text and "split 0.8 by document with seed 3" in text
    assert "Use this one with TRL" not in text and "--format prompt-completion" in text


def test_language_comes_from_the_documents(tmp_path: Path) -> None:
    hub = pytest.importorskip("huggingface_hub")
    work = refined(tmp_path / "work", documents=2)
    for name, language in (("rivers", "de"), ("lakes", "en")):
        path = work / "output_json" / f"{name}_suggestions.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        data["source"]["language"] = language
        path.write_text(json.dumps(data), encoding="utf-8")
    export_dataset(work, fmt="prompt-completion", license="mit")
    card = hub.DatasetCard.load(work / "export" / "README.md")
    assert card.data.language == ["de", "en"]
    assert "Use this one with TRL" in card.text and "SFTTrainer" in card.text


def test_no_license_is_a_warning_and_no_license_key(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    result = CliRunner().invoke(cli, ["export", str(work)])
    assert result.exit_code == 0, result.output
    assert "warning: no --license given" in result.output
    card = (work / "export" / "README.md").read_text(encoding="utf-8")
    assert "\nlicense:" not in card.split("---", 2)[1] and "license: not stated" in card


@pytest.mark.slow  # importing datasets takes seconds
def test_the_folder_loads_by_its_card_configs(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    work = refined(tmp_path / "work", documents=2, chunks=2)
    result = export_dataset(work, split=0.8, seed=3, license="cc-by-4.0",
                            output=tmp_path / "out")
    loaded = datasets.load_dataset(str(tmp_path / "out"))
    assert set(loaded) == {"train", "validation"}
    assert (loaded["train"].num_rows, loaded["validation"].num_rows) == (
        result.train, result.validation)
    assert loaded["train"].column_names[0] == "messages"
