"""Chunks with nothing to learn: found before the model is asked, and never sent.

A table of contents, an index, a bibliography, front matter (copyright and permission
notices), a blank or near-blank page, or a table of numbers alone gives a model nothing to
ask about, only a chance to invent. :func:`skip_reason` says which of these a chunk is (or
``None``); generate records it on the chunk (``"skipped": "table of contents"``) instead of
sending it, and a person who disagrees deletes the reason (or sets it to ``false``) and runs
generate again, or turns the rule off (``--no-skip-boilerplate``).

The rule is deliberately cautious: a chunk is skipped only when nearly all of its text is of
one of these kinds (:data:`SKIP_SHARE`), so a conclusion that runs into the references, or a
table whose rows name things, still goes to the model. It is tuned on real chunks of the
sample PDFs (``tests/data/boilerplate_cases.json``): no negative there is skipped.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

from qaforge.records import Chunk

#: share of a chunk's text that must be of the skipped kinds
SKIP_SHARE = 0.75
#: fewer words than this (of two letters or more) and the chunk is a blank page
MIN_WORDS = 10

TOC = "table of contents"
INDEX = "index"
BIBLIOGRAPHY = "bibliography"
FRONT_MATTER = "front matter"
NUMBERS = "number-only table"
BLANK = "blank or near-blank page"
REASONS: tuple[str, ...] = (TOC, INDEX, BIBLIOGRAPHY, FRONT_MATTER, NUMBERS, BLANK)

# "2.1 Vectors and assignment . . . . . . 8", "Notices ......... vii"
_LEADER_ENTRY = re.compile(r"[^.\n]{0,160}?(?:\s?\.){4,}\s*(?:\d{1,4}|[ivxlc]{1,6})\b,?",
                           re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]{2,}")
# scripts written without spaces: three characters count as two words
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")
_TOKEN = re.compile(r"\S+")
_NUMERIC = re.compile(r"[\d.,:/%$€£()+\-–—*]*\d[\d.,:/%$€£()+\-–—*]*")
_PIECE_BREAK = re.compile(r"\n\s*\n|\n(?=\|)|(?=\[\d{1,3}\]\s)")
_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d\d[a-z]?(?!\d)")
_NAME = r"[A-Z][\w'’\-]+"
_INITIALS = r"(?:[A-Z]\.\s?(?:-?[A-Z]\.\s?)*)"
# how an entry of a reference list starts: "[3] ...", "Bosch, J.M., 1979.",
# "D. M. Bates and ...", "Eugene Charniak. 2000.", "Julian Eisenschlos, Syrine ...",
# or the year line of an entry the extraction broke in two ("2004. Discovering ...")
_REFERENCE_START = re.compile(
    rf"^(?:\[\d{{1,3}}\]\s|{_NAME},\s{_INITIALS}|{_INITIALS}{_NAME}|"
    rf"{_NAME}\s(?:{_INITIALS})?{_NAME}(?:[.,]|\sand\s)|\(?(?:1[89]|20)\d\d[a-z]?\)?\.\s)")
_VENUE = re.compile(r"\b(?:Proceedings|Proc\.|Journal|Conference|Workshop|Transactions|"
                    r"Association for|pp\.|pages\s\d|vol\.|arXiv|Press|Thesis|Springer|"
                    r"Wiley|In\s[A-Z][\w/\-]+)", re.UNICODE)
_LEGAL = re.compile(r"copyright|©|all rights reserved|permission is granted|\bisbn\b|"
                    r"trademarks?\b|registered trademark|printed in|licensed under|"
                    r"without (?:the )?(?:prior )?written permission|library of congress",
                    re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _words(text: str) -> int:
    unspaced = len(_UNSPACED.findall(text))
    return len(_WORD.findall(_UNSPACED.sub(" ", text))) + unspaced * 2 // 3


def _numeric_share(text: str) -> float:
    tokens = [t.strip("|") for t in _TOKEN.findall(text)]
    tokens = [t for t in tokens if t]
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if _NUMERIC.fullmatch(t)) / len(tokens)


def _is_reference(piece: str) -> bool:
    head = piece[:200]
    if not _YEAR.search(piece) or len(piece) > 700:
        return False
    return bool((_REFERENCE_START.match(piece) and (_YEAR.search(head) or _VENUE.search(piece)))
                or (_VENUE.search(piece) and _YEAR.search(head) and len(piece) < 400))


def _legal_chars(piece: str) -> int:
    return sum(len(s) for s in _SENTENCE.split(piece) if _LEGAL.search(s))


def kinds(text: str) -> Counter[str]:
    """Characters of ``text`` per kind: ``toc`` (dot-leader entries), ``reference``,
    ``legal``, ``numbers`` and ``content`` (everything else)."""
    shares: Counter[str] = Counter()
    rest: list[str] = []
    last = 0
    for match in _LEADER_ENTRY.finditer(text):
        rest.append(text[last:match.start()])
        shares["toc"] += len(match.group().strip())
        last = match.end()
    rest.append(text[last:])
    for block in rest:
        for raw in _PIECE_BREAK.split(block):
            piece = raw.strip()
            if not piece:
                continue
            legal = _legal_chars(piece)
            if legal < len(piece) / 2 and _is_reference(piece):
                shares["reference"] += len(piece)
            elif legal < len(piece) / 2 and _numeric_share(piece) >= 0.6:
                shares["numbers"] += len(piece)
            else:
                shares["legal"] += legal
                shares["content"] += len(piece) - legal
    return shares


def skip_reason(text: str, headings: Sequence[str] = ()) -> str | None:
    """Why the model should not be asked about this chunk (one of :data:`REASONS`), or
    ``None`` when it has something to learn from. ``headings`` is the chunk's heading path:
    dot-leader entries under a heading that says "index" are an index."""
    shares = kinds(text)
    total = sum(shares.values())
    if not total or shares["content"] >= (1 - SKIP_SHARE) * total:
        return BLANK if _words(text) < MIN_WORDS else None
    kind, _ = max(((k, n) for k, n in shares.items() if k != "content"),
                  key=lambda item: item[1])
    if kind == "toc":
        return INDEX if any("index" in h.lower() for h in headings) else TOC
    return {"reference": BIBLIOGRAPHY, "legal": FRONT_MATTER, "numbers": NUMBERS}[kind]


def mark_skipped(chunks: Iterable[Chunk]) -> list[Chunk]:
    """``chunks`` with :func:`skip_reason` recorded on each one that has nothing to learn
    (``chunk.skipped``); the others are left as they are."""
    out = list(chunks)
    for chunk in out:
        reason = skip_reason(chunk.text, chunk.headings)
        if reason is not None:
            chunk.skipped = reason
    return out


def is_skipped(chunk: Chunk) -> bool:
    """Whether ``chunk`` is still waiting and carries a skip mark a person has not taken
    away (``false``, ``null`` or an empty reason send it to the model). A chunk generated
    anyway (``--no-skip-boilerplate``) is no longer skipped, whatever its old mark says."""
    return bool(chunk.skipped) and chunk.state == "pending"


def skipped_reason(chunk: Chunk) -> str:
    """The recorded reason of a skipped chunk (``"marked by hand"`` for a bare ``true``)."""
    return chunk.skipped if isinstance(chunk.skipped, str) else "marked by hand"
