"""Step 2: drop duplicate pairs before judging them (each one saved is a model call saved).

Two pairs are duplicates when their questions are equal after normalisation, or when the
whole pair (question + answer) is at least ``threshold`` similar (``rapidfuzz`` ratio),
within a document or across documents. Of a group the best pair is kept: one a person
reviewed before a draft, then one without form issues, then the better grounded, then the
first in file order. The others record which pair was kept and why they went.

The fuzzy comparison costs the product of the two lengths, so it looks at the first
``COMPARE_CHARS`` characters of each pair (all of nearly every pair); two longer pairs must
also be of lengths that a whole-text match at ``threshold`` allows.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, overload

import numpy as np
from rapidfuzz import fuzz, process

from qaforge.refine.checks import normalise
from qaforge.refine.pair_record import PairRecord

if TYPE_CHECKING:
    from qaforge.refine.record_store import RecordStore

#: up to this many pairs an exact all-pairs comparison is cheap; above, a MinHash band
#: index on disk (:mod:`qaforge.refine.near_index`) finds candidates, rapidfuzz confirms them
EXACT_LIMIT = 3000
#: characters of a (normalised) pair the fuzzy match compares: bounds each comparison
COMPARE_CHARS = 2_000


def _preference(record: PairRecord, position: int) -> tuple[int, int, float, int]:
    grounding = record.grounding.score if record.grounding else 0.0
    return (0 if record.reviewed else 1, 1 if record.issues else 0, -grounding, position)


def _why_kept(kept: PairRecord, dropped: PairRecord) -> str:
    if kept.reviewed and not dropped.reviewed:
        return "it was reviewed by a person"
    if not kept.issues and dropped.issues:
        return "it passes the question-form checks"
    kept_g = kept.grounding.score if kept.grounding else 0.0
    dropped_g = dropped.grounding.score if dropped.grounding else 0.0
    if kept_g > dropped_g:
        return f"it is better grounded ({kept_g:.2f} vs {dropped_g:.2f})"
    return "it comes first"


def deduplicate(records: list[PairRecord], threshold: float = 0.85,
                exact_limit: int = EXACT_LIMIT, weak_limit: int | None = None
                ) -> list[PairRecord]:
    """Step: mark duplicates among the pairs still in the running (``decision="duplicate"``).
    ``weak_limit``: the index's cap on candidates sharing one band (``None``: its default;
    ``bench/bench_dedup.py`` compares)."""
    by_form: dict[str, list[PairRecord]] = {}
    for record in records:
        if record.active:
            by_form.setdefault(record.form, []).append(record)
    # one fact in several forms (a question, a yes/no, a blank) is wanted, not a duplicate
    for active in by_form.values():
        if len(active) < 2:
            continue
        candidates = [record for _, record in sorted(
            enumerate(active), key=lambda item: _preference(item[1], item[0]))]
        if len(candidates) <= exact_limit:
            _deduplicate_all_pairs(candidates, threshold * 100)
        else:
            _deduplicate_indexed(candidates, threshold * 100, weak_limit=weak_limit)
    return records


def _deduplicate_all_pairs(candidates: list[PairRecord], cutoff: float) -> None:
    """Few pairs: every pair compared with every other at once (exact)."""
    full = [_pair_text(r) for r in candidates]
    lengths = [len(text) for text in full]
    scores = process.cdist([text[:COMPARE_CHARS] for text in full],
                           [text[:COMPARE_CHARS] for text in full], scorer=fuzz.ratio,
                           score_cutoff=cutoff, dtype=np.uint8, workers=1)
    kept_by_question: dict[str, int] = {}
    kept: list[int] = []
    for index, record in enumerate(candidates):
        question = normalise(record.question)
        if question and question in kept_by_question:
            _mark(record, candidates[kept_by_question[question]], _SAME_QUESTION)
            continue
        possible = [k for k in kept if _possible(lengths[index], lengths[k], cutoff)]
        if possible:
            row = scores[index, possible]
            best = int(np.argmax(row))
            if row[best] >= cutoff and row[best] > 0:
                _mark(record, candidates[possible[best]], _near(float(row[best])))
                continue
        kept.append(index)
        if question:
            kept_by_question[question] = index


def _deduplicate_indexed(candidates: Sequence[PairRecord], cutoff: float,
                         marked: Callable[[int, PairRecord], None] = lambda i, r: None,
                         weak_limit: int | None = None) -> None:
    """Many pairs: candidates from the MinHash band index on disk, confirmed by rapidfuzz;
    the index lives in a temporary file, so memory stays flat in the number of pairs.
    ``marked(position, record)`` is told of each pair marked a duplicate."""
    from qaforge.refine.near_index import WEAK_LIMIT, NearIndex

    with NearIndex(weak_limit=WEAK_LIMIT if weak_limit is None else weak_limit) as index:
        for position, record in enumerate(candidates):
            question = normalise(record.question)
            first = index.question(question) if question else None
            if first is not None:
                _mark(record, candidates[first], _SAME_QUESTION)
                marked(position, record)
                continue
            full = _pair_text(record)
            text = full[:COMPARE_CHARS]
            keys = index.keys(text)
            best: tuple[int, float] | None = None
            for other, other_text, other_length in index.candidates(keys):
                if not _possible(len(full), other_length, cutoff):
                    continue
                score = fuzz.ratio(text, other_text, score_cutoff=cutoff)
                if score and (best is None or score > best[1]):
                    best = (other, score)
            if best is not None:
                _mark(record, candidates[best[0]], _near(best[1]))
                marked(position, record)
                continue
            index.add(position, keys, text, len(full))
            if question:
                index.add_question(position, question)


_SAME_QUESTION = "the same question (after normalisation) as"


def _near(score: float) -> str:
    return f"a near-duplicate ({score:.0f}% similar) of"


def _pair_text(record: PairRecord) -> str:
    return normalise(f"{record.question} {record.answer}")


def _possible(length: int, other: int, cutoff: float) -> bool:
    """Whether whole lengths allow a ratio of ``cutoff`` (the match itself sees only the
    first ``COMPARE_CHARS`` characters)."""
    short, long = sorted((length, other))
    return long <= COMPARE_CHARS or 200 * short >= cutoff * (short + long)


def _mark(record: PairRecord, original: PairRecord, how: str) -> None:
    where = "" if original.document == record.document else f" in {original.document}"
    record.decision = "duplicate"
    record.duplicate_of = original.pair_id
    record.reason = (f"{how} {original.pair_id}{where}; that one was preferred because "
                     f"{_why_kept(original, record)}")


def deduplicate_rewrites(records: list[PairRecord], threshold: float = 0.85) -> list[PairRecord]:
    """Step: a corrected pair whose rewrite duplicates a pair already in the dataset goes
    (:func:`deduplicate_stored_rewrites` over a temporary store of ``records``)."""
    from qaforge.refine.record_store import RecordStore

    with RecordStore() as store:
        store.add(records)
        deduplicate_stored_rewrites(store, threshold)
        for pos, marked in store.records("decision = 'duplicate'"):
            record = records[pos]
            record.decision, record.duplicate_of, record.reason = (
                marked.decision, marked.duplicate_of, marked.reason)
    return records


def deduplicate_stored(store: RecordStore, threshold: float = 0.85) -> None:
    """:func:`deduplicate` over the records of ``store``: the same pairs go, for the same
    reasons, with only positions in memory past :data:`EXACT_LIMIT` pairs of a form."""
    for form, count in store.forms():
        if count < 2:
            continue
        order = store.by_preference(form)
        if count <= EXACT_LIMIT:
            candidates = [store.get(pos) for pos in order]
            _deduplicate_all_pairs(candidates, threshold * 100)
            store.put((pos, r) for pos, r in zip(order, candidates, strict=True)
                      if r.decision == "duplicate")
        else:
            _deduplicate_indexed(_Stored(store, order), threshold * 100,
                                 marked=_Stored(store, order).put)


class _Stored(Sequence[PairRecord]):
    """The records at ``order``'s positions, read from the store one at a time."""

    def __init__(self, store: RecordStore, order: Sequence[int]) -> None:
        self.store, self.order = store, order

    def __len__(self) -> int:
        return len(self.order)

    @overload
    def __getitem__(self, index: int) -> PairRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[PairRecord]: ...

    def __getitem__(self, index: int | slice) -> PairRecord | Sequence[PairRecord]:
        if isinstance(index, slice):
            return _Stored(self.store, self.order[index])
        return self.store.get(self.order[index])

    def put(self, index: int, record: PairRecord) -> None:
        """Write ``record``, the ``index``-th of the sequence, back to the store."""
        self.store.put([(self.order[index], record)])


#: kept texts compared with a group of rewrites at once
_TEXT_BLOCK = 5_000


def deduplicate_stored_rewrites(store: RecordStore, threshold: float = 0.85) -> None:
    """Step: a corrected pair whose rewrite duplicates a pair already in the dataset goes.

    Pairs kept as they were win over rewrites; rewrites are taken in file order. The pairs
    compared with live in a temporary table, the rewrites come a group at a time.
    """
    if not store.count("decision = 'corrected'"):
        return
    cutoff = threshold * 100
    with _Seen() as seen:
        for pos, record in store.records("decision = 'kept'"):
            seen.add(pos, normalise(record.final_question), _final_text(record), kept=True)
        kept = seen.size
        for group in store.groups(_TEXT_BLOCK, "decision = 'corrected'"):
            texts = [_final_text(record) for _, record in group]
            best_kept = seen.best(texts, cutoff, 0, kept)
            changed = []
            for (pos, record), text, best in zip(group, texts, best_kept, strict=True):
                question = normalise(record.final_question)
                original = seen.question(question)
                how = "its rewrite has the same question as"
                if original is None:
                    later = seen.best([text], cutoff, kept, seen.size)[0]
                    if later is not None and (best is None or later[1] > best[1]):
                        best = later
                    if best is not None:
                        original = best[0]
                        how = f"its rewrite is a near-duplicate ({best[1]:.0f}% similar) of"
                if original is not None:
                    record.decision = "duplicate"
                    record.duplicate_of = store.get(original).pair_id
                    record.reason = (f"{how} {record.duplicate_of}, which is already in the "
                                     "dataset")
                    changed.append((pos, record))
                    continue
                seen.add(pos, question, text, kept=False)
            store.put(changed)


def _final_text(record: PairRecord) -> str:
    return normalise(f"{record.final_question} {record.final_answer}")[:COMPARE_CHARS]


class _Seen:
    """The pairs in the dataset so far, in a temporary SQLite table: by (normalised)
    question and, in the order they came, by text."""

    def __init__(self) -> None:
        from qaforge.refine.near_index import key_of

        self.key_of = key_of
        self.db = sqlite3.connect("")  # a private temporary file, removed when closed
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("CREATE TABLE question (hash INTEGER PRIMARY KEY, pos INTEGER)")
        self.db.execute("CREATE TABLE text (n INTEGER PRIMARY KEY, pos INTEGER, text TEXT)")
        self.size = 0

    def add(self, pos: int, question: str, text: str, *, kept: bool) -> None:
        # among kept pairs the last of a question is the one named; a rewrite adds its own
        verb = "REPLACE" if kept else "IGNORE"
        self.db.execute(f"INSERT OR {verb} INTO question VALUES (?, ?)",
                        (self.key_of(question), pos))
        self.db.execute("INSERT INTO text VALUES (?, ?, ?)", (self.size, pos, _safe(text)))
        self.size += 1

    def question(self, question: str) -> int | None:
        row = self.db.execute("SELECT pos FROM question WHERE hash = ?",
                              (self.key_of(question),)).fetchone()
        return None if row is None else int(row[0])

    def best(self, texts: list[str], cutoff: float, start: int, end: int
             ) -> list[tuple[int, float] | None]:
        """For each of ``texts``, the first most similar of the pairs ``start`` to ``end``
        (in the order added) that is at least ``cutoff`` similar: ``(position, score)``."""
        best: list[tuple[int, float] | None] = [None] * len(texts)
        for first in range(start, end, _TEXT_BLOCK):
            rows = self.db.execute("SELECT pos, text FROM text WHERE n >= ? AND n < ? "
                                   "ORDER BY n", (first, min(end, first + _TEXT_BLOCK))
                                   ).fetchall()
            block = [_unsafe(text) for _, text in rows]
            for i, text in enumerate(texts):
                match = process.extractOne(text, block, scorer=fuzz.ratio, score_cutoff=cutoff)
                current = best[i]
                if match is not None and (current is None or match[1] > current[1]):
                    best[i] = (rows[match[2]][0], match[1])
        return best

    def __enter__(self) -> _Seen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.db.close()


def _safe(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _unsafe(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")
