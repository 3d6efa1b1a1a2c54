"""Checks a small judge model can do: the judge's default method (issue 15).

A 1-5 rubric is a coin toss for a 1.5B model (it called 116 of 119 hand-labelled pairs
Clear, docs/benchmarks.md). The check asks it instead for what it does well, in one short
schema-constrained call with the pair's chunk in view:

* **answer check**: the model answers the question itself from the passage (or says it is
  "not stated"); its answer is compared with the pair's without a model: ``containment``
  is the share of the model's own content words (those not already in the question) found
  in the pair's answer, ``numbers_differ`` says the two give different numbers, and
  ``agreement`` is their token F1 (recorded, not decided on).

A second check, "does the question name what it is about, or rely on the document?",
was measured and dropped: the 1.5B said "relies on the document" for 6 of 12 passage-
dependent questions and for 6 of 15 others (docs/benchmarks.md); passage-dependent
questions are left to the deterministic detectors.

:func:`label_from_checks` turns the figures, with the deterministic findings of :mod:`.checks` and
:mod:`.detectors`, into the seed's three labels, using this project's labelling guideline
(``docs/labelling-guideline.md``): ``Clear`` goes in as it is; ``Needs Improvement`` is a
real fact of the chunk with a defect an editor can fix (a question that relies on the
passage); ``Unclear`` cannot be saved by an edit (the answer is not what the passage says
about the question). Thresholds were chosen on the hand-labelled set in ``bench/data``
(``bench/judge_quality.py``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator

from qaforge.forms import first_yes_no
from qaforge.languages import content_words
from qaforge.refine.checks import normalise, numbers_in, token_f1, tokens_without_articles
from qaforge.refine.cite import MIN_SUPPORT
from qaforge.refine.pair_record import Issue, Label

#: v2 is v1 after the drafting prompt's reading of the chunk (the engine's prompt cache serves
#: it: docs/benchmarks.md 3.4); v1 read the passage under its own system message
ANSWER_CHECK_PROMPT = "check_answer/v2"
#: the answer check's reply: one or two sentences
ANSWER_MAX_TOKENS = 120
NOT_STATED = "not stated"
ANSWER_MAX_CHARS = 2000
CLEAR_REASON = ("the judge's own answer from the passage agrees with the pair's, and no "
                "deterministic check flags it")
CITED_CLEAR_REASON = ("the answer rests on the sentences the judge says answer the question, "
                      "and no deterministic check flags it")

ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "maxLength": 400}},
    "required": ["answer"],
    "additionalProperties": False,
}
#: the deterministic notes (:mod:`.detectors`) that keep a pair from Clear
PAIR_NOTES = frozenset({"points_elsewhere", "padded_copy"})
#: below this share of the model's own answer found in the pair's answer, the pair does not
#: say what the passage says about its question (chosen on bench/data, see docs/benchmarks.md)
MIN_CONTAINMENT = 0.5


class AnswerReply(BaseModel):
    """The answer check's reply (an over-long answer is cut, not refused: it still compares)."""

    answer: str

    @field_validator("answer", mode="after")
    @classmethod
    def _bounded(cls, value: str) -> str:
        return value[:ANSWER_MAX_CHARS]


def compare_answers(judge_answer: str, answer: str, question: str = "",
                    language: str | None = "en", form: str = "qa") -> dict[str, Any]:
    """The figures evaluation.json records for the judge's own ``judge_answer`` against the
    pair's ``answer`` (and :func:`label_from_checks` decides on).

    ``containment`` counts only the words of the judge's answer that are not in the
    ``question``: an answer that repeats the question ("the GLARF converter") says nothing,
    and would otherwise be found in any answer to it (``repeats_question``).

    A ``yes_no`` pair is compared by verdict when both answers give one: the judge's "Yes"
    has no content word to find in "Yes. R is case sensitive ..." (content words leave
    "yes" out; 11 of the 17 yes/no items the 1.5B judge called Unclear in bench_forms.py
    were such agreeing verdicts).
    """
    if form == "yes_no" and NOT_STATED not in judge_answer.casefold():
        judge_says, pair_says = first_yes_no(judge_answer), first_yes_no(answer)
        if judge_says and pair_says:
            return {"model_answer": judge_answer, "not_stated": False,
                    "verdicts": [judge_says, pair_says],
                    "verdicts_differ": judge_says != pair_says,
                    "repeats_question": False, "numbers_differ": False,
                    "containment": 1.0 if judge_says == pair_says else 0.0}
    agreement, _ = token_f1(judge_answer, answer)
    asked = set(_words(question, language))
    own = [w for w in _words(judge_answer, language) if w not in asked]
    given = set(_words(answer, language))
    theirs, ours = numbers_in(judge_answer), numbers_in(answer)
    return {"model_answer": judge_answer,
            "not_stated": NOT_STATED in judge_answer.casefold(),
            "agreement": round(agreement, 3),
            "repeats_question": not own,
            "containment": round(sum(w in given for w in own) / len(own), 3) if own else 0.0,
            "numbers_differ": bool(theirs and ours and not theirs & ours)}


def _words(text: str, language: str | None) -> list[str]:
    """Content words and numbers (stopwords out); every word for scripts written without
    spaces."""
    normal = normalise(text)
    words = content_words(normal, language)
    numbers = [w for w in normal.split() if any(ch.isdigit() for ch in w) and w not in words]
    return words + numbers or tokens_without_articles(text)


def label_from_checks(measures: dict[str, Any], issues: list[Issue]
                      ) -> tuple[Label, str, str | None]:
    """``(label, reason, fix)`` for one pair: ``fix`` says which half a correction should
    rewrite (``"question"`` or ``"answer"``), ``None`` for a ``Clear`` pair."""
    reasons: list[str] = []
    answer_off = False
    if measures.get("not_stated") and "cited" in measures:
        answer_off = True
        reasons.append("the judge found no sentence of the passage that answers the question")
    elif measures.get("not_stated"):
        answer_off = True
        reasons.append("answering the question from the passage, the judge found it not "
                       "stated there")
    elif measures.get("repeats_question"):
        answer_off = True
        reasons.append("answering the question from the passage, the judge could only repeat "
                       "the question: the passage does not seem to answer it")
    elif measures.get("verdicts_differ"):
        answer_off = True
        judge_says, pair_says = measures["verdicts"]
        reasons.append(f"answering the question from the passage, the judge says "
                       f"{judge_says!r} where the pair says {pair_says!r}")
    elif measures.get("numbers_differ"):
        answer_off = True
        reasons.append("the numbers of the judge's own answer from the passage are not the "
                       "pair's")
    elif measures.get("numbers_unsupported"):
        answer_off = True
        reasons.append(f"the sentences the judge says answer the question do not give the "
                       f"pair's numbers ({', '.join(measures['numbers_unsupported'][:3])})")
    elif "support" in measures and measures["support"] < MIN_SUPPORT:
        answer_off = True
        reasons.append(f"the sentences the judge says answer the question hold only "
                       f"{measures['support']:.0%} of the answer's own words")
    elif "containment" in measures and measures["containment"] < MIN_CONTAINMENT:
        answer_off = True
        reasons.append(f"the judge's own answer from the passage is not what the pair says "
                       f"(only {measures['containment']:.0%} of it is in the pair's answer)")
    # the deterministic findings are flags of their own: the reason only names them. The
    # notes about the pair itself count too (points_elsewhere, padded_copy: on hand-labelled
    # round 1 not one of the 15 pairs they were on was Clear); a template shared by a
    # chunk's questions is about the chunk's set of pairs, not a defect of this one
    counted = [i for i in issues if i.severity == "fix" or i.code in PAIR_NOTES]
    question_off = [i.code for i in counted if i.target == "question"]
    answer_fixes = [i.code for i in counted if i.target == "answer"]
    if answer_off and "truncated" in answer_fixes and not measures.get("not_stated"):
        # a cut-off answer cannot hold all of the judge's: the cut explains it, and an
        # editor can finish the answer from the passage
        reasons.append("the answer is cut off (truncated)")
        return "Needs Improvement", "; ".join(reasons), "answer"
    if answer_off:
        return "Unclear", "; ".join(reasons), "answer"
    if question_off or answer_fixes:
        agrees = ("the answer rests on the sentences the judge cites" if "cited" in measures
                  else "the judge's own answer from the passage agrees")
        flagged = ", ".join(question_off + answer_fixes)
        why = f"{agrees}, but the deterministic checks flag it ({flagged})"
        return "Needs Improvement", why, "answer" if answer_fixes else "question"
    return "Clear", CITED_CLEAR_REASON if "cited" in measures else CLEAR_REASON, None
