"""The quiz's review copy: the items in the suggestions-file format, so a person can
curate them in the review app like any pairs (``qaforge review WORKDIR/quiz``).

The copy lives in ``WORKDIR/quiz/output_json/``, a folder ``refine`` and ``export`` of the
work dir never read, so no quiz item can reach the training set. ``qaforge eval`` reads the
person's decisions back (:func:`apply_review`): rejected or deleted items are not asked,
edited ones are asked as edited, pairs a person added are asked too.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from qaforge.fileio import sha256_file
from qaforge.quiz.items import CONTROL_SET, FORMS, QUIZ_DIR, Form, QuizItem, quiz_path
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.safe_paths import safe_listing
from qaforge.suggestions import (
    iter_suggestion_files,
    load_suggestions,
    suggestions_dir,
    write_suggestions,
)

CONTROL_FILE = "_control_suggestions.json"


def quiz_dir(workdir: Path) -> Path:
    return workdir / QUIZ_DIR


def _chunk(key: str, text: str, items: list[QuizItem]) -> Chunk:
    first = items[0]
    # extra keys ride along as a person's notes would: the review app keeps them
    pairs = [Suggestion.model_validate({
        "id": i.id, "question": i.question, "answer": i.answer, "status": "draft",
        "form": i.form, "kind": i.kind, "evidence": i.evidence,
        "closest_training": i.closest_training.model_dump() if i.closest_training else None})
        for i in items]
    return Chunk(id=key, pages=list(first.pages) or [1], headings=list(first.headings),
                 text=text, suggestions=pairs, state="generated")


def write_review_copy(workdir: Path, items: list[QuizItem], generator: GeneratorInfo) -> list[Path]:
    """One suggestions file per document (and one for the control set); returns them."""
    folder = suggestions_dir(quiz_dir(workdir))
    folder.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[QuizItem]] = defaultdict(list)
    for item in items:
        name = CONTROL_FILE if item.kind == "control" else Path(item.source_file).name
        by_file[name].append(item)
    written = []
    for name, group in by_file.items():
        by_chunk: dict[str, list[QuizItem]] = defaultdict(list)
        for item in group:
            by_chunk[item.chunk_id or "control"].append(item)
        if name == CONTROL_FILE:
            source = Source(file=f"general-knowledge control set ({CONTROL_SET})",
                            sha256="", pages=1)
            chunks = [_chunk("control", "General-knowledge control questions, not about the "
                             "documents: a fine-tune that lowers their accuracy has damaged "
                             "what the model already knew.", group)]
        else:
            original = load_suggestions(workdir / group[0].source_file).data.source
            source = original.model_copy()
            chunks = [_chunk(key, its[0].chunk_text, its) for key, its in by_chunk.items()]
        path = folder / name
        write_suggestions(path, SuggestionsFile(source=source, generator=generator,
                                                chunks=chunks))
        written.append(path)
    return written


def set_aside(workdir: Path) -> Path | None:
    """Move an earlier quiz (``quiz.jsonl`` and ``quiz/``) into ``quiz-previous-<time>/``,
    so a new quiz never overwrites one a person reviewed; returns where, or None."""
    old_file, old_dir = quiz_path(workdir), quiz_dir(workdir)
    if not old_file.exists() and not old_dir.exists():
        return None
    target = workdir / f"{QUIZ_DIR}-previous-{time.strftime('%Y%m%d-%H%M%S')}"
    suffix = 1
    while target.exists():
        suffix += 1
        target = target.with_name(f"{target.name.split('~')[0]}~{suffix}")
    target.mkdir()
    if old_file.exists():
        old_file.rename(target / old_file.name)
    if old_dir.exists():
        old_dir.rename(target / old_dir.name)
    return target


@dataclass(slots=True)
class ReviewOutcome:
    """What a person's review changed in the quiz."""

    items: list[QuizItem] = field(default_factory=list)
    rejected: int = 0
    deleted: int = 0
    edited: int = 0
    added: int = 0
    warnings: list[str] = field(default_factory=list)


def apply_review(workdir: Path, items: list[QuizItem]) -> ReviewOutcome:
    """The quiz as reviewed: ``items`` with the review copy's decisions applied.

    Without a review copy the items are returned as they are. An item whose file is missing
    or written as free text is kept as generated (and said so).
    """
    root = quiz_dir(workdir)
    outcome = ReviewOutcome()
    listing = safe_listing(workdir, suggestions_dir(root), iter_suggestion_files(root))
    outcome.warnings += listing.lines
    pairs: dict[str, tuple[Suggestion, Chunk, str]] = {}
    read_files: set[str] = set()
    for path in listing.files:
        try:
            loaded = load_suggestions(path)
        except Exception as exc:  # a broken review file costs only its own decisions
            outcome.warnings.append(f"{path}: not read, its items are asked as generated "
                                    f"({exc})")
            continue
        read_files.add(path.name)
        for chunk in loaded.data.chunks:
            if isinstance(chunk.suggestions, str):
                outcome.warnings.append(f"{path}: chunk {chunk.id} holds free text; its "
                                        "items are asked as generated")
                read_files.discard(path.name)
                continue
            for pair in chunk.suggestions:
                pairs[pair.id] = (pair, chunk, path.name)
    known = {item.id for item in items}
    for item in items:
        name = CONTROL_FILE if item.kind == "control" else Path(item.source_file).name
        if item.id not in pairs:
            if name in read_files:
                outcome.deleted += 1
            else:
                outcome.items.append(item)
            continue
        pair = pairs[item.id][0]
        if pair.status == "rejected":
            outcome.rejected += 1
            continue
        if (pair.question, pair.answer) != (item.question, item.answer):
            outcome.edited += 1
        outcome.items.append(item.model_copy(update={
            "question": pair.question, "answer": pair.answer, "status": pair.status}))
    by_chunk = {(i.source_file, i.chunk_id): i for i in items}
    for pair_id, (pair, chunk, name) in pairs.items():
        if pair_id in known or pair.status == "rejected":
            continue
        outcome.added += 1
        outcome.items.append(_added(pair, chunk, name, by_chunk))
    return outcome


def _added(pair: Suggestion, chunk: Chunk, name: str,
           by_chunk: dict[tuple[str, str], QuizItem]) -> QuizItem:
    extra = pair.model_extra or {}
    form: Form = extra["form"] if extra.get("form") in FORMS else "short"
    sibling = next((i for (src, cid), i in by_chunk.items()
                    if cid == chunk.id and Path(src).name == name), None)
    return QuizItem(
        id=pair.id, kind="control" if name == CONTROL_FILE else "document", form=form,
        question=pair.question, answer=pair.answer, evidence=str(extra.get("evidence") or ""),
        document=sibling.document if sibling else "(control)" if name == CONTROL_FILE else name,
        source_file=sibling.source_file if sibling else "", chunk_id=chunk.id,
        pages=list(chunk.pages), headings=list(chunk.headings),
        chunk_text="" if name == CONTROL_FILE else chunk.text, origin="review",
        status=pair.status)


def digest_of(path: Path) -> str:
    """sha256 of a file, "" when it is missing (recorded beside eval results)."""
    return sha256_file(path) if path.is_file() else ""
