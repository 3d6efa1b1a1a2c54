"""The dataset card (``README.md``): Hub metadata, sources, models, counts, how to train.

The YAML header is what ``huggingface_hub.DatasetCard`` and ``datasets`` read: ``license``,
``language``, ``pretty_name`` and ``configs`` (one ``data_files`` entry per split), so the
folder loads with ``load_dataset(FOLDER)`` and shows its splits on the Hub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from qaforge.export.formats import ExportFormat

CARD_NAME = "README.md"
CARD_MARKER = "<!-- written by qaforge export -->"


@dataclass(slots=True)
class CardInfo:
    """What the card states besides ``evaluation.json``."""

    fmt: ExportFormat
    files: dict[str, str]  # split -> file name
    counts: dict[str, int]  # split -> rows
    split: float | None = None
    seed: int = 0
    split_by: str = ""
    has_system: bool = False
    license: str = ""
    pretty_name: str = "qaforge question-answer dataset"
    languages: list[str] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)  # suggestions' "source"
    trainer_files: list[str] = field(default_factory=list)
    reasoning_rows: int = 0  # rows with the generating model's kept reasoning


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
                 '"content": ...}]}` (a `system` message first when one was set). Read by '
                 "`tokenizer.apply_chat_template`, OpenAI fine-tuning, LLaMA-Factory and "
                 "Axolotl (see the configs below). TRL trains on the question tokens too "
                 "with this format for the common chat templates: export "
                 "`--format prompt-completion` for TRL."),
    "prompt-completion": ('`{"prompt": [{"role": "user", "content": ...}], "completion": '
                          '[{"role": "assistant", "content": ...}]}` (a `system` message '
                          "first in `prompt` when one was set): TRL's conversational "
                          "prompt-completion format, for which `SFTTrainer` computes the "
                          "loss on the answer tokens only. **Use this one with TRL.**"),
    "alpaca": ('`{"instruction": ..., "input": "", "output": ...}` (plus `system` when one '
               "was set), as Alpaca, LLaMA-Factory and Axolotl (`type: alpaca`) read it."),
    "sharegpt": ('`{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", '
                 '"value": ...}]}` (plus `system` when one was set), as LLaMA-Factory reads '
                 "it. Axolotl calls ShareGPT deprecated: export `--format messages` for it."),
}
PROVENANCE_NOTE = (
    "Every row also carries `id` (the pair id in `evaluation.json`), `source_file`, "
    "`document`, `pages`, `chunk_id`, the judge's `label` and the `decision`: trainers read "
    "only their own columns, and `(source_file, id)` joins a row to its entry in "
    "`evaluation.json` and to the review app.")

_CHAT_REASONING = ("the generating model's reasoning (`--reasoning keep`) as the assistant "
                   "message's `reasoning_content`, beside its `content`: chat templates of "
                   "reasoning models (Qwen3) render it as the turn's thinking, others ignore it")
REASONING_NOTE = {
    "messages": _CHAT_REASONING, "prompt-completion": _CHAT_REASONING,
    **dict.fromkeys(("alpaca", "sharegpt"), (
        "the generating model's reasoning (`--reasoning keep`) behind the final answer in "
        "a `reasoning_content` column, never inside the answer")),
}


def _yaml_header(info: CardInfo) -> list[str]:
    data_files = "\n".join(f"  - split: {split}\n    path: {name}"
                           for split, name in info.files.items())
    lines = ["---"]
    if info.license:
        lines.append(f"license: {json.dumps(info.license)}")
    if info.languages:
        lines.append("language:\n" + "\n".join(f"- {json.dumps(lang)}"
                                              for lang in info.languages))
    lines += [
        f"pretty_name: {json.dumps(info.pretty_name, ensure_ascii=False)}",
        "task_categories:\n- question-answering\n- text-generation",
        "tags:\n- qaforge\n- synthetic\n- sft",
        f"size_categories:\n- {_size_category(sum(info.counts.values()))}",
        "configs:\n- config_name: default\n  data_files:\n" + data_files,
        "---",
    ]
    return lines


def dataset_card(info: CardInfo, evaluation: Any) -> str:
    """A Hugging Face ``README.md``: metadata, sources, models, counts, labels, training."""
    summary = evaluation.get("summary", {}) if isinstance(evaluation, dict) else {}
    total = sum(info.counts.values())
    counts = ", ".join(f"{n} {split}" for split, n in info.counts.items())
    split_note = (f"; split {info.split} by {info.split_by} with seed {info.seed}, so no "
                  f"{info.split_by} has rows on both sides" if info.split is not None else "")
    lines = [*_yaml_header(info), CARD_MARKER, "", f"# {_cell(info.pretty_name)}", "",
             "Question/answer pairs drafted by a language model from PDF documents, curated "
             "by a person (optional), then judged and corrected by a model judge with each "
             "pair's source passage in view. The passages themselves are not part of the "
             "rows.", "",
             "## Contents", "",
             f"- format: **{info.fmt}**: {_FORMAT_NOTES[info.fmt]}",
             f"- rows: {total} ({counts}{split_note})",
             f"- system prompt: {'yes' if info.has_system else 'none'}",
             f"- license: {_cell(info.license) if info.license else 'not stated'}",
             f"- provenance: {PROVENANCE_NOTE}",
             *([f"- reasoning: {info.reasoning_rows} rows carry {REASONING_NOTE[info.fmt]}"]
               if info.reasoning_rows else []), ""]
    lines += _documents_section(info.documents)
    lines += _sources_section(summary)
    lines += _models_section(summary, evaluation)
    lines += _quality_section(summary)
    lines += _how_made(info.fmt)
    lines += _training_section(info)
    return "\n".join(lines)


def _documents_section(documents: list[dict[str, Any]]) -> list[str]:
    if not documents:
        return []
    lines = ["## Source documents", "", "| document | pages | sha256 |", "|---|---:|---|"]
    lines += [f"| {_cell(d.get('file', '?'))} | {_cell(d.get('pages', ''))} | "
              f"`{_cell(d.get('sha256', ''))}` |" for d in documents]
    return [*lines, ""]


def _how_made(fmt: ExportFormat) -> list[str]:
    return [
        "## How it was made", "",
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
        f"4. `qaforge export --format {fmt}`.", "",
        "Every decision, with its reason, is in the `evaluation.json` written by "
        "`qaforge refine` next to the source data.", ""]


def _training_section(info: CardInfo) -> list[str]:
    data_files = ", ".join(f'"{split}": "{name}"' for split, name in info.files.items())
    lines = ["## Loading and training", "", "```python", "from datasets import load_dataset",
             f"ds = load_dataset(\"json\", data_files={{{data_files}}})", "```", ""]
    if info.fmt in ("prompt-completion", "messages"):
        lines += ["With TRL (`--format prompt-completion` trains on the answers only):", "",
                  "```python", "from trl import SFTConfig, SFTTrainer", "",
                  'trainer = SFTTrainer(model="Qwen/Qwen2.5-0.5B-Instruct", '
                  'train_dataset=ds["train"],'
                  + (' eval_dataset=ds["validation"],' if "validation" in info.files else "")
                  + ' args=SFTConfig(output_dir="sft-out"))', "trainer.train()", "```", ""]
    if "dataset_info.json" in info.trainer_files:
        eval_line = ("\neval_dataset: qaforge_validation" if "validation" in info.files
                     else "")
        lines += ["LLaMA-Factory: `dataset_info.json` in this folder describes each split; "
                  "in your training YAML:", "", "```yaml", "dataset_dir: PATH/TO/THIS/FOLDER",
                  f"dataset: qaforge_train{eval_line}", "```", ""]
    if "axolotl.yaml" in info.trainer_files:
        lines += ["Axolotl: paste the `datasets:` (and `test_datasets:`) entries of "
                  "`axolotl.yaml` into your config; the loss falls on the assistant turns "
                  "only.", ""]
    return lines


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
