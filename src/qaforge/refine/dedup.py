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

import numpy as np
from rapidfuzz import fuzz, process

from qaforge.refine.checks import normalise
from qaforge.refine.pair_record import PairRecord

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
                exact_limit: int = EXACT_LIMIT) -> list[PairRecord]:
    """Step: mark duplicates among the pairs still in the running (``decision="duplicate"``)."""
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
            _deduplicate_indexed(candidates, threshold * 100)
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


def _deduplicate_indexed(candidates: list[PairRecord], cutoff: float) -> None:
    """Many pairs: candidates from the MinHash band index on disk, confirmed by rapidfuzz;
    the index lives in a temporary file, so memory stays flat in the number of pairs."""
    from qaforge.refine.near_index import NearIndex

    with NearIndex() as index:
        for position, record in enumerate(candidates):
            question = normalise(record.question)
            first = index.question(question) if question else None
            if first is not None:
                _mark(record, candidates[first], _SAME_QUESTION)
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
    """Step: a corrected pair whose rewrite duplicates a pair already in the dataset goes.

    Pairs kept as they were win over rewrites; rewrites are taken in file order.
    """
    base = [r for r in records if r.decision == "kept"]
    questions = {normalise(r.final_question): r for r in base}
    texts = [normalise(f"{r.final_question} {r.final_answer}")[:COMPARE_CHARS] for r in base]
    for record in records:
        if record.decision != "corrected":
            continue
        question = normalise(record.final_question)
        text = normalise(f"{record.final_question} {record.final_answer}")[:COMPARE_CHARS]
        original = questions.get(question)
        how = "its rewrite has the same question as"
        if original is None:
            match = process.extractOne(text, texts, scorer=fuzz.ratio,
                                       score_cutoff=threshold * 100)
            if match is not None:
                original = base[match[2]]
                how = f"its rewrite is a near-duplicate ({match[1]:.0f}% similar) of"
        if original is not None:
            record.decision = "duplicate"
            record.duplicate_of = original.pair_id
            record.reason = f"{how} {original.pair_id}, which is already in the dataset"
            continue
        base.append(record)
        texts.append(text)
        questions.setdefault(question, record)
    return records
