"""Evidence and coverage without a model: which sentences of a chunk a pair rests on, and
how much of each chunk the kept pairs cover.

**Evidence** of a pair: the chunk sentences that support its answer, found deterministically
(a greedy cover of the answer's content words by the chunk's sentences; the question's
words help only when the answer is too short to place, such as "Yes" or "1990"), each as
character offsets into the chunk text, so a reader or a tool can slice them out exactly.

**Coverage** of a chunk: the share of its *informative* sentences (at least
:data:`MIN_CONTENT_WORDS` content words: no headings, captions, page numbers or dot-leader
lines) that the evidence of at least one kept pair touches. A document's coverage counts its
sentences together, so a long chunk weighs more than a short one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from qaforge.languages import content_words, passage_language, stem
from qaforge.refine.checks import normalise
from qaforge.text import Span, sentence_spans

#: content words a sentence needs to count as informative (something a pair could ask about)
MIN_CONTENT_WORDS = 4
#: a sentence supports the answer when it brings at least this many of its words ...
MIN_NEW_WORDS = 2
#: ... or when at least this share of its own words are in the answer (a copied sentence)
COPIED_SHARE = 0.6
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")
_LEADERS = re.compile(r"(?:\s?\.){4,}")


def _terms(text: str, language: str | None) -> frozenset[str]:
    """Stems of the content words of ``text``; character pairs for unspaced scripts."""
    normal = normalise(text)
    if _UNSPACED.search(text):
        joined = "".join(ch for ch in normal if not ch.isspace())
        return frozenset(joined[i:i + 2] for i in range(len(joined) - 1))
    return frozenset(stem(w) for w in content_words(normal, language))


@lru_cache(maxsize=64)
def _sentences(chunk_text: str) -> tuple[tuple[Span, frozenset[str]], ...]:
    # the same chunk is looked at once per pair: split and stem it once
    language = passage_language(chunk_text)
    return tuple((span, _terms(chunk_text[span[0]:span[1]], language))
                 for span in sentence_spans(chunk_text, language))


def evidence_spans(question: str, answer: str, chunk_text: str) -> list[Span]:
    """``(start, end)`` offsets in ``chunk_text`` of the sentences that support ``answer``,
    in text order; empty when no sentence shares enough of its words."""
    language = passage_language(chunk_text)
    wanted = set(_terms(answer, language))
    if len(wanted) < 3:  # "Yes", "1990": the question says what the answer is about
        wanted |= _terms(question, language)
    if not wanted:
        return []
    sentences = _sentences(chunk_text)
    chosen: set[int] = set()
    for index, (_, terms) in enumerate(sentences):
        if terms and len(terms & wanted) >= max(MIN_NEW_WORDS, COPIED_SHARE * len(terms)):
            chosen.add(index)
    left = wanted - {t for i in chosen for t in sentences[i][1]}
    # a sentence must bring two of the answer's words (one when it has fewer than three):
    # a lone shared word such as the subject's name is no support
    needed = MIN_NEW_WORDS if len(wanted) >= 3 else 1
    while left:
        best, gain = -1, 0
        for index, (_, terms) in enumerate(sentences):
            found = len(terms & left)
            if index not in chosen and found > gain:
                best, gain = index, found
        if gain < needed or best < 0:
            break
        chosen.add(best)
        left -= sentences[best][1]
    return [sentences[i][0] for i in sorted(chosen)]


def informative_spans(chunk_text: str) -> list[Span]:
    """The sentences of ``chunk_text`` a pair could be about (see the module docstring)."""
    return [span for span, terms in _sentences(chunk_text)
            if len(terms) >= MIN_CONTENT_WORDS
            and not _LEADERS.search(chunk_text[span[0]:span[1]])]


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(start < span[1] and span[0] < end for start, end in others)


@dataclass(slots=True)
class ChunkCoverage:
    """One chunk's informative sentences and which of them kept pairs rest on."""

    sentences: list[Span]
    covered: set[int] = field(default_factory=set)

    def cover(self, evidence: Iterable[Span]) -> None:
        spans = list(evidence)
        self.covered.update(i for i, s in enumerate(self.sentences) if _overlaps(s, spans))

    @property
    def uncovered(self) -> list[Span]:
        return [s for i, s in enumerate(self.sentences) if i not in self.covered]


def chunk_coverage(chunk_text: str) -> ChunkCoverage:
    """An empty ledger entry for one chunk."""
    return ChunkCoverage(informative_spans(chunk_text))


def share(covered: int, total: int) -> float | None:
    """``covered / total`` rounded, or ``None`` when there is nothing to cover."""
    return round(covered / total, 4) if total else None

