"""Hostile text in chunks and in model output: markup and script, control characters, lone
surrogates, a 100,000-character line, right-to-left and CJK scripts.

It must round-trip exactly through the suggestions file and into ``cleaned_finetune.jsonl``
and ``evaluation.json``, every file valid UTF-8 JSON, and come back unchanged from the
review API. Text extracted from a hostile PDF is checked in ``tests/extract/test_errors.py``;
the page rendering it inert in ``test_review_pages.py`` beside this file and
``tests/review/test_review_browser.py``.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from reliability_helpers import diverse_workdir, load_clean, pairs_of, run_cli, words_pdf

import qaforge.cli.generate as generate_cli
from qaforge.cli import cli
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.refine import refine_workdir
from qaforge.review.server import ReviewServer
from qaforge.suggestions import suggestions_dir
from refine.refine_helpers import rubric

LONG_LINE = "Long line: " + " ".join(f"w{n}" for n in range(20_000)) + " end."
assert len(LONG_LINE) > 100_000
# chunk text -> the pair the model writes about it (hostile too, answer taken from the text)
HOSTILE: dict[str, tuple[str, str]] = {
    "Manual section 4 prints <script>alert('x')</script> and <img src=x onerror=alert(1)> "
    "verbatim. Operators must never paste them into a browser.":
        ("Why must operators never paste <script>alert('x')</script> into a browser?",
         "Manual section 4 prints <script>alert('x')</script> and <img src=x onerror=alert(1)> "
         "verbatim."),
    "Control characters \x00\x01\x07\x1b[31m, a \u202e reversed run, a zero\u200bwidth space "
    "and a \ufeff byte order mark stay in the pump manual.":
        ("Which control characters \x1b[31m stay in the pump manual?",
         "Control characters \x00\x01\x07\x1b[31m, a \u202e reversed run and a zero\u200bwidth "
         "space stay in the pump manual."),
    "A lone \ud800 high and a lone \udfff low surrogate came from a broken font in the manual.":
        ("Where did the lone \udfff surrogate come from?",
         "A lone \ud800 high and a lone \udfff low surrogate came from a broken font."),
    LONG_LINE:
        ("What ends the very long line of the pump log?", LONG_LINE[:20_000]),
    "שלום עולם means hello world in Hebrew. مرحبا بالعالم means the same in Arabic.":
        ("What does שלום עולם mean in Hebrew?", "שלום עולם means hello world in Hebrew."),
    (CJK := "水泵每分钟可输送四十升水。它由十二伏电池供电。重量为三点二公斤。"):
        ("水泵每分钟可输送多少水？", "水泵每分钟可输送四十升水。"),
}


def hostile_model(request: ChatRequest) -> str:
    """The model: for a generation prompt, the hostile pair of the chunk it shows."""
    prompt = request.messages[-1]["content"]
    for text, (question, answer) in HOSTILE.items():
        if text in prompt:
            return json.dumps({"pairs": [{"question": question, "answer": answer}]})
    return echo_pairs(request)


@pytest.fixture
def hostile_workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Suggestions written by the real ``qaforge generate`` for chunks of hostile text."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "hostile.pdf", seed=9, pages=1)
    workdir = tmp_path / "work"
    args = ["generate", str(pdfs), "-o", str(workdir), "--backend", "fake"]
    runner = CliRunner()
    assert runner.invoke(cli, args).exit_code == 0
    path = suggestions_dir(workdir) / "hostile_suggestions.json"
    doc = json.loads(path.read_bytes())
    # the chunks as extraction would have produced them from a hostile PDF
    template = doc["chunks"][0]
    doc["chunks"] = [{**template, "id": f"c-hostile-{i}", "text": text, "state": "pending",
                      "suggestions": [], "headings": [text[:40]]}
                     for i, text in enumerate(HOSTILE)]
    path.write_bytes(json.dumps(doc, ensure_ascii=True).encode())
    monkeypatch.setattr(generate_cli, "make_client",
                        lambda _settings: FakeBackend(hostile_model))
    result = runner.invoke(cli, args)
    assert result.exit_code == 0 and result.exception is None, result.output
    return workdir


def strict_json(path: Path) -> Any:
    """Parse a file that must be valid UTF-8 (no surrogates smuggled in as bytes)."""
    text = path.read_bytes().decode("utf-8")  # raises on invalid UTF-8
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return json.loads(text)


def test_hostile_text_round_trips_through_the_suggestions_file(hostile_workdir: Path) -> None:
    path = suggestions_dir(hostile_workdir) / "hostile_suggestions.json"
    strict_json(path)
    chunks = load_clean(path).chunks
    assert [c.text for c in chunks] == list(HOSTILE)
    for chunk in chunks:
        assert chunk.state == "generated"
        assert [(p.question, p.answer) for p in pairs_of(chunk)] == [
            HOSTILE[chunk.text]]


def test_hostile_text_reaches_the_dataset_exactly(hostile_workdir: Path,
                                                  tmp_path: Path) -> None:
    done = run_cli(["refine", str(hostile_workdir), "--judge-backend", "fake"], cwd=tmp_path,
                   timeout=300)
    assert done.returncode == 0, done.stdout
    rows = strict_json(hostile_workdir / "cleaned_finetune.jsonl")
    pairs = {(row["messages"][0]["content"], row["messages"][1]["content"]) for row in rows}
    assert pairs == set(HOSTILE.values())
    evaluation = strict_json(hostile_workdir / "evaluation.json")
    originals = {(e["original_messages"][0]["content"], e["original_messages"][1]["content"])
                 for e in evaluation["entries"]}
    assert originals == set(HOSTILE.values())


def test_cjk_questions_pass_the_question_form_check() -> None:
    from qaforge.refine.checks import question_issues

    assert question_issues(*HOSTILE[CJK]) == []
    assert question_issues("ポンプは毎分何リットルの水を送りますか？",
                           "ポンプは毎分四十リットルの水を送ります。") == []


def test_review_api_returns_hostile_text_unchanged(hostile_workdir: Path) -> None:
    with ReviewServer(hostile_workdir) as server, httpx.Client(
            base_url=server.base_url, headers={"X-QAForge-Token": server.token},
            timeout=60) as http:
        response = http.get("/api/docs/hostile_suggestions.json")
        assert response.status_code == 200, response.text[:300]
        response.content.decode("utf-8")
        chunks = response.json()["chunk_list"]
        assert [c["text"] for c in chunks] == list(HOSTILE)
        assert [(c["pairs"][0]["question"], c["pairs"][0]["answer"]) for c in chunks] == list(
            HOSTILE.values())
        first = chunks[2]  # the lone surrogates: edit through the API and read back
        body = {"revision": response.json()["revision"],
                "op": {"op": "update", "chunk": first["id"], "pair": first["pairs"][0]["id"],
                       "answer": "Still \ud800 here, edited."}}
        update = http.post("/api/docs/hostile_suggestions.json/ops",  # as JSON.stringify sends it
                           content=json.dumps(body), headers={"Content-Type": "application/json"})
        assert update.status_code == 200, update.text
    chunks = load_clean(suggestions_dir(hostile_workdir) / "hostile_suggestions.json").chunks
    pair = pairs_of(chunks[2])[0]
    assert (pair.answer, pair.status) == ("Still \ufffd here, edited.", "edited")  # as shown


def test_judge_reply_with_a_lone_surrogate_gives_a_verdict(tmp_path: Path) -> None:
    diverse_workdir(tmp_path, random.Random(4), documents=1, chunks=2, pairs=2)

    def judge(request: ChatRequest) -> str:
        return json.dumps({"clarity": 5, "coherence": 5, "relevance": 5, "groundedness": 5,
                           "label": "Clear", "reason": "Grounded \ud800 and clear."})

    summary = refine_workdir(tmp_path, judge=FakeBackend(judge), settings=rubric())
    assert summary.labels["no verdict"] == 0 and summary.labels["Clear"] > 0
    strict_json(tmp_path / "evaluation.json")


def test_reply_cache_stores_a_lone_surrogate(tmp_path: Path) -> None:
    from qaforge.refine.cache import ReplyCache

    with ReplyCache(tmp_path / "cache.sqlite") as cache:
        cache.put("key", "judge", {"reason": "Grounded \ud800 and clear."})
        assert cache.get("key") == {"reason": "Grounded \ud800 and clear."}
