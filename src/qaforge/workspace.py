"""The work directory: which PDFs map to which suggestions files, and how a new extraction
is merged into a file a person may already have reviewed.

Layout::

    WORKDIR/output_json/<pdf>_suggestions.json   stage 1 output, stage 2 edits it
    WORKDIR/cleaned_finetune.jsonl               stage 3 output
    WORKDIR/evaluation.json                      stage 3 report
    WORKDIR/.qaforge/                            journals, caches, locks (safe to delete)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from qaforge.discovery import FoundPdf as FoundPdf  # re-exported for the runners
from qaforge.discovery import discover_pdfs as discover_pdfs
from qaforge.errors import InputError, QaforgeError
from qaforge.fileio import JsonFileError, sha256_file
from qaforge.languages import detect_document_language
from qaforge.records import (
    Chunk,
    Document,
    GeneratorInfo,
    Source,
    Suggestion,
    SuggestionsFile,
    model_pair_id,
)
from qaforge.safe_paths import refusal, require_inside
from qaforge.suggestions import (
    load_suggestions,
    suggestions_dir,
    update_suggestions,
    write_suggestions,
)

STATE_DIR = ".qaforge"
#: keys qaforge itself puts on a chunk beyond the model's fields (not a person's)
QAFORGE_CHUNK_MARKS = frozenset({"stale"})
STALE_REASON = "source PDF changed; this chunk is no longer in it"

PrepareStatus = Literal["new", "unchanged", "changed", "failed"]


def state_dir(workdir: Path) -> Path:
    path = require_inside(workdir, workdir / STATE_DIR, "not used")
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    kept_stale: int = 0


def _model_made(chunk_id: str, pair: Suggestion, count: int) -> bool:
    """The pair is a draft exactly as the model wrote it: its id is the model's id for its
    text, and it has no keys a person added."""
    return pair.status == "draft" and not pair.model_extra and any(
        pair.id == model_pair_id(chunk_id, index, pair.question, pair.answer)
        for index in range(count))


def touched(chunk: Chunk) -> list[str]:
    """What a person did to ``chunk``; empty when it is exactly what qaforge wrote.

    A person touched a chunk when it has a pair whose status is not ``draft``, a pair the
    model did not write as it stands (added by hand, or its question or answer edited:
    model ids cover both; pairs from versions before that count too), suggestions written
    as text, a key qaforge does not write (a note), or text that no longer matches its id.
    """
    reasons: list[str] = []
    if isinstance(chunk.suggestions, str):
        reasons.append("pairs written as text")
    else:
        pairs = chunk.suggestions
        reviewed = sum(p.status != "draft" for p in pairs)
        by_hand = sum(not _model_made(chunk.id, p, len(pairs)) for p in pairs) - reviewed
        if reviewed:
            reviewed_word = "pair" if reviewed == 1 else "pairs"
            reasons.append(f"{reviewed} reviewed {reviewed_word}")
        if by_hand:
            reasons.append(f"{by_hand} {'pair' if by_hand == 1 else 'pairs'} added or "
                           "edited by hand")
    keys = sorted(set(chunk.model_extra or {}) - QAFORGE_CHUNK_MARKS)
    if keys:
        reasons.append(f"added {', '.join(map(repr, keys))}")
    if chunk.id != Chunk.make_id(chunk.text, chunk.headings):
        reasons.append("edited chunk text")
    return reasons


def merge_chunks(old: SuggestionsFile, new_chunks: list[Chunk]) -> tuple[list[Chunk], int]:
    """New chunk list for a changed PDF: chunks with the same id keep their old content;
    old chunks a person :func:`touched` are kept after them, flagged ``stale`` with what was
    touched, even if the PDF no longer has them; chunks exactly as qaforge wrote them go.
    Returns ``(chunks, kept_stale)``."""
    by_id = {c.id: c for c in old.chunks}
    merged = []
    for chunk in new_chunks:
        kept = by_id.get(chunk.id)
        if kept is not None and kept.model_extra and "stale" in kept.model_extra:
            kept = kept.model_copy(deep=True)  # back in the PDF: no longer stale
            (kept.model_extra or {}).pop("stale", None)
        merged.append(kept or chunk)
    new_ids = {c.id for c in new_chunks}
    stale = []
    for chunk in old.chunks:
        reasons = touched(chunk) if chunk.id not in new_ids else []
        if reasons:
            kept = chunk.model_copy(deep=True)
            extra = kept.__pydantic_extra__ if kept.__pydantic_extra__ is not None else {}
            extra["stale"] = f"{STALE_REASON} (kept for: {'; '.join(reasons)})"
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
    source: str = ""

    @property
    def needs_extraction(self) -> bool:
        return self.done is None


def plan_document(pdf: Path, out_path: Path, source: str | None = None) -> DocumentPlan:
    """Decide from the suggestions file on disk whether ``pdf`` needs extracting.

    ``source`` is the PDF's path as :func:`discover_pdfs` records it (default: its name).

    * no file yet: extract (``existing`` is ``None``);
    * file that records another PDF's path: refuse (``done`` is ``failed``), never fill it;
    * file for the same PDF bytes: nothing to do (resume picks up its pending chunks); a
      file from an older version gets the path recorded;
    * file for different bytes: extract and merge into ``existing``;
    * file that does not parse: report it (``done`` is ``failed``) and leave it untouched.
    """
    source = source or pdf.name
    sha = sha256_file(pdf)
    # out_path is WORKDIR/output_json/<name> (output_path): never read or written through a
    # symlink that leads out of the work dir
    refused = refusal(out_path.parent.parent, out_path, "not read or written")
    if refused is not None:
        return DocumentPlan(pdf, out_path, sha, done=Prepared(pdf, out_path, "failed",
                                                              message=refused), source=source)
    if not out_path.exists():
        return DocumentPlan(pdf, out_path, sha, source=source)
    try:
        existing = load_suggestions(out_path).data
    except JsonFileError as exc:
        return DocumentPlan(pdf, out_path, sha, done=Prepared(
            pdf, out_path, "failed", message=f"{exc} (file left untouched; fix or delete it "
            "to regenerate)"), source=source)
    recorded = existing.source.path
    if recorded is not None and recorded != source:
        return DocumentPlan(pdf, out_path, sha, done=Prepared(
            pdf, out_path, "failed", message=f"{out_path} was made from {recorded!r}, not "
            f"from {source!r} ({pdf}); not filled from it"), source=source)
    if existing.source.sha256 == sha:
        if recorded is None:
            _record_source(out_path, source)
        return DocumentPlan(pdf, out_path, sha, existing, done=Prepared(
            pdf, out_path, "unchanged", existing.source.pages, len(existing.chunks)),
            source=source)
    return DocumentPlan(pdf, out_path, sha, existing, source=source)


def _record_source(path: Path, source: str) -> None:
    """Record the PDF's path in a file from an older version, so no PDF of the same name
    added later can compete for it; a file that cannot be rewritten is left as it is."""
    def change(data: SuggestionsFile) -> None:
        if data.source.path is None:
            data.source.path = source

    with contextlib.suppress(QaforgeError, ValueError, OSError):
        update_suggestions(path, change)


def store_document(plan: DocumentPlan, *, pages: int, chunks: list[Chunk],
                   warnings: Iterable[str], generator: GeneratorInfo) -> Prepared:
    """Write (no file yet) or merge (see :func:`merge_chunks`) an extracted PDF's chunks."""
    pdf, out_path = plan.pdf, plan.path
    notes = tuple(w if w.startswith(pdf.name) else f"{pdf.name}: {w}" for w in warnings)
    if not chunks:
        notes += (f"{pdf.name}: no text to chunk",)
    source = Source(file=pdf.name, sha256=plan.sha256, pages=pages,
                    path=plan.source or pdf.name,
                    language=detect_document_language(c.text for c in chunks))
    if plan.existing is None:
        data = SuggestionsFile(source=source, generator=generator, chunks=chunks)
        write_suggestions(out_path, data, expected_revision=None)
        return Prepared(pdf, out_path, "new", pages, len(chunks), warnings=notes)

    def change(current: SuggestionsFile) -> int:
        current.chunks, stale = merge_chunks(current, chunks)
        current.source = source
        return stale

    try:
        _, stale = update_suggestions(out_path, change)
    except InputError as exc:  # entries qaforge cannot keep: the person's file stays as is
        return Prepared(pdf, out_path, "failed", message=str(exc))
    note = f"{pdf.name}: the PDF changed since its suggestions were made; re-chunked"
    if stale:
        note += (f", kept {stale} reviewed chunk(s) that are no longer in it (a person's pairs,"
                 " edits or notes; marked stale)")
    return Prepared(pdf, out_path, "changed", pages, len(chunks), message=note,
                    warnings=notes, kept_stale=stale)


def prepare_document(pdf: Path, out_path: Path, *,
                     extract: Callable[[Path], Document],
                     chunk: Callable[[Document], list[Chunk]],
                     generator: GeneratorInfo, source: str | None = None) -> Prepared:
    """Make sure ``out_path`` holds this PDF's chunks, without losing anything a person did:
    :func:`plan_document`, then extract and chunk when needed, then :func:`store_document`."""
    from qaforge.extract import ExtractionError

    plan = plan_document(pdf, out_path, source)
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
