"""``qaforge eval``: ask a model every quiz question and grade the answers.

Each document question is asked closed-book (the question alone: what a fine-tune must
know by heart) and open-book (with its passage: the upper bound); control questions are
asked closed-book. Every answer gets two grades against the reference answer: a
deterministic token F1 (:func:`token_f1`) and a judge's yes / partial / no with the
reference and its evidence in view (prompt ``grade/v1``, schema-constrained, cached like
refine's verdicts). Models are asked with the same requests, so their results compare.

The functions take started clients, so a benchmark can drive them with its own models:
``answers = ask(client, items)`` for each model, then ``grade(judge, items, answers)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from qaforge.forms import first_yes_no
from qaforge.llm.base import ChatRequest, LLMClient, LLMError, Sampling
from qaforge.progress import ProgressFn
from qaforge.prompts import load_prompt
from qaforge.quiz.items import QuizItem, open_book_prompt, question_prompt
from qaforge.refine.cache import ReplyStore
from qaforge.refine.calls import ask_json
from qaforge.refine.checks import token_f1
from qaforge.refine.judge import fit_passage, passage_budget

GRADE_PROMPT = "grade/v1"
Mode = Literal["closed", "open"]
MODES: tuple[Mode, ...] = ("closed", "open")
Verdict = Literal["yes", "partial", "no"]
#: what a verdict is worth in an accuracy
SCORE: dict[str, float] = {"yes": 1.0, "partial": 0.5, "no": 0.0}
ANSWER_MAX_TOKENS = 160
GRADE_MAX_TOKENS = 120
REASON_MAX = 200

GRADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"correct": {"type": "string", "enum": list(SCORE)},
                   "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX}},
    "required": ["correct", "reason"],
    "additionalProperties": False,
}


class GradeReply(BaseModel):
    """A judge's grade (validated; the verdict is matched loosely)."""

    correct: Verdict
    reason: str = Field(min_length=1)

    @field_validator("correct", mode="before")
    @classmethod
    def _loose(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


@dataclass(slots=True)
class Answer:
    """One model's answer to one item in one mode, and its grades."""

    item_id: str
    mode: Mode
    text: str = ""
    error: str | None = None
    f1: float = 0.0
    recall: float = 0.0
    grade: Verdict | None = None
    reason: str = ""
    grade_error: str | None = None

    @property
    def score(self) -> float | None:
        return SCORE[self.grade] if self.grade is not None else None

    @property
    def disagrees(self) -> bool:
        """The judge and the token scores contradict each other: a right grade for an answer
        with no word of the reference, or a wrong one for an exact answer. Small judges do
        the former; the summary counts these so a reader knows how far to trust it."""
        if self.grade is None:
            return False
        return (self.grade != "no" and self.recall == 0.0) or \
            (self.grade == "no" and self.f1 == 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.text, "error": self.error, "f1": round(self.f1, 4),
                "recall": round(self.recall, 4), "grade": self.grade, "reason": self.reason,
                "grade_error": self.grade_error, "disagrees": self.disagrees}


@dataclass(slots=True)
class ModelAnswers:
    """Everything one model answered, under the label it has in the comparison."""

    label: str
    model: dict[str, Any]
    answers: list[Answer] = field(default_factory=list)


def deterministic_score(item: QuizItem, answer: str) -> tuple[float, float]:
    """Token F1 and recall; a yes/no item scores on the first yes or no of the answer."""
    if item.form == "yesno":
        first = first_yes_no(answer)
        same = float(first is not None and first == first_yes_no(item.answer))
        return same, same
    return token_f1(answer, item.answer)


def modes_for(item: QuizItem, modes: Sequence[Mode] = MODES) -> list[Mode]:
    """Control items and items without a passage are asked closed-book only."""
    return [m for m in modes if m == "closed" or (item.kind == "document" and item.chunk_text)]


def answer_request(client: LLMClient, item: QuizItem, mode: Mode) -> ChatRequest:
    """The request every model under test gets: one user message, no system prompt."""
    max_tokens = client.sampling.budget(ANSWER_MAX_TOKENS)
    passage = ""
    if mode == "closed":
        content = question_prompt(item)
    else:
        budget = passage_budget(client, max_tokens + 200 + client.count_tokens(item.question))
        passage = fit_passage(item.chunk_text, client, budget)
        content = open_book_prompt(item.model_copy(update={"chunk_text": passage}))
    return ChatRequest(messages=[{"role": "user", "content": content}], schema=None,
                       max_tokens=max_tokens, temperature=client.sampling.temperature, seed=0,
                       tag=f"eval-answer:{mode}:{item.id}", passage=passage)


def ask(client: LLMClient, items: Sequence[QuizItem], label: str = "",
        modes: Sequence[Mode] = MODES, progress: ProgressFn | None = None) -> ModelAnswers:
    """Ask ``client`` every item (in each of its modes) and score the answers without a
    model; :func:`grade` adds the judge's grades. Model replies are never cached: a
    fine-tuned file may be replaced under the same name."""
    jobs = [(item, mode) for item in items for mode in modes_for(item, modes)]
    requests = [answer_request(client, item, mode) for item, mode in jobs]
    answers = [Answer(item.id, mode) for item, mode in jobs]
    stage = f"answer ({label or client.model})"
    for done, (index, result) in enumerate(client.stream(requests), 1):
        answer, item = answers[index], jobs[index][0]
        if isinstance(result, LLMError):
            answer.error = f"model call failed: {result}"
        else:
            answer.text = result.text.strip()
            answer.error = result.reasoning_error
        answer.f1, answer.recall = deterministic_score(item, answer.text)
        if progress:
            progress(stage, done, len(requests))
    return ModelAnswers(label or client.model, client.describe(), answers)


def grade_request(item: QuizItem, answer: Answer, template_name: str = GRADE_PROMPT, *,
                  sampling: Sampling | None = None) -> ChatRequest:
    sampling = sampling or Sampling()
    messages = load_prompt(template_name).render(
        question=item.question, reference=item.answer, evidence=item.evidence or "(none)",
        answer=answer.text.replace("</answer>", "</ answer>"))
    return ChatRequest(messages=messages, schema=GRADE_SCHEMA, schema_name="grade",
                       max_tokens=sampling.budget(GRADE_MAX_TOKENS),
                       temperature=sampling.temperature, seed=0,
                       tag=f"grade:{answer.mode}:{item.id}", passage=item.answer,
                       pair=(item.question, answer.text))


def grade(judge: LLMClient, items: Sequence[QuizItem], results: Sequence[ModelAnswers],
          cache: ReplyStore | None = None, progress: ProgressFn | None = None) -> int:
    """Fill in the judge's grade of every answer; returns the number of judge failures.

    An answer that is empty or failed is graded "no" without asking the judge.
    """
    by_id = {item.id: item for item in items}
    todo: list[Answer] = []
    for answers in results:
        for answer in answers.answers:
            if answer.error or not answer.text:
                answer.grade, answer.reason = "no", answer.error or "no answer"
            else:
                todo.append(answer)
    done = 0

    def on_done(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("grade", done, len(todo))

    requests = [grade_request(by_id[a.item_id], a, sampling=judge.sampling) for a in todo]
    replies = ask_json(judge, requests, GradeReply, kind="grade", cache=cache,
                       on_done=on_done)
    failures = 0
    for answer, reply in zip(todo, replies, strict=True):
        if reply.value is None:
            answer.grade_error = f"judge: {reply.error}"
            failures += 1
            continue
        value = GradeReply.model_validate(reply.value)
        answer.grade, answer.reason = value.correct, " ".join(value.reason.split())[:REASON_MAX]
    return failures
