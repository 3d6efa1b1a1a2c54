"""Ready-to-run trainer configs beside the data: LLaMA-Factory's ``dataset_info.json`` and
an Axolotl ``datasets:`` fragment.

LLaMA-Factory reads ``dataset_info.json`` from its ``dataset_dir`` (this folder):
``dataset: qaforge_train`` and ``eval_dataset: qaforge_validation``. Axolotl reads the
conversation through the model's chat template (``type: chat_template``; its docs call the
ShareGPT type deprecated) and trains on the assistant turns only.
"""

from __future__ import annotations

import json
from typing import Any

from qaforge.export.formats import ExportFormat

LLAMAFACTORY_NAME = "dataset_info.json"
AXOLOTL_NAME = "axolotl.yaml"
DATASET_NAME = "qaforge"


def llamafactory_entry(fmt: ExportFormat, file_name: str, has_system: bool
                       ) -> dict[str, Any] | None:
    """One ``dataset_info.json`` entry, or None for a format LLaMA-Factory cannot read."""
    if fmt == "messages":
        tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                "assistant_tag": "assistant", "system_tag": "system"}
        return {"file_name": file_name, "formatting": "sharegpt",
                "columns": {"messages": "messages"}, "tags": tags}
    if fmt == "sharegpt":
        columns = {"messages": "conversations"}
        if has_system:
            columns["system"] = "system"
        return {"file_name": file_name, "formatting": "sharegpt", "columns": columns}
    if fmt == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output"}
        if has_system:
            columns["system"] = "system"
        return {"file_name": file_name, "formatting": "alpaca", "columns": columns}
    return None


def llamafactory_config(fmt: ExportFormat, files: dict[str, str], has_system: bool
                        ) -> str | None:
    """``dataset_info.json`` naming each split ``qaforge_<split>`` (None: not readable)."""
    entries = {f"{DATASET_NAME}_{split}": llamafactory_entry(fmt, name, has_system)
               for split, name in files.items()}
    if any(entry is None for entry in entries.values()):
        return None
    return json.dumps(entries, indent=2) + "\n"


def axolotl_entry(fmt: ExportFormat, file_name: str) -> dict[str, Any] | None:
    """One Axolotl dataset entry, or None for a format better fed to it as messages."""
    if fmt == "messages":
        return {"path": file_name, "ds_type": "json", "split": "train",
                "type": "chat_template", "field_messages": "messages",
                "roles_to_train": ["assistant"]}
    if fmt == "alpaca":
        return {"path": file_name, "ds_type": "json", "split": "train", "type": "alpaca"}
    return None


def axolotl_config(fmt: ExportFormat, files: dict[str, str]) -> str | None:
    """A YAML fragment (``datasets:`` + ``test_datasets:``) to paste into an Axolotl config;
    the paths are relative to this folder."""
    lines = ["# Axolotl datasets for this export (written by qaforge export).",
             "# Paths are relative: run axolotl from this folder, or make them absolute."]
    for key, split in (("datasets", "train"), ("test_datasets", "validation")):
        if split not in files:
            continue
        entry = axolotl_entry(fmt, files[split])
        if entry is None:
            return None
        lines.append(f"{key}:")
        lines += [f"{'  - ' if i == 0 else '    '}{name}: {json.dumps(value)}"
                  for i, (name, value) in enumerate(entry.items())]
    return "\n".join(lines) + "\n"
