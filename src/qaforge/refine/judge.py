"""Step 3: an LLM judge labels every pair with its source chunk in view.

Four methods. ``checks`` (the default, :mod:`.verify`): a short schema-constrained check a
small model does reliably (it answers the question itself from the passage, and the two
answers are compared without a model), combined with the deterministic findings into the
seed's label. ``cite`` (:mod:`.cite`): the model names the passage's sentences that answer
the question, and the pair's answer must rest on them. ``strict``: both, ``Clear`` only
when both are (fewer pairs kept, a larger share of them good: docs/benchmarks.md 3.3).
``rubric``: the model scores clarity, coherence, relevance and groundedness 1-5 and gives
the label and a reason (a coin toss below ~7B, docs/benchmarks.md). Replies are validated
with pydantic, retried once, and cached by content. The judge only labels: it never changes
a pair's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field, field_validator

from qaforge.config import JudgeMethod
from qaforge.forms import FORMS, rubric
from qaforge.languages import passage_language
from qaforge.llm.base import ChatRequest, LLMClient
from qaforge.progress import ProgressFn
from qaforge.prompts import DEFAULT_QA_PROMPT, PromptTemplate, load_prompt, passage_values
from qaforge.refine.cache import ReplyStore
from qaforge.refine.calls import ask_json
from qaforge.refine.cite import (
    CITE_MAX_TOKENS,
    CITE_PROMPT,
    CiteReply,
    cite_schema,
    compare_cited,
    numbered_passage,
)
from qaforge.refine.flags import checks_verdict
from qaforge.refine.pair_record import LABELS, Grounding, Issue, Label, PairRecord, Verdict
from qaforge.refine.verify import (
    ANSWER_CHECK_PROMPT,
    ANSWER_MAX_TOKENS,
    ANSWER_SCHEMA,
    AnswerReply,
    compare_answers,
    label_from_checks,
)

#: v2 is v1 with the rubric in the system message, so that every call shares the system
#: message and a chunk's calls also share the passage (2.0x the judge's throughput here,
#: docs/benchmarks.md)
JUDGE_PROMPT = "judge/v2"
#: the strict method sends both checks' prompts
STRICT_PROMPT = f"{ANSWER_CHECK_PROMPT}+{CITE_PROMPT}"
REASON_MAX = 200
#: a packaged prompt's name, as a suggestions file records it (anything else: the default)
_PROMPT_NAME = re.compile(r"[a-z_]+/v[0-9]+")
SCORE_NAMES = ("clarity", "coherence", "relevance", "groundedness")
_SCORE_SCHEMA = {"type": "integer", "enum": [1, 2, 3, 4, 5]}

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    # scores before the reason: measured on this machine, small judges score better that way
    "properties": {**{name: dict(_SCORE_SCHEMA) for name in SCORE_NAMES},
                   "label": {"type": "string", "enum": list(LABELS)},
                   "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX}},
    "required": [*SCORE_NAMES, "label", "reason"],
    "additionalProperties": False,
}
#: room for the JSON above (about 60 tokens for the scores and label, the rest the reason)
JUDGE_MAX_TOKENS = 160


class JudgeReply(BaseModel):
    """What a judge must send back (validated; labels are matched loosely)."""

    clarity: int = Field(ge=1, le=5)
    coherence: int = Field(ge=1, le=5)
    relevance: int = Field(ge=1, le=5)
    groundedness: int = Field(ge=1, le=5)
    label: Label
    reason: str = Field(min_length=1)

    @field_validator("label", mode="before")
    @classmethod
    def _loose_label(cls, value: Any) -> Any:
        if isinstance(value, str):
            wanted = " ".join(value.replace("_", " ").split()).casefold()
            for label in LABELS:
                if label.casefold() == wanted:
                    return label
        return value

    @field_validator("reason", mode="after")
    @classmethod
    def _short_reason(cls, value: str) -> str:
        return " ".join(value.split())[:REASON_MAX]


@dataclass(slots=True)
class Candidate:
    """A question/answer to judge, with the record that gives it its chunk."""

    record: PairRecord
    question: str
    answer: str
    grounding: Grounding | None = None
    issues: list[Issue] = field(default_factory=list)


def describe_evidence(grounding: Grounding | None, issues: list[Issue]) -> str:
    """The deterministic findings, in words the judge can use."""
    parts = []
    if grounding is not None:
        parts.append(f"{grounding.words:.0%} of the answer's content words occur in the passage "
                     f"and its closest stretch of the passage matches {grounding.span:.0%}")
    parts.extend(issue.message for issue in issues)
    return "; ".join(parts) if parts else "none"


def fit_passage(text: str, client: LLMClient, budget_tokens: int) -> str:
    """The chunk text for a prompt: cut to fit the model's context (rarely needed), and
    unable to close the ``<passage>`` element it sits in (PDF text is untrusted)."""
    text = text.replace("</passage>", "</ passage>")
    tokens = client.count_tokens(text)
    if tokens <= budget_tokens or tokens == 0:
        return text
    keep = max(200, int(len(text) * budget_tokens / tokens * 0.95))
    return text[:keep].rstrip() + " [...]"


def passage_budget(client: LLMClient, reserve: int) -> int:
    context = client.context_length or 0
    return max(256, context - reserve) if context else 1 << 30


def pages_text(pages: list[int]) -> str:
    if not pages:
        return "?"
    first, last = pages[0], pages[-1]
    return str(first) if first == last else f"{first}-{last}"


def method_prompt(method: JudgeMethod, rubric_prompt: str = JUDGE_PROMPT) -> str:
    """The prompt a judge ``method`` sends (recorded in every verdict and the report)."""
    return {"rubric": rubric_prompt, "cite": CITE_PROMPT,
            "strict": STRICT_PROMPT}.get(method, ANSWER_CHECK_PROMPT)


_SEVERITY = {"Clear": 0, "Needs Improvement": 1, "Unclear": 2}


def both_checks(answered: Verdict, cited: Verdict) -> Verdict:
    """The ``strict`` method's verdict: the worse of the answer check's and the cite
    check's (``Clear`` only when both are), both checks' figures kept (the cite check's
    under ``checks["cite"]``). A failed call fails the verdict, to be retried."""
    if answered.error or cited.error:
        failed = answered if answered.error else cited
        return failed.model_copy(update={"prompt": STRICT_PROMPT})
    worse = cited if _SEVERITY[cited.label or "Unclear"] > _SEVERITY[answered.label
                                                                    or "Unclear"] else answered
    return worse.model_copy(update={
        "prompt": STRICT_PROMPT,
        "cached": answered.cached and cited.cached,
        "checks": {**(answered.checks or {}), "cite": cited.checks or {}}})


def form_note(record: PairRecord) -> str:
    """What the judge is told about a pair of another form than Q&A: the form's rubric
    (:func:`qaforge.forms.rubric`), and a conversation's later turns."""
    note = (f"This pair is of the form {record.form!r}: {rubric(record.form)}. Judge it as "
            "that form.")
    later = record.turns[2:]
    if later:
        note += "\nThe conversation goes on:\n" + "\n".join(
            f"{turn.get('role', '?').capitalize()}: {turn.get('content', '')}" for turn in later)
    return note


class Judge:
    """Judges a batch of records with one :class:`LLMClient` (used as a step, or for corrections).

    ``method`` is ``"checks"``, ``"cite"``, ``"strict"`` (both checks) or ``"rubric"``
    (module docstring). ``advisory=True`` (the
    demo judge) still records verdicts but marks them as not deciding; ``min_grounding`` is
    refine's, to tell which pairs the deterministic checks flag.
    """

    def __init__(self, client: LLMClient, cache: ReplyStore | None = None, *,
                 accept_threshold: float = 4.0, advisory: bool = False,
                 method: JudgeMethod = "checks", prompt: str = JUDGE_PROMPT,
                 min_grounding: float = 0.5, progress: ProgressFn | None = None) -> None:
        self.client = client
        self.cache = cache
        self.accept_threshold = accept_threshold
        self.advisory = advisory
        self.min_grounding = min_grounding
        self.method = method
        self.prompt_name = method_prompt(method, prompt)
        self.template = load_prompt(prompt)
        self.answer_template = load_prompt(ANSWER_CHECK_PROMPT)
        self._readings: dict[str, PromptTemplate] = {}
        self.cite_template = load_prompt(CITE_PROMPT)
        self.progress = progress
        self.calls = 0

    @property
    def model_id(self) -> str:
        return f"{self.client.backend}:{self.client.model}"

    def request(self, candidate: Candidate) -> ChatRequest:
        record = candidate.record
        max_tokens = self.client.sampling.budget(JUDGE_MAX_TOKENS)
        reserve = (self.client.count_tokens(candidate.question + candidate.answer)
                   + max_tokens + 450)
        passage = fit_passage(record.chunk_text, self.client,
                              passage_budget(self.client, reserve))
        messages = self.template.render(
            document=record.document, headings=" > ".join(record.headings) or "-",
            pages=pages_text(record.pages), text=passage,
            question=candidate.question, answer=candidate.answer,
            evidence=describe_evidence(candidate.grounding, candidate.issues))
        if record.form != "qa":  # Q&A requests stay as they were (and their cache keys)
            messages[-1]["content"] += "\n\n" + form_note(record)
        return ChatRequest(messages=messages, schema=JUDGE_SCHEMA, schema_name="verdict",
                           max_tokens=max_tokens, temperature=self.client.sampling.temperature,
                           seed=0, tag=f"judge:{record.pair_id}", affinity=record.chunk_key,
                           passage=passage, pair=(candidate.question, candidate.answer))

    def check_request(self, candidate: Candidate) -> ChatRequest:
        """The ``checks`` method's request: the model answers the question from the passage.
        It begins as the prompt that drafted the chunk did (:meth:`reading_prompt`), so an
        engine that still holds that prompt does not read the chunk again."""
        record = candidate.record
        max_tokens = self.client.sampling.budget(ANSWER_MAX_TOKENS)
        reserve = self.client.count_tokens(candidate.question) + max_tokens + 300
        passage = fit_passage(record.chunk_text, self.client,
                              passage_budget(self.client, reserve))
        messages = self.after_reading(record, passage, self.answer_template,
                                      question=candidate.question)
        return ChatRequest(messages=messages, schema=ANSWER_SCHEMA, schema_name="answer",
                           max_tokens=max_tokens, temperature=self.client.sampling.temperature,
                           seed=0, tag=f"check-answer:{record.pair_id}",
                           affinity=record.chunk_key, passage=passage,
                           pair=(candidate.question, candidate.answer))

    def after_reading(self, record: PairRecord, passage: str, ask: PromptTemplate,
                      **values: object) -> list[dict[str, str]]:
        """Messages that read ``passage`` as ``record``'s drafting prompt did
        (:meth:`reading_prompt`), then ask what the user-only template ``ask`` says."""
        messages = self.reading_prompt(record).reading(**passage_values(
            record.document, record.pages, record.headings, passage))
        messages[-1]["content"] += "\n\n" + ask.render(**values)[-1]["content"]
        return messages

    def reading_prompt(self, record: PairRecord) -> PromptTemplate:
        """The packaged prompt that drafted ``record``'s chunk (its form's, or the one its
        file names); the default Q&A prompt when that is not a packaged prompt."""
        name = FORMS[record.form].prompt if record.form in FORMS else record.drafted_with
        if name not in self._readings:
            try:
                template = load_prompt(name) if _PROMPT_NAME.fullmatch(name) else None
                if template is not None:
                    template.reading()  # it must have the passage to share
            except ValueError:
                template = None
            self._readings[name] = template or load_prompt(DEFAULT_QA_PROMPT)
        return self._readings[name]

    def cite_request(self, candidate: Candidate) -> tuple[ChatRequest, list[str]]:
        """The ``cite`` method's request (the model names the sentences that answer the
        question), and the passage's sentences its numbers point at."""
        record = candidate.record
        max_tokens = self.client.sampling.budget(CITE_MAX_TOKENS)
        reserve = self.client.count_tokens(candidate.question) + max_tokens + 300
        passage = fit_passage(record.chunk_text, self.client,
                              passage_budget(self.client, reserve))
        numbered, parts = numbered_passage(passage, passage_language(passage))
        messages = self.cite_template.render(text=numbered, question=candidate.question)
        request = ChatRequest(messages=messages, schema=cite_schema(len(parts)),
                              schema_name="sentences", max_tokens=max_tokens,
                              temperature=self.client.sampling.temperature, seed=0,
                              tag=f"check-source:{record.pair_id}", affinity=record.chunk_key,
                              passage=passage, pair=(candidate.question, candidate.answer))
        return request, parts

    def judge(self, candidates: list[Candidate], stage: str = "judge") -> list[Verdict]:
        """Verdicts for ``candidates``, in order (failures are verdicts with ``error``)."""
        if not candidates:
            return []
        total, done = len(candidates), 0

        def on_done(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress(stage, done, total)

        if self.method == "checks":
            return self._judge_by_checks(candidates, on_done)
        if self.method == "cite":
            return self._judge_by_citing(candidates, on_done)
        if self.method == "strict":
            total *= 2  # two checks a pair
            return [both_checks(answered, cited) for answered, cited in zip(
                self._judge_by_checks(candidates, on_done),
                self._judge_by_citing(candidates, on_done), strict=True)]
        requests = [self.request(c) for c in candidates]
        replies = ask_json(self.client, requests, JudgeReply, kind="judge", cache=self.cache,
                           on_done=on_done)
        self.calls += sum(1 for r in replies if not r.cached)
        return [self._verdict(r.value, r.error, r.cached, r.raw) for r in replies]

    def _judge_by_checks(self, candidates: list[Candidate],
                         on_done: Callable[[int], None]) -> list[Verdict]:
        def measure(candidate: Candidate, value: dict[str, Any]) -> dict[str, Any]:
            return compare_answers(value["answer"], candidate.answer, candidate.question,
                                   passage_language(candidate.record.chunk_text),
                                   candidate.record.form)

        return self._checked(candidates, [self.check_request(c) for c in candidates],
                             AnswerReply, "check-answer", measure, on_done)

    def _judge_by_citing(self, candidates: list[Candidate],
                         on_done: Callable[[int], None]) -> list[Verdict]:
        built = [self.cite_request(c) for c in candidates]
        sentences = {id(c): parts for c, (_, parts) in zip(candidates, built, strict=True)}

        def measure(candidate: Candidate, value: dict[str, Any]) -> dict[str, Any]:
            return compare_cited(value["sentences"], sentences[id(candidate)],
                                 candidate.question, candidate.answer,
                                 passage_language(candidate.record.chunk_text))

        return self._checked(candidates, [request for request, _ in built], CiteReply,
                             "check-source", measure, on_done)

    def _checked(self, candidates: list[Candidate], requests: list[ChatRequest],
                 reply_model: type[BaseModel], kind: str,
                 measure: Callable[[Candidate, dict[str, Any]], dict[str, Any]],
                 on_done: Callable[[int], None]) -> list[Verdict]:
        """Verdicts of a check method: ask, ``measure`` each reply against its pair without
        a model, and label by :func:`label_from_checks`."""
        replies = ask_json(self.client, requests, reply_model, kind=kind, cache=self.cache,
                           on_done=on_done)
        self.calls += sum(1 for r in replies if not r.cached)
        verdicts = []
        for candidate, reply in zip(candidates, replies, strict=True):
            base = Verdict(model=self.model_id, prompt=self.prompt_name, cached=reply.cached,
                           advisory=self.advisory)
            if reply.value is None:
                verdicts.append(base.model_copy(update={"error": f"judge: {reply.error}",
                                                        "raw": reply.raw}))
                continue
            measures = measure(candidate, reply.value)
            label, reason, fix = label_from_checks(measures, candidate.issues)
            verdicts.append(base.model_copy(update={
                "label": label, "reason": reason, "checks": measures, "fix": fix}))
        return verdicts

    def _verdict(self, value: dict[str, Any] | None, error: str | None, cached: bool,
                 raw: str = "") -> Verdict:
        base = Verdict(model=self.model_id, prompt=self.prompt_name, cached=cached,
                       advisory=self.advisory)
        if value is None:
            return base.model_copy(update={"error": f"judge: {error}", "raw": raw})
        reply = JudgeReply.model_validate(value)
        label: Label = reply.label
        scores = {name: getattr(reply, name) for name in SCORE_NAMES}
        low = [name for name, score in scores.items() if score < self.accept_threshold]
        if label == "Clear" and low:
            # the label must agree with the scores the judge gave
            label = "Unclear" if low == ["clarity"] else "Needs Improvement"
        return base.model_copy(update={"label": label, "model_label": reply.label,
                                       "reason": reply.reason, **scores})

    def __call__(self, records: list[PairRecord]) -> list[PairRecord]:
        """Step: judge every record still in the running but the ones the deterministic
        checks already flag: those get the checks' label (:func:`checks_verdict`), since
        the model's would not decide them (they go to correction, or are skipped, either
        way). A deciding judge looks at one only when it is about to be rewritten
        (:class:`~qaforge.refine.correct.Corrector`: the rewrite is told the judge's own
        answer), or when a person reviewed it (it stays; the judge's view is reported). The
        flagged pairs were two thirds of the bundled model's judge calls and 19 of the
        1.5B's 43 (docs/benchmarks.md 5.1)."""
        asked, labelled = [], 0
        for record in records:
            if not record.active:
                continue
            by_checks = checks_verdict(record, self.min_grounding)
            if by_checks is None or (record.reviewed and not self.advisory):
                asked.append(record)
            else:
                record.verdict, labelled = by_checks, labelled + 1
        report = self.progress
        if report is not None and labelled:  # the progress counts every pair of the step
            report("judge", labelled, labelled + len(asked))
            self.progress = lambda stage, done, of: report(stage, labelled + done, labelled + of)
        try:
            verdicts = self.judge([Candidate(r, r.question, r.answer, r.grounding, r.issues)
                                   for r in asked])
        finally:
            self.progress = report
        for record, verdict in zip(asked, verdicts, strict=True):
            record.verdict = verdict
        return records
