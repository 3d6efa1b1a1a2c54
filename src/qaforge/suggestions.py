"""Reading and writing suggestions files: the single source of truth between the stages.

Writers (generate, the review app, a person's editor) never clobber each other:

* every write is atomic (see :mod:`qaforge.fileio`);
* writers in qaforge serialise on a lock file beside the suggestions file;
* a write may name the revision it was based on (the hash of the file's bytes); if the
  file changed since, :class:`StaleRevisionError` is raised and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import ValidationError

from qaforge.errors import StaleRevisionError
from qaforge.fileio import (
    JsonFileError,
    atomic_write_bytes,
    dumps_pretty,
    encode_text,
    parse_json_bytes,
    revision_of_bytes,
)
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile

OUTPUT_DIR = "output_json"
SUFFIX = "_suggestions.json"


@dataclass(slots=True)
class FileProblem:
    """Something wrong inside a suggestions file, located for a person to fix."""

    path: Path
    message: str
    field: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f":{self.line}" if self.line else ""
        what = f" [{self.field}]" if self.field else ""
        return f"{self.path}{where}{what}: {self.message}"


@dataclass(slots=True)
class LoadedSuggestions:
    """A suggestions file as read from disk, with its revision and what was wrong in it."""

    path: Path
    data: SuggestionsFile
    revision: str
    problems: list[FileProblem] = field(default_factory=list)
    # raw entries that failed validation, kept so nothing a person wrote is lost
    rejected_entries: list[dict[str, Any]] = field(default_factory=list)


def suggestions_dir(workdir: Path) -> Path:
    return workdir / OUTPUT_DIR


def iter_suggestion_files(workdir: Path) -> Iterator[Path]:
    """Every ``*_suggestions.json`` under ``WORKDIR/output_json`` in a stable order."""
    folder = suggestions_dir(workdir)
    if folder.is_dir():
        yield from sorted(p for p in folder.glob(f"*{SUFFIX}") if p.is_file())


def lock_for(path: Path) -> FileLock:
    return FileLock(str(path.parent / f".{path.name}.lock"), timeout=60)


def _line_of(raw_text: str, needle: str | None) -> int | None:
    """Line of the first JSON string equal to ``needle`` (as an editor may have escaped it)."""
    if not needle:
        return None
    for quoted in (json.dumps(needle, ensure_ascii=False), json.dumps(needle)):
        idx = raw_text.find(quoted)
        if idx >= 0:
            return raw_text.count("\n", 0, idx) + 1
    return None


def _field_path(parts: tuple[Any, ...]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_problems(path: Path, exc: ValidationError, prefix: str, raw_text: str,
                         anchor: str | None) -> list[FileProblem]:
    line = _line_of(raw_text, anchor)
    problems = []
    for err in exc.errors():
        name = _field_path(err["loc"])
        full = f"{prefix}.{name}" if prefix and name else (prefix or name)
        problems.append(FileProblem(path, err["msg"], full, line))
    return problems


def parse_suggestions(raw: bytes, path: Path) -> LoadedSuggestions:
    """Validate a suggestions file entry by entry.

    A file that is not JSON raises :class:`JsonFileError` (file, line, column). Otherwise
    every problem is reported in ``problems``: bad chunks and pairs are left out of ``data``
    (and kept verbatim in ``rejected_entries``) while the valid rest is returned.
    """
    doc = parse_json_bytes(raw, path)
    revision = revision_of_bytes(raw)
    text = raw.decode("utf-8-sig", "replace")
    if not isinstance(doc, dict):
        raise JsonFileError(path, f"expected a JSON object at the top, found {type(doc).__name__}",
                            1, 1)
    problems: list[FileProblem] = []
    rejected: list[dict[str, Any]] = []
    known = {"schema", "source", "generator", "chunks"}
    for key in doc:
        if key not in known:
            problems.append(FileProblem(path, "unknown field (kept as is)", key,
                                        _line_of(text, key)))

    source = _validated(Source, doc.get("source"), "source", path, text, problems) or Source(
        file=path.name.removesuffix(SUFFIX) + ".pdf", sha256="", pages=0)
    generator = _validated(GeneratorInfo, doc.get("generator"), "generator", path, text,
                           problems) or GeneratorInfo(backend="unknown", model="unknown",
                                                      prompt="unknown")
    raw_chunks = doc.get("chunks", [])
    if not isinstance(raw_chunks, list):
        problems.append(FileProblem(path, "must be a list of chunks", "chunks",
                                    _line_of(text, "chunks")))
        raw_chunks = []

    chunks: list[Chunk] = []
    seen_chunks: set[str] = set()
    seen_pairs: set[str] = set()
    for index, entry in enumerate(raw_chunks):
        prefix = f"chunks[{index}]"
        # a chunk without a usable id is found by its text
        anchor = next((value for value in (entry.get("id"), entry.get("text"))
                       if isinstance(value, str) and value), None) if isinstance(entry, dict) \
            else None
        if not isinstance(entry, dict):
            problems.append(FileProblem(path, "a chunk must be a JSON object", prefix))
            continue
        pairs, bad_pairs = _split_pairs(entry, prefix, path, text, problems)
        try:
            chunk = Chunk.model_validate({**entry, "suggestions": pairs})
        except ValidationError as exc:
            problems.extend(_validation_problems(path, exc, prefix, text, anchor))
            rejected.append(entry)
            continue
        if chunk.id in seen_chunks:
            problems.append(FileProblem(path, f"duplicate chunk id {chunk.id!r} (entry skipped)",
                                        f"{prefix}.id", _line_of(text, chunk.id)))
            rejected.append(entry)
            continue
        seen_chunks.add(chunk.id)
        if isinstance(chunk.suggestions, list):
            unique = []
            for pair in chunk.suggestions:
                if pair.id in seen_pairs:
                    problems.append(FileProblem(path, f"duplicate pair id {pair.id!r} (pair kept, "
                                                "given a new id)", f"{prefix}.suggestions",
                                                _line_of(text, pair.id)))
                    pair.id = f"{pair.id}-dup{len(seen_pairs)}"
                seen_pairs.add(pair.id)
                unique.append(pair)
            chunk.suggestions = unique
        rejected.extend({"chunk": chunk.id, "pair": bad} for bad in bad_pairs)
        chunks.append(chunk)
    data = SuggestionsFile.model_validate(
        {**{k: v for k, v in doc.items() if k not in known}, "schema": doc.get("schema") or
         "qaforge.suggestions/1", "source": source, "generator": generator, "chunks": chunks})
    return LoadedSuggestions(path, data, revision, problems, rejected)


def _validated(model: Any, value: Any, name: str, path: Path, text: str,
               problems: list[FileProblem]) -> Any:
    if value is None:
        problems.append(FileProblem(path, "missing", name))
        return None
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems.extend(_validation_problems(path, exc, name, text, name))
        return None


def _split_pairs(entry: dict[str, Any], prefix: str, path: Path, text: str,
                 problems: list[FileProblem]) -> tuple[list[Any] | str, list[Any]]:
    """Validate pairs one by one so one bad pair does not take its chunk down."""
    value = entry.get("suggestions", [])
    if isinstance(value, str) or value is None:
        return value or [], []
    if not isinstance(value, list):
        problems.append(FileProblem(path, "suggestions must be a list of pairs or a string",
                                    f"{prefix}.suggestions", _line_of(text, entry.get("id"))))
        return [], [value]
    good: list[Any] = []
    bad: list[Any] = []
    chunk_id = str(entry.get("id", prefix))
    for j, pair in enumerate(value):
        where = f"{prefix}.suggestions[{j}]"
        if isinstance(pair, dict) and not pair.get("id") and isinstance(pair.get("question"), str):
            pair = {**pair, "id": Suggestion.make_id(chunk_id, pair.get("question", ""), j)}
            problems.append(FileProblem(path, "pair has no id (one was assigned)", where,
                                        _line_of(text, chunk_id)))
        try:
            good.append(Suggestion.model_validate(pair))
        except ValidationError as exc:
            anchor = pair.get("id") if isinstance(pair, dict) else chunk_id
            problems.extend(_validation_problems(path, exc, where, text, anchor or chunk_id))
            bad.append(pair)
    return good, bad


def load_suggestions(path: Path) -> LoadedSuggestions:
    """Read and validate one suggestions file (see :func:`parse_suggestions`)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    return parse_suggestions(raw, path)


def serialize(data: SuggestionsFile) -> bytes:
    return encode_text(dumps_pretty(data.to_json_dict()))


def write_suggestions(path: Path, data: SuggestionsFile, expected_revision: str | None = None,
                      *, check: bool = True) -> str:
    """Atomically write ``data``; refuse if the file is no longer at ``expected_revision``.

    ``expected_revision=None`` with ``check=True`` means "the file must not exist yet".
    Returns the new revision.
    """
    with lock_for(path):
        if check:
            current = _current_revision(path)
            if current != expected_revision:
                raise StaleRevisionError(path, expected_revision, current)
        payload = serialize(data)
        atomic_write_bytes(path, payload)
        return revision_of_bytes(payload)


def update_suggestions(path: Path, change: Callable[[SuggestionsFile], Any],
                       expected_revision: str | None = None) -> tuple[str, Any]:
    """Read-modify-write under the lock; returns ``(new_revision, change's return value)``.

    With ``expected_revision`` the update is refused when the file moved on since then.
    Entries that failed validation are never silently dropped: a file with such problems
    is not rewritten (a :class:`ValueError` names them).
    """
    with lock_for(path):
        loaded = load_suggestions(path)
        if expected_revision is not None and loaded.revision != expected_revision:
            raise StaleRevisionError(path, expected_revision, loaded.revision)
        if loaded.rejected_entries:
            raise ValueError(
                f"{path}: not rewritten, it has entries that do not validate "
                f"(first: {loaded.problems[0] if loaded.problems else 'unknown'}); fix them first")
        result = change(loaded.data)
        payload = serialize(loaded.data)
        if revision_of_bytes(payload) == loaded.revision:
            return loaded.revision, result
        atomic_write_bytes(path, payload)
        return revision_of_bytes(payload), result


def _current_revision(path: Path) -> str | None:
    try:
        return revision_of_bytes(path.read_bytes())
    except FileNotFoundError:
        return None
