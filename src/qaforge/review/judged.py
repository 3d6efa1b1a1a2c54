"""What refine found about each pair, read from ``WORKDIR/evaluation.json`` for the review page.

The review page shows, on each pair card, the judge's label and reason, the deterministic
checks and flags with their reasons, what refine decided and its rewrite, so a person can
spend time where it pays (the "flagged" filter). The evaluation is refine's file: it is only
ever read here, and it is untrusted like every work-dir file: entries of the wrong shape are
skipped, strings and lists are capped, and the page shows every string as text.

Both layouts refine writes are read: one ``evaluation.json`` holding ``entries``, or (past a
size) an index whose ``entry_shards`` name JSON Lines files, ``[{"path":
"evaluation/entries-....jsonl", "entries": n}, ...]`` relative to the index, one entry a line;
a shard named outside the work dir is not read. The judge's evidence is an entry's
``grounding.sentences`` (``[start, end)`` offsets into the chunk text) or its ``evidence``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.fileio import JsonFileError, parse_json_bytes
from qaforge.refine.flags import CHECKS_ONLY
from qaforge.refine.report import DECISIONS, EVALUATION_NAME, LABELS
from qaforge.review.highlight import Span, to_utf16_spans
from qaforge.safe_paths import inside

SHARD_DIR = "evaluation"
MAX_BYTES = 256 << 20  # all files together: past this the review page shows no verdicts
MAX_ENTRIES = 500_000
MAX_TEXT = 2_000  # a reason, a flag or a check's message
MAX_PAIR_TEXT = 20_000  # a question or answer (originals and rewrites)
MAX_ITEMS = 20  # flags, checks or evidence spans of one pair
MAX_ID = 300
#: a person's own decision, not something to look at again
_NOT_FLAGGED_DECISIONS = frozenset({"kept", "rejected", ""})

Key = tuple[str, str]  # (chunk id, pair id)


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[:limit] + "…"


def _texts(value: Any) -> tuple[str, ...]:
    items = value if isinstance(value, list) else []
    return tuple(_text(item) for item in items[:MAX_ITEMS] if isinstance(item, str) and item)


def _same_text(question: str, answer: str) -> tuple[str, str]:
    """The form in which a judged pair is compared with the current one."""
    return _text(question.strip(), MAX_PAIR_TEXT), _text(answer.strip(), MAX_PAIR_TEXT)


def _pair_of(messages: Any, shape: Callable[[str, str], tuple[str, str]] | None = None
             ) -> tuple[str, str] | None:
    """(question, answer) from ``[{"role": "user", ...}, {"role": "assistant", ...}]``."""
    if not isinstance(messages, list):
        return None
    by_role = {m.get("role"): m.get("content") for m in messages[:4] if isinstance(m, dict)}
    question, answer = by_role.get("user"), by_role.get("assistant")
    if not isinstance(question, str) or not isinstance(answer, str):
        return None
    if shape is not None:
        return shape(question, answer)
    return _text(question, MAX_PAIR_TEXT), _text(answer, MAX_PAIR_TEXT)


def _checks(value: Any) -> tuple[dict[str, str], ...]:
    items = value if isinstance(value, list) else []
    out = []
    for item in items[:MAX_ITEMS]:
        if isinstance(item, dict) and isinstance(item.get("message"), str):
            out.append({"code": _text(item.get("code"), 60), "message": _text(item["message"]),
                        "severity": "fix" if item.get("severity") == "fix" else "note"})
    return tuple(out)


def _evidence(entry: dict[str, Any]) -> tuple[tuple[int, int, str | None], ...] | None:
    """Spans as ``[start, end]`` or ``{"start", "end", "text"?}`` (chunk offsets)."""
    value = entry.get("evidence")
    grounding = entry.get("grounding")
    if value is None and isinstance(grounding, dict):
        value = grounding.get("sentences")
    if not isinstance(value, list):
        return None
    out = []
    for item in value[:MAX_ITEMS]:
        if isinstance(item, dict):
            start, end, text = item.get("start"), item.get("end"), item.get("text")
        elif isinstance(item, list) and len(item) == 2:
            (start, end), text = item, None
        else:
            continue
        if type(start) is int and type(end) is int and 0 <= start < end:
            out.append((start, end, text if isinstance(text, str) else None))
    return tuple(out)


def _judge_answer(verdict: dict[str, Any]) -> str:
    checks = verdict.get("checks")
    return _text(checks.get("model_answer")) if isinstance(checks, dict) else ""


def _judge_cited(verdict: dict[str, Any]) -> str:
    """The sentences the judge said answer the question (the cite check, alone or inside
    the strict method's figures)."""
    checks = verdict.get("checks")
    if not isinstance(checks, dict):
        return ""
    cited = checks.get("cite")
    return _text((cited if isinstance(cited, dict) else checks).get("cited_text"))


@dataclass(frozen=True, slots=True)
class Judged:
    """One pair as refine saw it: verdict, checks, flags, decision (all validated, capped)."""

    label: str | None
    advisory: bool
    #: the label is the deterministic checks' (refine asked no model about this pair)
    by_checks: bool
    reason: str
    error: str
    #: the judge's own answer from the passage (the checks method), to set beside the pair's
    judge_answer: str
    #: the passage's sentences the judge said answer the question (the cite check)
    judge_cited: str
    checks: tuple[dict[str, str], ...]
    flags: tuple[str, ...]
    decision: str
    decision_reason: str
    judged: tuple[str, str] | None
    rewrite: tuple[str, str] | None
    evidence: tuple[tuple[int, int, str | None], ...] | None

    @classmethod
    def from_entry(cls, entry: dict[str, Any]) -> Judged:
        found = entry.get("verdict")
        verdict: dict[str, Any] = found if isinstance(found, dict) else {}
        label = verdict.get("label")
        decision = entry.get("final_decision")
        return cls(label=label if label in LABELS else None,
                   advisory=verdict.get("advisory") is True,
                   by_checks=verdict.get("model") == CHECKS_ONLY,
                   reason=_text(verdict.get("reason")), error=_text(verdict.get("error")),
                   judge_answer=_judge_answer(verdict), judge_cited=_judge_cited(verdict),
                   checks=_checks(entry.get("checks")), flags=_texts(entry.get("flags")),
                   decision=decision if decision in DECISIONS else "",
                   decision_reason=_text(entry.get("reason")),
                   judged=_pair_of(entry.get("original_messages"), _same_text),
                   rewrite=_pair_of(entry.get("corrected_messages")),
                   evidence=_evidence(entry))

    @property
    def flagged(self) -> bool:
        """Worth a person's look: a label other than Clear (from a judge that decided), a
        flag or a check, or a decision other than keeping it."""
        unclear = self.label != "Clear" and not self.advisory and bool(self.label or self.error)
        return unclear or bool(self.flags or self.checks) or (
            self.decision not in _NOT_FLAGGED_DECISIONS)

    def stale(self, question: str, answer: str) -> bool:
        """The pair changed since refine judged it (its verdict is about other text)."""
        return self.judged is None or self.judged != _same_text(question, answer)

    def evidence_spans(self, chunk_text: str) -> list[Span]:
        """The evidence spans that fit ``chunk_text`` (and quote it, when they say what)."""
        spans: list[Span] = []
        for start, end, quoted in self.evidence or ():
            if end <= len(chunk_text) and (quoted is None or chunk_text[start:end] == quoted):
                spans.append((start, end))
        return spans

    def view(self, question: str, answer: str) -> dict[str, Any]:
        """The JSON the page shows on the pair's card."""
        rewrite = self.rewrite if self.rewrite and self.rewrite != self.judged else None
        return {"label": self.label, "advisory": self.advisory, "by_checks": self.by_checks,
                "reason": self.reason,
                "error": self.error, "judge_answer": self.judge_answer,
                "judge_cited": self.judge_cited,
                "checks": list(self.checks), "flags": list(self.flags),
                "decision": self.decision, "decision_reason": self.decision_reason,
                "rewrite": None if rewrite is None else {"question": rewrite[0],
                                                         "answer": rewrite[1]},
                "flagged": self.flagged, "stale": self.stale(question, answer)}


def judge_support(judged: Judged | None, question: str, answer: str,
                  chunk_text: str) -> list[Span] | None:
    """UTF-16 spans of the judge's evidence for the current pair text, or ``None`` (then the
    page falls back to the grounding highlight)."""
    if judged is None or judged.evidence is None or judged.stale(question, answer):
        return None
    spans = judged.evidence_spans(chunk_text)
    return to_utf16_spans(spans, chunk_text) if spans else None


@dataclass(slots=True)
class Evaluation:
    """The evaluation as read: per suggestions file (work-dir relative), per (chunk, pair)."""

    files: dict[str, dict[Key, Judged]] = field(default_factory=dict)
    entries: int = 0
    note: str | None = None

    def for_file(self, source_file: str) -> dict[Key, Judged]:
        return self.files.get(source_file, {})

    def status(self) -> dict[str, Any]:
        return {"entries": self.entries, "note": self.note}


def read_raw_entries(workdir: Path) -> tuple[list[Any], str | None]:
    """The raw entries of ``WORKDIR/evaluation.json`` (whole or sharded) and a note saying
    why some or all could not be read; ``([], None)`` when refine has not run."""
    index_path = workdir / EVALUATION_NAME
    if not index_path.is_file():
        return [], None
    if not inside(workdir, index_path):
        return [], f"{EVALUATION_NAME} resolves outside the work dir; not read"
    try:
        size = index_path.stat().st_size
        if size > MAX_BYTES:
            return [], (f"{EVALUATION_NAME} is {size:,} bytes, over the review page's cap "
                        f"({MAX_BYTES:,}); not read")
        index = parse_json_bytes(index_path.read_bytes(), index_path)
    except (OSError, JsonFileError) as exc:
        return [], f"{EVALUATION_NAME}: {exc}"
    if not isinstance(index, dict):
        return [], f"{EVALUATION_NAME} is not a JSON object; not read"
    if "entry_shards" in index:
        return _read_shards(workdir, index["entry_shards"])
    entries = index.get("entries")
    return (entries, None) if isinstance(entries, list) else (
        [], f"{EVALUATION_NAME} has no list of entries; not read")


def _read_shards(workdir: Path, shards: Any) -> tuple[list[Any], str | None]:
    if not isinstance(shards, list):
        return [], f"{EVALUATION_NAME}: 'entry_shards' is not a list; not read"
    paths = [workdir / shard["path"] for shard in shards
             if isinstance(shard, dict) and isinstance(shard.get("path"), str)]
    entries: list[Any] = []
    budget = MAX_BYTES
    for path in paths:
        if not inside(workdir, path) or not path.is_file():
            return entries, f"{path.name}: missing or outside the work dir; verdicts partial"
        try:
            raw = path.read_bytes()[:budget + 1]
        except OSError as exc:
            return entries, f"{path.name}: cannot be read ({exc.strerror or exc})"
        budget -= len(raw)
        if budget < 0:
            return entries, (f"the evaluation shards are over the review page's cap "
                             f"({MAX_BYTES:,} bytes); verdicts partial")
        for line in raw.splitlines():
            if line.strip():
                try:
                    entries.append(parse_json_bytes(line, path))
                except JsonFileError:
                    continue  # one bad line costs only its entry
    return entries, None


def build_evaluation(raw: list[Any], note: str | None) -> Evaluation:
    """Index the well-shaped entries by suggestions file, chunk and pair (first one wins)."""
    evaluation = Evaluation(note=note)
    if len(raw) > MAX_ENTRIES:
        raw, evaluation.note = raw[:MAX_ENTRIES], f"over {MAX_ENTRIES} entries; partial"
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        names = [entry.get(k) for k in ("source_file", "chunk_id", "pair_id")]
        if not all(isinstance(n, str) and 0 < len(n) <= MAX_ID for n in names):
            continue
        source_file, chunk_id, pair_id = (str(n) for n in names)
        per_file = evaluation.files.setdefault(source_file, {})
        if (chunk_id, pair_id) not in per_file:
            per_file[(chunk_id, pair_id)] = Judged.from_entry(entry)
            evaluation.entries += 1
    return evaluation


class EvaluationReader:
    """Reads the evaluation again only when one of its files changed (size or mtime)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._evaluation = Evaluation()

    def _signature_now(self) -> tuple[Any, ...]:
        stamps = []
        for path in [self.workdir / EVALUATION_NAME,
                     *sorted((self.workdir / SHARD_DIR).glob("*.jsonl"))]:
            try:  # the link itself too: a symlink swapped in keeps its target's stat
                link, info = path.lstat(), path.stat()
            except OSError:
                continue
            stamps.append((path.name, link.st_ino, info.st_mtime_ns, info.st_size, info.st_ino))
        return tuple(stamps)

    def current(self) -> Evaluation:
        """The evaluation as it is on disk now (empty when refine has not run)."""
        with self._lock:
            signature = self._signature_now()
            if signature != self._signature:
                self._evaluation = build_evaluation(*read_raw_entries(self.workdir))
                self._signature = signature
            return self._evaluation
