"""Deterministic detectors for defects a small generator makes often (issue 15, item 3).

Each returns :class:`Issue` objects with a reason a person and the judge can read. Two send
a pair to correction (``severity="fix"``): an answer cut off mid-sentence (``truncated``) and
a question whose referent is only in the passage (``dangling_reference``). The others are
notes (``severity="note"``): an answer that points at a table or figure the pair does not
contain (``points_elsewhere``), questions of one passage cut from one template
(``template_question``) and an answer that pastes several passage sentences
(``padded_copy``). ``evaluation.json`` records them; the rubric judge sees them in its
prompt, and the checks judge (:mod:`.verify`) does not call a pair with one of the first
or last ``Clear``.
All are tuned for precision on real generated pairs (``tests/refine/data/
detector_cases.json``): when in doubt, they say nothing.

Costs are linear in the pair and its passage (both bounded by :func:`checks.size_issue`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict

from qaforge.refine.checks import normalise
from qaforge.refine.pair_record import Issue, PairRecord

_WORD = re.compile(r"[\w'’-]+")

# -- truncated answers -------------------------------------------------------------------

_DANGLING_END = re.compile(r"[,;:(\[{\u2013\u2014-]\s*$|\b(?:e\.g|i\.e|cf)\.?$|\(\s*\w{1,3}\.$")
_FUNCTION_WORD_LIST = """
and or but nor the a an of to with in on at for by from into than that which whose who is are
was were be been has have had such as including like between their its his her our your this
these those
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORD_LIST.split())
_FINAL = (".", "!", "?", "\u3002", "\uff01", "\uff1f", ")", "]", '"', "'", "\u201d", "\u2019")


def truncated(answer: str, chunk_text: str = "") -> Issue | None:
    """An answer that stops mid-sentence: on a comma, an opening bracket, a function word, or
    at a full stop the passage shows is inside a number or abbreviation ("version 4." of
    "version 4.7.0")."""
    text = answer.strip()
    if not text:
        return None
    why = ""
    words = text.split()
    last = words[-1].casefold()
    if _DANGLING_END.search(text):
        why = f"it ends on {text[-12:]!r}"
    elif len(words) >= 4 and not text.endswith(_FINAL) and last in _FUNCTION_WORDS:
        why = f"it ends on the word {words[-1]!r}"
    elif text.count("(") > text.count(")") and not text.endswith(_FINAL[:3]):
        why = "a bracket it opens is never closed"
    elif not text.endswith(_FINAL) and (cut := _cut_word(text, chunk_text)):
        why = f"it stops inside a word ({cut})"
    elif chunk_text and text.endswith(".") and len(text) >= 12:
        tail = text[-30:]
        at = chunk_text.find(tail)
        after = chunk_text[at + len(tail):at + len(tail) + 1] if at >= 0 else ""
        if after.isalnum():
            why = f"the passage goes on after its last full stop ({tail[-12:]!r} + {after!r}...)"
    if not why:
        return None
    return Issue(code="truncated", target="answer",
                 message=f"the answer is cut off mid-sentence: {why}")


_LAST_WORD = re.compile(r"(\w{2,})$")
CUT_WORD_MIN_ANSWER = 200


def _cut_word(text: str, chunk_text: str) -> str:
    """``'langu' of 'language'`` when a long answer's last word is no word of the answer or
    the passage but the start of a clearly longer one (a reply cut at its token budget)."""
    match = _LAST_WORD.search(text)
    if match is None or len(text) < CUT_WORD_MIN_ANSWER:
        return ""
    stem = match.group(1).casefold()
    vocabulary = set(_WORD.findall((text[:match.start()] + " " + chunk_text).casefold()))
    if stem in vocabulary:
        return ""
    longer = sorted(w for w in vocabulary if w.startswith(stem) and len(w) >= len(stem) + 3)
    return f"{match.group(1)!r} of {longer[0]!r}" if longer else ""


# -- answers that point at what the pair does not contain --------------------------------

_FLOAT = r"(?:figure|fig\.|table|equation|eq\.|listing|appendix|section|chapter)\s*\d+[a-z]?"
_POINTER = re.compile(
    r"(?:\b(?:in|see|to|from|of|at)\s+|\(\s*)(?:" + _FLOAT + r")\b"
    r"|^(?:" + _FLOAT + r")\s+(?:shows|lists|gives|presents|summari[sz]es|illustrates)\b"
    r"|\b(?:shown|listed|given|described|illustrated|summari[sz]ed|presented|displayed|"
    r"explained|defined|discussed)\s+(?:below|above|in the following|in the (?:table|figure|"
    r"next|previous|following)\b)"
    r"|\bthe following (?:table|figure|list|example|section|subsection|chapter|code|"
    r"paragraph|steps?)\b"
    r"|\bsee (?:above|below|the (?:table|figure|section|chapter|appendix))\b"
    r"|\b(?:as follows|the following):?\s*$"
    r"|\bin the (?:next|previous|following) (?:section|subsection|chapter|paragraph)\b",
    re.IGNORECASE)


def points_elsewhere(question: str, answer: str) -> Issue | None:
    """An answer that refers the reader to a figure, table or section the pair lacks."""
    match = _POINTER.search(answer)
    if match is None:
        return None
    return Issue(code="points_elsewhere", target="answer", severity="note",
                 message=f"the answer points at something the pair does not contain "
                         f"({match.group(0).strip()!r})")


# -- questions whose referent is only in the passage --------------------------------------

_PRONOUN_SUBJECT = re.compile(
    r"^(?:what|why|how|when|where|who|which)\s+(?:is|are|was|were|does|do|did|can|could|"
    r"should|would|will|has|have|had)\s+(?:it|they|this|these|those|he|she|its|their|his|"
    r"her)\b(?!\s+(?:possible|necessary|important|advisable|useful|better|best|worth|safe|"
    r"true|easy|hard|difficult|common|called|mean|take|cost|matter)\b)", re.IGNORECASE)
_PASSAGE_NOUNS = (r"paper|study|article|experiment|experiments|implementation|sentence|"
                  r"example|figure|table|equation|dataset|evaluation|authors?|excerpt|survey")
_DEFINITE_REFERENCE = re.compile(
    r"\bthe (?:proposed|presented|described|aforementioned|above|above-mentioned|following|"
    r"previous|given|mentioned|said|same)\s+\w+"
    r"|\bthe (?:" + _PASSAGE_NOUNS + r")\b(?!\s+(?:of|on|by|about|called|titled|named|in)\b)"
    r"|\bthis (?:method|approach|model|system|algorithm|technique|framework|scheme|work|"
    r"procedure|function|step|process|result|tool|option|feature|package|command)\b"
    r"|\b" + _FLOAT + r"\b(?!\s+of\b)", re.IGNORECASE)
# words that name nothing on their own: with only these and "the <noun>" phrases, a question
# has no anchor a reader could resolve ("What are the modes of the objects?")
_EMPTY_WORD_LIST = """
what which who whom whose why how when where is are was were be been do does did can could
should would will shall may might must has have had the a an of in on at to for by with from as
and or used use using main different two three some other its their there it they purpose role
type types kind kinds name names value values between about into over under after before during
within without through among per via than
"""
_EMPTY_WORDS = frozenset(_EMPTY_WORD_LIST.split())
# the empty words that may sit inside a definite noun phrase ("the main two types")
_MODIFIERS = frozenset({"the", "main", "different", "two", "three", "some", "other", "its",
                        "their", "purpose", "role", "type", "types", "kind", "kinds", "name",
                        "names", "value", "values"})


def dangling_reference(question: str) -> Issue | None:
    """A question that leans on the passage for its referent: a pronoun as its subject, "the
    proposed method", "the paper", "Figure 3", or nothing but definite phrases with no name,
    number or bare noun a reader could resolve."""
    q = question.strip()
    match = _PRONOUN_SUBJECT.search(q) or _DEFINITE_REFERENCE.search(q)
    what = match.group(0) if match else _only_definite(q)
    if not what:
        return None
    return Issue(code="dangling_reference",
                 message=f"the question leans on the passage for what it means ({what!r}): "
                         "name the thing it asks about")


def _only_definite(question: str) -> str:
    words = _WORD.findall(question)
    if not 3 <= len(words) <= 10 or "the" not in (w.casefold() for w in words):
        return ""
    if any(ch.isdigit() or ch in "\"'`“”‘’_()/" for ch in question):
        return ""
    definite = False
    phrases: list[list[str]] = []
    for index, word in enumerate(words):
        low = word.casefold()
        if index and word[:1].isupper():
            return ""  # a name or an acronym anchors it
        if low in _EMPTY_WORDS:
            if low == "the":
                phrases.append([])
            definite = low == "the" or (definite and low in _MODIFIERS)
            continue
        if not definite:
            return ""  # a bare noun or verb the reader can look up
        phrases[-1].append(word)
    # two unresolved phrases, one hanging on the other ("the modes of the objects"): one
    # alone ("where did the surrogate come from") may be a subject the reader can place
    named = [" ".join(p) for p in phrases if p]
    return " / ".join(named) if len(named) >= 2 else ""


# -- answers that paste several sentences of the passage ---------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
PADDED_RUN = 3
_WIDE_QUESTION = re.compile(r"\b(?:how|why|steps?|process|procedure|list|describe|explain|"
                            r"summari[sz]e|outline|reasons|ways|compare)\b", re.IGNORECASE)


def padded_copy(question: str, answer: str, chunk_text: str) -> Issue | None:
    """An answer that is mostly a verbatim run of three or more consecutive passage
    sentences, for a question that asks for one thing (a procedure or a list may need
    more: there the run must be five)."""
    if not chunk_text:
        return None
    norm_answer = normalise(answer)
    sentences = [normalise(s) for s in _SENTENCE.split(chunk_text)]
    best = run = copied = best_copied = 0
    for sentence in sentences:
        if len(sentence.split()) >= 4 and sentence in norm_answer:
            run, copied = run + 1, copied + len(sentence)
            if run > best:
                best, best_copied = run, copied
        else:
            run = copied = 0
    needed = PADDED_RUN + 2 if _WIDE_QUESTION.search(question) else PADDED_RUN
    if best < needed or best_copied < 0.7 * len(norm_answer):
        return None
    return Issue(code="padded_copy", target="answer", severity="note",
                 message=f"the answer pastes {best} consecutive sentences of the passage; "
                         "it should answer only what the question asks")


def pair_detectors(question: str, answer: str, chunk_text: str = "") -> list[Issue]:
    """The per-pair detectors, in the order a reader would fix them."""
    found = [truncated(answer, chunk_text), points_elsewhere(question, answer),
             dangling_reference(question), padded_copy(question, answer, chunk_text)]
    return [issue for issue in found if issue is not None]


# -- one template for every question of a passage -----------------------------------------

TEMPLATE_WORDS = 4
TEMPLATE_MIN_PAIRS = 3


def template_overuse(records: list[PairRecord]) -> list[PairRecord]:
    """Step: note the pairs of a passage when at least three of them, and three quarters,
    open their question with the same four words ("What is the purpose of ...")."""
    by_chunk: dict[str, list[PairRecord]] = defaultdict(list)
    for record in records:
        if record.active:
            by_chunk[record.chunk_key].append(record)
    for group in by_chunk.values():
        openings = [" ".join(normalise(r.question).split()[:TEMPLATE_WORDS]) for r in group]
        counts = Counter(o for o in openings if len(o.split()) == TEMPLATE_WORDS)
        if not counts:
            continue
        opening, count = counts.most_common(1)[0]
        if count < TEMPLATE_MIN_PAIRS or 4 * count < 3 * len(group):
            continue
        for record, mine in zip(group, openings, strict=True):
            if mine == opening:
                record.issues.append(Issue(
                    code="template_question", severity="note",
                    message=f"{count} of the {len(group)} questions drawn from this passage "
                            f"open with {opening!r}: one template, not varied questions"))
    return records
