"""``qaforge export``: the refined dataset for a trainer, a Hub card, optionally pushed."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

import click

from qaforge.cli.common import friendly_errors
from qaforge.cli.output import emit_json, mode, output_options, say, warn
from qaforge.export import FORMATS, SPLIT_BY, ExportFormat, SplitBy, export_dataset, push_to_hub

EXPORT_EXAMPLES = """\b
Examples:
  qaforge export work/                                  # -> work/export/train.jsonl + README.md
  qaforge export work/ --format prompt-completion --split 0.9 --license cc-by-4.0
  qaforge export work/ --format sharegpt --split 0.9 -o dataset/
  qaforge export work/ --split 0.8 --seed 13 --split-by chunk
  qaforge export work/ --license cc-by-4.0 --push-to-hub me/manuals-qa   # private repo

The folder is replaced as a whole: an interrupted export leaves the previous one intact.
--push-to-hub takes the token from HF_TOKEN or `huggingface-cli login` and the endpoint
from HF_ENDPOINT (needs `pip install 'qaforge[hub]'`).
"""


@click.command("export", epilog=EXPORT_EXAMPLES)
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="messages",
              show_default=True,
              help="Row format: messages, prompt-completion (TRL: loss on answers only), "
                   "alpaca, or sharegpt.")
@click.option("--split", type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
              default=None, help="Fraction for train.jsonl; the rest goes to validation.jsonl.")
@click.option("--split-by", type=click.Choice(SPLIT_BY), default="auto", show_default=True,
              help="Keep each document (auto: each chunk when there is one document) on one "
                   "side of the split; row mixes sources across sides.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the split.")
@click.option("--license", "license_", default="",
              help="License of the dataset for the card, a Hub id such as cc-by-4.0.")
@click.option("--name", "pretty_name", default="", help="Title of the dataset card.")
@click.option("--output", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output folder (default: WORKDIR/export).")
@click.option("--push-to-hub", "repo_id", default=None, metavar="REPO",
              help="Upload the folder to this Hub dataset repo (created private).")
@click.option("--public", is_flag=True, help="Create the Hub repo public instead of private.")
@output_options
@friendly_errors
def command(workdir: Path, fmt: str, split: float | None, split_by: str, seed: int,
            license_: str, pretty_name: str, output: Path | None, repo_id: str | None,
            public: bool) -> None:
    """Convert WORKDIR/cleaned_finetune.jsonl for a trainer, with a dataset card.

    Writes train.jsonl (and validation.jsonl with --split), README.md (a Hub dataset card
    with the sources, models, counts and judge labels) and the trainer configs that fit the
    format: dataset_info.json (LLaMA-Factory) and axolotl.yaml (Axolotl).
    """
    result = export_dataset(workdir, fmt=cast(ExportFormat, fmt), output=output, split=split,
                            seed=seed, split_by=cast(SplitBy, split_by), license=license_,
                            pretty_name=pretty_name)
    for warning in result.warnings:
        warn(warning)
    pushed = None
    if repo_id:
        pushed = push_to_hub(result.output, repo_id, private=not public)
    summary: dict[str, Any] = {"ok": True, **dataclasses.asdict(result)}
    if pushed is not None:
        summary["hub"] = dataclasses.asdict(pushed)
    if mode.json:
        emit_json(summary)
    parts = f"{result.train} train" + (f", {result.validation} validation"
                                       if split is not None else "")
    say(f"exported {parts} rows ({result.format}) to {result.output}: "
        + ", ".join(p.name for p in result.files)
        + (f"; split by {result.split_by}" if split is not None else ""))
    if pushed is not None:
        say(f"pushed to {pushed.url} ({'private' if pushed.private else 'public'})")


export_command = command
