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

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from rapidfuzz import fuzz, process

from qaforge.refine.checks import normalise
from qaforge.refine.pair_record import PairRecord

if TYPE_CHECKING:
    from datasketch import MinHash

#: up to this many pairs an exact all-pairs comparison is cheap; above, MinHash/LSH finds
#: the candidates and rapidfuzz confirms them
EXACT_LIMIT = 3000
_SHINGLE = 4
#: characters of a (normalised) pair the fuzzy match compares: bounds each comparison
COMPARE_CHARS = 2_000
_NUM_PERM = 128


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
    active = [r for r in records if r.active]
    if len(active) < 2:
        return records
    order = sorted(range(len(active)), key=lambda i: _preference(active[i], i))
    candidates = [active[i] for i in order]
    full = [normalise(f"{r.question} {r.answer}") for r in candidates]
    texts = [text[:COMPARE_CHARS] for text in full]
    cutoff = threshold * 100
    similar: Callable[[int, list[int]], tuple[int, float] | None]
    if len(candidates) <= exact_limit:
        similar = _matrix_matcher(texts, cutoff)
    else:
        similar = _lsh_matcher(texts, cutoff)
    similar = _length_filtered(similar, [len(text) for text in full], cutoff)
    kept_by_question: dict[str, int] = {}
    kept: list[int] = []
    for index, record in enumerate(candidates):
        question = normalise(record.question)
        if question and question in kept_by_question:
            original = candidates[kept_by_question[question]]
            _mark(record, original, "the same question (after normalisation) as")
            continue
        match = similar(index, kept)
        if match is not None:
            original = candidates[match[0]]
            _mark(record, original, f"a near-duplicate ({match[1]:.0f}% similar) of")
            continue
        kept.append(index)
        if question:
            kept_by_question[question] = index
    return records


def _mark(record: PairRecord, original: PairRecord, how: str) -> None:
    where = "" if original.document == record.document else f" in {original.document}"
    record.decision = "duplicate"
    record.duplicate_of = original.pair_id
    record.reason = (f"{how} {original.pair_id}{where}; that one was preferred because "
                     f"{_why_kept(original, record)}")


def _length_filtered(similar: Callable[[int, list[int]], tuple[int, float] | None],
                     lengths: list[int], cutoff: float
                     ) -> Callable[[int, list[int]], tuple[int, float] | None]:
    """Only candidates whose whole lengths allow a ratio of ``cutoff`` (the match itself saw
    only the first ``COMPARE_CHARS`` characters)."""
    def possible(a: int, b: int) -> bool:
        short, long = sorted((lengths[a], lengths[b]))
        return long <= COMPARE_CHARS or 200 * short >= cutoff * (short + long)

    def filtered(index: int, kept: list[int]) -> tuple[int, float] | None:
        return similar(index, [k for k in kept if possible(index, k)])

    return filtered


def _matrix_matcher(texts: list[str], cutoff: float
                    ) -> Callable[[int, list[int]], tuple[int, float] | None]:
    scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=cutoff,
                           dtype=np.uint8, workers=1)

    def similar(index: int, kept: list[int]) -> tuple[int, float] | None:
        if not kept:
            return None
        row = scores[index, kept]
        best = int(np.argmax(row))
        return (kept[best], float(row[best])) if row[best] >= cutoff and row[best] > 0 else None

    return similar


def _minhash(text: str) -> MinHash:
    from datasketch import MinHash

    shingles = {text[i:i + _SHINGLE] for i in range(max(1, len(text) - _SHINGLE + 1))}
    mh = MinHash(num_perm=_NUM_PERM)
    mh.update_batch([s.encode("utf-8", "surrogatepass") for s in shingles])
    return mh


def _lsh_matcher(texts: list[str], cutoff: float
                 ) -> Callable[[int, list[int]], tuple[int, float] | None]:
    # imported here: datasketch pulls in scipy (0.3 s), and most runs never get this far
    from datasketch import MinHashLSH

    # a generous Jaccard threshold finds candidates; rapidfuzz confirms each one
    lsh = MinHashLSH(threshold=0.25, num_perm=_NUM_PERM)
    hashes: dict[int, MinHash] = {}
    inserted: set[int] = set()

    def similar(index: int, kept: list[int]) -> tuple[int, float] | None:
        for k in kept:
            if k not in inserted:
                lsh.insert(str(k), hashes.setdefault(k, _minhash(texts[k])))
                inserted.add(k)
        mh = hashes.setdefault(index, _minhash(texts[index]))
        best: tuple[int, float] | None = None
        for key in lsh.query(mh):
            other = int(key)
            score = fuzz.ratio(texts[index], texts[other], score_cutoff=cutoff)
            if score and (best is None or score > best[1] or
                          (score == best[1] and other < best[0])):
                best = (other, score)
        return best

    return similar


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
