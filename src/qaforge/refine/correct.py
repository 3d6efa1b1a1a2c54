"""Steps 4 and 5: decide what each judged pair needs, and correct the flagged ones.

A pair is flagged when the judge does not call it ``Clear``, when a question-form check
fails, or when too little of its answer is found in the chunk. Flagged drafts are rewritten
with the chunk in view (the question, and the answer when it is the problem), checked and
judged again, and kept only if the rewrite is now ``Clear``; otherwise they are skipped with
the reason. Pairs a person accepted or edited are never rewritten unless asked
(``correct_reviewed``): they stay in the dataset as the person left them, with the judge's
disagreement reported. With the demo judge (``advisory``) the deterministic checks decide.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from qaforge.llm.base import ChatRequest, LLMClient
from qaforge.progress import ProgressFn
from qaforge.prompts import load_prompt
from qaforge.refine.cache import ReplyStore
from qaforge.refine.calls import ask_json
from qaforge.refine.checks import question_issues
from qaforge.refine.flags import describe_verdict, flags_for, model_judged
from qaforge.refine.grounding import grounding_of
from qaforge.refine.judge import Candidate, Judge, fit_passage, passage_budget
from qaforge.refine.pair_record import Correction, Grounding, PairRecord, Verdict, fixes

#: v2 lists the problems one a line without the judge's label, gives the judge's own answer
#: from the passage, an example of a question made to stand alone, and asks for only the
#: question when only the question is wrong (v1: 22 of 28 rewrites by the 1.5B came back
#: identical to the pair, and the answers of question-only rewrites were thrown away).
#: v3 is v2 after the drafting prompt's reading of the chunk (:meth:`Judge.after_reading`),
#: its system message's point (the trained model never sees the passage) moved to the ask
CORRECT_PROMPT = "correct/v3"
QUESTION_MAX = 250
ANSWER_MAX = 700
_QUESTION = {"type": "string", "minLength": 1, "maxLength": QUESTION_MAX}
CORRECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"question": _QUESTION,
                   "answer": {"type": "string", "minLength": 1, "maxLength": ANSWER_MAX}},
    "required": ["question", "answer"],
    "additionalProperties": False,
}
#: the reply when only the question is rewritten (the answer stays)
QUESTION_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"question": _QUESTION}, "required": ["question"],
    "additionalProperties": False,
}
CORRECT_MAX_TOKENS = 320
QUESTION_MAX_TOKENS = 100
_INSTRUCTIONS = {
    "question": "Write a new question that someone who never saw the passage understands, "
                "and that the answer above answers exactly. It must not be the same question.",
    "both": "Rewrite the question and the answer so that the answer is correct, complete, "
            "supported by the passage and answers the question exactly.",
}
_REPLY = {"question": '{"question": "..."}', "both": '{"question": "...", "answer": "..."}'}


class CorrectionReply(BaseModel):
    question: str = Field(min_length=1)
    answer: str = ""  # absent when only the question is rewritten

    @field_validator("question", "answer", mode="after")
    @classmethod
    def _tidy(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("empty")
        return value


def correction_target(record: PairRecord, min_grounding: float) -> Literal["question", "both"]:
    """Fix the question only, unless the answer is (part of) the problem."""
    verdict = record.verdict
    if any(issue.target == "answer" for issue in fixes(record.issues)):
        return "both"
    if record.grounding is not None and record.grounding.score < min_grounding:
        return "both"
    if verdict is not None and not verdict.advisory and verdict.error is None:
        if verdict.checks is not None:  # the checks say which half is wrong
            return "both" if verdict.fix == "answer" else "question"
        if verdict.label == "Needs Improvement":
            return "both"
    return "question"


def decide(records: list[PairRecord], *, min_grounding: float, correct: bool,
           correct_reviewed: bool) -> list[PairRecord]:
    """Step: keep what passes, leave flagged pairs that may be corrected ``pending``."""
    for record in records:
        if not record.active:
            continue
        record.flags = flags_for(record, record.verdict, record.grounding, record.issues,
                                 min_grounding)
        verdict = record.verdict
        if not record.flags:
            record.decision, record.reason = "kept", _pass_reason(record)
        elif verdict is not None and verdict.error and not verdict.advisory:
            # the judge failed, not the pair: a rewrite would not be judged any better
            record.decision, record.reason = _not_corrected(record, "no usable verdict")
        elif record.reviewed and not correct_reviewed:
            record.decision = "kept"
            record.reason = (f"{record.status} by a person, so kept as is although flagged: "
                             f"{'; '.join(record.flags)} (--correct-reviewed lets the model "
                             "rewrite it)")
        elif not correct:
            record.decision, record.reason = _not_corrected(record, "correction is off")
    return records


def _pass_reason(record: PairRecord) -> str:
    verdict = record.verdict
    grounding = f"grounding {record.grounding.score:.2f}" if record.grounding else ""
    if verdict is None or verdict.advisory:
        return f"passes the deterministic checks ({grounding}); the demo judge did not decide"
    return f"judged {describe_verdict(verdict)}; {grounding}"


def _not_corrected(record: PairRecord, why: str) -> tuple[Literal["kept", "skipped"], str]:
    flagged = "; ".join(record.flags)
    if record.reviewed:
        return "kept", f"{record.status} by a person, kept as is ({why}); it was flagged: {flagged}"
    return "skipped", f"flagged: {flagged}; {why}"


def problems_for(record: PairRecord, min_grounding: float) -> list[str]:
    """What the corrector is told is wrong, one problem a line: the deterministic findings,
    then what the judge found (its own answer from the passage, when it gave one), without
    the label and scores a small model would only copy; the sentences it cited)."""
    problems = [issue.message for issue in fixes(record.issues)]
    if record.grounding is not None and record.grounding.score < min_grounding:
        problems.append("much of the answer is not found in the passage")
    verdict = record.verdict
    if verdict is not None and not verdict.advisory and verdict.error is None \
            and verdict.label != "Clear":
        checks = verdict.checks or {}
        if checks.get("not_stated"):
            problems.append("the passage does not answer this question: ask one it answers, "
                            "about the same subject")
        elif verdict.fix == "answer" and checks.get("model_answer"):
            problems.append(f"the answer is not what the passage says; answering from the "
                            f"passage gives: {checks['model_answer']}")
        elif verdict.fix == "answer" and checks.get("cited_text"):
            problems.append(f"the answer is not what the passage says about the question; "
                            f"the passage answers it here: {checks['cited_text']}")
        elif verdict.checks is None:  # the rubric's reason
            problems.append(verdict.reason)
    return problems or ["unclear"]


class CorrectionTrial:
    """Stops correcting for the rest of a run when fewer than ``min_pass`` of its first
    ``size`` rewrites passed (and always when none did): a model that cannot rewrite (the
    bundled demo model kept 0 of 19 on the benchmark subset) would otherwise spend as long
    again as judging, for nothing, and one that saves few rewrites spends more per saved
    pair than drafting costs (docs/benchmarks.md 5.1). ``size`` 0 never stops. One per run,
    carried from group to group."""

    def __init__(self, size: int, min_pass: float = 0.0) -> None:
        self.size = size
        self.min_pass = min_pass
        self.tried = 0
        self.kept = 0
        #: flagged records left uncorrected after the trial failed
        self.stopped = 0

    @property
    def failed(self) -> bool:
        """The trial is over and too few of its rewrites passed."""
        needed = max(1, math.ceil(self.min_pass * self.tried - 1e-9))
        return self.size > 0 and self.tried >= self.size and self.kept < needed

    def parts(self, records: list[PairRecord]) -> Iterator[list[int]]:
        """Positions in ``records`` of the flagged ones, in the parts to correct: what is
        left of the trial first, then the rest, unless the trial failed: then the rest are
        skipped (or kept, if a person reviewed them) with the reason. Lazy: a part is
        decided after the one before it was corrected and :meth:`count` ed."""
        todo = [i for i, r in enumerate(records) if r.active and r.flags]
        if self.size and self.tried < self.size:
            first, todo = todo[:self.size - self.tried], todo[self.size - self.tried:]
            if first:
                yield first
        if todo and self.failed:
            self.stopped += len(todo)
            for i in todo:
                records[i].decision, records[i].reason = _not_corrected(
                    records[i], f"correction stopped: {self.kept} of this run's first "
                    f"{self.tried} rewrites passed (settings: refine.correct_trial, "
                    "refine.correct_trial_pass)")
        elif todo:
            yield todo

    def count(self, part: list[PairRecord]) -> None:
        """Count a corrected part's rewrites and those that passed."""
        self.tried += len(part)
        self.kept += sum(1 for r in part if r.decision == "corrected")


class Corrector:
    """Rewrites the flagged pairs of a batch and has ``judge`` check the rewrites."""

    def __init__(self, client: LLMClient, judge: Judge, cache: ReplyStore | None = None, *,
                 min_grounding: float = 0.5, prompt: str = CORRECT_PROMPT,
                 progress: ProgressFn | None = None) -> None:
        self.client = client
        self.judge = judge
        self.cache = cache
        self.min_grounding = min_grounding
        self.prompt_name = prompt
        self.template = load_prompt(prompt)
        self.progress = progress
        self.calls = 0
        #: of the judge's calls, those on rewrites (the rest, on pairs the judge had not
        #: looked at because the deterministic checks flagged them, are first looks)
        self.rejudge_calls = 0

    def request(self, record: PairRecord, target: str) -> ChatRequest:
        whole = target == "both"
        max_tokens = self.client.sampling.budget(CORRECT_MAX_TOKENS if whole
                                                 else QUESTION_MAX_TOKENS)
        reserve = self.client.count_tokens(record.question + record.answer) + max_tokens + 450
        passage = fit_passage(record.chunk_text, self.client,
                              passage_budget(self.client, reserve))
        messages = self.judge.after_reading(
            record, passage, self.template, question=record.question, answer=record.answer,
            problems="\n".join(f"- {p}" for p in problems_for(record, self.min_grounding)),
            instruction=_INSTRUCTIONS[target], reply=_REPLY[target])
        return ChatRequest(messages=messages, schema=CORRECT_SCHEMA if whole else QUESTION_SCHEMA,
                           schema_name="pair" if whole else "question",
                           max_tokens=max_tokens, temperature=self.client.sampling.temperature,
                           seed=0, tag=f"correct:{record.pair_id}", affinity=record.chunk_key,
                           passage=passage, pair=(record.question, record.answer))

    def __call__(self, records: list[PairRecord]) -> list[PairRecord]:
        """Step: correct every record left ``pending`` with flags by :func:`decide`."""
        todo = self._judged_first([r for r in records if r.active and r.flags])
        if not todo:
            return records
        total, done = len(todo), 0

        def on_done(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress("correct", done, total)

        targets = [correction_target(r, self.min_grounding) for r in todo]
        replies = ask_json(self.client, [self.request(r, t) for r, t in zip(todo, targets,
                                                                             strict=True)],
                           CorrectionReply, kind="correct", cache=self.cache, on_done=on_done)
        self.calls += sum(1 for r in replies if not r.cached)
        rewritten: list[PairRecord] = []
        for record, target, reply in zip(todo, targets, replies, strict=True):
            if reply.value is None:
                record.correction = Correction(target=target, error=f"corrector: {reply.error}")
                record.decision, record.reason = _not_corrected(
                    record, f"the correction failed ({reply.error})")
                continue
            question = reply.value["question"]
            # when only the question was the problem the answer stays the one we had
            answer = reply.value.get("answer") or "" if target == "both" else record.answer
            if not answer.strip():
                record.correction = Correction(target=target, error="corrector: no answer")
                record.decision, record.reason = _not_corrected(
                    record, "the correction failed (no answer in the rewrite)")
                continue
            record.correction = Correction(
                question=question, answer=answer, target=target, cached=reply.cached,
                grounding=grounding_of(answer, record.chunk_text, question=question),
                issues=question_issues(question, answer, record.chunk_text, record.form,
                                       record.turns))
            rewritten.append(record)
        calls = self.judge.calls
        self._rejudge(rewritten)
        self.rejudge_calls += self.judge.calls - calls
        return records

    def _judged_first(self, todo: list[PairRecord]) -> list[PairRecord]:
        """``todo`` once the judge has looked at those it skipped (the deterministic checks
        flagged them: :meth:`Judge.__call__`): the rewrite is told the judge's answer and
        which half is wrong. Returns the ones still to rewrite."""
        unjudged = [r for r in todo if not model_judged(r.verdict)]
        if not unjudged or self.judge.advisory:
            return todo
        verdicts = self.judge.judge([Candidate(r, r.question, r.answer, r.grounding, r.issues)
                                     for r in unjudged])
        for record, verdict in zip(unjudged, verdicts, strict=True):
            record.verdict = verdict
            record.flags = flags_for(record, verdict, record.grounding, record.issues,
                                     self.min_grounding)
            if verdict.error:  # as decide() does: the judge failed, not the pair
                record.decision, record.reason = _not_corrected(record, "no usable verdict")
        return [r for r in todo if r.active]

    def _rejudge(self, records: list[PairRecord]) -> None:
        candidates = []
        for record in records:
            assert record.correction is not None
            c = record.correction
            candidates.append(Candidate(record, c.question, c.answer, c.grounding, c.issues))
        verdicts: list[Verdict | None]
        if self.judge.advisory:
            # the demo judge cannot tell a good rewrite from a bad one: save the calls
            verdicts = [None] * len(candidates)
        else:
            verdicts = list(self.judge.judge(candidates, stage="re-judge"))
        for record, verdict in zip(records, verdicts, strict=True):
            assert record.correction is not None
            correction = record.correction
            correction.verdict = verdict
            unchanged = (correction.question.strip() == record.question.strip()
                         and correction.answer.strip() == record.answer.strip())
            remaining = flags_for(record, verdict, correction.grounding, correction.issues,
                                  self.min_grounding)
            if unchanged:
                remaining.insert(0, "the rewrite is identical to the original")
            original_flags = "; ".join(record.flags)
            if not remaining:
                record.decision = "corrected"
                record.reason = (f"flagged: {original_flags}; the rewritten "
                                 f"{'question' if correction.target == 'question' else 'pair'}"
                                 f" passes ({_pass_reason_for(verdict, correction.grounding)})")
            else:
                record.decision, record.reason = _not_corrected(
                    record, f"the rewrite is still not good enough: {'; '.join(remaining)}")


def _pass_reason_for(verdict: Verdict | None, grounding: Grounding | None) -> str:
    g = f"grounding {grounding.score:.2f}" if grounding else ""
    if verdict is None or verdict.advisory:
        return f"deterministic checks, {g}; the demo judge did not decide"
    return f"judged {describe_verdict(verdict)}, {g}"
