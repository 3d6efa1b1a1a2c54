"""Step 1: read every suggestions file as it is on disk, whatever a person did to it.

Every pair that is in a file comes out as a :class:`PairRecord`: pairs that go on are
``pending``; a person's ``rejected`` pairs and entries that do not validate come out already
decided (``rejected`` / ``malformed``, with their location in the file) so the report
accounts for every one of them, whatever shape a hand edit left them in (see
:mod:`qaforge.refine.shapes`). A file that cannot be read at all (not JSON any more, nesting
or numbers beyond what a parser takes, a symlink that leads outside the work dir) is one
error line naming it, and the other files go on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.errors import QaforgeError
from qaforge.fileio import JsonFileError, parse_json_bytes
from qaforge.records import Chunk, Suggestion
from qaforge.refine.coverage import FileSentences, file_sentences
from qaforge.refine.pair_record import Issue, PairRecord
from qaforge.refine.shapes import Shaped, shape
from qaforge.safe_paths import safe_listing
from qaforge.suggestions import (
    FileProblem,
    LoadedSuggestions,
    iter_suggestion_files,
    parse_suggestions,
    suggestions_dir,
)

#: a person's free-text pairs of one chunk (``**Question 1:** ...``): parsing is linear but
#: slow per character, so a pasted book is reported instead of parsed for minutes
MAX_SUGGESTIONS_TEXT = 200_000


@dataclass(slots=True)
class FileReport:
    """What refine found in one suggestions file."""

    path: str
    document: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    chunk_states: dict[str, int] = field(default_factory=dict)
    generator: dict[str, Any] = field(default_factory=dict)
    #: informative sentences per chunk, for the coverage ledger (None: the file failed)
    sentences: FileSentences | None = None

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


#: files written by these prompts are held out from training (the quiz's review copy)
HELD_OUT_PROMPTS = ("quiz/",)


def load_workdir(workdir: Path) -> LoadResult:
    """Read every ``output_json/*_suggestions.json``; raise when there is none at all.

    Files that resolve outside the work dir (symlinks) are refused unread: each is an error
    line in the result, like a file that does not parse.
    """
    refused, paths = list_workdir(workdir)
    result = LoadResult(files=refused)
    for path in paths:
        records, report = load_file(path, workdir)
        result.records.extend(records)
        result.files.append(report)
    return result


def list_workdir(workdir: Path) -> tuple[list[FileReport], list[Path]]:
    """The suggestions files to read (for :func:`load_file`, one at a time), after the
    reports of those refused unread; raise when there is none at all."""
    listing = safe_listing(workdir, suggestions_dir(workdir), iter_suggestion_files(workdir))
    if not listing.files and not listing.refused:
        raise FileNotFoundError(
            f"{workdir / 'output_json'}: no *_suggestions.json files (run `qaforge generate` "
            "first)")
    return ([FileReport(_relative(path, workdir), error=line) for path, line in listing.refused],
            list(listing.files))


def load_file(path: Path, workdir: Path) -> tuple[list[PairRecord], FileReport]:
    """Records of one file; a file that cannot be read gives none and one error line.

    Whatever reading a hand-edited file raises, it costs that file only: the run goes on
    with the others (and says which file, and why).
    """
    rel = _relative(path, workdir)
    try:
        loaded, shaped = _read(path)
        if loaded.data.generator.prompt.startswith(HELD_OUT_PROMPTS):
            return [], FileReport(rel, error=(
                f"{path}: a quiz held out for `qaforge eval` (prompt "
                f"{loaded.data.generator.prompt}), never training data; skipped"))
        report = FileReport(
            rel, document=loaded.data.source.file,
            chunk_states=dict(Counter(c.state for c in loaded.data.chunks)),
            generator=loaded.data.generator.model_dump(mode="json"),
            sentences=file_sentences(loaded.data))
        walk = _Walk(loaded, shaped, rel, report.document)
        records = walk.records()
    except QaforgeError as exc:
        return [], FileReport(rel, error=str(exc))
    except Exception as exc:  # a hostile file must not stop the run: it is reported
        detail = " ".join(str(exc).split())[:200]
        return [], FileReport(rel, error=f"{path}: cannot be read ({type(exc).__name__}: "
                                         f"{detail}); skipped")
    report.warnings = [str(p) for p in walk.unexplained()]
    return records, report


def _read(path: Path) -> tuple[LoadedSuggestions, Shaped]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    doc = parse_json_bytes(raw, path)
    if not isinstance(doc, dict):
        return parse_suggestions(raw, path), Shaped(doc={})  # raises: not an object
    shaped = shape(doc)
    if not shaped.changed:
        return parse_suggestions(raw, path), shaped
    loaded = parse_suggestions(json.dumps(shaped.doc).encode("ascii"), path)
    for problem in loaded.problems:  # name the place in the file as the person wrote it
        problem.field = shaped.place(problem.field) if problem.field else problem.field
        problem.line = None
    return loaded, shaped


def _relative(path: Path, workdir: Path) -> str:
    try:
        return path.relative_to(workdir).as_posix()
    except ValueError:
        return path.as_posix()


def _base(chunk: Chunk, rel: str, document: str, drafted_with: str) -> dict[str, Any]:
    return {"source_file": rel, "document": document, "chunk_id": chunk.id,
            "pages": list(chunk.pages), "headings": list(chunk.headings),
            "chunk_text": chunk.text, "drafted_with": drafted_with}


def _text_records(text: str, chunk_id: str, base: dict[str, Any]) -> list[PairRecord]:
    """A person's free text (``**Question 1:** ... **Answer 1:** ...``, ``Q:``/``A:``...)."""
    from qaforge.qa_parsing import parse_pairs

    if not text.strip():
        return []
    if len(text) > MAX_SUGGESTIONS_TEXT:  # parsing time grows with it: bounded like a pair
        issue = Issue(code="too_long", target="answer", message=(
            f"the suggestions text is too long to parse ({len(text):,} characters; at most "
            f"{MAX_SUGGESTIONS_TEXT:,})"))
        return [PairRecord(**base, pair_id=f"{chunk_id}-text", status="edited", origin="text",
                           answer=text, issues=[issue], decision="skipped",
                           reason=f"not checked: {issue.message}")]
    parsed = parse_pairs(text)
    if not parsed.pairs:
        why = parsed.error or "no question/answer pairs found"
        return [PairRecord(**base, pair_id=f"{chunk_id}-text", status="edited", origin="text",
                           answer=text, decision="malformed",
                           reason=f"suggestions text could not be parsed: {why}")]
    return [PairRecord(**base, pair_id=Suggestion.make_id(chunk_id, question, index),
                       status="edited", origin="text", question=question, answer=answer)
            for index, (question, answer) in enumerate(parsed.pairs)]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _same_pair(raw: Any, pair: Suggestion) -> bool:
    return (isinstance(raw, dict) and raw.get("question") == pair.question
            and raw.get("answer") == pair.answer)


class _Walk:
    """Every entry of one file in file order, each read or reported where it sits.

    The loader keeps the entries that validate (in order) and reports problems by field
    path; walking the file's own entries beside them finds which ones it left out, so each
    of those becomes a ``malformed`` record at its location instead of being lost.
    """

    def __init__(self, loaded: LoadedSuggestions, shaped: Shaped, rel: str,
                 document: str) -> None:
        self.loaded, self.shaped, self.rel, self.document = loaded, shaped, rel, document
        self.used: set[int] = set()

    def records(self) -> list[PairRecord]:
        chunks = self.shaped.doc.get("chunks")
        if chunks is None:
            return []
        if not isinstance(chunks, list):
            return [self._malformed("chunks", "chunks", "chunks", chunks, "")]
        out: list[PairRecord] = []
        valid = iter(self.loaded.data.chunks)
        current = next(valid, None)
        for i, raw in enumerate(chunks):
            if (isinstance(raw, dict) and current is not None and raw.get("id") == current.id
                    and raw.get("text") == current.text):
                out.extend(self._chunk(i, raw, current))
                current = next(valid, None)
            else:
                out.extend(self._broken_chunk(i, raw))
        return out

    def unexplained(self) -> list[FileProblem]:
        """Problems no malformed record carries: warnings about the file."""
        return [p for p in self.loaded.problems if id(p) not in self.used]

    def _chunk(self, i: int, raw: dict[str, Any], chunk: Chunk) -> list[PairRecord]:
        base = _base(chunk, self.rel, self.document, self.loaded.data.generator.prompt)
        if isinstance(chunk.suggestions, str):
            return _text_records(chunk.suggestions, chunk.id, base)
        raw_pairs = raw.get("suggestions")
        if not isinstance(raw_pairs, list):  # neither list nor text: one unreadable entry
            place = f"{self.shaped.chunk_places[i]}.suggestions"
            return [self._malformed(f"chunks[{i}].suggestions", place, chunk.id, raw_pairs,
                                    "", base)] if raw_pairs is not None else []
        out = []
        valid = iter(chunk.suggestions)
        current = next(valid, None)
        for j, raw_pair in enumerate(raw_pairs):
            place = self.shaped.pair_places[i][j]
            if current is not None and _same_pair(raw_pair, current):
                record = PairRecord(**base, pair_id=current.id, status=current.status,
                                    question=current.question, answer=current.answer,
                                    location=place, form=current.form,
                                    turns=current.turns or [],
                                    reasoning=current.reasoning or "")
                if current.status == "rejected":
                    record.decision, record.reason = "rejected", "rejected by a person in review"
                out.append(record)
                current = next(valid, None)
            else:
                out.append(self._malformed(f"chunks[{i}].suggestions[{j}]", place, chunk.id,
                                           raw_pair, "", base))
        return out

    def _broken_chunk(self, i: int, raw: Any) -> list[PairRecord]:
        """A chunk the loader left out: each of its pairs (or the chunk itself) is malformed."""
        place = self.shaped.chunk_places[i]
        fields = raw if isinstance(raw, dict) else {}
        chunk_id = _string(fields.get("id")) or place
        why = self._why(f"chunks[{i}]", "a chunk must be a JSON object")
        pairs = fields.get("suggestions")
        if not isinstance(pairs, list) or not pairs:
            return [self._malformed(f"chunks[{i}]", place, chunk_id, raw, why)]
        return [self._malformed(f"chunks[{i}].suggestions[{j}]", self.shaped.pair_places[i][j],
                                chunk_id, pair, f"its chunk does not validate: {why}")
                for j, pair in enumerate(pairs)]

    def _why(self, prefix: str, default: str) -> str:
        mine = []
        where = self.shaped.place(prefix)  # problems already name places as in the file
        for problem in self.loaded.problems:
            name = problem.field or ""
            if name == where or name.startswith((where + ".", where + "[")):
                self.used.add(id(problem))
                mine.append(f"{name}: {problem.message}")
        return "; ".join(mine) or default

    def _malformed(self, prefix: str, place: str, chunk_id: str, value: Any, why: str,
                   base: dict[str, Any] | None = None) -> PairRecord:
        reason = why or self._why(prefix, "entry does not validate")
        fields = value if isinstance(value, dict) else {}
        pair_id = _string(fields.get("id"))
        common = base or {"source_file": self.rel, "document": self.document,
                          "chunk_id": chunk_id}
        return PairRecord(
            **common, pair_id=pair_id or (place if chunk_id == place else f"{chunk_id}@{place}"),
            status=_string(fields.get("status")) or "draft",
            question=_text(fields.get("question")),
            answer=_text(fields.get("answer") if fields else value),
            location=place, decision="malformed", reason=f"malformed entry at {place}: {reason}")
