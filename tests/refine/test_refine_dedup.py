"""Duplicates: exact and near, within and across documents, keeping the best pair."""

from __future__ import annotations

import random

from qaforge.refine.checks import check_questions
from qaforge.refine.dedup import deduplicate, deduplicate_rewrites
from qaforge.refine.grounding import ground
from qaforge.refine.pair_record import Correction, PairRecord

CHUNK = "Python tuples are immutable sequences. Lists are mutable sequences."


def record(pid: str, question: str, answer: str, *, status: str = "draft",
           document: str = "a.pdf", chunk_text: str = CHUNK) -> PairRecord:
    return PairRecord(source_file=f"output_json/{document}.json", document=document,
                      chunk_id="c-1", chunk_text=chunk_text, pair_id=pid, status=status,
                      question=question, answer=answer)


def prepared(records: list[PairRecord]) -> list[PairRecord]:
    return deduplicate(ground(check_questions(records)))


def decisions(records: list[PairRecord]) -> dict[str, str | None]:
    return {r.pair_id: r.duplicate_of for r in records if r.decision == "duplicate"}


def test_exact_duplicate_question_after_normalisation() -> None:
    records = prepared([record("a", "What is a tuple?", "An immutable sequence."),
                        record("b", "what is a TUPLE", "A sequence that cannot change.")])
    assert decisions(records) == {"b": "a"}
    assert "same question" in records[1].reason


def test_near_duplicate_across_documents() -> None:
    records = prepared([
        record("a", "Are Python tuples immutable sequences?", "Yes, tuples are immutable "
               "sequences."),
        record("b", "Are python tuples immutable sequence?", "Yes, tuples are immutable "
               "sequences.", document="b.pdf"),
        record("c", "Are Python lists mutable?", "Yes, lists are mutable sequences.")])
    assert decisions(records) == {"b": "a"}
    assert "near-duplicate" in records[1].reason


def test_similar_questions_with_different_answers_are_kept() -> None:
    records = prepared([
        record("a", "How do I install R on Windows?", "Run the Windows installer from CRAN."),
        record("b", "How do I install R on macOS?", "Open the macOS .pkg from CRAN.")])
    assert decisions(records) == {}


def test_reviewed_pair_wins_over_a_draft() -> None:
    records = prepared([record("draft", "What is a tuple?", "An immutable sequence."),
                        record("person", "What is a tuple?", "An immutable sequence.",
                               status="accepted", document="b.pdf")])
    assert decisions(records) == {"draft": "person"}
    assert "reviewed by a person" in records[0].reason and "in b.pdf" in records[0].reason


def test_better_grounded_pair_wins() -> None:
    records = prepared([
        record("loose", "What are tuples?", "Tuples are things from ancient Rome."),
        record("tight", "What are tuples?", "Python tuples are immutable sequences.")])
    assert decisions(records) == {"loose": "tight"}
    assert "better grounded" in records[0].reason


def test_lsh_path_agrees_with_the_exact_path() -> None:
    rng = random.Random(7)
    words = ["tuple", "list", "set", "dict", "string", "integer", "float", "module", "class",
             "function"]
    records = []
    for i in range(300):
        a, b = rng.sample(words, 2)
        q = f"How does a {a} differ from a {b} in Python number {i % 60}?"
        records.append(record(f"p{i}", q, f"A {a} is not a {b}; see section {i % 60}."))
    exact = prepared([r.model_copy(deep=True) for r in records])
    lsh = deduplicate(ground(check_questions([r.model_copy(deep=True) for r in records])),
                      exact_limit=10)
    # LSH is approximate: the same pairs go, though it may name another kept twin
    assert set(decisions(exact)) == set(decisions(lsh))
    assert len(decisions(exact)) > 100


def test_rewrite_that_duplicates_a_kept_pair_goes() -> None:
    kept = record("kept", "What is a tuple?", "An immutable sequence.")
    kept.decision = "kept"
    fixed = record("fixed", "What does the text say about tuples?", "They are immutable.")
    fixed.decision = "corrected"
    fixed.correction = Correction(question="What is a tuple?", answer="An immutable sequence.")
    other = record("other", "Tell me about lists", "Lists are mutable.")
    other.decision = "corrected"
    other.correction = Correction(question="Are lists mutable?", answer="Yes, lists are.")
    deduplicate_rewrites([kept, fixed, other])
    assert (fixed.decision, fixed.duplicate_of) == ("duplicate", "kept")
    assert other.decision == "corrected"
