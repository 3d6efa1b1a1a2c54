"""Refine at scale (issue 20): the near-duplicate index is on disk and the report is
written entry by entry (sharded past a size), so memory per pair stays flat."""

from __future__ import annotations

import json
import random
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import EIFFEL, NILE, chunk, pair, scripted, write_doc

from qaforge.config import LLMSettings, RefineSettings
from qaforge.fileio import dumps_pretty, encode_text, read_json
from qaforge.llm import make_client
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import CLI_HISTORY, FakeBackend
from qaforge.refine import refine_workdir
from qaforge.refine.dedup import deduplicate
from qaforge.refine.evaluation_file import SHARD_DIR, SHARD_ENV, read_entries
from qaforge.refine.pair_record import PairRecord
from qaforge.refine.report import DATASET_NAME, EVALUATION_NAME, summarise, write_outputs

WORDS = [f"{a}{b}{c}" for a in ("ka", "lo", "mi", "ren", "sut", "va", "dor", "pel")
         for b in ("qui", "zan", "tor", "bex", "ny", "gra") for c in ("fol", "hem", "ju", "wis")]


def unrelated(count: int, seed: int = 3) -> list[PairRecord]:
    """``count`` pairs of random words; pair 10k+5 repeats pair 10k with two words changed
    (a near duplicate), pair 10k+7 asks pair 10k+1's question again."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        question = f"What does {' '.join(rng.choices(WORDS, k=4))} {i} do?"
        answer = " ".join(rng.choices(WORDS, k=18))
        if i % 10 == 5:
            words = records[i - 5].answer.split()
            words[3], words[11] = "changed", "words"
            question, answer = records[i - 5].question, " ".join(words)
            question = question.replace("What", "So what")
        elif i % 10 == 7:
            question = records[i - 6].question
        records.append(PairRecord(source_file="output_json/a.json", document="a.pdf",
                                  chunk_id=f"c-{i // 4}", pair_id=f"p{i}", question=question,
                                  answer=answer))
    return records


def test_indexed_dedup_finds_planted_duplicates_and_nothing_else() -> None:
    records = deduplicate(unrelated(600), exact_limit=0)
    duplicates = {r.pair_id: r.duplicate_of for r in records if r.decision == "duplicate"}
    assert duplicates == ({f"p{i}": f"p{i - 5}" for i in range(5, 600, 10)}
                          | {f"p{i}": f"p{i - 6}" for i in range(7, 600, 10)})
    assert all("near-duplicate" in records[i].reason for i in range(5, 600, 10))


def dedup_peak(records: list[PairRecord]) -> int:
    """Bytes Python allocated at the peak of deduplicating ``records``."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        deduplicate(records, exact_limit=0)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_indexed_dedup_memory_does_not_grow_with_the_pairs() -> None:
    """The MinHash index of every kept pair lived in memory (~1.3 KB a pair: 1.3 GB at a
    million); now it is a temporary SQLite file, so Python holds ~the sort order only.
    Measured as the growth from 1,000 to 4,000 pairs: a fixed cost (SQLite's page cache,
    whatever earlier tests left warm) is not per pair and differs from run to run."""
    deduplicate(unrelated(50), exact_limit=0)  # one-time imports and caches are not per pair
    small, large = unrelated(1000), unrelated(4000)
    per_pair = (dedup_peak(large) - dedup_peak(small)) / (len(large) - len(small))
    assert per_pair < 300, f"{per_pair:.0f} bytes per extra pair"


# ------------------------------------------------------------ evaluation.json, streamed

LONE_SURROGATE = " \ud800"


def small_workdir(root: Path) -> Path:
    """Two documents, eight pairs, with non-ASCII text and a lone surrogate in one answer."""
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, [
        pair(f"e{i}", f"Question {i} about the tower ({'é' * i})?",
             f"The tower is 330 metres tall, fact {i}." + (LONE_SURROGATE if i == 2 else ""))
        for i in range(5)])])
    write_doc(root, "nile.pdf", [chunk(NILE, [
        pair(f"n{i}", f"Which sea does the Nile reach, take {i}?",
             "The Nile flows into the Mediterranean Sea.") for i in range(3)])])
    return root


FACTS = [("Who designed the Eiffel Tower?", "The company of Gustave Eiffel designed it."),
         ("When was the Eiffel Tower completed?", "It was completed in 1889."),
         ("How tall is the Eiffel Tower?", "The tower is 330 metres tall."),
         ("What is the Eiffel Tower made of?", "It is a wrought-iron lattice tower."),
         ("Into which sea does the Nile flow?", "It flows into the Mediterranean Sea."),
         ("How long is the Nile?", "The Nile is about 6,650 kilometres long."),
         ("Where do the White and Blue Nile meet?", "They meet at Khartoum in Sudan."),
         ("In which direction does the Nile flow?", "The Nile flows north.")]


def distinct_workdir(root: Path) -> Path:
    """Eight pairs that are no duplicates of each other."""
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, [pair(f"e{i}", q, a)
                                                  for i, (q, a) in enumerate(FACTS[:4])])])
    write_doc(root, "nile.pdf", [chunk(NILE, [pair(f"n{i}", q, a)
                                              for i, (q, a) in enumerate(FACTS[4:])])])
    return root


def refine(workdir: Path) -> dict[str, Any]:
    refine_workdir(workdir, judge=FakeBackend(scripted()), settings=RefineSettings())
    return json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))


def test_evaluation_json_written_piece_by_piece_is_the_house_style(tmp_path: Path) -> None:
    """Streamed entry by entry, the file is byte for byte what one ``dumps_pretty`` of the
    whole report gave (tools and tests that read the small report see no change)."""
    evaluation = refine(small_workdir(tmp_path))
    assert len(evaluation["entries"]) == 8 and "entry_shards" not in evaluation
    raw = (tmp_path / "evaluation.json").read_bytes()
    assert raw == encode_text(dumps_pretty(evaluation))
    assert b"\\ud800" in raw


def test_evaluation_past_the_limit_is_an_index_and_shards(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = refine(small_workdir(tmp_path / "inline"))
    workdir = small_workdir(tmp_path / "sharded")
    (workdir / SHARD_DIR).mkdir()
    (workdir / SHARD_DIR / "notes.jsonl").write_text("a person's file\n")
    monkeypatch.setenv(SHARD_ENV, "3")
    index = refine(workdir)
    assert "entries" not in index and index["entries_total"] == 8
    assert [s["entries"] for s in index["entry_shards"]] == [3, 3, 2]
    shards = sorted(p.name for p in (workdir / SHARD_DIR).glob("entries-*.jsonl"))
    assert shards == sorted(s["path"].split("/")[1] for s in index["entry_shards"])

    def comparable(entries: Any) -> list[dict[str, Any]]:
        return [{k: v for k, v in e.items() if k != "verdict"} for e in entries]

    assert comparable(read_entries(workdir / "evaluation.json")) == comparable(
        reference["entries"])
    assert index["summary"]["decisions"] == reference["summary"]["decisions"]
    assert index["summary"]["coverage"] == reference["summary"]["coverage"]

    refine(workdir)  # a second sharded run replaces the first run's shards
    assert len(list((workdir / SHARD_DIR).glob("entries-*.jsonl"))) == 3
    monkeypatch.delenv(SHARD_ENV)
    assert len(refine(workdir)["entries"]) == 8  # small again: inline, old shards gone
    assert [p.name for p in (workdir / SHARD_DIR).iterdir()] == ["notes.jsonl"]


def test_writing_the_outputs_holds_no_whole_report_in_memory(tmp_path: Path) -> None:
    """The report was one dict of every entry, then one string of all of it (~15 KB a
    pair at 83k pairs); now each entry is written as it is made."""
    records = unrelated(3000)
    for record in records:
        record.decision = "kept"
        record.chunk_text = "A long chunk of text. " * 40
    summary = summarise(records, [], (tmp_path / DATASET_NAME, tmp_path / EVALUATION_NAME))
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        write_outputs(tmp_path, records, [], summary, system_prompt="", meta={})
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak / len(records) < 300, f"{peak / len(records):.0f} bytes per pair"
    assert len(read_json(tmp_path / EVALUATION_NAME)["entries"]) == 3000


def test_the_cli_fake_backend_remembers_only_its_latest_requests() -> None:
    """``--backend fake`` kept every request (prompt and chunk: ~3 KB a pair judged), so
    the scale benchmark measured the test double; tests' own fakes still keep all."""
    client = make_client(LLMSettings(backend="fake"))
    assert isinstance(client, FakeBackend)
    for i in range(CLI_HISTORY + 50):
        client.complete(ChatRequest(messages=[{"role": "user", "content": f"say {i}"}]))
    assert len(client.history) == CLI_HISTORY
    assert client.history[-1].messages[0]["content"] == f"say {CLI_HISTORY + 49}"
    assert isinstance(FakeBackend().history, list)


def test_model_steps_take_the_pairs_in_bounded_batches(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every judge request was built before the first was sent (all pairs' prompts in
    memory at once); now at most MODEL_BATCH at a time, with progress over the whole run
    and the same verdicts."""
    from qaforge.refine import judge as judge_module
    from qaforge.refine import pipeline

    reference = refine(distinct_workdir(tmp_path / "whole"))
    sizes: list[int] = []
    real = judge_module.ask_json

    def spy(client: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(requests))
        return real(client, requests, *args, **kwargs)

    monkeypatch.setattr(judge_module, "ask_json", spy)
    monkeypatch.setattr(pipeline, "MODEL_BATCH", 3)
    seen: list[tuple[str, int, int]] = []
    workdir = distinct_workdir(tmp_path / "batched")
    refine_workdir(workdir, judge=FakeBackend(scripted()), settings=RefineSettings(),
                   progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert sizes and max(sizes) <= 3 and sum(sizes) == 8
    judged = [(done, total) for stage, done, total in seen if stage == "judge"]
    assert judged[-1] == (8, 8) and judged == sorted(judged)
    batched = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert [e["verdict"]["label"] for e in batched["entries"]] == [
        e["verdict"]["label"] for e in reference["entries"]]
