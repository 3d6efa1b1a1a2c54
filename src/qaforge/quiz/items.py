"""The quiz's records and files: :class:`QuizItem`, ``quiz.jsonl`` and the control set.

A quiz item is one held-out exam question with its reference answer. Document items come
from a chunk (with the evidence quote that proves the answer and the closest training
question); control items are general-knowledge questions shipped with qaforge, asked to
catch a fine-tune that damages what the model already knew. ``quiz.jsonl`` lives in the
work dir beside, never inside, what ``refine`` and ``export`` read.
"""

from __future__ import annotations

import hashlib
import json
from importlib.resources import files
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from qaforge.errors import InputError
from qaforge.fileio import atomic_write_text, encode_text
from qaforge.records import content_id

QUIZ_NAME = "quiz.jsonl"
#: the quiz's own folder: report and the review copy (``qaforge review WORKDIR/quiz``)
QUIZ_DIR = "quiz"
CONTROL_SET = "control_v1.json"

Form = Literal["short", "yesno", "fill"]
FORMS: tuple[Form, ...] = ("short", "yesno", "fill")
Kind = Literal["document", "control"]
#: how every model under test is asked; recorded in eval.json so runs compare like with like
ASK_VERSION = "ask/v1"


class Neighbour(BaseModel):
    """The training question most similar to a quiz question (the near-duplicate check)."""

    question: str
    similarity: float = Field(ge=0.0, le=1.0)
    where: str = Field(default="", description="training file it was found in")


class QuizItem(BaseModel):
    """One quiz question with its reference answer (one line of ``quiz.jsonl``)."""

    id: str
    kind: Kind = "document"
    form: Form = "short"
    question: str
    answer: str = Field(description="the reference answer")
    evidence: str = Field(default="", description="the chunk's sentence that proves it")
    document: str = ""
    source_file: str = Field(default="", description="suggestions file of the chunk")
    chunk_id: str = ""
    pages: list[int] = Field(default_factory=list)
    headings: list[str] = Field(default_factory=list)
    chunk_text: str = Field(default="", description="the passage (open-book); empty for "
                            "control items")
    grounding: float | None = Field(default=None, description="how exactly the evidence "
                                    "is found in the chunk (1.0 = verbatim)")
    closest_training: Neighbour | None = None
    origin: str = Field(default="", description="prompt and model that wrote it, or "
                        "'control/v1', or 'review' for an item a person added")
    status: str = Field(default="draft", description="its review status")

    @staticmethod
    def make_id(chunk_id: str, question: str) -> str:
        return content_id("z", chunk_id, question)


def question_prompt(item: QuizItem) -> str:
    """The question as every model under test is asked it (closed-book: nothing else)."""
    if item.form == "fill":
        return f"Fill in the blank (reply with the missing words only): {item.question}"
    if item.form == "yesno":
        return f"{item.question}\nAnswer yes or no, then give one short reason."
    return item.question


def open_book_prompt(item: QuizItem) -> str:
    """The same question with its passage in view: the upper bound a model can reach."""
    passage = item.chunk_text.replace("</passage>", "</ passage>")
    return (f"Use this passage from \"{item.document}\" to answer.\n\n<passage>\n{passage}\n"
            f"</passage>\n\n{question_prompt(item)}")


def quiz_path(workdir: Path) -> Path:
    return workdir / QUIZ_NAME


def write_quiz(path: Path, items: list[QuizItem]) -> None:
    """``quiz.jsonl``, atomically: one item per line."""
    lines = [json.dumps(item.model_dump(mode="json"), ensure_ascii=False) for item in items]
    atomic_write_text(path, "".join(line + "\n" for line in lines))


def read_quiz(path: Path) -> list[QuizItem]:
    """Items of ``quiz.jsonl``; a line that does not parse is an error naming its line."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise InputError(f"{path}: no quiz yet; run `qaforge quiz {path.parent}` "
                         "first") from None
    items = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(QuizItem.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "line"
            raise InputError(f"{path}:{number}: not a quiz item ({where}: "
                             f"{first['msg']})") from None
    return items


def quiz_digest(items: list[QuizItem]) -> str:
    """sha256 of the items' questions and answers: two evals with equal digests asked the
    same quiz."""
    material = json.dumps([[i.id, i.question, i.answer] for i in items], ensure_ascii=False)
    return hashlib.sha256(encode_text(material)).hexdigest()


def control_items(limit: int | None = None) -> list[QuizItem]:
    """The shipped general-knowledge control questions (the first ``limit`` of them)."""
    data = json.loads(files(__package__).joinpath(CONTROL_SET).read_text(encoding="utf-8"))
    origin = f"control/{CONTROL_SET.split('_')[1].split('.')[0]}"
    items = [QuizItem(id=content_id("k", entry["question"]), kind="control",
                      form=entry.get("form", "short"), question=entry["question"],
                      answer=entry["answer"], document="(control)", origin=origin)
             for entry in data["items"]]
    return items if limit is None else items[:limit]
