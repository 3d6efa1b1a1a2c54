"""Step 6: write ``cleaned_finetune.jsonl`` and ``evaluation.json`` (both atomically).

The dataset holds one ``{"messages": [...]}`` line per kept or corrected pair, context
stripped, in file order. The evaluation accounts for every pair that entered: what was
found, what the judge said, what was corrected, what became of it and why, plus a summary.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qaforge.fileio import atomic_writer, encode_text
from qaforge.refine.evaluation_file import write_evaluation
from qaforge.refine.flags import model_judged
from qaforge.refine.load import FileReport
from qaforge.refine.pair_record import IN_DATASET, LABELS, PairRecord, Verdict

DATASET_NAME = "cleaned_finetune.jsonl"
EVALUATION_NAME = "evaluation.json"
EVALUATION_SCHEMA = "qaforge.evaluation/1"
DECISIONS = ("kept", "corrected", "skipped", "duplicate", "rejected", "malformed")

DEMO_JUDGE_WARNING = (
    "The judge is the bundled demo model (SmolLM2-135M). Measured on this project it gives "
    "every answer the same score, so its verdicts are recorded but did not decide anything: "
    "the deterministic checks (grounding, question form, duplicates) did. For a real judge "
    "pass --judge-model (e.g. a Qwen2.5 1.5B+ instruct GGUF) or an OpenAI-compatible server.")


@dataclass(slots=True)
class RefineSummary:
    """Counts and paths for the CLI's summary table (and ``qaforge run``)."""

    dataset_path: Path
    evaluation_path: Path
    pairs_in: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    labels: dict[str, int] = field(default_factory=dict)
    dataset_rows: int = 0
    retention_rate: float = 0.0
    files_read: int = 0
    files_failed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    demo_judge: bool = False
    judge_calls: int = 0
    correct_calls: int = 0
    model_errors: int = 0
    cache_hits: int = 0
    #: tokens refine's model calls generated (cached replies none)
    completion_tokens: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    #: share of informative sentences the dataset covers, rows per page, chunks skipped as
    #: having nothing to learn by reason (refine/coverage.py)
    sentence_coverage: float | None = None
    pairs_per_page: float | None = None
    chunks_skipped: dict[str, int] = field(default_factory=dict)
    #: pairs flagged per check (defect class), as in evaluation.json's summary.checks
    checks: dict[str, int] = field(default_factory=dict)
    #: per question form: pairs in and dataset rows (as in evaluation.json's summary.forms)
    forms: dict[str, dict[str, int]] = field(default_factory=dict)
    #: pairs in the running the judge was not asked about (see :class:`Tally`)
    not_asked: int = 0
    #: of ``labels``, those the deterministic checks gave without a model
    labels_by_checks: dict[str, int] = field(default_factory=dict)
    #: flagged pairs left uncorrected because none of the run's first rewrites passed
    #: (``refine.correct_trial``)
    correction_stopped: int = 0

    @property
    def ok(self) -> bool:
        return not self.files_failed

    def rows(self) -> list[tuple[str, str]]:
        """(name, value) lines for a summary table."""
        out = [("pairs in", str(self.pairs_in))]
        out += [(name, str(self.decisions.get(name, 0))) for name in DECISIONS]
        note = " (demo judge, not used)" if self.demo_judge else ""
        out += [(f"judged {label}{note}", str(self.labels.get(label, 0)
                                              - self.labels_by_checks.get(label, 0)))
                for label in LABELS]
        if self.labels.get("no verdict"):
            out.append(("judge gave no verdict", str(self.labels["no verdict"])))
        if self.not_asked:
            given = ", ".join(f"{label} {n}" for label, n in self.labels_by_checks.items())
            out.append(("labelled by the checks (no model asked)",
                        f"{self.not_asked} ({given})" if given else str(self.not_asked)))
        if self.chunks_skipped:
            out.append(("chunks skipped (nothing to learn)",
                        str(sum(self.chunks_skipped.values()))))
        out += [("dataset rows", str(self.dataset_rows)),
                ("retention", f"{self.retention_rate:.0%}"),
                ("coverage (sentences) / pairs per page", _coverage_text(
                    self.sentence_coverage, self.pairs_per_page)),
                ("defects by class", ", ".join(
                    f"{n} {code}" for code, n in sorted(
                        self.checks.items(), key=lambda item: (-item[1], item[0])))
                 or "none"),
                *([("pairs in / rows by form", ", ".join(
                    f"{form} {n['pairs_in']}/{n['dataset_rows']}"
                    for form, n in self.forms.items()))] if set(self.forms) - {"qa"} else []),
                ("model calls (judge / correct)", f"{self.judge_calls} / {self.correct_calls}"),
                *([("flagged, not corrected (too few rewrites passed the trial)",
                    str(self.correction_stopped))] if self.correction_stopped else []),
                ("tokens generated (per dataset row)", f"{self.completion_tokens:,} ("
                 f"{self.completion_tokens / max(self.dataset_rows, 1):.0f})"),
                ("cached replies reused", str(self.cache_hits)),
                ("files read / failed", f"{self.files_read} / {len(self.files_failed)}"),
                ("time", f"{self.seconds.get('total', 0.0):.1f} s")]
        return out


def _coverage_text(coverage: float | None, per_page: float | None) -> str:
    shown = "-" if coverage is None else f"{coverage:.0%}"
    return f"{shown} / {per_page or 0.0:.1f}"


def dataset_row(record: PairRecord, system_prompt: str = "") -> dict[str, Any]:
    messages = [{"role": "user", "content": record.final_question.strip()},
                {"role": "assistant", "content": record.final_answer.strip()}]
    # a conversation's later turns follow its (possibly corrected) first exchange
    messages += [{"role": t.get("role", ""), "content": t.get("content", "").strip()}
                 for t in record.turns[2:]]
    if record.final_reasoning.strip():  # beside the answer, never in it (chat templates' name)
        last = next(m for m in reversed(messages) if m["role"] == "assistant")
        last["reasoning_content"] = record.final_reasoning.strip()
    if system_prompt.strip():
        messages.insert(0, {"role": "system", "content": system_prompt.strip()})
    # provenance beside `messages` (trainers read only that), so a row joins evaluation.json
    # on (source_file, id == pair_id) without matching text
    verdict = (record.correction.verdict if record.decision == "corrected"
               and record.correction is not None else record.verdict)
    return {"messages": messages, "id": record.pair_id, "source_file": record.source_file,
            "document": record.document, "pages": record.pages, "chunk_id": record.chunk_id,
            "label": verdict.label if verdict is not None else None,
            "decision": record.decision, **({"form": record.form} if record.form != "qa" else {})}


def _messages(question: str, answer: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]


def _verdict_json(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    out = {"label": verdict.label, "scores": verdict.scores, "reason": verdict.reason,
           "model_label": verdict.model_label, "error": verdict.error, "model": verdict.model,
           "prompt": verdict.prompt, "cached": verdict.cached, "advisory": verdict.advisory}
    if verdict.checks is not None:  # the checks method's figures and what to fix
        out["checks"], out["fix"] = verdict.checks, verdict.fix
    if verdict.raw is not None:
        out["raw_reply"] = verdict.raw
    return out


def entry_json(record: PairRecord) -> dict[str, Any]:
    correction = record.correction
    return {
        "source_file": record.source_file, "document": record.document,
        "chunk_id": record.chunk_id, "pages": record.pages, "headings": record.headings,
        "pair_id": record.pair_id, "status": record.status, "origin": record.origin,
        "location": record.location,
        "form": record.form,
        "original_messages": _messages(record.question, record.answer),
        **({"turns": record.turns} if record.turns else {}),
        "grounding": record.grounding.model_dump(mode="json") if record.grounding else None,
        "checks": [i.model_dump(mode="json") for i in record.issues],
        "duplicate_of": record.duplicate_of,
        "verdict": _verdict_json(record.verdict),
        "flags": record.flags,
        "corrected_messages": (_messages(correction.question, correction.answer)
                               if correction is not None and not correction.error else None),
        "correction": None if correction is None else {
            "target": correction.target, "error": correction.error,
            "verdict": _verdict_json(correction.verdict),
            "grounding": (correction.grounding.model_dump(mode="json")
                          if correction.grounding else None),
            "checks": [i.model_dump(mode="json") for i in correction.issues],
            "cached": correction.cached},
        "final_decision": record.decision,
        "reason": record.reason,
        "in_dataset": record.decision in IN_DATASET,
    }


class Tally:
    """Everything the summary counts, gathered in one pass over the records (no list of
    them kept): decisions, labels, checks, and per suggestions file what reached the
    dataset."""

    def __init__(self) -> None:
        self.pairs_in = 0
        self.decisions: Counter[str] = Counter()
        self.labels: Counter[str] = Counter()
        #: of ``labels``, those the deterministic checks gave (no model asked)
        self.checks_labels: Counter[str] = Counter()
        self.correction_labels: Counter[str] = Counter()
        self.checks: Counter[str] = Counter()
        self.forms: dict[str, Counter[str]] = {}
        self.reviewed_flagged = 0
        self.judged = 0
        #: pairs in the running that got no verdict (a demo judge is not asked about the
        #: pairs the deterministic checks flag)
        self.not_asked = 0
        self.per_file: dict[str, _FileTally] = {}

    @classmethod
    def of(cls, records: Iterable[PairRecord]) -> Tally:
        tally = cls()
        for record in records:
            tally.add(record)
        return tally

    def add(self, record: PairRecord) -> None:
        self.pairs_in += 1
        self.decisions[record.decision] += 1
        if record.verdict is not None:
            self.labels[record.verdict.label or "no verdict"] += 1
        if model_judged(record.verdict):
            self.judged += 1
        elif record.flags:  # the checks flagged it and no model was asked
            self.not_asked += 1
            if record.verdict is not None and record.verdict.label:
                self.checks_labels[record.verdict.label] += 1
        if record.correction is not None and record.correction.verdict is not None:
            self.correction_labels[record.correction.verdict.label or "no verdict"] += 1
        self.checks.update(issue.code for issue in record.issues)
        form = self.forms.setdefault(record.form, Counter())
        form["pairs_in"] += 1
        form["dataset_rows"] += record.decision in IN_DATASET
        if record.reviewed and record.flags and record.decision == "kept":
            self.reviewed_flagged += 1
        mine = self.per_file.setdefault(record.source_file, _FileTally())
        mine.pairs += 1
        mine.chunks.add(record.chunk_id)
        if record.decision in IN_DATASET:
            mine.rows += 1
            mine.chunks_in_dataset.add(record.chunk_id)

    def close_file(self, path: str) -> None:
        """Every record of file ``path`` is counted: keep its chunk counts, not the ids."""
        mine = self.per_file.get(path)
        if mine is not None:
            mine.close()


@dataclass(slots=True)
class _FileTally:
    pairs: int = 0
    rows: int = 0
    chunks: set[str] = field(default_factory=set)
    chunks_in_dataset: set[str] = field(default_factory=set)
    closed_chunks: int = 0
    closed_in_dataset: int = 0

    @property
    def chunk_count(self) -> int:
        return self.closed_chunks + len(self.chunks)

    @property
    def in_dataset_count(self) -> int:
        return self.closed_in_dataset + len(self.chunks_in_dataset)

    def close(self) -> None:
        self.closed_chunks, self.closed_in_dataset = self.chunk_count, self.in_dataset_count
        self.chunks, self.chunks_in_dataset = set(), set()


def label_counts(records: Iterable[PairRecord]) -> dict[str, int]:
    """Judge labels of the records (``no verdict`` for a judge reply that gave none)."""
    return _labels(Tally.of(records))


def _labels(tally: Tally) -> dict[str, int]:
    return {name: tally.labels.get(name, 0) for name in (*LABELS, "no verdict")}


def coverage(tally: Tally, files: list[FileReport]) -> dict[str, Any]:
    """Per document: chunks by state, chunks with pairs, chunks that reached the dataset."""
    out: dict[str, Any] = {}
    names = Counter(report.document for report in files)
    for report in files:
        key = report.document or report.path
        if names[report.document] > 1 or key in out:
            key = f"{key} ({report.path})"
        if report.error:
            out[key] = {"file": report.path, "error": report.error}
            continue
        mine = tally.per_file.get(report.path, _FileTally())
        chunks = sum(report.chunk_states.values())
        with_rows = mine.in_dataset_count
        out[key] = {
            "file": report.path, "chunks": chunks,
            "chunks_generated": report.chunk_states.get("generated", 0),
            "chunks_pending": report.chunk_states.get("pending", 0),
            "chunks_failed": report.chunk_states.get("failed", 0),
            "chunks_with_pairs": mine.chunk_count,
            "chunks_in_dataset": with_rows,
            "chunk_coverage": round(with_rows / chunks, 4) if chunks else 0.0,
            "pairs_in": mine.pairs, "dataset_rows": mine.rows,
        }
    return out


def summarise(records: Iterable[PairRecord], files: list[FileReport],
              paths: tuple[Path, Path]) -> RefineSummary:
    """The counts of the run (one pass over ``records``)."""
    return summary_of(Tally.of(records), files, paths)


def summary_of(tally: Tally, files: list[FileReport], paths: tuple[Path, Path]
               ) -> RefineSummary:
    """The counts of the run, from its :class:`Tally`."""
    decisions = tally.decisions
    rows = decisions["kept"] + decisions["corrected"]
    considered = tally.pairs_in - decisions["rejected"]
    return RefineSummary(
        dataset_path=paths[0], evaluation_path=paths[1], pairs_in=tally.pairs_in,
        decisions={name: decisions.get(name, 0) for name in DECISIONS},
        labels=_labels(tally), dataset_rows=rows,
        retention_rate=round(rows / considered, 4) if considered else 0.0,
        files_read=sum(1 for f in files if f.ok),
        files_failed=[f.error for f in files if f.error],
        warnings=[w for f in files for w in f.warnings], checks=dict(tally.checks),
        forms=form_counts(tally), not_asked=tally.not_asked,
        labels_by_checks=dict(tally.checks_labels))


def form_counts(tally: Tally) -> dict[str, dict[str, int]]:
    """Pairs in and dataset rows per question form, most pairs first."""
    return {form: {"pairs_in": n["pairs_in"], "dataset_rows": n["dataset_rows"]}
            for form, n in sorted(tally.forms.items(), key=lambda i: -i[1]["pairs_in"])}


def write_outputs(workdir: Path, records: Sequence[PairRecord], files: list[FileReport],
                  summary: RefineSummary, *, system_prompt: str, meta: dict[str, Any]) -> None:
    """Write the dataset and the evaluation (each atomically; the dataset first), one
    record at a time (``records`` is gone through three times): no output is built in
    memory whole."""
    write_dataset(summary.dataset_path, records, system_prompt)
    write_report(summary, Tally.of(records), files, meta, (entry_json(r) for r in records))


def write_dataset(path: Path, records: Iterable[PairRecord], system_prompt: str,
                  seen: Callable[[PairRecord], None] = lambda record: None) -> None:
    """Write the dataset rows of ``records`` (atomically), one at a time; ``seen`` is
    shown every record as it goes by (to count them in the same pass)."""
    with atomic_writer(path) as dataset:
        for record in records:
            seen(record)
            if record.decision in IN_DATASET:
                dataset.write(encode_text(
                    json.dumps(dataset_row(record, system_prompt), ensure_ascii=False) + "\n"))


def write_report(summary: RefineSummary, tally: Tally, files: list[FileReport],
                 meta: dict[str, Any], entries: Iterable[dict[str, Any]]) -> None:
    """Write ``evaluation.json`` (atomically; sharded past a size): the summary, ``meta``,
    the files and ``entries`` (``tally.pairs_in`` of them), one at a time."""
    head = {
        "schema": EVALUATION_SCHEMA,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "demo_judge": DEMO_JUDGE_WARNING if summary.demo_judge else None,
        "summary": {
            "pairs_in": summary.pairs_in,
            "decisions": summary.decisions,
            "labels": summary.labels,
            "labels_by_checks": summary.labels_by_checks,
            "correction_labels": dict(tally.correction_labels),
            "checks": dict(tally.checks),
            "forms": form_counts(tally),
            "reviewed_flagged_kept": tally.reviewed_flagged,
            "dataset_rows": summary.dataset_rows,
            "retention_rate": summary.retention_rate,
            "retention_rate_means": "dataset rows / pairs in, not counting pairs a person "
                                    "rejected",
            "files_read": summary.files_read,
            "files_failed": summary.files_failed,
            "coverage": coverage(tally, files),
            **meta,
            "timings": summary.seconds,
        },
        "files": [{"path": f.path, "document": f.document, "error": f.error,
                   "warnings": f.warnings, "chunk_states": f.chunk_states,
                   "generator": f.generator} for f in files],
    }
    write_evaluation(summary.evaluation_path, head, entries, tally.pairs_in)


def now() -> float:
    return time.perf_counter()
