"""``export_dataset``: read the refined dataset, split it, write the folder in one step."""

from __future__ import annotations

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
    jsonl,
    read_dataset,
)
from qaforge.export.split import SplitBy, group_keys, resolve_split_by, split_rows
from qaforge.export.trainers import (
    AXOLOTL_NAME,
    LLAMAFACTORY_NAME,
    axolotl_config,
    llamafactory_config,
)
from qaforge.export.writer import check_output, recover, write_folder
from qaforge.fileio import read_json
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
    conversations = read_dataset(require_inside(workdir, workdir / DATASET_NAME))
    if not conversations:
        raise ExportError(f"{workdir / DATASET_NAME} has no rows: nothing to export (did "
                          "`qaforge refine` keep any pair? see evaluation.json)")
    evaluation_path = workdir / EVALUATION_NAME
    refused = [line for line in [refusal(workdir, evaluation_path)] if line]
    evaluation = (read_json(evaluation_path) if evaluation_path.is_file() and not refused
                  else None)
    recover(output)
    check_output(output, OUR_FILES)

    sides = {"train": conversations}
    mode = ""
    if split is not None:
        sources = [c.group for c in conversations]
        mode = resolve_split_by(split_by, sources)
        sides["train"], sides["validation"] = split_rows(
            conversations, split, seed, group_keys(mode, sources), unit=mode)
    names = {"train": TRAIN_NAME, "validation": VALIDATION_NAME}
    files = {names[side]: jsonl([export_row(c, fmt) for c in rows])
             for side, rows in sides.items()}
    split_files = {side: names[side] for side in sides}
    has_system = any(c.system for c in conversations)
    configs = {LLAMAFACTORY_NAME: llamafactory_config(fmt, split_files, has_system),
               AXOLOTL_NAME: axolotl_config(fmt, split_files)}
    files.update({name: text for name, text in configs.items() if text is not None})
    documents = source_documents(workdir, refused)
    info = CardInfo(fmt=fmt, files=split_files,
                    counts={side: len(rows) for side, rows in sides.items()},
                    split=split, seed=seed, split_by=mode, has_system=has_system,
                    license=license.strip(),
                    pretty_name=pretty_name.strip() or default_name(documents),
                    languages=sorted({str(d["language"]) for d in documents
                                      if d.get("language")}),
                    documents=documents,
                    trainer_files=[n for n, text in configs.items() if text is not None])
    files[CARD_NAME] = dataset_card(info, evaluation)
    write_folder(output, files)
    return ExportResult(fmt, output, len(sides["train"]), len(sides.get("validation", [])),
                        [output / name for name in files], mode,
                        refused + ([] if license.strip() else [NO_LICENSE_WARNING]))


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
