"""The review app's access to ``WORKDIR/output_json``: the files stay the source of truth.

Documents are addressed by file name only, and only names found in the folder listing
are served, so no request parameter can reach a path of its own choosing; files that
resolve outside the work dir (symlinks) are listed as refused and never read.

A change is written into the file's own text (:mod:`qaforge.review.rawedit`), so every
byte outside the changed pair stays as the person wrote it, and is swapped in with
:func:`qaforge.fileio.replace_checked`, so an editor's save that lands meanwhile survives.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qaforge.errors import InputError
from qaforge.errors import RequestError as ReviewError
from qaforge.fileio import JsonFileError, replace_checked, revision_of_bytes
from qaforge.review import rawedit
from qaforge.review.judged import Evaluation, EvaluationReader
from qaforge.review.ops import OpError, OpRequest, apply_operation
from qaforge.review.views import (
    STATUSES,
    JudgedPairs,
    chunk_view,
    document_summary,
    document_view,
    error_summary,
    is_flagged,
)
from qaforge.safe_paths import inside
from qaforge.suggestions import (
    OUTPUT_DIR,
    LoadedSuggestions,
    StaleRevisionError,
    iter_suggestion_files,
    load_suggestions,
    lock_for,
    read_for_update,
)

MAX_QUEUE = 20_000
OUTSIDE = "resolves outside the work dir (a symlink?); not served"


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which chunks to walk through: by pair status, document, search text, and whether
    refine flagged the pair (see :attr:`qaforge.review.judged.Judged.flagged`)."""

    status: str | None = None
    document: str | None = None
    query: str = ""
    flagged: bool = False

    def terms(self) -> list[str]:
        return self.query.casefold().split()


class ReviewStore:
    """Reads and changes the suggestions files of one work dir."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir.resolve()
        self.evaluation = EvaluationReader(self.workdir)

    def _judged(self, name: str, evaluation: Evaluation | None = None) -> JudgedPairs:
        """What refine's evaluation says about the pairs of document ``name``."""
        evaluation = evaluation or self.evaluation.current()
        return evaluation.for_file(f"{OUTPUT_DIR}/{name}")

    def evaluation_status(self) -> dict[str, Any]:
        """How many verdicts the page can show, and why not all (``note``)."""
        return self.evaluation.current().status()

    def _listing(self) -> tuple[dict[str, Path], dict[str, str]]:
        served: dict[str, Path] = {}
        refused: dict[str, str] = {}
        for path in iter_suggestion_files(self.workdir):
            if inside(self.workdir, path):
                served[path.name] = path
            else:
                refused[path.name] = OUTSIDE
        return served, refused

    def path_of(self, name: str) -> Path:
        """The file behind a document id, or :class:`ReviewError` (404/403)."""
        served, refused = self._listing()
        if name in refused:
            raise ReviewError(403, "forbidden", f"{name}: {refused[name]}")
        path = served.get(name)
        if path is None:
            raise ReviewError(404, "not_found", f"no suggestions file named {name!r} in "
                              f"{self.workdir / 'output_json'}")
        return path

    def _load(self, name: str) -> LoadedSuggestions:
        path = self.path_of(name)
        try:
            return load_suggestions(path)
        except JsonFileError as exc:
            raise _malformed(name, exc) from exc

    def summaries(self) -> list[dict[str, Any]]:
        """One entry per suggestions file: progress, or the reason it cannot be reviewed."""
        served, refused = self._listing()
        out = [error_summary(name, reason) for name, reason in refused.items()]
        evaluation = self.evaluation.current()
        for name, path in served.items():
            try:
                out.append(document_summary(name, load_suggestions(path),
                                            self._judged(name, evaluation)))
            except JsonFileError as exc:
                out.append(error_summary(name, exc))
        return sorted(out, key=lambda entry: entry["id"])

    def document(self, name: str) -> dict[str, Any]:
        """The whole document: summary, chunks with their pairs and support highlights."""
        return document_view(name, self._load(name), self._judged(name))

    def apply(self, name: str, request: OpRequest) -> dict[str, Any]:
        """Apply one change, atomically and only if the file is still at ``request.revision``."""
        path = self.path_of(name)
        try:
            with lock_for(path):
                revision, loaded, chunk = _write_operation(path, request)
        except StaleRevisionError as exc:
            raise ReviewError(409, "stale", f"{name} changed on disk since this page read it "
                              "(another tab, an editor, or a generate run). The page now shows "
                              "the current version; apply your change again.",
                              revision=exc.actual) from exc
        except JsonFileError as exc:
            raise _malformed(name, exc) from exc
        except OpError as exc:
            raise ReviewError(exc.status_code, "invalid", str(exc)) from exc
        except InputError as exc:  # entries it cannot hold exactly: the file is read-only
            raise ReviewError(409, "read_only", str(exc)) from exc
        # views of what was written (a re-read could already show a later writer's change)
        written = LoadedSuggestions(path, loaded.data, revision, loaded.problems)
        index = next(i for i, c in enumerate(loaded.data.chunks) if c is chunk)
        judged = self._judged(name)
        return {"revision": revision, "chunk": chunk_view(chunk, index, judged),
                "summary": document_summary(name, written, judged)}

    def queue(self, wanted: QueueFilter) -> dict[str, Any]:
        """The chunks to walk through, in document order, with the pairs that match."""
        if wanted.status is not None and wanted.status not in STATUSES:
            raise ReviewError(422, "invalid", f"unknown status {wanted.status!r}")
        served, _ = self._listing()
        names = [wanted.document] if wanted.document else sorted(served)
        items: list[dict[str, Any]] = []
        evaluation = self.evaluation.current()
        for name in names:
            if name not in served:
                self.path_of(name)  # raises the right 404/403
            try:
                loaded = load_suggestions(served[name])
            except JsonFileError:
                continue  # shown in the sidebar as an error
            items.extend(_queue_items(name, loaded, wanted, self._judged(name, evaluation)))
            if len(items) >= MAX_QUEUE:
                return {"items": items[:MAX_QUEUE], "truncated": True}
        return {"items": items, "truncated": False}


def _write_operation(path: Path, request: OpRequest) -> tuple[str, LoadedSuggestions, Any]:
    """Apply ``request`` to the file (under its lock); returns the new revision, the file as
    written and the changed chunk."""
    snapshot, loaded = read_for_update(path, request.revision)
    assert snapshot.raw is not None  # read_for_update raises for a missing file
    text, bom = rawedit.decode(snapshot.raw)
    if any(not problem.blocking and ".suggestions" in (problem.field or "")
           for problem in loaded.problems):  # pairs given an id (none, or a duplicate)
        text = rawedit.repair_ids(text, loaded.data)
    found = loaded.data.chunk(request.op.chunk)
    before = found.model_copy(deep=True) if found is not None else None
    chunk = apply_operation(loaded.data, request.op)
    assert before is not None  # apply_operation raises for an unknown chunk
    index = next(i for i, c in enumerate(loaded.data.chunks) if c is chunk)
    text = rawedit.apply_edits(text, rawedit.chunk_edits(text, index, before, chunk))
    payload = rawedit.encode(text, bom)
    if payload == snapshot.raw:
        return loaded.revision, loaded, chunk
    rawedit.check_written(text, index, chunk)
    replace_checked(path, payload, snapshot)
    return revision_of_bytes(payload), loaded, chunk


def _queue_items(name: str, loaded: LoadedSuggestions, wanted: QueueFilter,
                 judged: JudgedPairs) -> list[dict[str, Any]]:
    terms = wanted.terms()
    items = []
    for index, chunk in enumerate(loaded.data.chunks):
        chunk_text = " ".join([*chunk.headings, chunk.text]).casefold()
        pairs = chunk.suggestions if isinstance(chunk.suggestions, list) else []
        if isinstance(chunk.suggestions, str):
            chunk_text += " " + chunk.suggestions.casefold()
        wanted_pairs = [pair for pair in pairs
                        if (wanted.status is None or pair.status == wanted.status)
                        and (not wanted.flagged or is_flagged(judged, chunk, pair))]
        pair_texts = {pair.id: f"{pair.question} {pair.answer}".casefold()
                      for pair in wanted_pairs}
        # pairs that hold every term themselves come first; else the chunk text may help
        matching = [pid for pid, text in pair_texts.items() if all(t in text for t in terms)]
        if not matching:
            matching = [pid for pid, text in pair_texts.items()
                        if all(t in chunk_text or t in text for t in terms)]
        unpaired_match = (wanted.status is None and not wanted.flagged and not pairs
                          and all(t in chunk_text for t in terms))
        if matching or unpaired_match:
            items.append({"doc": name, "chunk": chunk.id, "index": index, "pairs": matching,
                          "drafts": sum(pair.status == "draft" for pair in pairs)})
    return items


def _malformed(name: str, exc: JsonFileError) -> ReviewError:
    return ReviewError(422, "malformed", str(exc), file=name, line=exc.line,
                       column=exc.column, reason=exc.reason)
