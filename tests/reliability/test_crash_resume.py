"""Crash and resume: ``kill -9`` the real ``qaforge generate`` and ``qaforge refine`` at
random points (several seeds), let a person review between the runs, then finish.

Checked after every kill: every file on disk parses (atomic writes), nothing a person did
changed, and the next run sends no request for work already done (counted through the fake
backend's request log). At the end the work dir is exactly what one uninterrupted run
makes, plus the person's edits: no chunk or pair lost or duplicated.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import (
    PersonEdits,
    RequestLog,
    assert_json_file_whole,
    cli_env,
    diverse_workdir,
    kill_after_requests,
    kill_hard,
    pairs_of,
    run_cli,
    settled_chunks,
    start_cli,
    suggestions_by_name,
    words_pdf,
)

import pdfgen
from qaforge.journal import ChunkJournal
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend
from qaforge.records import Chunk, Suggestion, SuggestionsFile
from qaforge.refine.cache import CACHE_PATH, request_key
from qaforge.refine.evaluation_file import read_entries
from qaforge.suggestions import suggestions_dir, update_suggestions

SEEDS = [11, 23, 37]
KILLS = 4
CONCURRENCY = 2
GENERATE_ARGS = ["--backend", "fake", "--chunk-tokens", "64", "--pairs", "2",
                 "--concurrency", str(CONCURRENCY)]


@pytest.fixture(scope="module")
def pdf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pdfs")
    pdfgen.many_pages_pdf(folder, pages=16, lines_per_page=12, name="pages.pdf")
    pdfgen.plain_pdf(folder, pages=6, name="plain.pdf")
    pdfgen.long_paragraph_pdf(folder, steps=60, name="steps.pdf")
    return folder


@pytest.fixture(scope="module")
def reference(pdf_folder: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> dict[str, SuggestionsFile]:
    """What one uninterrupted run writes."""
    root = tmp_path_factory.mktemp("reference")
    done = run_cli(["generate", str(pdf_folder), "-o", str(root / "work"), *GENERATE_ARGS],
                   cwd=root)
    assert done.returncode == 0, done.stdout
    return suggestions_by_name(root / "work")


def review_between_runs(workdir: Path, rng: random.Random, edits: PersonEdits,
                        round_number: int) -> None:
    """What a person does after a crash: accepts and edits generated pairs, writes a pair
    into a chunk still waiting for the model, replaces another with seed-style text."""
    for path in sorted(suggestions_dir(workdir).glob("*_suggestions.json")):
        def change(data: SuggestionsFile, name: str = path.name) -> None:
            done = [c for c in data.chunks if c.state == "generated"
                    and isinstance(c.suggestions, list) and c.suggestions
                    and (name, c.id) not in edits.texts]
            waiting = [c for c in data.chunks if c.state == "pending"
                       and isinstance(c.suggestions, list) and not c.suggestions]
            for chunk in rng.sample(done, min(2, len(done))):
                pair = rng.choice(pairs_of(chunk))
                if rng.random() < 0.5:
                    pair.status = "accepted"
                else:
                    pair.question = f"Edited by a person in round {round_number}: {pair.question}"
                    pair.status = "edited"
                edits.record_pair(name, chunk.id, pair)
            if waiting:
                chunk = rng.choice(waiting)
                mine = Suggestion(id=f"person-{round_number}-{chunk.id}",
                                  question="What did the person ask here?",
                                  answer="Their own answer, kept ahead of the model's.",
                                  status="edited")
                chunk.suggestions = [mine]
                edits.record_pair(name, chunk.id, mine)
                waiting.remove(chunk)
            if waiting and round_number == 1:
                chunk = rng.choice(waiting)
                chunk.suggestions = ("**Question 1:** Who wrote this by hand?\n"
                                     "**Answer 1:** A person, while generate was down.")
                edits.texts[(name, chunk.id)] = chunk.suggestions

        update_suggestions(path, change)


def expected_files(reference: dict[str, SuggestionsFile], edits: PersonEdits
                   ) -> dict[str, list[Any]]:
    """The reference run's chunks with the person's edits applied."""
    out: dict[str, list[Any]] = {}
    for name, data in reference.items():
        chunks = []
        for chunk in data.chunks:
            pairs: Any = [p.model_dump() for p in pairs_of(chunk)]
            mine = [(key[2], value) for key, value in edits.pairs.items()
                    if key[:2] == (name, chunk.id)]
            for pair_id, (question, answer, status) in mine:
                known = [p for p in pairs if p["id"] == pair_id]
                if known:
                    known[0].update(question=question, answer=answer, status=status)
                else:  # written into a waiting chunk: kept ahead of the model's pairs
                    pairs.insert(0, {"id": pair_id, "question": question, "answer": answer,
                                     "status": status})
            if (name, chunk.id) in edits.texts:
                pairs = edits.texts[(name, chunk.id)]
            chunks.append((chunk.id, chunk.state, pairs))
        out[name] = chunks
    return out


def chunk_summary(files: dict[str, SuggestionsFile]) -> dict[str, list[Any]]:
    return {name: [(c.id, c.state, c.suggestions if isinstance(c.suggestions, str)
                    else [p.model_dump() for p in c.suggestions]) for c in data.chunks]
            for name, data in files.items()}


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_generate_survives_kill_9_at_random_points(seed: int, pdf_folder: Path,
                                                   reference: dict[str, SuggestionsFile],
                                                   tmp_path: Path) -> None:
    rng = random.Random(seed)
    workdir = tmp_path / "work"
    log = RequestLog(tmp_path / "requests.jsonl")
    env = cli_env(QAFORGE_FAKE_DELAY="0.03", QAFORGE_FAKE_LOG=str(log.path))
    args = ["generate", str(pdf_folder), "-o", str(workdir), *GENERATE_ARGS]
    total = sum(len(d.chunks) for d in reference.values())
    edits = PersonEdits()
    kills = partial = 0
    for round_number in range(1, KILLS + 1):
        settled = settled_chunks(workdir) if workdir.exists() else set()
        start = log.refresh()
        target = start + rng.randint(0, max(0, total - len(settled) - 1))
        process = start_cli(args, cwd=tmp_path, env=env, output=tmp_path / "output.txt")
        killed = kill_after_requests(process, log, target, pause=rng.uniform(0.0, 0.08))
        kills += killed
        requested = [entry["tag"] for entry in log.since(start)]
        # nothing that was already done was asked for again, nothing twice in one run
        assert not set(requested) & settled, sorted(set(requested) & settled)
        assert len(requested) == len(set(requested))
        now_settled = settled_chunks(workdir)  # also checks that every file parses
        partial += killed and len(settled) < len(now_settled) < total
        edits.assert_kept(workdir)
        review_between_runs(workdir, rng, edits, round_number)

    settled = settled_chunks(workdir)
    start = log.refresh()
    final = run_cli(args, cwd=tmp_path, env=env)
    assert final.returncode == 0, final.stdout
    assert re.search(rf"chunks done / total\W+{total} / {total}\b", final.stdout), final.stdout
    requested = [entry["tag"] for entry in log.since(start)]
    assert not set(requested) & settled
    assert chunk_summary(suggestions_by_name(workdir)) == expected_files(reference, edits)
    edits.assert_kept(workdir)
    # every kill loses at most the requests in flight
    assert log.refresh() <= total + kills * CONCURRENCY
    assert kills >= 2 and partial >= 1, (kills, partial)
    assert not (workdir / ".qaforge" / "generate.journal.jsonl").exists()
    print(f"seed {seed}: {kills} kills ({partial} mid-generation), {log.refresh()} requests "
          f"for {total} chunks")


# ------------------------------------------------------------------------------- refine

REFINE_ARGS = ["--judge-backend", "fake", "--concurrency", str(CONCURRENCY)]


def cached_keys(workdir: Path) -> set[str]:
    path = workdir / CACHE_PATH
    if not path.exists():
        return set()
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT key FROM replies")}


def keys_of(entry: dict[str, Any]) -> set[str]:
    """The cache keys a logged request would have (as a judge or as a correction)."""
    request = ChatRequest(messages=entry["messages"], schema=entry["schema"],
                          max_tokens=entry["max_tokens"], temperature=entry["temperature"])
    client = FakeBackend()
    return {request_key(kind, client, request) for kind in ("judge", "correct")}


def comparable_evaluation(workdir: Path) -> list[Any]:
    entries = list(read_entries(workdir / "evaluation.json"))  # inline or in shards
    for entry in entries:
        for verdict in (entry.get("verdict"), (entry.get("correction") or {}).get("verdict")):
            if verdict:
                verdict.pop("cached")
        if entry.get("correction"):
            entry["correction"].pop("cached")
    return entries


def suggestion_bytes(workdir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (workdir / "output_json").glob("*.json")}


@pytest.fixture(scope="module")
def refine_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("refine-reference")
    diverse_workdir(root / "work", random.Random(5))
    done = run_cli(["refine", str(root / "work"), *REFINE_ARGS], cwd=root)
    assert done.returncode == 0, done.stdout
    return root / "work"


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_refine_survives_kill_9_at_random_points(seed: int, refine_reference: Path,
                                                 tmp_path: Path) -> None:
    kill_refine_at_random_points(seed, refine_reference, tmp_path)


@pytest.mark.slow
def test_refine_with_evaluation_shards_survives_kill_9(refine_reference: Path,
                                                       tmp_path: Path) -> None:
    """The streaming report past its size (issue 20): evaluation.json an index of shards;
    after every kill the index and every shard it names are whole, and at the end only the
    last run's shards remain, with the entries one uninterrupted run writes."""
    workdir = kill_refine_at_random_points(SEEDS[0], refine_reference, tmp_path,
                                           QAFORGE_EVALUATION_SHARD_ENTRIES="7")
    named = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))[
        "entry_shards"]
    assert len(named) > 2
    assert sorted(p.name for p in (workdir / "evaluation").iterdir()) == sorted(
        s["path"].removeprefix("evaluation/") for s in named)


def assert_shards_whole(workdir: Path) -> None:
    if not (workdir / "evaluation.json").exists():  # killed before any run finished
        return
    index = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    for shard in index.get("entry_shards", []):
        assert_json_file_whole(workdir / shard["path"])
        assert (workdir / shard["path"]).exists(), shard


def kill_refine_at_random_points(seed: int, refine_reference: Path, tmp_path: Path,
                                 **extra_env: str) -> Path:
    rng = random.Random(seed)
    workdir = tmp_path / "work"
    shutil.copytree(refine_reference / "output_json", workdir / "output_json")
    before = suggestion_bytes(workdir)
    log = RequestLog(tmp_path / "requests.jsonl")
    env = cli_env(QAFORGE_FAKE_DELAY="0.03", QAFORGE_FAKE_LOG=str(log.path), **extra_env)
    args = ["refine", str(workdir), *REFINE_ARGS]
    summary = json.loads((refine_reference / "evaluation.json").read_text(encoding="utf-8"))[
        "summary"]
    calls = summary["model_calls"]
    requests = calls["judge"] + calls["correct"] + calls["re_judge"]
    kills = 0
    for _ in range(KILLS):
        cached = cached_keys(workdir)
        start = log.refresh()
        target = start + rng.randint(0, max(0, requests - len(cached) - 3 * CONCURRENCY))
        process = start_cli(args, cwd=tmp_path, env=env, output=tmp_path / "output.txt")
        kills += kill_after_requests(process, log, target, pause=rng.uniform(0.0, 0.08))
        for entry in log.since(start):
            assert not keys_of(entry) & cached, entry["tag"]  # answered before: not re-sent
        assert_json_file_whole(workdir / "cleaned_finetune.jsonl")
        assert_json_file_whole(workdir / "evaluation.json")
        assert_shards_whole(workdir)
        assert suggestion_bytes(workdir) == before  # refine never writes them

    cached = cached_keys(workdir)
    start = log.refresh()
    final = run_cli(args, cwd=tmp_path, env=env)
    assert final.returncode == 0, final.stdout
    for entry in log.since(start):
        assert not keys_of(entry) & cached, entry["tag"]
    assert (workdir / "cleaned_finetune.jsonl").read_bytes() == (
        refine_reference / "cleaned_finetune.jsonl").read_bytes()
    assert comparable_evaluation(workdir) == comparable_evaluation(refine_reference)
    assert kills >= 2, kills
    print(f"seed {seed}: {kills} kills, {log.refresh()} requests where one run makes "
          f"{requests} for {summary['pairs_in']} pairs")
    return workdir


# ------------------------------------------------------------------- torn writes, directly

REWRITE_LOOP = """
import os
import sys
from pathlib import Path
from qaforge.records import Suggestion
from qaforge.suggestions import update_suggestions
path = Path(sys.argv[1])
print("ready", flush=True)
for round in range(10**9):
    def change(data, round=round):
        for chunk in data.chunks:
            chunk.suggestions.append(Suggestion(id=f"r{os.getpid()}-{round}-{chunk.id}",
                                                question="Q" * 2000 + "?", answer="A"))
            del chunk.suggestions[:-3]
    update_suggestions(path, change)
"""


@pytest.mark.slow
def test_kill_9_during_rewrites_never_leaves_a_torn_file(tmp_path: Path) -> None:
    """A writer killed at random moments while rewriting a 2 MB file: the file always
    parses, as the old or the new version (``atomic_write_bytes``)."""
    workdir = tmp_path / "work"
    diverse_workdir(workdir, random.Random(1), documents=1, chunks=400)
    path = next((workdir / "output_json").glob("*_suggestions.json"))
    rng = random.Random(7)
    for _ in range(8):
        before = path.read_bytes()
        process = subprocess.Popen([sys.executable, "-c", REWRITE_LOOP, str(path)],
                                   stdout=subprocess.PIPE, cwd=tmp_path)
        assert process.stdout is not None and process.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.3, 0.9))
        assert kill_hard(process)
        process.stdout.close()
        data = suggestions_by_name(workdir)[path.name]
        assert len(data.chunks) == 400
        assert path.read_bytes() != before  # the writer got through some rewrites


def test_entry_journaled_after_a_torn_line_is_not_lost(tmp_path: Path) -> None:
    """A kill can tear the journal's last line; the next run's first entry must not be
    glued onto that fragment (it would be unreadable, and its chunk generated again)."""
    path = tmp_path / "generate.journal.jsonl"
    name = "a_suggestions.json"

    def done(chunk_id: str) -> Chunk:
        return Chunk(id=chunk_id, pages=[1, 1], text="t", state="generated",
                     suggestions=[Suggestion(id=f"q-{chunk_id}", question="Q?", answer="A")])

    first = ChunkJournal(path)
    first.append(name, done("c-1"))
    first.close()
    with open(path, "ab") as handle:  # the process died in the middle of this line
        handle.write(b'{"file": "a_suggestions.json", "chunk": {"id": "c-2", "pa')
    second = ChunkJournal(path)
    second.append(name, done("c-3"))
    second.close()
    assert sorted(ChunkJournal(path).replay()[name]) == ["c-1", "c-3"]


@pytest.mark.slow
def test_journaled_results_survive_a_run_over_other_pdfs(tmp_path: Path) -> None:
    """Killed after the model answered for ``first.pdf`` but before its file was written;
    the next run is over ``second.pdf`` only. The answer must still land (not be dropped
    with the journal and asked for again)."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    first = words_pdf(pdfs, "first.pdf", seed=1)
    second = words_pdf(pdfs, "second.pdf", seed=2)
    workdir = tmp_path / "work"
    args = ["-o", str(workdir), "--backend", "fake", "--chunk-tokens", "64"]
    assert run_cli(["generate", str(first), *args], cwd=tmp_path).returncode == 0
    path = suggestions_dir(workdir) / "first_suggestions.json"
    answered = suggestions_by_name(workdir)[path.name].chunks[0]
    journal = ChunkJournal(workdir / ".qaforge" / "generate.journal.jsonl")
    journal.append(path.name, answered)  # what the killed run had journaled...
    journal.close()

    def unanswered(data: SuggestionsFile) -> None:  # ...and not yet written
        data.chunks[0].state, data.chunks[0].suggestions = "pending", []

    update_suggestions(path, unanswered)
    log = RequestLog(tmp_path / "requests.jsonl")
    env = cli_env(QAFORGE_FAKE_LOG=str(log.path))
    assert run_cli(["generate", str(second), *args], cwd=tmp_path, env=env).returncode == 0
    assert suggestions_by_name(workdir)[path.name].chunks[0] == answered
    sent = log.refresh()
    assert run_cli(["generate", str(first), *args], cwd=tmp_path, env=env).returncode == 0
    assert log.refresh() == sent  # nothing of first.pdf was asked for again


WRITE_SHARDS = """
import sys
import time
from pathlib import Path
from qaforge.refine.evaluation_file import write_evaluation

def entries():
    for i in range(40):
        if i == 25:  # two shards of 10 written, the third on its way
            print("ready", flush=True)
            time.sleep(60)
        yield {"pair_id": f"new-{i}"}

write_evaluation(Path(sys.argv[1]), {"schema": "new"}, entries(), 40)
"""


def test_kill_9_while_writing_shards_keeps_the_previous_evaluation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed between shards: the old index still reads back whole, with its own shards;
    the dead run's shards go with the next run that finishes."""
    from qaforge.refine.evaluation_file import SHARD_ENV, write_evaluation

    path = tmp_path / "evaluation.json"
    monkeypatch.setenv(SHARD_ENV, "10")
    old = [{"pair_id": f"old-{i}"} for i in range(15)]
    write_evaluation(path, {"schema": "old"}, old, len(old))
    child = subprocess.Popen([sys.executable, "-c", WRITE_SHARDS, str(path)],
                             stdout=subprocess.PIPE, env={**cli_env(), SHARD_ENV: "10"})
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    assert kill_hard(child)
    child.stdout.close()
    assert len(list((tmp_path / "evaluation").iterdir())) == 4  # old 2 + the dead run's 2
    assert list(read_entries(path)) == old
    new = [{"pair_id": f"next-{i}"} for i in range(12)]
    write_evaluation(path, {"schema": "next"}, new, len(new))
    assert list(read_entries(path)) == new
    assert len(list((tmp_path / "evaluation").iterdir())) == 2
