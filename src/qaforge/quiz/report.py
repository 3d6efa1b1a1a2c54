"""``eval.json`` and the summaries: accuracy per mode, per document, per form, control.

Accuracy is the mean judge score (yes 1, partial 0.5, no 0) over the answers the judge
graded; ``f1`` and ``recall`` are the deterministic token scores over every answer. An
answer the judge could not grade counts in ``ungraded``, never as wrong or right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from qaforge.fileio import atomic_write_json
from qaforge.quiz.evaluate import GRADE_PROMPT, Answer, ModelAnswers
from qaforge.quiz.items import ASK_VERSION, QuizItem, quiz_digest

EVAL_NAME = "eval.json"


def stat(answers: Iterable[Answer]) -> dict[str, Any]:
    """``n``, ``accuracy`` (None when nothing was graded), ``f1``, ``recall``, ``ungraded``,
    ``judge_disagrees`` (grades the token scores contradict: :attr:`Answer.disagrees`)."""
    answers = list(answers)
    scores = [a.score for a in answers if a.score is not None]
    n = len(answers)
    return {"n": n,
            "accuracy": round(sum(scores) / len(scores), 4) if scores else None,
            "f1": round(sum(a.f1 for a in answers) / n, 4) if n else None,
            "recall": round(sum(a.recall for a in answers) / n, 4) if n else None,
            "ungraded": n - len(scores),
            "judge_disagrees": sum(1 for a in answers if a.disagrees)}


def summarise(items: Sequence[QuizItem], answers: ModelAnswers) -> dict[str, Any]:
    """One model's summary: closed / open (document items), control, per document, per form."""
    by_id = {item.id: item for item in items}
    groups: dict[tuple[str, ...], list[Answer]] = defaultdict(list)
    for answer in answers.answers:
        item = by_id[answer.item_id]
        if item.kind == "control":
            groups[("control",)].append(answer)
            continue
        groups[(answer.mode,)].append(answer)
        groups[("document", item.document, answer.mode)].append(answer)
        groups[("form", item.form, answer.mode)].append(answer)
    out: dict[str, Any] = {mode: stat(groups[(mode,)]) for mode in ("closed", "open")}
    out["control"] = stat(groups[("control",)])
    for key, title in (("document", "per_document"), ("form", "per_form")):
        table: dict[str, dict[str, Any]] = {}
        for group, members in sorted((k, v) for k, v in groups.items() if k[0] == key):
            table.setdefault(group[1], {})[group[2]] = stat(members)
        out[title] = table
    return out


def eval_document(items: Sequence[QuizItem], results: Sequence[ModelAnswers], *,
                  judge: dict[str, Any], quiz: dict[str, Any]) -> dict[str, Any]:
    """Everything ``eval.json`` holds: the setup, each model's summary, every answer."""
    per_item: dict[str, dict[str, dict[str, Any]]] = defaultdict(lambda: defaultdict(dict))
    for answers in results:
        for answer in answers.answers:
            per_item[answer.item_id][answers.label][answer.mode] = answer.to_json()
    return {
        "quiz": {**quiz, "items": len(items), "sha256": quiz_digest(list(items)),
                 "documents": sum(1 for i in items if i.kind == "document"),
                 "control": sum(1 for i in items if i.kind == "control")},
        "ask": ASK_VERSION,
        "judge": {**judge, "prompt": GRADE_PROMPT},
        "models": [{"label": r.label, **r.model, "summary": summarise(items, r)}
                   for r in results],
        "items": [{"id": item.id, "kind": item.kind, "form": item.form,
                   "document": item.document, "pages": item.pages, "question": item.question,
                   "reference": item.answer, "evidence": item.evidence,
                   "closest_training": (item.closest_training.model_dump()
                                        if item.closest_training else None),
                   "status": item.status, "results": per_item.get(item.id, {})}
                  for item in items],
    }


def write_eval(path: Path, document: dict[str, Any]) -> None:
    atomic_write_json(path, document)


def _cell(value: dict[str, Any] | None) -> str:
    if not value or not value.get("n"):
        return "-"
    accuracy = value["accuracy"]
    shown = f"{accuracy:.0%}" if accuracy is not None else "ungraded"
    return f"{shown} (F1 {value['f1']:.2f}, n={value['n']})"


def comparison_rows(document: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the comparison table: one column per model, and a change
    column (last model minus first) when there are two or more."""
    models = document["models"]
    header = ["", *[m["label"] for m in models]]
    change = len(models) >= 2
    if change:
        header.append(f"{models[-1]['label']} - {models[0]['label']}")
    keys: list[tuple[str, list[str]]] = [("closed-book", ["closed"]),
                                         ("open-book", ["open"]), ("control", ["control"])]
    summary0 = models[0]["summary"] if models else {}
    for form in summary0.get("per_form", {}):
        keys.append((f"  {form} (closed)", ["per_form", form, "closed"]))
    for doc in summary0.get("per_document", {}):
        keys.append((f"  {doc} (closed)", ["per_document", doc, "closed"]))
    rows = []
    for title, path in keys:
        values = [_dig(m["summary"], path) for m in models]
        row = [title, *[_cell(v) for v in values]]
        if change:
            first, last = values[0], values[-1]
            if first and last and first.get("accuracy") is not None \
                    and last.get("accuracy") is not None:
                row.append(f"{(last['accuracy'] - first['accuracy']) * 100:+.0f} pts")
            else:
                row.append("-")
        rows.append(row)
    return header, rows


def _dig(data: dict[str, Any], path: list[str]) -> dict[str, Any] | None:
    value: Any = data
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, dict) else None
