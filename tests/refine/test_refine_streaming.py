"""Refine streams its records (issue 20): they wait on disk between the steps and go
through them a bounded group at a time, so memory no longer grows with the pairs; the
outputs are exactly those of the whole-list steps."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import EIFFEL, NILE, chunk, pair, rubric, scripted, write_doc

from qaforge.config import RefineSettings
from qaforge.fileio import read_json
from qaforge.llm.fake import FakeBackend
from qaforge.refine import dedup, pipeline, refine_workdir
from qaforge.refine.cache import ReplyCache
from qaforge.refine.checks import check_questions
from qaforge.refine.correct import Corrector
from qaforge.refine.coverage import CoverageLedger, document_names
from qaforge.refine.dedup import deduplicate, deduplicate_rewrites
from qaforge.refine.evaluation_file import SHARD_ENV, read_entries
from qaforge.refine.grounding import ground
from qaforge.refine.judge import Judge
from qaforge.refine.load import load_workdir
from qaforge.refine.pair_record import IN_DATASET, PairRecord, Verdict
from qaforge.refine.report import DATASET_NAME, EVALUATION_NAME, dataset_row, entry_json

TOWER = "The tower is 330 metres tall."
LABELS = {"When was the Eiffel Tower completed?": "Needs Improvement",
          "In which city is the Eiffel Tower?": "Needs Improvement",
          "Is the tower tall?": "Needs Improvement",
          "Where do the two Niles join?": "Unclear"}
CORRECTIONS = {
    # a rewrite that duplicates a pair kept as it was, in a later file
    "When was the Eiffel Tower completed?": ("How tall is the Eiffel Tower?", TOWER),
    "What does the passage say about height?": (
        "What was the tallest man-made structure until 1930?",
        "The Eiffel Tower was the tallest man-made structure until 1930."),
    "In which city is the Eiffel Tower?": (
        "On which field in Paris does the Eiffel Tower stand?",
        "It stands on the Champ de Mars in Paris."),
    # a rewrite that duplicates an earlier file's rewrite
    "Is the tower tall?": ("What was the tallest man-made structure until 1930?",
                           "The Eiffel Tower was the tallest man-made structure until 1930."),
    # a rewrite near-duplicating a kept pair of its own file
    "Where do the two Niles join?": ("Where do the White and the Blue Nile meet?",
                                     "They meet at Khartoum in Sudan."),
}


def mixed_workdir(root: Path) -> Path:
    """Three documents whose duplicates, rewrites and reviewed pairs reach across files,
    with a malformed entry, a rejected pair and a person's free text."""
    write_doc(root, "alpha.pdf", [
        chunk(EIFFEL, [
            pair("a0", "Who designed the Eiffel Tower?",
                 "The company of Gustave Eiffel designed it."),
            pair("a1", "When was the Eiffel Tower completed?", "It was completed in 1889."),
            pair("a2", "What does the passage say about height?", TOWER),
            {"id": "a3", "question": "Broken?"},
            pair("a4", "Where is the Eiffel Tower?", "In Paris.", status="rejected"),
            pair("a5", "Into which sea does the Nile flow?", "Into the sea.")]),
        chunk(NILE, [pair("a6", "How long is the Nile?",
                          "The Nile is about 6,650 kilometres long.")], headings=["2 Nile"])])
    write_doc(root, "beta.pdf", [chunk(NILE, [
        pair("b0", "Into which sea does the Nile flow?",
             "It flows into the Mediterranean Sea.", status="accepted"),
        pair("b1", "Who was it that designed the Eiffel Tower?",
             "The company of Gustave Eiffel designed it."),
        pair("b2", "Where do the White and Blue Nile meet?", "They meet at Khartoum in Sudan."),
        pair("b3", "Where do the two Niles join?", "They meet at Khartoum in Sudan.")])])
    write_doc(root, "gamma.pdf", [
        chunk(EIFFEL, [
            pair("c0", "How tall is the Eiffel Tower?", TOWER),
            pair("c1", "What is the Eiffel Tower made of?", "It is a wrought-iron lattice tower."),
            pair("c2", "In which city is the Eiffel Tower?", "Paris."),
            pair("c3", "Is the tower tall?", "Yes, 330 metres.")]),
        chunk(NILE, "**Question 1:** In which direction does the Nile flow?\n"
                    "**Answer 1:** The Nile flows north.", headings=["3 River"])])
    return root


def judge_model() -> FakeBackend:
    return FakeBackend(scripted(LABELS, CORRECTIONS))


def whole_list_run(workdir: Path, exact_limit: int) -> tuple[list[dict[str, Any]],
                                                             list[dict[str, Any]],
                                                             dict[str, Any]]:
    """Refine as it was before: every step over the one list of every record."""
    settings = rubric()
    loaded = load_workdir(workdir)
    records = loaded.records
    check_questions(records)
    ground(records)
    deduplicate(records, settings.near_duplicate_threshold, exact_limit=exact_limit)
    client = judge_model()
    with ReplyCache(None) as cache:
        judge = Judge(client, cache, accept_threshold=settings.accept_threshold,
                      method=settings.judge_method)
        steps = pipeline.InProcessSteps(
            judge, Corrector(client, judge, cache, min_grounding=settings.min_grounding),
            [client])
        pipeline.judge_and_correct(records, settings, steps, pipeline.Laps())
    deduplicate_rewrites(records, settings.near_duplicate_threshold)
    covered = CoverageLedger({f.path: f.sentences for f in loaded.files
                              if f.sentences is not None}).add_all(records).report(
        document_names((f.path, f.document) for f in loaded.files))
    return ([dataset_row(r) for r in records if r.decision in IN_DATASET],
            [entry_json(r) for r in records], covered)


def streamed_outputs(workdir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                             dict[str, Any]]:
    rows = [json.loads(line) for line in
            (workdir / DATASET_NAME).read_text(encoding="utf-8").splitlines()]
    summary = read_json(workdir / EVALUATION_NAME)["summary"]
    return rows, list(read_entries(workdir / EVALUATION_NAME)), summary


@pytest.mark.parametrize("exact_limit", [0, dedup.EXACT_LIMIT])
def test_small_groups_give_the_outputs_of_the_whole_list(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_limit: int) -> None:
    """Groups of two records (split inside chunks and files), the near-duplicate index or
    the all-pairs comparison, entries sharded or inline: the dataset rows, every entry and
    the coverage are the ones the whole-list steps give."""
    expected_rows, expected_entries, expected_coverage = whole_list_run(
        mixed_workdir(tmp_path / "list"), exact_limit)
    monkeypatch.setattr(pipeline, "MODEL_BATCH", 2)
    monkeypatch.setattr(dedup, "EXACT_LIMIT", exact_limit)
    if exact_limit == 0:
        monkeypatch.setenv(SHARD_ENV, "4")
    workdir = mixed_workdir(tmp_path / "streamed")
    summary = refine_workdir(workdir, judge=judge_model(), settings=rubric())
    rows, entries, written = streamed_outputs(workdir)
    decisions = {e["pair_id"]: e["final_decision"] for e in entries}
    # the case is what it claims: duplicates and rewrites reach across files
    assert decisions["b1"] == "duplicate" and decisions["a5"] == "duplicate"
    assert decisions["a1"] == "duplicate" and decisions["c3"] == "duplicate"
    assert decisions["a2"] == "corrected" and decisions["c2"] == "corrected"
    assert decisions["b3"] == "duplicate" and decisions["a3"] == "malformed"
    assert rows == expected_rows
    assert entries == expected_entries
    assert written["sentence_coverage"] == expected_coverage
    assert summary.decisions == {name: sum(1 for d in decisions.values() if d == name)
                                 for name in summary.decisions}


def test_memory_holds_a_group_of_records_not_all_of_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PairRecord lived from load to write (~4 KB a pair: 4 GB at a million); now
    they wait on disk, and no more than a group's are alive at any step."""
    for n in range(12):
        write_doc(tmp_path, f"doc{n}.pdf", [chunk(EIFFEL if n % 2 else NILE, [
            pair(f"d{n}-{k}", f"Question {k} of document {n} about the facts here?",
                 f"Answer {k} of document {n}: the facts are as the passage says.")
            for k in range(10)])])
    monkeypatch.setattr(pipeline, "MODEL_BATCH", 5)
    monkeypatch.setattr(dedup, "EXACT_LIMIT", 0)
    alive: list[int] = []

    def records_alive() -> int:
        return sum(1 for o in gc.get_objects() if isinstance(o, PairRecord))

    # records another test left alive (a failed test's traceback keeps its locals) are not ours
    gc.collect()
    already = records_alive()

    def count(stage: str, done: int, total: int) -> None:
        alive.append(records_alive() - already)

    summary = refine_workdir(tmp_path, judge=FakeBackend(scripted()),
                             settings=RefineSettings(), progress=count)
    assert summary.pairs_in == 120 and alive
    assert max(alive) <= 30, alive


class ReplacingSteps:
    """:class:`ModelSteps` that, like the Ray runner's, put new record objects in the list
    they are given (a worker's copies come back)."""

    def judge(self, records: list[PairRecord]) -> pipeline.StepCalls:
        for i, record in enumerate(records):
            if record.active:
                records[i] = record.model_copy(update={"verdict": Verdict(
                    label="Clear", clarity=5, coherence=5, relevance=5, groundedness=5)})
        return pipeline.StepCalls(judge_calls=len(records))

    def correct(self, records: list[PairRecord]) -> pipeline.StepCalls:
        return pipeline.StepCalls()


def test_model_steps_store_the_records_a_runner_put_in_their_place(tmp_path: Path) -> None:
    """The store got back the objects it had handed out, so a Ray worker's verdicts (new
    objects in the list) were lost."""
    settings = RefineSettings()
    laps = pipeline.Laps()
    with pipeline.prepare_records(mixed_workdir(tmp_path), settings, laps) as prepared:
        pending = [pos for pos, _ in prepared.store.records("decision = 'pending'")]
        pipeline.model_steps(prepared, settings, ReplacingSteps(), laps, group=3)
        judged = [prepared.store.get(pos) for pos in pending]
    assert len(judged) == 12
    assert all(r.verdict is not None and r.verdict.label == "Clear" for r in judged)
