"""Garbage from the model: empty replies, endless repetition up to the token limit, JSON of
the wrong shape, prose, code fences, control characters, failed requests.

Stage 1 runs through the real ``qaforge generate`` command (click) with a scripted backend
in place of the model; stage 3 through ``refine_workdir``. Nothing crashes, every bad reply
is counted in the run's summary, and kept verbatim where a person can look at it. Parser
details are unit-tested in ``tests/test_qa_parsing.py`` and ``tests/test_generate.py``.
"""

from __future__ import annotations

import json
import random
import re
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from reliability_helpers import diverse_workdir, load_clean, pairs_of, words_pdf

import qaforge.cli.generate as generate_cli
from qaforge.cli import cli
from qaforge.llm.base import ChatRequest, Completion, LLMError
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.refine import refine_workdir
from qaforge.suggestions import suggestions_dir
from refine.refine_helpers import rubric

REPETITION = "the pump the pump " * 400
GARBAGE = {  # reply -> the chunk stays failed, with this reply kept verbatim as its raw text
    "empty": "",
    "repetition": REPETITION,
    "wrong types": '{"pairs": [{"question": 5, "answer": ["a"]}, "junk", null]}',
    "prose": "I'm sorry, but as an AI language model I cannot write questions about this.",
    "cut off": '{"pairs": [{"question": "What does the pump move?", "answer": "Water fr',
    "control": "\x00\x07\x1b[31m\u202e\ufeff \ud800 not pairs at all \udfff",
    "empty list": '{"pairs": []}',
}
FENCED = ('Here you go:\n```json\n{"pairs": [{"question": "What does the fenced reply '
          'hold?", "answer": "A pair inside a code fence."}]}\n```')


class GarbageBackend(FakeBackend):
    """Replies by chunk (the same garbage to the retry); repetition ends at the limit."""

    def __init__(self, plan: dict[str, str | BaseException]) -> None:
        super().__init__(self.reply, max_concurrency=3)
        self.plan = plan

    def reply(self, request: ChatRequest) -> str | BaseException:
        return self.plan.get(request.tag, echo_pairs(request))

    def _complete(self, request: ChatRequest, cancel: threading.Event | None) -> Completion:
        done = super()._complete(request, cancel)
        if done.text == REPETITION:
            done.finish_reason = "length"
        return done


def test_generate_counts_and_keeps_every_unusable_reply(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "doc.pdf", seed=3, pages=4)
    workdir = tmp_path / "work"
    args = ["generate", str(pdfs), "-o", str(workdir), "--backend", "fake",
            "--chunk-tokens", "64"]
    runner = CliRunner()
    assert runner.invoke(cli, args).exit_code == 0  # chunks and their ids
    path = suggestions_dir(workdir) / "doc_suggestions.json"
    ids = [c.id for c in load_clean(path).chunks]
    kinds = [*GARBAGE, "fenced", "request failed"]
    assert len(ids) > len(kinds), "the test PDF needs more chunks"
    plan: dict[str, str | BaseException] = dict(zip(ids, [*GARBAGE.values(), FENCED,
                                                          LLMError("HTTP 500 from the server")],
                                                     strict=False))

    def reopen_all(raw: bytes) -> bytes:
        doc = json.loads(raw)
        for chunk in doc["chunks"]:
            chunk.update(state="pending", suggestions=[], raw=None, error=None)
        return json.dumps(doc).encode()

    path.write_bytes(reopen_all(path.read_bytes()))
    backend = GarbageBackend(plan)
    monkeypatch.setattr(generate_cli, "make_client", lambda _settings: backend)
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    failed = len(GARBAGE) + 1
    assert re.search(rf"chunks unparseable\W+{failed}\b", result.output), result.output
    assert len(backend.history) == len(ids) + failed  # each bad one retried once, no more

    chunks = {c.id: c for c in load_clean(path).chunks}
    for chunk_id, (kind, reply) in zip(ids, zip(kinds, plan.values(), strict=False),
                                       strict=False):
        chunk = chunks[chunk_id]
        if kind == "fenced":
            assert chunk.state == "generated" and chunk.raw == FENCED
            assert pairs_of(chunk)[0].answer == "A pair inside a code fence."
        elif kind == "request failed":
            assert chunk.state == "failed" and "HTTP 500" in (chunk.error or "")
        else:
            assert chunk.state == "failed" and chunk.suggestions == [], kind
            assert chunk.raw == reply, kind  # verbatim, control characters and all
            assert (chunk.error or "").startswith("unparseable model output"), kind
            if kind == "repetition":
                assert "token limit" in (chunk.error or "")
    assert all(c.state == "generated" for i, c in chunks.items() if i not in plan)


JUDGE_GARBAGE = {
    "empty": "",
    "prose": "This pair looks fine to me, I would say it is clear.",
    "wrong types": json.dumps({"clarity": "high", "coherence": None, "relevance": [5],
                               "groundedness": 9, "label": 3, "reason": {"a": 1}}),
    "repetition": "Clear " * 300,
    "control": "\x00\x1b[2J\ud800{not json",
}
JUDGE_FENCED = "```json\n" + json.dumps({"clarity": 5, "coherence": 5, "relevance": 5,
                                         "groundedness": 5, "label": "Clear",
                                         "reason": "Fenced but fine."}) + "\n```"


def judge_plan(workdir: Path) -> dict[str, str]:
    """A garbage kind for the first pairs (by pair id), a fenced reply for the next one."""
    pair_ids = [pair.id for path in sorted(suggestions_dir(workdir).glob("*.json"))
                for chunk in load_clean(path).chunks
                for pair in pairs_of(chunk) if pair.status != "rejected"]
    replies = [*JUDGE_GARBAGE.values(), JUDGE_FENCED]
    return dict(zip(pair_ids, replies, strict=False))


def scripted_judge(plan: dict[str, str]) -> FakeBackend:
    def reply(request: ChatRequest) -> str:
        pair_id = request.tag.split(":")[1] if ":" in request.tag else ""
        return plan.get(pair_id, echo_pairs(request))

    return FakeBackend(reply)


@pytest.fixture
def judged(tmp_path: Path) -> tuple[Path, dict[str, str], FakeBackend]:
    diverse_workdir(tmp_path, random.Random(2), documents=2, chunks=3, pairs=3)
    plan = judge_plan(tmp_path)
    judge = scripted_judge(plan)
    summary = refine_workdir(tmp_path, judge=judge, settings=rubric())
    assert summary.labels["no verdict"] == len(JUDGE_GARBAGE)
    assert ("judge gave no verdict", str(len(JUDGE_GARBAGE))) in summary.rows()
    return tmp_path, plan, judge


def test_refine_counts_unusable_judge_replies_and_goes_on(
        judged: tuple[Path, dict[str, str], FakeBackend]) -> None:
    workdir, plan, judge = judged
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert evaluation["summary"]["labels"]["no verdict"] == len(JUDGE_GARBAGE)
    garbage_ids = list(plan)[:len(JUDGE_GARBAGE)]
    for pair_id in garbage_ids:
        verdict = entries[pair_id]["verdict"]
        assert verdict["label"] is None and "could not be parsed after one retry" in (
            verdict["error"] or "")
    fenced = entries[list(plan)[len(JUDGE_GARBAGE)]]["verdict"]
    assert fenced["label"] == "Clear" and fenced["reason"] == "Fenced but fine."
    retried = [r.tag for r in judge.history if r.tag.endswith(":retry")]
    assert len(retried) == len(JUDGE_GARBAGE)  # one retry each, then recorded
    for line in (workdir / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines():
        json.loads(line)


def test_refine_keeps_unusable_judge_replies_verbatim(
        judged: tuple[Path, dict[str, str], FakeBackend]) -> None:
    workdir, plan, _ = judged
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    for pair_id in list(plan)[:len(JUDGE_GARBAGE)]:
        assert entries[pair_id]["verdict"]["raw_reply"] == plan[pair_id]
