"""The two commands' work, over a work dir: :func:`build_quiz` and :func:`evaluate_workdir`.

Models are started one at a time (each answers everything, then is closed) so a base and a
fine-tuned model never sit in memory together; the judge comes last.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.errors import InputError
from qaforge.fileio import atomic_write_json
from qaforge.llm.base import LLMClient
from qaforge.progress import ProgressFn
from qaforge.quiz.evaluate import MODES, Mode, ModelAnswers, ask, grade
from qaforge.quiz.items import (
    QUIZ_NAME,
    QuizItem,
    control_items,
    quiz_path,
    read_quiz,
    write_quiz,
)
from qaforge.quiz.make import (
    QUIZ_PROMPT,
    QuizResult,
    QuizSettings,
    QuizWriter,
    TrainingQuestions,
    source_chunks,
    spread,
)
from qaforge.quiz.report import EVAL_NAME, eval_document, write_eval
from qaforge.quiz.review_files import apply_review, quiz_dir, set_aside, write_review_copy
from qaforge.records import GeneratorInfo
from qaforge.refine.cache import ReplyCache

REPORT_NAME = "report.json"


@dataclass(slots=True)
class QuizRun:
    """What ``qaforge quiz`` made and where it wrote it."""

    result: QuizResult
    control: int
    quiz_path: Path
    report_path: Path
    review_files: list[Path] = field(default_factory=list)
    set_aside: Path | None = None

    @property
    def near_duplicates(self) -> dict[str, Any]:
        """The near-duplicate check, as reported: closest similarity of the kept items."""
        sims = [i.closest_training.similarity for i in self.result.items
                if i.closest_training is not None]
        return {"training_questions": self.result.training_questions,
                "max_similarity_kept": max(sims) if sims else None,
                "mean_similarity_kept": round(sum(sims) / len(sims), 4) if sims else None,
                "dropped": sum(1 for d in self.result.dropped if d.code == "near_duplicate")}


def build_quiz(workdir: Path, client: LLMClient, settings: QuizSettings | None = None, *,
               replace: bool = False, progress: ProgressFn | None = None) -> QuizRun:
    """Write ``WORKDIR/quiz.jsonl``, its review copy and ``WORKDIR/quiz/report.json``.

    An existing quiz is never overwritten: without ``replace`` this refuses, with it the
    old quiz is moved aside first (a quiz redone after seeing scores is no longer held out,
    so doing it is a deliberate act).
    """
    settings = settings or QuizSettings()
    if (quiz_path(workdir).exists() or quiz_dir(workdir).exists()) and not replace:
        raise InputError(f"{quiz_path(workdir)}: a quiz already exists; evaluate with it, or "
                         "pass --replace to set it aside and write a new one")
    warnings: list[str] = []
    sources = spread(source_chunks(workdir, warnings), settings.max_chunks)
    training = TrainingQuestions.from_workdir(workdir)
    with ReplyCache.for_workdir(workdir) as cache:
        result = QuizWriter(client, settings, cache, progress).write(sources, training)
    result.warnings = warnings + result.warnings
    control = control_items(settings.control)
    moved = set_aside(workdir) if replace else None
    items = result.items + control
    write_quiz(quiz_path(workdir), items)
    info = GeneratorInfo(backend=client.backend, model=client.model, prompt=QUIZ_PROMPT,
                         params={"purpose": "held-out quiz: never export these",
                                 **dataclasses.asdict(settings)})
    run = QuizRun(result, len(control), quiz_path(workdir),
                  quiz_dir(workdir) / REPORT_NAME, set_aside=moved)
    run.review_files = write_review_copy(workdir, items, info)
    atomic_write_json(run.report_path, {
        "prompt": QUIZ_PROMPT, "writer": client.describe(),
        "settings": dataclasses.asdict(settings), "chunks": result.chunks,
        "items": len(result.items), "control": len(control),
        "forms": dict(Counter(i.form for i in result.items)),
        "near_duplicate_check": run.near_duplicates,
        "dropped_by_reason": dict(Counter(d.code for d in result.dropped)),
        "dropped": [dataclasses.asdict(d) for d in result.dropped],
        "failed_chunks": result.failed_chunks, "warnings": result.warnings})
    return run


ClientFactory = Callable[[], LLMClient]


@dataclass(slots=True)
class EvalRun:
    document: dict[str, Any]
    path: Path
    judge_failures: int
    review: dict[str, int]
    warnings: list[str]


def load_reviewed_quiz(workdir: Path, *, limit: int = 0, control: int | None = None
                       ) -> tuple[list[QuizItem], dict[str, int], list[str]]:
    """The quiz as a person reviewed it; ``limit`` document items, ``control`` control items
    (None = all). Returns the items, the review counts and warnings."""
    outcome = apply_review(workdir, read_quiz(quiz_path(workdir)))
    documents = [i for i in outcome.items if i.kind == "document"]
    controls = [i for i in outcome.items if i.kind == "control"]
    items = (documents[:limit] if limit else documents) + \
        (controls if control is None else controls[:control])
    if not items:
        raise InputError(f"{quiz_path(workdir)}: no quiz items left to ask")
    counts = {"rejected": outcome.rejected, "deleted": outcome.deleted,
              "edited": outcome.edited, "added": outcome.added}
    return items, counts, outcome.warnings


def evaluate_workdir(workdir: Path, models: Sequence[tuple[str, ClientFactory]],
                     judge: ClientFactory, *, limit: int = 0, control: int | None = None,
                     modes: Sequence[Mode] = MODES, progress: ProgressFn | None = None,
                     on_client: Callable[[str, LLMClient], None] | None = None) -> EvalRun:
    """Ask every model the quiz, grade the answers, write ``WORKDIR/eval.json``."""
    items, review, warnings = load_reviewed_quiz(workdir, limit=limit, control=control)
    results: list[ModelAnswers] = []
    for label, factory in models:
        with factory() as client:
            if on_client:
                on_client(label, client)
            results.append(ask(client, items, label, modes, progress))
    with judge() as judge_client, ReplyCache.for_workdir(workdir) as cache:
        if on_client:
            on_client("judge", judge_client)
        failures = grade(judge_client, items, results, cache, progress)
        judge_info = {**judge_client.describe(), "demo": judge_client.is_demo_model}
    document = eval_document(items, results, judge=judge_info,
                             quiz={"path": QUIZ_NAME, "review": review,
                                   "modes": list(modes)})
    path = workdir / EVAL_NAME
    write_eval(path, document)
    return EvalRun(document, path, failures, review, warnings)
