"""``export_dataset``: read the refined dataset, split it, write the folder in one step."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.errors import ExportError, JsonFileError
from qaforge.export.card import CARD_NAME, CardInfo, dataset_card
from qaforge.export.formats import (
    CONVERTERS,
    FORMATS,
    ExportFormat,
    export_row,
    iter_dataset,
)
from qaforge.export.split import SplitBy, group_keys, resolve_split_by, split_rows
from qaforge.export.trainers import (
    AXOLOTL_NAME,
    LLAMAFACTORY_NAME,
    axolotl_config,
    llamafactory_config,
)
from qaforge.export.writer import check_output, new_folder, recover
from qaforge.fileio import atomic_write_text, atomic_writer, encode_text, read_json
from qaforge.refine.report import DATASET_NAME, EVALUATION_NAME
from qaforge.safe_paths import refusal, require_inside, safe_listing

TRAIN_NAME = "train.jsonl"
VALIDATION_NAME = "validation.jsonl"
OUR_FILES = {TRAIN_NAME, VALIDATION_NAME, CARD_NAME, LLAMAFACTORY_NAME, AXOLOTL_NAME}
NO_LICENSE_WARNING = ("no --license given: the dataset card states none, and the Hub will "
                      "show the dataset without a license")


@dataclass(slots=True)
class ExportResult:
    """What an export wrote: counts per split, the folder, its files, any warnings."""

    format: ExportFormat
    output: Path
    train: int
    validation: int
    files: list[Path]
    split_by: str = ""
    warnings: list[str] = field(default_factory=list)


def export_dataset(workdir: Path, *, fmt: ExportFormat = "messages",
                   output: Path | None = None, split: float | None = None, seed: int = 0,
                   split_by: SplitBy = "auto", license: str = "",
                   pretty_name: str = "") -> ExportResult:
    """Convert the refined dataset of ``workdir`` and write it, with a dataset card and
    trainer configs, to ``output`` (default ``WORKDIR/export``) as one atomic step.

    With ``split`` (the train fraction) whole documents go to one side (whole chunks when
    there is one document; ``split_by`` overrides), seeded by ``seed``.
    """
    if fmt not in CONVERTERS:
        raise ExportError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    workdir = Path(workdir)
    output = Path(output) if output is not None else require_inside(
        workdir, workdir / "export", "not written")  # a folder the user named is theirs
    dataset = require_inside(workdir, workdir / DATASET_NAME)
    survey = _survey(dataset)
    if not survey.rows:
        raise ExportError(f"{workdir / DATASET_NAME} has no rows: nothing to export (did "
                          "`qaforge refine` keep any pair? see evaluation.json)")
    evaluation_path = workdir / EVALUATION_NAME
    refused = [line for line in [refusal(workdir, evaluation_path)] if line]
    evaluation = (read_json(evaluation_path) if evaluation_path.is_file() and not refused
                  else None)
    recover(output)
    check_output(output, OUR_FILES)

    held_out: set[int] = set()
    mode = ""
    if split is not None:
        mode = resolve_split_by(split_by, survey.groups)
        held_out = set(split_rows(range(survey.rows), split, seed,
                                  group_keys(mode, survey.groups), unit=mode)[1])
    counts = {"train": survey.rows - len(held_out)}
    if split is not None:
        counts["validation"] = len(held_out)
    names = {"train": TRAIN_NAME, "validation": VALIDATION_NAME}
    split_files = {side: names[side] for side in counts}
    configs = {LLAMAFACTORY_NAME: llamafactory_config(fmt, split_files, survey.has_system),
               AXOLOTL_NAME: axolotl_config(fmt, split_files)}
    texts = {name: text for name, text in configs.items() if text is not None}
    documents = source_documents(workdir, refused)
    info = CardInfo(fmt=fmt, files=split_files, counts=counts,
                    split=split, seed=seed, split_by=mode, has_system=survey.has_system,
                    license=license.strip(),
                    pretty_name=pretty_name.strip() or default_name(documents),
                    languages=sorted({str(d["language"]) for d in documents
                                      if d.get("language")}),
                    documents=documents, reasoning_rows=survey.reasoning_rows,
                    trainer_files=[n for n, text in configs.items() if text is not None])
    texts[CARD_NAME] = dataset_card(info, evaluation)
    with new_folder(output) as fresh:
        _write_rows(dataset, fresh, fmt, split_files, held_out, survey.rows)
        for name, text in texts.items():
            atomic_write_text(fresh / name, text)
    return ExportResult(fmt, output, counts["train"], counts.get("validation", 0),
                        [output / name for name in [*split_files.values(), *texts]], mode,
                        refused + ([] if license.strip() else [NO_LICENSE_WARNING]))


@dataclass(slots=True)
class _Survey:
    """What a first pass over the dataset learns: rows, system prompt, split groups."""

    rows: int = 0
    has_system: bool = False
    reasoning_rows: int = 0
    groups: list[tuple[str, str]] = field(default_factory=list)


def _survey(dataset: Path) -> _Survey:
    survey = _Survey()
    shared: dict[tuple[str, str], tuple[str, str]] = {}  # one tuple per chunk, not per row
    for conversation in iter_dataset(dataset):
        survey.rows += 1
        survey.has_system = survey.has_system or bool(conversation.system)
        survey.reasoning_rows += bool(conversation.reasoning)
        group = conversation.group
        survey.groups.append(shared.setdefault(group, group))
    return survey


def _write_rows(dataset: Path, folder: Path, fmt: ExportFormat, files: dict[str, str],
                held_out: set[int], expected: int) -> None:
    """Second pass: each row converted and written to its side's file as it is read."""
    with contextlib.ExitStack() as stack:
        handles = {side: stack.enter_context(atomic_writer(folder / name))
                   for side, name in files.items()}
        rows = 0
        for index, conversation in enumerate(iter_dataset(dataset)):
            side = "validation" if index in held_out else "train"
            handles[side].write(encode_text(
                json.dumps(export_row(conversation, fmt), ensure_ascii=False) + "\n"))
            rows += 1
        if rows != expected:
            raise ExportError(f"{dataset}: changed while it was exported ({expected} rows, "
                              f"then {rows}); export again")


def source_documents(workdir: Path, refused: list[str] | None = None
                     ) -> list[dict[str, Any]]:
    """The ``source`` block of every readable suggestions file (name, sha256, pages, and
    ``language`` where a file records it: the one its pairs were asked in with
    ``--language``, else the document's), sorted by name. Files that lead outside the work
    dir are not read: one line each goes to ``refused``."""
    out = []
    folder = workdir / "output_json"
    listing = safe_listing(workdir, folder, sorted(folder.glob("*_suggestions.json")))
    if refused is not None:
        refused.extend(listing.lines)
    for path in listing.files:
        try:
            data = read_json(path)
            source, generator = data.get("source"), data.get("generator")
        except (JsonFileError, OSError, AttributeError):
            continue
        if isinstance(source, dict) and source.get("file"):
            document = {k: source[k] for k in ("file", "sha256", "pages", "language")
                        if k in source}
            params = generator.get("params") if isinstance(generator, dict) else None
            if isinstance(params, dict) and isinstance(params.get("language"), str):
                document["language"] = params["language"]
            out.append(document)
    return out


def default_name(documents: list[dict[str, Any]]) -> str:
    if len(documents) == 1:
        return f"Questions and answers on {documents[0]['file']}"
    if documents:
        return f"Questions and answers on {len(documents)} documents"
    return "qaforge question-answer dataset"
