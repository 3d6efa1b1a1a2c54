"""``qaforge export``: the refined dataset in the format a trainer reads, with a dataset card.

Reads ``WORKDIR/cleaned_finetune.jsonl`` (and ``evaluation.json`` for the card) and writes
``train.jsonl`` (+ ``validation.jsonl`` with a split) and ``README.md`` to the output folder:

* ``messages``: ``{"messages": [{"role": ..., "content": ...}]}`` (TRL ``SFTTrainer``,
  OpenAI fine-tuning, ``tokenizer.apply_chat_template``);
* ``alpaca``: ``{"instruction", "input", "output"}`` (+ ``system`` and ``history`` when there
  are any), as Alpaca and LLaMA-Factory read it;
* ``sharegpt``: ``{"conversations": [{"from": "human"|"gpt", "value": ...}], "system"}``, as
  LLaMA-Factory and Axolotl read it.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from qaforge.errors import ExportError
from qaforge.fileio import JsonFileError, atomic_write_text, read_json
from qaforge.refine.report import DATASET_NAME, EVALUATION_NAME

ExportFormat = Literal["messages", "alpaca", "sharegpt"]
FORMATS: tuple[ExportFormat, ...] = ("messages", "alpaca", "sharegpt")
CARD_MARKER = "<!-- written by qaforge export -->"
TRAIN_NAME = "train.jsonl"
VALIDATION_NAME = "validation.jsonl"


@dataclass(slots=True)
class Conversation:
    """One dataset row as an optional system prompt and (user, assistant) turns."""

    system: str = ""
    turns: list[tuple[str, str]] = field(default_factory=list)


@dataclass(slots=True)
class ExportResult:
    format: ExportFormat
    output: Path
    train: int
    validation: int
    files: list[Path]


def read_dataset(path: Path) -> list[Conversation]:
    """Rows of a ``cleaned_finetune.jsonl``; a bad line raises naming file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found (run `qaforge refine` first)")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JsonFileError(path, f"invalid JSON: {exc.msg}", number, exc.colno) from exc
        try:
            rows.append(conversation_of(data))
        except ExportError as exc:
            raise JsonFileError(path, str(exc), number, 1) from exc
    return rows


def conversation_of(row: Any) -> Conversation:
    """Check a ``{"messages": [...]}`` row: optional system, then user/assistant turns."""
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ExportError('expected {"messages": [...]}')
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        raise ExportError("every message needs a string 'content'")
    conversation = Conversation()
    if messages[0].get("role") == "system":
        conversation.system = messages[0]["content"]
        messages = messages[1:]
    roles = [m.get("role") for m in messages]
    if not messages or len(messages) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise ExportError(f"roles must alternate user/assistant, found {roles}")
    conversation.turns = [(messages[i]["content"], messages[i + 1]["content"])
                          for i in range(0, len(messages), 2)]
    return conversation


def to_messages(conv: Conversation) -> dict[str, Any]:
    messages = [{"role": "system", "content": conv.system}] if conv.system else []
    for user, assistant in conv.turns:
        messages += [{"role": "user", "content": user},
                     {"role": "assistant", "content": assistant}]
    return {"messages": messages}


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    instruction, output = conv.turns[-1]
    row: dict[str, Any] = {"instruction": instruction, "input": "", "output": output}
    if conv.system:
        row["system"] = conv.system
    if len(conv.turns) > 1:
        row["history"] = [list(turn) for turn in conv.turns[:-1]]
    return row


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    turns = []
    for user, assistant in conv.turns:
        turns += [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]
    row: dict[str, Any] = {"conversations": turns}
    if conv.system:
        row["system"] = conv.system
    return row


CONVERTERS = {"messages": to_messages, "alpaca": to_alpaca, "sharegpt": to_sharegpt}


def split_rows(rows: list[Any], train_fraction: float, seed: int = 0
               ) -> tuple[list[Any], list[Any]]:
    """Seeded shuffle, then ``train_fraction`` for training (each side gets at least one row
    when there are two or more)."""
    if not 0.0 < train_fraction < 1.0:
        raise ExportError(f"--split must be between 0 and 1 (exclusive), got {train_fraction}")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_train = round(len(rows) * train_fraction)
    if len(rows) >= 2:
        n_train = min(max(n_train, 1), len(rows) - 1)
    train = sorted(order[:n_train])
    validation = sorted(order[n_train:])
    return [rows[i] for i in train], [rows[i] for i in validation]


def _check_output(output: Path) -> None:
    """Refuse to overwrite files in a folder that an earlier export did not write."""
    readme = output / "README.md"
    ours = readme.is_file() and CARD_MARKER in readme.read_text(encoding="utf-8",
                                                                errors="replace")
    clashes = [p.name for p in (readme, output / TRAIN_NAME, output / VALIDATION_NAME)
               if p.exists()]
    if clashes and not ours:
        raise ExportError(f"{output}: already has {', '.join(clashes)} not written by "
                          "`qaforge export`; choose another folder with -o")


def export_dataset(workdir: Path, *, fmt: ExportFormat = "messages",
                   output: Path | None = None, split: float | None = None,
                   seed: int = 0) -> ExportResult:
    """Convert the refined dataset of ``workdir`` and write it with a dataset card."""
    if fmt not in CONVERTERS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    workdir = Path(workdir)
    output = Path(output) if output is not None else workdir / "export"
    conversations = read_dataset(workdir / DATASET_NAME)
    evaluation_path = workdir / EVALUATION_NAME
    evaluation = read_json(evaluation_path) if evaluation_path.is_file() else None
    _check_output(output)
    rows = [CONVERTERS[fmt](c) for c in conversations]
    train, validation = split_rows(rows, split, seed) if split is not None else (rows, [])
    output.mkdir(parents=True, exist_ok=True)
    files = [output / TRAIN_NAME]
    atomic_write_text(files[0], _jsonl(train))
    stale = output / VALIDATION_NAME
    if split is not None:
        files.append(stale)
        atomic_write_text(stale, _jsonl(validation))
    elif stale.exists():
        stale.unlink()  # from an earlier export with a split; it would not match any more
    card = dataset_card(fmt=fmt, train=len(train), validation=len(validation),
                        split=split, seed=seed, evaluation=evaluation,
                        has_system=any(c.system for c in conversations))
    files.append(output / "README.md")
    atomic_write_text(files[-1], card)
    return ExportResult(fmt, output, len(train), len(validation), files)


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def _cell(value: Any) -> str:
    """File names and errors come from outside: keep them inert in Markdown."""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|").replace("\n", " ")


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M"


def _model_name(info: Any) -> str:
    if not isinstance(info, dict):
        return "unknown"
    return _cell(f"{info.get('model') or 'unknown'} ({info.get('backend', '?')})")


_FORMAT_NOTES = {
    "messages": ('`{"messages": [{"role": "user", "content": ...}, {"role": "assistant", '
                 '"content": ...}]}` (a `system` message first when one was set). TRL\'s '
                 "`SFTTrainer` and `tokenizer.apply_chat_template` take it as is."),
    "alpaca": ('`{"instruction": ..., "input": "", "output": ...}` (plus `system` when one was '
               "set). In LLaMA-Factory's `dataset_info.json`: "
               '`"formatting": "alpaca"` with `"columns": {"prompt": "instruction", '
               '"query": "input", "response": "output", "system": "system"}`.'),
    "sharegpt": ('`{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", '
                 '"value": ...}]}` (plus `system` when one was set). In LLaMA-Factory\'s '
                 '`dataset_info.json`: `"formatting": "sharegpt"` with `"columns": '
                 '{"messages": "conversations", "system": "system"}`.'),
}


def dataset_card(*, fmt: ExportFormat, train: int, validation: int, split: float | None,
                 seed: int, evaluation: Any, has_system: bool) -> str:
    """A Hugging Face style ``README.md``: sources, models, counts, labels, how it was made."""
    summary = evaluation.get("summary", {}) if isinstance(evaluation, dict) else {}
    files = [f"  - split: train\n    path: {TRAIN_NAME}"]
    if split is not None:
        files.append(f"  - split: validation\n    path: {VALIDATION_NAME}")
    lines = [
        "---",
        "task_categories:\n- question-answering\n- text-generation",
        "tags:\n- qaforge\n- synthetic\n- sft",
        f"size_categories:\n- {_size_category(train + validation)}",
        "configs:\n- config_name: default\n  data_files:\n" + "\n".join(files),
        "---",
        CARD_MARKER,
        "",
        "# Question-answer dataset made with qaforge",
        "",
        "Question/answer pairs drafted by a language model from PDF documents, curated by a "
        "person (optional), then judged and corrected by a model judge with each pair's source "
        "passage in view. The passages themselves are not part of the rows.",
        "",
        "## Contents",
        "",
        f"- format: **{fmt}**: {_FORMAT_NOTES[fmt]}",
        f"- rows: {train + validation} ({train} train"
        + (f", {validation} validation; seeded split {split} with seed {seed})"
           if split is not None else ")"),
        f"- system prompt: {'yes' if has_system else 'none'}",
        "",
    ]
    lines += _sources_section(summary)
    lines += _models_section(summary, evaluation)
    lines += _quality_section(summary)
    lines += [
        "## How it was made",
        "",
        "1. `qaforge generate`: PDFs were extracted (reading order, headers and footers "
        "removed, tables kept as Markdown), cut into heading-aware chunks, and a model drafted "
        "question/answer pairs for every chunk.",
        "2. `qaforge review` (optional): a person accepted, edited or rejected pairs.",
        "3. `qaforge refine`: rejected and malformed pairs were dropped; exact and "
        "near-duplicates removed; each answer's grounding in its passage measured without a "
        "model; question form checked (a real question that stands without the passage); a "
        "judge scored clarity, coherence, relevance and groundedness and labelled each pair "
        "Clear / Unclear / Needs Improvement; flagged pairs were rewritten and kept only when "
        "the rewrite passed. Pairs a person accepted were never rewritten.",
        f"4. `qaforge export --format {fmt}`.",
        "",
        "Every decision, with its reason, is in the `evaluation.json` written by "
        "`qaforge refine` next to the source data.",
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("json", data_files={{"train": "{TRAIN_NAME}"'
        + (f', "validation": "{VALIDATION_NAME}"' if split is not None else "") + "})",
        "```",
        "",
    ]
    return "\n".join(lines)


def _sources_section(summary: dict[str, Any]) -> list[str]:
    coverage = summary.get("coverage") or {}
    if not coverage:
        return ["## Sources", "", "No `evaluation.json` was found; sources are unknown.", ""]
    lines = ["## Sources", "", "| document | chunks | chunks with rows | pairs in | rows |",
             "|---|---:|---:|---:|---:|"]
    for document, info in coverage.items():
        if not isinstance(info, dict):
            continue
        if info.get("error"):
            lines.append(f"| {_cell(document)} | not read: {_cell(info['error'])} | | | |")
            continue
        lines.append(f"| {_cell(document)} | {info.get('chunks', 0)} | "
                     f"{info.get('chunks_in_dataset', 0)} | {info.get('pairs_in', 0)} | "
                     f"{info.get('dataset_rows', 0)} |")
    return [*lines, ""]


def _models_section(summary: dict[str, Any], evaluation: Any) -> list[str]:
    models = summary.get("models") or {}
    if not models:
        return []
    generators = ", ".join(_model_name(g) for g in models.get("generators", [])) or "unknown"
    lines = ["## Models", "", f"- generator: {generators}",
             f"- judge: {_model_name(models.get('judge'))}",
             f"- corrector: {_model_name(models.get('corrector'))}"]
    prompts = summary.get("prompts") or {}
    if prompts:
        lines.append("- prompts: " + ", ".join(f"{_cell(k)} `{_cell(v)}`"
                                               for k, v in prompts.items()))
    demo = evaluation.get("demo_judge") if isinstance(evaluation, dict) else None
    if demo:
        lines += ["", f"> **Warning:** {demo}"]
    return [*lines, ""]


def _quality_section(summary: dict[str, Any]) -> list[str]:
    if not summary:
        return []
    labels = summary.get("labels") or {}
    decisions = summary.get("decisions") or {}
    lines = ["## Judge labels and decisions", "", "| judge label | pairs |", "|---|---:|"]
    lines += [f"| {_cell(k)} | {v} |" for k, v in labels.items()]
    lines += ["", "| decision | pairs |", "|---|---:|"]
    lines += [f"| {_cell(k)} | {v} |" for k, v in decisions.items()]
    retention = summary.get("retention_rate")
    if isinstance(retention, (int, float)):
        considered = int(summary.get("pairs_in", 0)) - int(decisions.get("rejected", 0))
        lines += ["", f"Retention: {retention:.0%} of the {considered} pairs that were not "
                      "rejected by a person made it into the dataset."]
    return [*lines, ""]
