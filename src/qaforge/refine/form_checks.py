"""Checks of the question forms beyond plain Q&A (:mod:`qaforge.forms`), without a model.

The Q&A checks of :mod:`.checks` run on every pair; for another form this module drops the
ones that do not apply to it (a fill-in statement is no question) and adds its own: a
summary is asked for by an instruction, a yes/no item asks a question yes or no can answer
(not "What ...?") and its answer opens with one, a fill-in item has a blank and a short
answer, a reasoning answer has steps, and a conversation alternates user and assistant
turns, each answer found in the passage.
"""

from __future__ import annotations

import re

from qaforge.forms import BLANK, BLANK_PATTERN, FILL_IN_MAX_WORDS, QA, YES_NO
from qaforge.languages import opens_with_instruction
from qaforge.refine.pair_record import Issue
from qaforge.text import sentences

#: Q&A checks that do not apply to a form
_NOT_FOR: dict[str, frozenset[str]] = {
    "fill_in": frozenset({"not_a_question", "too_short"}),
    "summary": frozenset({"padded_copy"}),
    "reasoning": frozenset({"padded_copy"}),
    "multi_turn": frozenset(),
    "yes_no": frozenset({"answer_copies_question", "padded_copy"}),
}
_YES_NO = re.compile(rf"^\W*(?:{'|'.join(YES_NO)})\b", re.IGNORECASE)
_STEP = re.compile(r"^\s*\d+[.)]\s", re.MULTILINE)
#: words that open a question yes or no cannot answer ("What is ...?"), in the languages
#: whose questions open with one; a question in another language is not checked for this
#: (German "Was" is left out: English "Was it ...?" is a yes/no question)
_OPEN_QUESTION = re.compile(
    r"^\W*(?:what|which|who|whom|whose|where|when|why|how"  # en
    r"|welche[rsmn]?|wer|wen|wem|wessen|wo|wann|warum|weshalb|wieso|wie"  # de
    r"|que|quoi|quel(?:le)?s?|qui|où|quand|pourquoi|comment|combien"  # fr
    r"|qué|cuál(?:es)?|quién(?:es)?|dónde|cuándo|cómo|cuánto?s?|cuántas?"  # es
    r"|cosa|quale|quali|chi|dove|quando|perché|come|quanto|quanti"  # it
    r"|wat|welke?|wie|waar|wanneer|waarom|hoe"  # nl
    r"|o que|qual|quais|quem|onde|quando|porque|por que|como|quantos?|quantas?)\b",  # pt
    re.IGNORECASE)
#: the share of a conversation turn's answer that must be found in the passage (refine's
#: default minimum grounding)
TURN_MIN_GROUNDING = 0.5
MIN_TURNS, MAX_TURNS = 4, 6


def form_pair_issues(form: str, question: str, answer: str, turns: list[dict[str, str]],
                     chunk_text: str, issues: list[Issue]) -> list[Issue]:
    """``issues`` (the Q&A checks' findings) adjusted to ``form``: those that do not apply
    dropped, the form's own added."""
    if form == QA:
        return issues
    dropped = _NOT_FOR.get(form, frozenset())
    out = [issue for issue in issues if issue.code not in dropped]
    return out + _own_issues(form, question, answer, turns, chunk_text)


def _own_issues(form: str, question: str, answer: str, turns: list[dict[str, str]],
                chunk_text: str) -> list[Issue]:
    q, a = question.strip(), answer.strip()
    if form == "summary" and (q.endswith("?") or not opens_with_instruction(q)):
        return [Issue(code="summary_not_instruction", message="a summary is asked for by an "
                      "instruction such as 'Summarise ...', not a question")]
    if form == "yes_no":
        opener = _OPEN_QUESTION.match(q)
        if opener:  # "What is X?" answered "No. ...": neither half can be saved alone
            return [Issue(code="yes_no_question", message=(
                f"a yes/no item asks a question yes or no cannot answer (it opens with "
                f"{opener.group(0).strip()!r})"))]
        if not _YES_NO.match(a):
            return [Issue(code="yes_no_answer", target="answer",
                          message="the answer of a yes/no question opens with yes or no")]
    if form == "fill_in":
        if not BLANK_PATTERN.search(q):
            return [Issue(code="fill_in_blank", message=f"the statement has no blank ({BLANK})")]
        if len(a.split()) > FILL_IN_MAX_WORDS:
            return [Issue(code="fill_in_answer", target="answer", message=(
                f"the answer should be only the missing words (at most {FILL_IN_MAX_WORDS})"))]
    if form == "reasoning" and len(_STEP.findall(a)) < 2 and len(sentences(a)) < 2:
        return [Issue(code="reasoning_steps", target="answer",
                      message="the answer does not explain in steps")]
    if form == "multi_turn":
        return _turn_issues(turns, chunk_text)
    return []


def _turn_issues(turns: list[dict[str, str]], chunk_text: str) -> list[Issue]:
    from qaforge.refine.grounding import grounding_of  # it builds on the checks

    roles = [turn.get("role") for turn in turns]
    if (not MIN_TURNS <= len(turns) <= MAX_TURNS
            or roles != ["user", "assistant"] * (len(turns) // 2)
            or not all(str(turn.get("content", "")).strip() for turn in turns)):
        return [Issue(code="turns_shape", target="answer", message=(
            f"a conversation is {MIN_TURNS // 2}-{MAX_TURNS // 2} exchanges of a user turn "
            f"then an assistant turn, none empty (roles: {', '.join(map(str, roles))})"))]
    weak = [i // 2 + 1 for i, turn in enumerate(turns) if i > 1 and turn["role"] == "assistant"
            and grounding_of(turn["content"], chunk_text).score < TURN_MIN_GROUNDING]
    if weak:
        return [Issue(code="turn_not_grounded", target="answer", message=(
            f"the answer of exchange {', '.join(map(str, weak))} is not found in the passage"))]
    return []
