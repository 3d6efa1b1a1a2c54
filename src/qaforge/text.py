"""Sentences: the one splitter chunking, grounding, the review page's highlight and the fake
backend use (stopwords and content words are per language, in :mod:`qaforge.languages`).

:func:`split_sentences` is lossless and keeps each sentence's trailing whitespace, as
chunking needs; :func:`sentence_spans` and :func:`sentences` give the sentences themselves,
where a line break also ends one (a heading or a list item is no part of the next line).
"""

from __future__ import annotations

import re

import sentencex

from qaforge.languages import detect_language, passage_language, sentence_language

Span = tuple[int, int]

_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE = re.compile(r"[^\n]+")


def split_sentences(text: str, language: str | None = None) -> list[str]:
    """Split ``text`` into sentences, losslessly: ``"".join(result) == text``.

    Uses ``sentencex`` (rule-based, handles abbreviations such as "e.g.", "Fig. 3", "U.S."
    and decimals) with the rules of ``language`` (ISO 639-1; detected from ``text`` when not
    given: German "Abb. 3" is no sentence end). Each piece keeps the whitespace after it.
    """
    if not text:
        return []
    # The splitter is native code that needs valid UTF-8; lone surrogates (possible in
    # extracted PDF text) are swapped for a same-length stand-in and the original sliced.
    safe = _SURROGATE.sub("\ufffd", text)
    try:
        pieces = sentencex.segment(sentence_language(language or detect_language(safe)), safe)
    except Exception:
        return [text]
    if "".join(pieces) != safe:
        return [text]
    out: list[str] = []
    start = 0
    for piece in pieces:
        out.append(text[start : start + len(piece)])
        start += len(piece)
    return out


def sentence_spans(text: str, language: str | None = None) -> list[Span]:
    """``(start, end)`` of every sentence of ``text``, without the whitespace around it; a
    line break ends a sentence too."""
    spans: list[Span] = []
    offset = 0
    for piece in split_sentences(text, language or passage_language(text) or "en"):
        for line in _LINE.finditer(piece):
            stripped = line.group().strip()
            if stripped:
                start = offset + line.start() + line.group().index(stripped)
                spans.append((start, start + len(stripped)))
        offset += len(piece)
    return spans


def sentences(text: str, language: str | None = None) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`)."""
    return [text[start:end] for start, end in sentence_spans(text, language)]
