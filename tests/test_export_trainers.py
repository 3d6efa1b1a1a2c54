"""Ready-to-run trainer configs (issue 19 item 4): LLaMA-Factory's ``dataset_info.json`` and
an Axolotl ``datasets:`` fragment, loaded by the real libraries where they are installed
(neither installs without pulling its own torch stack, so they are not in the dev extra), and
always checked field by field against their documented schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from export_helpers import read_jsonl, refined
from qaforge.export import export_dataset

# LLaMA-Factory's DatasetAttr (data/parser.py): the keys of an entry, its columns and tags
LF_KEYS = {"file_name", "formatting", "ranking", "subset", "split", "folder", "num_samples",
           "columns", "tags"}
LF_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools",
              "images", "videos", "audios", "chosen", "rejected", "kto_tag"}
LF_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
           "function_tag", "system_tag"}
# Axolotl's SFTDataset (utils/schemas/datasets.py) fields used by a chat_template / alpaca entry
AXOLOTL_KEYS = {"path", "ds_type", "split", "type", "field_messages", "roles_to_train",
                "message_property_mappings", "data_files"}


def exported(tmp_path: Path, fmt: str, system: str = "You know rivers.") -> Path:
    work = refined(tmp_path / "work", system_prompt=system, chunks=2)
    out = tmp_path / fmt
    export_dataset(work, fmt=fmt, split=0.7, seed=1, output=out)  # type: ignore[arg-type]
    return out


def lf_read(entry: dict[str, Any], row: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """LLaMA-Factory's alpaca / sharegpt converters, restated: (system, conversation)."""
    columns = entry.get("columns", {})
    if entry.get("formatting", "alpaca") == "alpaca":
        prompt = row[columns.get("prompt", "instruction")]
        query = row[columns.get("query", "input")]
        content = "\n".join(part for part in (prompt, query) if part)
        system = row[columns["system"]] if "system" in columns else ""
        return system, [{"role": "user", "content": content},
                        {"role": "assistant", "content": row[columns.get("response", "output")]}]
    tags = {"role_tag": "from", "content_tag": "value", "user_tag": "human",
            "assistant_tag": "gpt", "system_tag": "system", **entry.get("tags", {})}
    messages = row[columns.get("messages", "conversations")]
    system = row[columns["system"]] if "system" in columns else ""
    if messages and messages[0][tags["role_tag"]] == tags["system_tag"]:
        system, messages = messages[0][tags["content_tag"]], messages[1:]
    roles = {tags["user_tag"]: "user", tags["assistant_tag"]: "assistant"}
    assert [m[tags["role_tag"]] for m in messages] == [tags["user_tag"], tags["assistant_tag"]]
    return system, [{"role": roles[m[tags["role_tag"]]], "content": m[tags["content_tag"]]}
                    for m in messages]


@pytest.mark.parametrize("fmt", ["messages", "alpaca", "sharegpt"])
def test_llamafactory_dataset_info_reads_every_row(tmp_path: Path, fmt: str) -> None:
    out = exported(tmp_path, fmt)
    info = json.loads((out / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"qaforge_train", "qaforge_validation"}
    for name, entry in info.items():
        assert set(entry) <= LF_KEYS and set(entry["columns"]) <= LF_COLUMNS
        assert set(entry.get("tags", {})) <= LF_TAGS
        assert entry["formatting"] in ("alpaca", "sharegpt")
        rows = read_jsonl(out / entry["file_name"])
        assert rows and name.endswith(entry["file_name"].split(".")[0])
        for row in rows:
            system, conversation = lf_read(entry, row)
            assert system == "You know rivers."
            assert [m["role"] for m in conversation] == ["user", "assistant"]
            assert conversation[1]["content"] and conversation[0]["content"].endswith("?")


def test_no_trainer_config_where_the_trainer_cannot_read_the_format(tmp_path: Path) -> None:
    out = exported(tmp_path, "prompt-completion")
    assert not (out / "dataset_info.json").exists() and not (out / "axolotl.yaml").exists()
    out = exported(tmp_path / "s", "sharegpt")
    assert (out / "dataset_info.json").exists() and not (out / "axolotl.yaml").exists()


@pytest.mark.parametrize("fmt", ["messages", "alpaca"])
def test_axolotl_fragment_follows_its_schema(tmp_path: Path, fmt: str) -> None:
    out = exported(tmp_path, fmt)
    config = yaml.safe_load((out / "axolotl.yaml").read_text(encoding="utf-8"))
    assert set(config) == {"datasets", "test_datasets"}
    for entry in config["datasets"] + config["test_datasets"]:
        assert set(entry) <= AXOLOTL_KEYS and entry["ds_type"] == "json"
        rows = read_jsonl(out / entry["path"])
        assert rows
        if fmt == "messages":
            assert entry["type"] == "chat_template" and entry["roles_to_train"] == ["assistant"]
            assert all(m["role"] in ("system", "user", "assistant")
                       for row in rows for m in row[entry["field_messages"]])
        else:
            assert entry["type"] == "alpaca"
            assert all({"instruction", "input", "output"} <= set(row) for row in rows)


@pytest.mark.parametrize("fmt", ["messages", "alpaca"])
def test_axolotl_own_schema_accepts_the_fragment(tmp_path: Path, fmt: str) -> None:
    schema = pytest.importorskip("axolotl.utils.schemas.datasets")
    out = exported(tmp_path, fmt)
    config = yaml.safe_load((out / "axolotl.yaml").read_text(encoding="utf-8"))
    for entry in config["datasets"] + config["test_datasets"]:
        parsed = schema.SFTDataset.model_validate(entry)
        assert parsed.path == entry["path"] and parsed.type == entry["type"]


@pytest.mark.parametrize("fmt", ["messages", "alpaca", "sharegpt"])
def test_llamafactory_own_loader_converts_every_row(tmp_path: Path, fmt: str) -> None:
    parser = pytest.importorskip("llamafactory.data.parser")
    converter = pytest.importorskip("llamafactory.data.converter")
    from types import SimpleNamespace

    out = exported(tmp_path, fmt)
    attrs = parser.get_dataset_list(["qaforge_train", "qaforge_validation"], str(out))
    for attr in attrs:
        assert attr.load_from == "file"
        convert = converter.get_dataset_converter(
            attr.formatting, attr, SimpleNamespace(media_dir=str(out), dataset_dir=str(out)))
        for row in read_jsonl(out / attr.dataset_name):
            aligned = convert(row)
            assert aligned["_system"] == "You know rivers."
            assert [m["role"] for m in aligned["_prompt"]] == ["user"]
            assert aligned["_response"][0]["content"]
