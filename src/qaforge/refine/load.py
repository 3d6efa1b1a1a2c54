"""Step 1: read every suggestions file as it is on disk, whatever a person did to it.

Every pair that is in a file comes out as a :class:`PairRecord`: pairs that go on are
``pending``; a person's ``rejected`` pairs and entries that do not validate come out already
decided (``rejected`` / ``malformed``) so the report accounts for every one of them. A file
that is not JSON any more is reported with file, line and column, and the others go on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.fileio import JsonFileError
from qaforge.records import Chunk, Suggestion
from qaforge.refine.record import PairRecord
from qaforge.suggestions import (
    FileProblem,
    LoadedSuggestions,
    iter_suggestion_files,
    load_suggestions,
)


@dataclass(slots=True)
class FileReport:
    """What refine found in one suggestions file."""

    path: str
    document: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    chunk_states: dict[str, int] = field(default_factory=dict)
    generator: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class LoadResult:
    records: list[PairRecord] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [f.error for f in self.files if f.error]


def load_workdir(workdir: Path) -> LoadResult:
    """Read every ``output_json/*_suggestions.json``; raise when there is none at all."""
    paths = list(iter_suggestion_files(workdir))
    if not paths:
        raise FileNotFoundError(
            f"{workdir / 'output_json'}: no *_suggestions.json files (run `qaforge generate` "
            "first)")
    result = LoadResult()
    for path in paths:
        records, report = load_file(path, workdir)
        result.records.extend(records)
        result.files.append(report)
    return result


def load_file(path: Path, workdir: Path) -> tuple[list[PairRecord], FileReport]:
    """Records of one file; a file that cannot be parsed gives none and an error line."""
    rel = _relative(path, workdir)
    try:
        loaded = load_suggestions(path)
    except JsonFileError as exc:
        return [], FileReport(rel, error=str(exc))
    report = FileReport(
        rel, document=loaded.data.source.file,
        chunk_states=dict(Counter(c.state for c in loaded.data.chunks)),
        generator=loaded.data.generator.model_dump(mode="json"))
    records: list[PairRecord] = []
    for chunk in loaded.data.chunks:
        records.extend(_chunk_records(chunk, rel, report.document))
    located = _locate_rejected(loaded)
    records.extend(_malformed_records(located, rel, report.document))
    explained = {id(p) for _, problems in located for p in problems}
    report.warnings = [str(p) for p in loaded.problems if id(p) not in explained]
    return records, report


def _relative(path: Path, workdir: Path) -> str:
    try:
        return path.resolve().relative_to(workdir.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _base(chunk: Chunk, rel: str, document: str) -> dict[str, Any]:
    return {"source_file": rel, "document": document, "chunk_id": chunk.id,
            "pages": list(chunk.pages), "headings": list(chunk.headings),
            "chunk_text": chunk.text}


def _chunk_records(chunk: Chunk, rel: str, document: str) -> list[PairRecord]:
    base = _base(chunk, rel, document)
    if isinstance(chunk.suggestions, str):
        return _text_records(chunk.suggestions, chunk.id, base)
    out = []
    for pair in chunk.suggestions:
        record = PairRecord(**base, pair_id=pair.id, status=pair.status,
                            question=pair.question, answer=pair.answer)
        if pair.status == "rejected":
            record.decision, record.reason = "rejected", "rejected by a person in review"
        out.append(record)
    return out


def _text_records(text: str, chunk_id: str, base: dict[str, Any]) -> list[PairRecord]:
    """A person's free text (``**Question 1:** ... **Answer 1:** ...``, ``Q:``/``A:``...)."""
    from qaforge.qa_parsing import parse_pairs

    if not text.strip():
        return []
    parsed = parse_pairs(text)
    if not parsed.pairs:
        why = parsed.error or "no question/answer pairs found"
        return [PairRecord(**base, pair_id=f"{chunk_id}-text", status="edited", origin="text",
                           answer=text, decision="malformed",
                           reason=f"suggestions text could not be parsed: {why}")]
    return [PairRecord(**base, pair_id=Suggestion.make_id(chunk_id, question, index),
                       status="edited", origin="text", question=question, answer=answer)
            for index, (question, answer) in enumerate(parsed.pairs)]


Located = list[tuple[dict[str, Any], list[FileProblem]]]


def _malformed_records(located: Located, rel: str, document: str) -> list[PairRecord]:
    """One decided record per entry that failed validation, with the problems that hit it."""
    out = []
    for number, (entry, problems) in enumerate(located):
        if "pair" in entry and "chunk" in entry and len(entry) == 2:
            pair = entry["pair"]
            chunk_id = str(entry["chunk"])
        else:
            pair, chunk_id = entry, str(entry.get("id", "?"))
        fields = pair if isinstance(pair, dict) else {}
        why = "; ".join(f"{p.field}: {p.message}" if p.field else p.message
                        for p in problems) or "entry does not validate"
        out.append(PairRecord(
            source_file=rel, document=document, chunk_id=chunk_id,
            pair_id=str(fields.get("id") or f"{chunk_id}-malformed-{number}"),
            status=str(fields.get("status", "draft")),
            question=_text(fields.get("question")), answer=_text(fields.get("answer")),
            decision="malformed", reason=f"malformed entry: {why}"))
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _locate_rejected(loaded: LoadedSuggestions) -> Located:
    """Pair each rejected entry with the problems reported at its position in the file."""
    try:
        raw_chunks = json.loads(loaded.path.read_bytes().decode("utf-8-sig")).get("chunks", [])
    except (OSError, ValueError, AttributeError):
        raw_chunks = []
    raw_chunks = raw_chunks if isinstance(raw_chunks, list) else []
    out = []
    for entry in loaded.rejected_entries:
        prefix = _prefix_of(entry, raw_chunks)
        problems = [p for p in loaded.problems
                    if prefix is not None and (p.field or "").startswith(prefix)]
        out.append((entry if isinstance(entry, dict) else {"value": entry}, problems))
    return out


def _prefix_of(entry: Any, raw_chunks: list[Any]) -> str | None:
    if isinstance(entry, dict) and set(entry) == {"chunk", "pair"}:
        for i, raw in enumerate(raw_chunks):
            if isinstance(raw, dict) and raw.get("id") == entry["chunk"]:
                pairs = raw.get("suggestions")
                if not isinstance(pairs, list):
                    return f"chunks[{i}].suggestions"
                for j, pair in enumerate(pairs):
                    if pair == entry["pair"] or (
                            isinstance(pair, dict) and isinstance(entry["pair"], dict)
                            and pair.get("question") == entry["pair"].get("question")
                            and pair.get("answer") == entry["pair"].get("answer")):
                        return f"chunks[{i}].suggestions[{j}]"
        return None
    for i, raw in enumerate(raw_chunks):
        if raw == entry:
            return f"chunks[{i}]"
    return None
