"""Question-form checks that need no model (SPEC, stage 3).

A fine-tuned model never sees the passage, so a question must be a real question, stand on
its own (no "in the text", "according to the passage", "the author"), and not be a copy of
its answer. Each failure is an :class:`Issue` naming the half of the pair to fix.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

from rapidfuzz import fuzz

from qaforge.languages import context_bound_phrase, join_unspaced, opens_with_instruction
from qaforge.refine.pair_record import Issue, PairRecord

# an instruction ("Explain ...") is a fine prompt without a question mark; an interrogative
# without one is usually a heading echoed back ("What composting is")
_INSTRUCTION_WORDS = frozenset({
    "explain", "describe", "list", "name", "give", "define", "compare", "contrast",
    "summarize", "summarise", "outline", "identify", "state", "discuss", "calculate", "find",
    "show", "write", "provide"})

# phrases that only make sense next to the passage the question was written from
_CONTEXT_BOUND = re.compile(
    r"\b(?:"
    r"(?:in|from|of|within|by|according to|based on|per|as (?:stated|described|mentioned|"
    r"shown|given|discussed) in) (?:the|this|that|above|given|provided|following) "
    r"(?:given |provided |above |following )?"
    r"(?:text|passage|excerpt|extract|document|article|paragraph|context|snippet|chunk|"
    r"reading|material|source|section above)"
    r"|(?:this|the given|the provided|the above|the following) (?:text|passage|excerpt|"
    r"document|article|paragraph|context|snippet|chunk|paper|section|chapter)"
    r"|the authors?\b(?!\s+of\b)(?!['’]s\s+name)"
    r"|(?:mentioned|described|discussed|shown|stated|listed|given) (?:above|below|earlier|here)"
    r"|the passage|the excerpt"
    r"|the (?:text|document|article|paragraph|context|section|chapter|paper|authors?) "
    r"(?:says?|said|states?|stated|mentions?|mentioned|describes?|described|suggests?|"
    r"discuss(?:es)?|explains?|indicates?|claims?|notes?|argues?|refers? to|tells?|shows?)\b"
    r")",
    re.IGNORECASE)

_WORD = re.compile(r"\w+", re.UNICODE)
# scripts written without spaces: every character counts as a word
_UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
MIN_QUESTION_CHARS = 10
# what refine does per pair (fuzzy matching in checks, grounding and dedup) grows with the
# product of lengths; these bound it. Larger pairs are flagged and skipped unchecked.
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 20_000
MAX_CHUNK_CHARS = 200_000
# "far longer than its passage": an answer may restate and connect, not outgrow it this much
ANSWER_PASSAGE_FACTOR = 4
ANSWER_PASSAGE_SLACK = 1_000
QUESTION_MARKS = ("?", "\uff1f", "\u061f", "\u037e")  # ASCII, full-width, Arabic, Greek
COPY_SIMILARITY = 0.9


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def numbers_in(text: str) -> set[str]:
    """The numbers ``text`` gives, thousands commas dropped ("6,650" and "6650" are one)."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form used by the checks and dedup (stray
    spaces inside Chinese or Japanese text do not count)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return join_unspaced(" ".join(_WORD.findall(text)))


_ARTICLES = frozenset({"a", "an", "the"})


def tokens_without_articles(text: str) -> list[str]:
    """The normalised words of ``text`` without English articles (SQuAD's answer words)."""
    return [w for w in normalise(text).split() if w not in _ARTICLES]


def token_f1(prediction: str, reference: str) -> tuple[float, float]:
    """``(f1, recall)`` of the answer's words against the reference's (SQuAD-style:
    case, punctuation and articles ignored). Recall alone forgives a chatty answer."""
    predicted, wanted = tokens_without_articles(prediction), tokens_without_articles(reference)
    if not predicted or not wanted:
        same = float(predicted == wanted)
        return same, same
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0, 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall), recall


def question_issues(question: str, answer: str, chunk_text: str = "", form: str = "qa",
                    turns: list[dict[str, str]] | None = None) -> list[Issue]:
    """Everything wrong with the pair's form, with the detectors of
    :mod:`qaforge.refine.detectors` (some need ``chunk_text``) and those of its question
    ``form`` (:mod:`.form_checks`); empty when it passes."""
    from qaforge.refine.detectors import pair_detectors  # it builds on this module
    from qaforge.refine.form_checks import form_pair_issues

    return form_pair_issues(form, question, answer, turns or [], chunk_text,
                            _qa_issues(question, answer, chunk_text, pair_detectors))


def _qa_issues(question: str, answer: str, chunk_text: str,
               pair_detectors: Callable[[str, str, str], list[Issue]]) -> list[Issue]:

    issues = form_issues(question, answer)
    if not any(issue.code == "empty_question" for issue in issues):
        standalone = not any(issue.code == "not_standalone" for issue in issues)
        issues += [issue for issue in pair_detectors(question, answer, chunk_text)
                   if standalone or issue.code != "dangling_reference"]
    return issues


def form_issues(question: str, answer: str) -> list[Issue]:
    """The question-form checks of the SPEC: a real, standalone question, not its answer."""
    issues: list[Issue] = []
    q = question.strip()
    words = _WORD.findall(_UNSPACED.sub(" ", q.casefold()))
    unspaced = len(_UNSPACED.findall(q))
    if not q:
        return [Issue(code="empty_question", message="the question is empty")]
    if not answer.strip():
        issues.append(Issue(code="empty_answer", message="the answer is empty", target="answer"))
    if (len(q) < MIN_QUESTION_CHARS and not unspaced) or len(words) + unspaced < 3:
        issues.append(Issue(code="too_short", message=f"the question is too short ({q!r})"))
    elif not (q.endswith(QUESTION_MARKS) or (words and words[0] in _INSTRUCTION_WORDS)
              or opens_with_instruction(q)):
        issues.append(Issue(code="not_a_question",
                            message="not a question: it neither ends with '?' nor opens with "
                                    "an instruction such as 'Explain'"))
    match = _CONTEXT_BOUND.search(q)
    bound = match.group(0) if match else context_bound_phrase(q)
    if bound:
        issues.append(Issue(code="not_standalone",
                            message=f"refers to a passage the reader will not see "
                                    f"({bound!r})"))
    if answer.strip() and _is_copy(q, answer):
        issues.append(Issue(code="answer_copies_question",
                            message="the answer repeats the question instead of answering it",
                            target="answer"))
    return issues


def _is_copy(question: str, answer: str) -> bool:
    q, a = normalise(question), normalise(answer)
    if not q or not a:
        return False
    return q == a or fuzz.ratio(q, a, score_cutoff=COPY_SIMILARITY * 100) > 0


def size_issue(question: str, answer: str, chunk_text: str) -> Issue | None:
    """Why a pair is too large to check (and to train on), or ``None``.

    Cheap (lengths only), so it runs before anything whose cost grows with the text.
    """
    def too_long(what: str, size: int, limit: str) -> str:
        return f"the {what} is too long to check ({size:,} characters; {limit})"

    if len(question) > MAX_QUESTION_CHARS:
        return Issue(code="too_long", message=too_long(
            "question", len(question), f"at most {MAX_QUESTION_CHARS:,}"))
    if len(answer) > MAX_ANSWER_CHARS:
        return Issue(code="too_long", target="answer", message=too_long(
            "answer", len(answer), f"at most {MAX_ANSWER_CHARS:,}"))
    if len(answer) > ANSWER_PASSAGE_FACTOR * len(chunk_text) + ANSWER_PASSAGE_SLACK:
        return Issue(code="too_long", target="answer", message=too_long(
            "answer", len(answer), f"far longer than its passage of {len(chunk_text):,}"))
    if len(chunk_text) > MAX_CHUNK_CHARS:
        return Issue(code="too_long", message=too_long(
            "passage", len(chunk_text), f"at most {MAX_CHUNK_CHARS:,}"))
    return None


def check_questions(records: list[PairRecord]) -> list[PairRecord]:
    """Step: record the form issues of every pair still in the running, and the questions
    of one passage cut from one template.

    A pair too large to check (:func:`size_issue`) is skipped here with its reason, so no
    later step spends time on it.
    """
    from qaforge.refine.detectors import template_overuse

    for record in records:
        if not record.active:
            continue
        oversized = size_issue(record.question, record.answer, record.chunk_text)
        if oversized is not None:
            record.issues = [oversized]
            record.decision, record.reason = "skipped", f"not checked: {oversized.message}"
            continue
        record.issues = question_issues(record.question, record.answer, record.chunk_text,
                                        record.form, record.turns)
    template_overuse(records)
    return records
