"""The work directory: which PDFs map to which suggestions files, and how a new extraction
is merged into a file a person may already have reviewed.

Layout::

    WORKDIR/output_json/<pdf>_suggestions.json   stage 1 output, stage 2 edits it
    WORKDIR/cleaned_finetune.jsonl               stage 3 output
    WORKDIR/evaluation.json                      stage 3 report
    WORKDIR/.qaforge/                            journals, caches, locks (safe to delete)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qaforge.fileio import JsonFileError, sha256_file
from qaforge.records import (
    Chunk,
    Document,
    GeneratorInfo,
    Source,
    SuggestionsFile,
    suggestions_filename,
)
from qaforge.suggestions import (
    load_suggestions,
    suggestions_dir,
    update_suggestions,
    write_suggestions,
)

STATE_DIR = ".qaforge"

PrepareStatus = Literal["new", "unchanged", "changed", "failed"]


def state_dir(workdir: Path) -> Path:
    path = workdir / STATE_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def discover_pdfs(inputs: Iterable[Path]) -> tuple[list[tuple[Path, str]], list[str]]:
    """PDF files under ``inputs`` (files or folders, recursive), each with the suggestions
    file name it maps to. Returns ``(pairs, problems)``; name clashes are disambiguated
    with the sub-folder path."""
    found: list[tuple[Path, Path]] = []
    problems: list[str] = []
    for item in inputs:
        if item.is_dir():
            found.extend((p, item) for p in sorted(item.rglob("*")) if p.is_file()
                         and p.suffix.lower() == ".pdf")
        elif item.is_file():
            found.append((item, item.parent))
        else:
            problems.append(f"{item}: no such file or folder")
    out: list[tuple[Path, str]] = []
    used: set[str] = set()
    for path, root in found:
        name = suggestions_filename(path.name)
        if name in used:
            rel = path.relative_to(root) if path.is_relative_to(root) else path
            name = suggestions_filename("__".join(rel.parts))
        used.add(name)
        out.append((path, name))
    return out, problems


@dataclass(slots=True)
class Prepared:
    """Outcome of preparing one PDF's suggestions file."""

    pdf: Path
    path: Path
    status: PrepareStatus
    pages: int = 0
    chunks: int = 0
    message: str = ""
    warnings: tuple[str, ...] = ()


def merge_chunks(old: SuggestionsFile, new_chunks: list[Chunk]) -> tuple[list[Chunk], int]:
    """New chunk list for a changed PDF: chunks with the same id keep their old content;
    old chunks that a person reviewed are kept (flagged ``stale``) even if the PDF no longer
    has them; untouched drafts of vanished chunks go. Returns ``(chunks, kept_stale)``."""
    by_id = {c.id: c for c in old.chunks}
    merged = [by_id.get(c.id, c) for c in new_chunks]
    new_ids = {c.id for c in new_chunks}
    stale = []
    for chunk in old.chunks:
        if chunk.id not in new_ids and chunk.reviewed:
            kept = chunk.model_copy(deep=True)
            extra = kept.__pydantic_extra__ if kept.__pydantic_extra__ is not None else {}
            extra["stale"] = "source PDF changed; this chunk is no longer in it"
            stale.append(kept)
    return merged + stale, len(stale)


@dataclass(slots=True)
class DocumentPlan:
    """What :func:`plan_document` found for one PDF before any extraction.

    ``done`` is set when nothing needs extracting (the file is for the same PDF bytes, or it
    does not parse); otherwise the PDF must be extracted and chunked, and ``existing`` is the
    file to merge into (``None``: there is no file yet).
    """

    pdf: Path
    path: Path
    sha256: str
    existing: SuggestionsFile | None = None
    done: Prepared | None = None

    @property
    def needs_extraction(self) -> bool:
        return self.done is None


def plan_document(pdf: Path, out_path: Path) -> DocumentPlan:
    """Decide from the suggestions file on disk whether ``pdf`` needs extracting.

    * no file yet: extract (``existing`` is ``None``);
    * file for the same PDF bytes: nothing to do (resume picks up its pending chunks);
    * file for different bytes: extract and merge into ``existing``;
    * file that does not parse: report it (``done`` is ``failed``) and leave it untouched.
    """
    sha = sha256_file(pdf)
    if not out_path.exists():
        return DocumentPlan(pdf, out_path, sha)
    try:
        existing = load_suggestions(out_path).data
    except JsonFileError as exc:
        return DocumentPlan(pdf, out_path, sha, done=Prepared(
            pdf, out_path, "failed", message=f"{exc} (file left untouched; fix or delete it "
            "to regenerate)"))
    if existing.source.sha256 == sha:
        return DocumentPlan(pdf, out_path, sha, existing, done=Prepared(
            pdf, out_path, "unchanged", existing.source.pages, len(existing.chunks)))
    return DocumentPlan(pdf, out_path, sha, existing)


def store_document(plan: DocumentPlan, *, pages: int, chunks: list[Chunk],
                   warnings: Iterable[str], generator: GeneratorInfo) -> Prepared:
    """Write (no file yet) or merge (see :func:`merge_chunks`) an extracted PDF's chunks."""
    pdf, out_path = plan.pdf, plan.path
    notes = tuple(w if w.startswith(pdf.name) else f"{pdf.name}: {w}" for w in warnings)
    if not chunks:
        notes += (f"{pdf.name}: no text to chunk",)
    source = Source(file=pdf.name, sha256=plan.sha256, pages=pages)
    if plan.existing is None:
        data = SuggestionsFile(source=source, generator=generator, chunks=chunks)
        write_suggestions(out_path, data, expected_revision=None)
        return Prepared(pdf, out_path, "new", pages, len(chunks), warnings=notes)

    def change(current: SuggestionsFile) -> int:
        current.chunks, stale = merge_chunks(current, chunks)
        current.source = source
        return stale

    _, stale = update_suggestions(out_path, change)
    note = f"{pdf.name}: the PDF changed since its suggestions were made; re-chunked"
    if stale:
        note += f", kept {stale} reviewed chunk(s) that are no longer in it (marked stale)"
    return Prepared(pdf, out_path, "changed", pages, len(chunks), message=note, warnings=notes)


def prepare_document(pdf: Path, out_path: Path, *,
                     extract: Callable[[Path], Document],
                     chunk: Callable[[Document], list[Chunk]],
                     generator: GeneratorInfo) -> Prepared:
    """Make sure ``out_path`` holds this PDF's chunks, without losing anything a person did:
    :func:`plan_document`, then extract and chunk when needed, then :func:`store_document`."""
    from qaforge.extract import ExtractionError

    plan = plan_document(pdf, out_path)
    if plan.done is not None:
        return plan.done
    try:
        document = extract(pdf)
    except ExtractionError as exc:
        return Prepared(pdf, out_path, "failed", message=str(exc))
    return store_document(plan, pages=document.pages, chunks=chunk(document),
                          warnings=document.warnings, generator=generator)


def output_path(workdir: Path, name: str) -> Path:
    return suggestions_dir(workdir) / name
