"""Reading and writing suggestions files: the single source of truth between the stages.

Writers (generate, the review app, a person's editor) never clobber each other:

* every write is atomic (see :mod:`qaforge.fileio`);
* writers in qaforge serialise on a lock file beside the suggestions file;
* a write may name the revision it was based on (the hash of the file's bytes); if the
  file changed since, :class:`StaleRevisionError` is raised and nothing is written;
* a person's editor takes no lock, so the file is checked again right before it is
  replaced, and a save that lands in between is put back (:func:`qaforge.fileio.replace_checked`);
* a file with entries the records cannot hold exactly (a chunk that is a string, an invalid
  ``source``...) is never rewritten: ``LoadedSuggestions.read_only_reason`` says why.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from pydantic import ValidationError

from qaforge.errors import InputError, StaleRevisionError
from qaforge.fileio import (
    JsonFileError,
    Snapshot,
    dumps_pretty,
    encode_text,
    parse_json_bytes,
    read_snapshot,
    replace_checked,
    revision_of_bytes,
)
from qaforge.records import (
    SUGGESTIONS_SCHEMA,
    Chunk,
    GeneratorInfo,
    Source,
    Suggestion,
    SuggestionsFile,
)

OUTPUT_DIR = "output_json"
SUFFIX = "_suggestions.json"
#: a write not based on a revision (generate) re-reads and re-applies its change this often
#: when a person's save lands meanwhile
WRITE_ATTEMPTS = 5


@dataclass(slots=True)
class FileProblem:
    """Something wrong inside a suggestions file, located for a person to fix."""

    path: Path
    message: str
    field: str | None = None
    line: int | None = None
    # False: qaforge can still rewrite the file without changing what the person wrote
    blocking: bool = True

    def __str__(self) -> str:
        where = f":{self.line}" if self.line else ""
        what = f" [{self.field}]" if self.field else ""
        return f"{self.path}{where}{what}: {self.message}"

    def inside_file(self) -> str:
        """The problem without the file's path: ``chunks[1] (line 40): message``."""
        line = f" (line {self.line})" if self.line else ""
        return f"{self.field or 'file'}{line}: {self.message}"


@dataclass(slots=True)
class LoadedSuggestions:
    """A suggestions file as read from disk, with its revision and what was wrong in it."""

    path: Path
    data: SuggestionsFile
    revision: str
    problems: list[FileProblem] = field(default_factory=list)
    # raw entries that failed validation, kept so nothing a person wrote is lost
    rejected_entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def read_only_reason(self) -> str | None:
        """Why qaforge must not rewrite this file (an entry it cannot hold exactly), or None."""
        blocking = [problem for problem in self.problems if problem.blocking]
        if not blocking:
            return None
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        return f"{blocking[0].inside_file()}{more}"


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
    schema = _schema_of(doc, path, text)
    for key in doc:
        if key not in known:
            problems.append(FileProblem(path, "unknown field (kept as is)", key,
                                        _line_of(text, key), blocking=False))

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
                                                _line_of(text, pair.id), blocking=False))
                    pair.id = f"{pair.id}-dup{len(seen_pairs)}"
                seen_pairs.add(pair.id)
                unique.append(pair)
            chunk.suggestions = unique
        rejected.extend({"chunk": chunk.id, "pair": bad} for bad in bad_pairs)
        chunks.append(chunk)
    try:
        data = SuggestionsFile.model_validate(
            {**{k: v for k, v in doc.items() if k not in known}, "schema": schema,
             "source": source, "generator": generator, "chunks": chunks})
    except ValidationError as exc:  # the checks above should leave nothing to fail here
        raise JsonFileError(path, f"not a suggestions file: {exc.errors()[0]['msg']}") from exc
    return LoadedSuggestions(path, data, revision, problems, rejected)


def _schema_of(doc: dict[str, Any], path: Path, text: str) -> str:
    """The file's schema name; a file of another schema cannot be read as this one."""
    schema = doc.get("schema")
    if schema is None:
        return SUGGESTIONS_SCHEMA
    if schema != SUGGESTIONS_SCHEMA:
        shown = json.dumps(schema, ensure_ascii=False)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        newer = isinstance(schema, str) and schema.startswith("qaforge.suggestions/")
        raise JsonFileError(path, f"schema is {shown}, expected {SUGGESTIONS_SCHEMA!r}"
                            + (" (written by a newer qaforge?)" if newer else ""),
                            _line_of(text, "schema"), None)
    return schema


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
                                        _line_of(text, chunk_id), blocking=False))
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
    """The file's bytes in the house style. Values are dumped as Python values so that a
    ``NaN`` or ``Infinity`` a person wrote stays one (JSON mode would write ``null``)."""
    return encode_text(dumps_pretty(data.model_dump(mode="python", by_alias=True)))


def write_suggestions(path: Path, data: SuggestionsFile, expected_revision: str | None = None,
                      *, check: bool = True) -> str:
    """Atomically write ``data``; refuse if the file is no longer at ``expected_revision``.

    ``expected_revision=None`` with ``check=True`` means "the file must not exist yet".
    Returns the new revision.
    """
    with lock_for(path):
        snapshot = read_snapshot(path)
        if check and snapshot.revision != expected_revision:
            raise StaleRevisionError(path, expected_revision, snapshot.revision)
        return replace_checked(path, serialize(data), snapshot)


def read_for_update(path: Path, expected_revision: str | None) -> tuple[Snapshot,
                                                                         LoadedSuggestions]:
    """Read ``path`` to change it (call under :func:`lock_for`): refused when it moved on
    since ``expected_revision`` or holds entries that a rewrite would change."""
    snapshot = read_snapshot(path)
    if snapshot.raw is None:
        raise JsonFileError(path, "cannot read: no such file")
    if expected_revision is not None and snapshot.revision != expected_revision:
        raise StaleRevisionError(path, expected_revision, snapshot.revision)
    loaded = parse_suggestions(snapshot.raw, path)
    if loaded.read_only_reason:
        raise InputError(f"{path}: not rewritten, it has entries qaforge cannot keep exactly "
                         f"({loaded.read_only_reason}); fix them in an editor first")
    return snapshot, loaded


def update_suggestions(path: Path, change: Callable[[SuggestionsFile], Any],
                       expected_revision: str | None = None) -> tuple[str, Any]:
    """Read-modify-write under the lock; returns ``(new_revision, change's return value)``.

    With ``expected_revision`` the update is refused when the file moved on since then;
    without, a save by a person that lands while the change is made is re-read and the
    change applied again on top of it. A file with entries that do not validate is not
    rewritten (an :class:`InputError`, a ``ValueError``, names them).
    """
    for attempt in range(WRITE_ATTEMPTS):
        with lock_for(path):
            snapshot, loaded = read_for_update(path, expected_revision)
            result = change(loaded.data)
            payload = serialize(loaded.data)
            if revision_of_bytes(payload) == loaded.revision:
                return loaded.revision, result
            try:
                return replace_checked(path, payload, snapshot), result
            except StaleRevisionError:
                if expected_revision is not None or attempt == WRITE_ATTEMPTS - 1:
                    raise
    raise AssertionError("unreachable")
