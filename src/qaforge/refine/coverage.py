"""The coverage ledger: how much of each document the dataset's pairs rest on.

Loading a suggestions file records each chunk's informative sentences
(:func:`file_sentences`); every pair that reaches the dataset marks the sentences its
evidence touches (:meth:`CoverageLedger.add`, the evidence of the rewrite for a corrected
pair). :meth:`CoverageLedger.report` gives, per document and overall, the share of
informative sentences covered, the chunks skipped as having nothing to learn (by reason),
and the dataset rows per page; ``evaluation.json`` carries it as
``summary.sentence_coverage``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qaforge.boilerplate import is_skipped, skipped_reason
from qaforge.records import SuggestionsFile
from qaforge.refine.evidence import ChunkCoverage, chunk_coverage, share
from qaforge.refine.pair_record import IN_DATASET, PairRecord
from qaforge.text import Span


@dataclass(slots=True)
class FileSentences:
    """What one suggestions file holds to be covered: informative sentences per chunk
    (chunks skipped as having nothing to learn are left out and counted by reason)."""

    pages: int = 0
    chunks: dict[str, ChunkCoverage] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)


def file_sentences(data: SuggestionsFile) -> FileSentences:
    """The ledger's entry for one suggestions file, before any pair is counted."""
    out = FileSentences(pages=data.source.pages)
    skipped: Counter[str] = Counter()
    for chunk in data.chunks:
        if is_skipped(chunk):
            skipped[skipped_reason(chunk)] += 1
        elif chunk.id not in out.chunks:
            out.chunks[chunk.id] = chunk_coverage(chunk.text)
    out.skipped = dict(skipped)
    return out


def final_evidence(record: PairRecord) -> list[Span]:
    """The evidence of the pair as it goes into the dataset (the rewrite's when corrected)."""
    grounding = record.grounding
    if record.decision == "corrected" and record.correction is not None:
        grounding = record.correction.grounding
    return [] if grounding is None else [(s[0], s[1]) for s in grounding.sentences]


def document_names(files: Iterable[tuple[str, str]]) -> dict[str, str]:
    """File path -> the name its document is reported under (the PDF's name; with the path
    when two files name the same PDF)."""
    files = list(files)
    seen = Counter(document for _, document in files)
    return {path: (document if document and seen[document] == 1
                   else f"{document or path} ({path})") for path, document in files}


class CoverageLedger:
    """Informative sentences per file and chunk, and which of them kept pairs cover.

    ``files`` may read each entry on demand (a mapping over a store): an entry is held
    from its file's first dataset row until :meth:`close` (or the report), so going
    through the records file by file holds one file's sentences at a time.
    """

    def __init__(self, files: Mapping[str, FileSentences]) -> None:
        #: suggestions file (relative path) -> its sentences
        self.files = files
        self.rows: Counter[str] = Counter()
        self._open: dict[str, FileSentences] = {}
        self._done: dict[str, dict[str, Any]] = {}

    def add(self, record: PairRecord) -> None:
        """Count ``record`` when it reached the dataset."""
        if record.decision not in IN_DATASET:
            return
        self.rows[record.source_file] += 1
        entry = self._entry(record.source_file)
        chunk = entry.chunks.get(record.chunk_id) if entry is not None else None
        if chunk is not None:
            chunk.cover(final_evidence(record))

    def add_all(self, records: Iterable[PairRecord]) -> CoverageLedger:
        for record in records:
            self.add(record)
        return self

    def close(self, path: str) -> None:
        """Every row of file ``path`` is counted: keep its figures, drop its sentences."""
        entry = self._entry(path)
        if entry is not None and path not in self._done:
            self._done[path] = self._figures(path, entry)
        self._open.pop(path, None)

    def _entry(self, path: str) -> FileSentences | None:
        entry = self._open.get(path)
        if entry is None and path not in self._done:
            entry = self.files.get(path)
            if entry is not None:
                self._open[path] = entry
        return entry

    def _figures(self, path: str, entry: FileSentences) -> dict[str, Any]:
        sentences = sum(len(c.sentences) for c in entry.chunks.values())
        covered = sum(len(c.covered) for c in entry.chunks.values())
        rows = self.rows[path]
        return {
            "file": path, "pages": entry.pages, "informative_sentences": sentences,
            "covered_sentences": covered, "coverage": share(covered, sentences),
            "chunks_uncovered": sum(1 for c in entry.chunks.values()
                                    if c.sentences and not c.covered),
            "chunks_skipped": entry.skipped, "dataset_rows": rows,
            "pairs_per_page": share(rows, entry.pages)}

    def report(self, names: dict[str, str]) -> dict[str, Any]:
        """Per document (``names``: file path -> the name to report it under) and overall."""
        documents: dict[str, Any] = {}
        totals: Counter[str] = Counter()
        skipped_all: Counter[str] = Counter()
        for path in self.files:
            self.close(path)
            figures = self._done[path]
            documents[names.get(path, path)] = figures
            totals.update(sentences=figures["informative_sentences"],
                          covered=figures["covered_sentences"], rows=figures["dataset_rows"],
                          pages=figures["pages"])
            skipped_all.update(figures["chunks_skipped"])
        return {
            "means": "share of each document's informative sentences (4+ content words) that "
                     "the evidence of at least one dataset pair touches",
            "coverage": share(totals["covered"], totals["sentences"]),
            "informative_sentences": totals["sentences"],
            "covered_sentences": totals["covered"],
            "chunks_skipped": dict(skipped_all),
            "pairs_per_page": share(totals["rows"], totals["pages"]),
            "documents": documents,
        }
