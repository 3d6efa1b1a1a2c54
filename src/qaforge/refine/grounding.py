"""Grounding without a model: how much of an answer can be found in its chunk.

Two cheap signals, both recorded: a fuzzy span match (each answer sentence against its best
matching stretch of the chunk, ``rapidfuzz.fuzz.partial_ratio_alignment``) and the share of
the answer's content words that occur in the chunk. Neither proves an answer right, but a
low score is strong evidence of an answer the chunk does not support; the judge sees it.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from qaforge.languages import content_words, passage_language, stem
from qaforge.refine.checks import normalise
from qaforge.refine.evidence import evidence_spans
from qaforge.refine.pair_record import Grounding, PairRecord
from qaforge.text import sentences

EVIDENCE_CHARS = 240
# scripts written without spaces between words, where a "content word" is a whole phrase
# and word matching says nothing: there the span decides
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")


def grounding_of(answer: str, chunk_text: str, *, question: str | None = None) -> Grounding:
    """Grounding of ``answer`` in ``chunk_text`` (1.0 = copied verbatim, 0.0 = nothing found);
    with the pair's ``question``, also its evidence sentences (:mod:`.evidence`)."""
    chunk = normalise(chunk_text)
    # the chunk's language decides the sentence rules and the stopwords of both texts
    language = passage_language(chunk_text)
    parts = [normalise(s) for s in sentences(answer, language)]
    parts = [s for s in parts if s]
    if not chunk or not parts:
        return Grounding(score=0.0, span=0.0, words=0.0)
    weighted = 0.0
    best_score, evidence = -1.0, ""
    for sentence in parts:
        alignment = fuzz.partial_ratio_alignment(sentence, chunk)
        if alignment is None:
            continue
        weighted += alignment.score * len(sentence)
        if alignment.score > best_score:
            best_score = alignment.score
            evidence = chunk[alignment.dest_start:alignment.dest_end]
    span = weighted / (100.0 * sum(len(s) for s in parts))
    words = content_words(normalise(answer), language)
    unspaced = len(_UNSPACED.findall(answer)) > 0.3 * max(1, len(answer.replace(" ", "")))
    if words and not unspaced:
        chunk_words = set(chunk.split()) | set(content_words(chunk, language))
        chunk_stems = {stem(w) for w in chunk_words}
        found = sum(1 for w in words if w in chunk_words or stem(w) in chunk_stems)
        word_share = found / len(words)
    else:
        word_share = span
    span = min(1.0, max(0.0, span))
    return Grounding(score=round((span + word_share) / 2, 4), span=round(span, 4),
                     words=round(word_share, 4), evidence=evidence[:EVIDENCE_CHARS],
                     sentences=([] if question is None
                                else evidence_spans(question, answer, chunk_text)))


def ground(records: list[PairRecord]) -> list[PairRecord]:
    """Step: record the grounding of every pair still in the running."""
    for record in records:
        if record.active:
            record.grounding = grounding_of(record.answer, record.chunk_text,
                                            question=record.question)
    return records
