"""Refine at scale (issue 20): the near-duplicate index is on disk, so memory and time per
pair stay flat in the number of pairs."""

from __future__ import annotations

import random
import tracemalloc

from qaforge.refine.dedup import deduplicate
from qaforge.refine.pair_record import PairRecord

WORDS = [f"{a}{b}{c}" for a in ("ka", "lo", "mi", "ren", "sut", "va", "dor", "pel")
         for b in ("qui", "zan", "tor", "bex", "ny", "gra") for c in ("fol", "hem", "ju", "wis")]


def unrelated(count: int, seed: int = 3) -> list[PairRecord]:
    """``count`` pairs of random words; pair 10k+5 repeats pair 10k with two words changed
    (a near duplicate), pair 10k+7 asks pair 10k+1's question again."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        question = f"What does {' '.join(rng.choices(WORDS, k=4))} {i} do?"
        answer = " ".join(rng.choices(WORDS, k=18))
        if i % 10 == 5:
            words = records[i - 5].answer.split()
            words[3], words[11] = "changed", "words"
            question, answer = records[i - 5].question, " ".join(words)
            question = question.replace("What", "So what")
        elif i % 10 == 7:
            question = records[i - 6].question
        records.append(PairRecord(source_file="output_json/a.json", document="a.pdf",
                                  chunk_id=f"c-{i // 4}", pair_id=f"p{i}", question=question,
                                  answer=answer))
    return records


def test_indexed_dedup_finds_planted_duplicates_and_nothing_else() -> None:
    records = deduplicate(unrelated(600), exact_limit=0)
    duplicates = {r.pair_id: r.duplicate_of for r in records if r.decision == "duplicate"}
    assert duplicates == ({f"p{i}": f"p{i - 5}" for i in range(5, 600, 10)}
                          | {f"p{i}": f"p{i - 6}" for i in range(7, 600, 10)})
    assert all("near-duplicate" in records[i].reason for i in range(5, 600, 10))


def test_indexed_dedup_memory_does_not_grow_with_the_pairs() -> None:
    """The MinHash index of every kept pair lived in memory (~1.3 KB a pair: 1.3 GB at a
    million); now it is a temporary SQLite file, so Python holds ~the sort order only."""
    records = unrelated(2000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        deduplicate(records, exact_limit=0)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak / len(records) < 400, f"{peak / len(records):.0f} bytes per pair"
