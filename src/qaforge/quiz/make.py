"""``qaforge quiz``: held-out exam items from the work dir's chunks.

The quiz is written with its own prompt (``quiz/v2``, never the ``qa/*`` prompts that made
the training pairs) in its own forms (short answer, yes/no, fill-in-the-blank), each item
with the sentence of the chunk that proves its answer. Every item is checked without a
model and dropped when it fails: the evidence must be found in the chunk
(:func:`qaforge.refine.grounding.grounding_of`), the question must stand on its own
(:func:`qaforge.refine.checks.question_issues`), and it must not be a near-duplicate of
any training question (the suggestions files and ``cleaned_finetune.jsonl``); the closest
training question and its similarity are recorded on every item, kept or dropped. The
yes/no items are kept balanced between "Yes" and "No" (:func:`balance_yes_no`). Nothing
here ever looks at a model's answers to the quiz.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from rapidfuzz import fuzz, process

from qaforge.llm.base import ChatRequest, LLMClient
from qaforge.progress import ProgressFn
from qaforge.prompts import load_prompt
from qaforge.quiz.items import FORMS, Neighbour, QuizItem
from qaforge.records import Chunk
from qaforge.refine.cache import ReplyStore
from qaforge.refine.calls import ask_json
from qaforge.refine.checks import normalise, question_issues
from qaforge.refine.grounding import grounding_of
from qaforge.refine.judge import fit_passage, pages_text, passage_budget
from qaforge.refine.load import load_workdir
from qaforge.refine.report import DATASET_NAME
from qaforge.safe_paths import safe_listing
from qaforge.suggestions import iter_suggestion_files, load_suggestions, suggestions_dir

#: v2 is v1 asking for as many "No" yes/no items as "Yes" ones (v1's were all "Yes", so a
#: fine-tune that answers "Yes" to everything scored on every one of them)
QUIZ_PROMPT = "quiz/v2"
QUESTION_MAX = 300
ANSWER_MAX = 200
EVIDENCE_MAX = 600
#: chunks shorter than this hold too little to examine
MIN_CHUNK_CHARS = 120
_BLANK = re.compile(r"_{3,}")
_YES_NO = {"yes": "Yes", "no": "No"}


def quiz_schema(items: int) -> dict[str, Any]:
    """JSON schema of a ``quiz/*`` reply of up to ``items`` items."""
    item = {"type": "object",
            "properties": {"form": {"type": "string", "enum": list(FORMS)},
                           "question": {"type": "string", "minLength": 5,
                                        "maxLength": QUESTION_MAX},
                           "answer": {"type": "string", "minLength": 1, "maxLength": ANSWER_MAX},
                           "evidence": {"type": "string", "minLength": 5,
                                        "maxLength": EVIDENCE_MAX}},
            "required": ["form", "question", "answer", "evidence"],
            "additionalProperties": False}
    return {"type": "object",
            "properties": {"items": {"type": "array", "minItems": 1, "maxItems": items,
                                     "items": item}},
            "required": ["items"], "additionalProperties": False}


class _Draft(BaseModel):
    form: str
    question: str
    answer: str
    evidence: str = ""


class _Reply(BaseModel):
    items: list[_Draft]


@dataclass(slots=True)
class QuizSettings:
    """How the quiz is made (the defaults are what ``qaforge quiz`` uses)."""

    per_chunk: int = 2
    max_chunks: int = 0  # 0 = every chunk
    #: question similarity (rapidfuzz ratio, 0-1) to a training question that drops an item
    near_duplicate: float = 0.8
    #: how exactly the evidence must be found in the chunk (the span score, 0-1)
    min_evidence: float = 0.9
    control: int | None = None  # None = the whole control set, 0 = none


@dataclass(slots=True)
class Dropped:
    """An item the checks refused, and why (reported, never silently lost)."""

    question: str
    answer: str
    form: str
    chunk_id: str
    document: str
    code: str
    reason: str
    similarity: float | None = None
    evidence: str = ""


@dataclass(slots=True)
class SourceChunk:
    chunk: Chunk
    document: str
    source_file: str


@dataclass(slots=True)
class QuizResult:
    items: list[QuizItem] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    chunks: int = 0
    failed_chunks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    training_questions: int = 0


class TrainingQuestions:
    """Every question the fine-tune may see, for the near-duplicate check."""

    def __init__(self, questions: list[tuple[str, str]]) -> None:
        self.questions = [q for q, _ in questions]
        self.where = [w for _, w in questions]
        self._normalised = [normalise(q) for q in self.questions]

    @classmethod
    def from_workdir(cls, workdir: Path) -> TrainingQuestions:
        """Questions of every pair in the suggestions files (whatever its status: a pair
        rejected today may be accepted tomorrow) and of ``cleaned_finetune.jsonl``."""
        found: list[tuple[str, str]] = []
        try:
            loaded = load_workdir(workdir)
        except FileNotFoundError:
            loaded = None
        if loaded is not None:
            found += [(r.question, r.source_file) for r in loaded.records if r.question.strip()]
        dataset = workdir / DATASET_NAME
        if dataset.is_file():
            for line in dataset.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    found += [(m["content"], DATASET_NAME) for m in row["messages"]
                              if m.get("role") == "user" and isinstance(m.get("content"), str)]
                except (ValueError, KeyError, TypeError, AttributeError):
                    continue
        return cls(found)

    def __len__(self) -> int:
        return len(self.questions)

    def closest(self, question: str) -> Neighbour | None:
        """The most similar training question (fuzz.ratio of the normalised texts)."""
        if not self.questions:
            return None
        match = process.extractOne(normalise(question), self._normalised, scorer=fuzz.ratio)
        if match is None:
            return None
        index = match[2]
        return Neighbour(question=self.questions[index], similarity=round(match[1] / 100, 4),
                         where=self.where[index])


def source_chunks(workdir: Path, warnings: list[str]) -> list[SourceChunk]:
    """Every chunk of the suggestions files with enough text, in file order."""
    listing = safe_listing(workdir, suggestions_dir(workdir), iter_suggestion_files(workdir))
    warnings.extend(listing.lines)
    if not listing.files and not listing.refused:
        raise FileNotFoundError(f"{suggestions_dir(workdir)}: no *_suggestions.json files "
                                "(run `qaforge generate` first)")
    out = []
    for path in listing.files:
        try:
            loaded = load_suggestions(path)
        except Exception as exc:  # a broken file costs only itself
            warnings.append(f"{path}: not read ({exc})")
            continue
        rel = path.relative_to(workdir).as_posix()
        out += [SourceChunk(c, loaded.data.source.file, rel) for c in loaded.data.chunks
                if len(c.text.strip()) >= MIN_CHUNK_CHARS]
    return out


def spread(chunks: list[SourceChunk], limit: int) -> list[SourceChunk]:
    """``limit`` chunks evenly spread over all of them (deterministic), or all."""
    if limit <= 0 or len(chunks) <= limit:
        return chunks
    step = len(chunks) / limit
    return [chunks[int(i * step)] for i in range(limit)]


def form_problem(form: str, question: str, answer: str) -> str | None:
    """Why a drafted item does not have the shape its form promises, or None."""
    if form not in FORMS:
        return f"unknown form {form!r}"
    if form == "fill":
        return None if _BLANK.search(question) else "a fill-in item without a ____ blank"
    if not question.rstrip().endswith("?"):
        return "the question does not end with '?'"
    if form == "yesno" and normalise(answer).split()[:1] not in (["yes"], ["no"]):
        return "a yes/no item whose answer is neither yes nor no"
    return None


def balance_yes_no(result: QuizResult) -> None:
    """Drop the yes/no items answered the more common way beyond one more than the other:
    a quiz whose yes/no answers lean one way scores a model that always gives that answer
    (issue 17's first fine-tunes answered "Yes" to everything and gained only on such
    items). The last ones go, so the earlier chunks keep theirs; each is reported."""
    by_answer: dict[str, list[QuizItem]] = {"Yes": [], "No": []}
    for item in result.items:
        if item.form == "yesno" and item.answer in by_answer:
            by_answer[item.answer].append(item)
    more, fewer = sorted(by_answer, key=lambda a: len(by_answer[a]), reverse=True)
    surplus = by_answer[more][len(by_answer[fewer]) + 1:]
    if not surplus:
        return
    gone = {id(item) for item in surplus}
    result.items = [item for item in result.items if id(item) not in gone]
    for item in surplus:
        result.dropped.append(Dropped(
            item.question, item.answer, item.form, item.chunk_id, item.document, "unbalanced",
            f"yes/no items are kept balanced: {len(by_answer[more])} answered {more!r} "
            f"against {len(by_answer[fewer])} {fewer!r}",
            item.closest_training.similarity if item.closest_training else None,
            item.evidence))


class QuizWriter:
    """Drafts and checks quiz items for chunks with one :class:`LLMClient`."""

    def __init__(self, client: LLMClient, settings: QuizSettings | None = None,
                 cache: ReplyStore | None = None, progress: ProgressFn | None = None) -> None:
        self.client = client
        self.settings = settings or QuizSettings()
        self.cache = cache
        self.progress = progress
        self.template = load_prompt(QUIZ_PROMPT)
        self.schema = quiz_schema(self.settings.per_chunk)
        self.max_tokens = client.sampling.budget(self.settings.per_chunk * 260 + 40)

    @property
    def origin(self) -> str:
        return f"{QUIZ_PROMPT} {self.client.backend}:{self.client.model}"

    def request(self, source: SourceChunk) -> ChatRequest:
        chunk = source.chunk
        budget = passage_budget(self.client, self.max_tokens + 500)
        passage = fit_passage(chunk.text, self.client, budget)
        messages = self.template.render(
            document=source.document, headings=" > ".join(chunk.headings) or "-",
            pages=pages_text(chunk.pages), n=self.settings.per_chunk, text=passage)
        return ChatRequest(messages=messages, schema=self.schema, schema_name="quiz",
                           max_tokens=self.max_tokens,
                           temperature=self.client.sampling.temperature, seed=0,
                           tag=f"quiz:{chunk.id}", passage=passage)

    def write(self, sources: list[SourceChunk], training: TrainingQuestions) -> QuizResult:
        """Items for ``sources``: drafted, checked, deduplicated (see the module doc)."""
        result = QuizResult(chunks=len(sources), training_questions=len(training))
        done = 0

        def on_done(n: int) -> None:
            nonlocal done
            done += n
            if self.progress:
                self.progress("quiz", done, len(sources))

        replies = ask_json(self.client, [self.request(s) for s in sources], _Reply,
                           kind="quiz", cache=self.cache, on_done=on_done)
        seen: set[str] = set()
        for source, reply in zip(sources, replies, strict=True):
            if reply.value is None:
                result.failed_chunks.append(f"{source.document} {source.chunk.id}: "
                                            f"{reply.error}")
                continue
            # a backend that cannot constrain decoding may send more than were asked for
            for draft in _Reply.model_validate(reply.value).items[:self.settings.per_chunk]:
                self._check(source, draft, training, seen, result)
        balance_yes_no(result)
        return result

    def _check(self, source: SourceChunk, draft: _Draft, training: TrainingQuestions,
               seen: set[str], result: QuizResult) -> None:
        form = draft.form.strip().lower()
        question, answer = " ".join(draft.question.split()), " ".join(draft.answer.split())
        if form == "fill":
            question = _BLANK.sub("____", question)
            if not _BLANK.search(question) and question.endswith("?"):
                form = "short"  # small models write fill-ins as questions: fine as such
        if form == "yesno":
            answer = _YES_NO.get(normalise(answer).split()[0], answer) if answer else answer
        neighbour = training.closest(question)
        similarity = neighbour.similarity if neighbour else None

        def drop(code: str, reason: str) -> None:
            result.dropped.append(Dropped(question, answer, form, source.chunk.id,
                                          source.document, code, reason, similarity,
                                          draft.evidence))

        chunk_text = source.chunk.text
        problem = form_problem(form, question, answer)
        issues = [i.message for i in question_issues(question, answer)
                  if i.code not in ("not_a_question", "answer_copies_question")]
        evidence = grounding_of(draft.evidence, chunk_text) if draft.evidence.strip() else None
        if problem:
            return drop("form", problem)
        if issues:
            return drop("question", issues[0])
        if evidence is None or evidence.span < self.settings.min_evidence:
            found = f"{evidence.span:.0%}" if evidence else "none given"
            return drop("ungrounded", f"evidence not found in the chunk (best match {found})")
        if form != "yesno" and grounding_of(answer, draft.evidence).score < 0.5:
            return drop("ungrounded", "the reference answer is not in its evidence")
        key = normalise(question)
        if key in seen:
            return drop("repeated", "the same question as another quiz item")
        if neighbour is not None and neighbour.similarity >= self.settings.near_duplicate:
            return drop("near_duplicate", f"a near-duplicate ({neighbour.similarity:.0%}) of "
                        f"the training question {neighbour.question!r}")
        seen.add(key)
        chunk = source.chunk
        result.items.append(QuizItem(
            id=QuizItem.make_id(chunk.id, question), form=form,  # type: ignore[arg-type]
            question=question, answer=answer, evidence=" ".join(draft.evidence.split()),
            document=source.document, source_file=source.source_file, chunk_id=chunk.id,
            pages=list(chunk.pages), headings=list(chunk.headings), chunk_text=chunk_text,
            grounding=evidence.span, closest_training=neighbour, origin=self.origin))
