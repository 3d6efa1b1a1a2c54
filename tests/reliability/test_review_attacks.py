"""The review server under attack and under load, on a real uvicorn on loopback.

Already covered in ``tests/review/test_review_security.py``: path traversal (16 request
forms and a symlink out of the work dir), missing or wrong session token, a cross-site form
post, foreign ``Origin`` and ``Host`` headers, bodies over the size limit (declared and
streamed), the CSP; in ``tests/review/test_review_api.py``: 12 concurrent clients adding
pairs to one file. Here: hostile bodies inside the size limit, and many clients writing a
file while a ``qaforge generate`` run writes the same file.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability_helpers import (
    cli_env,
    diverse_workdir,
    load_clean,
    pairs_of,
    run_cli,
    start_cli,
    wait_until,
    words_pdf,
)

from qaforge.records import SuggestionsFile
from qaforge.review.server import ReviewServer
from qaforge.suggestions import suggestions_dir, update_suggestions

DOC = "doc_suggestions.json"
OPS = f"/api/docs/{DOC}/ops"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "doc.pdf", seed=12, pages=4)
    work = tmp_path / "work"
    done = run_cli(["generate", str(pdfs), "-o", str(work), "--backend", "fake",
                    "--chunk-tokens", "48"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    return work


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, httpx.Client]]:
    """One server for the refused-body tests (none of them may change anything)."""
    work = tmp_path_factory.mktemp("served")
    diverse_workdir(work, random.Random(6), documents=1, chunks=3)
    (suggestions_dir(work) / "doc0_suggestions.json").rename(suggestions_dir(work) / DOC)
    with ReviewServer(work) as server, httpx.Client(
            base_url=server.base_url, timeout=60,
            headers={"X-QAForge-Token": server.token}) as http:
        yield work, http


HOSTILE_BODIES = {
    "nested arrays": b"[" * 400_000 + b"]" * 400_000,
    "nested objects": b'{"revision": "x", "op": ' + b'{"a":' * 150_000 + b"1"
                      + b"}" * 150_000 + b"}",
    "huge integer": b'{"revision": "x", "op": {"op": "add", "chunk": "c", "question": "q", '
                    b'"answer": "a", "index": ' + b"9" * 500_000 + b"}}",
    "huge float index": b'{"revision": "x", "op": {"op": "add", "chunk": "c", "question": '
                        b'"q", "answer": "a", "index": 1e308}}',
    "not UTF-8": b'{"revision": "\xff\xfe", "op": {}}',
    "NaN": b'{"revision": NaN, "op": {}}',
    "not JSON": b"revision=x&op=delete",
    "empty": b"",
    "unknown op": b'{"revision": "x", "op": {"op": "chmod", "chunk": "c"}}',
    "extra field": b'{"revision": "x", "op": {"op": "delete", "chunk": "c", "pair": "p", '
                   b'"path": "../../etc/passwd"}}',
    "text too long": json.dumps({"revision": "x", "op": {
        "op": "add", "chunk": "c", "question": "q" * 20_001, "answer": "a"}}).encode(),
}


@pytest.mark.parametrize("name", list(HOSTILE_BODIES))
def test_hostile_bodies_inside_the_size_limit_are_refused(
        name: str, served: tuple[Path, httpx.Client]) -> None:
    workdir, client = served
    path = suggestions_dir(workdir) / DOC
    before = path.read_bytes()
    response = client.post(OPS, content=HOSTILE_BODIES[name],
                           headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:200])
    assert client.get("/api/docs").status_code == 200  # still serving
    assert path.read_bytes() == before


@pytest.mark.slow
def test_many_clients_and_a_generate_run_write_one_file(workdir: Path, tmp_path: Path) -> None:
    """Eight reviewers accept pairs and write their own into waiting chunks while a
    generate run lands its results in the same file: every write is either refused as
    stale (and retried) or kept; the file is never corrupt and nothing is lost."""
    path = suggestions_dir(workdir) / DOC
    waiting: list[str] = []

    def reopen(data: SuggestionsFile) -> None:
        for chunk in data.chunks[1::2]:
            chunk.state, chunk.suggestions, chunk.raw = "pending", [], None
            waiting.append(chunk.id)

    update_suggestions(path, reopen)
    generate = start_cli(["generate", str(tmp_path / "pdfs"), "-o", str(workdir), "--backend",
                          "fake", "--chunk-tokens", "48", "--concurrency", "2",
                          "--no-skip-boilerplate"], cwd=tmp_path,
                         env=cli_env(QAFORGE_FAKE_DELAY="0.6"), output=tmp_path / "gen.txt")
    reviewed: dict[str, tuple[str, str]] = {}  # pair id -> (status, answer) last written
    written: dict[str, list[str]] = {}  # chunk id -> questions people added while it waited
    stale = [0]
    lock = threading.Lock()
    ready = load_clean(path)
    owned = [(c.id, p.id) for c in ready.chunks if c.id not in waiting
             for p in pairs_of(c)]

    def reviewer(number: int, server: ReviewServer) -> None:
        mine = owned[number::8]  # pairs only this reviewer changes
        with httpx.Client(base_url=server.base_url, timeout=60,
                          headers={"X-QAForge-Token": server.token}) as http:
            for step in range(12):
                while True:
                    doc = http.get(f"/api/docs/{DOC}").json()
                    pending = [c["id"] for c in doc["chunk_list"] if c["state"] == "pending"]
                    op: dict[str, Any]
                    if step % 3 == 0 and pending:
                        question = f"Reviewer {number}, note {step}: what matters here?"
                        op = {"op": "add", "chunk": pending[(number + step) % len(pending)],
                              "question": question, "answer": "This does."}
                    else:
                        chunk_id, pair_id = mine[step % len(mine)]
                        op = {"op": "update", "chunk": chunk_id, "pair": pair_id,
                              "status": "accepted" if step % 2 else "rejected",
                              "answer": f"Checked by reviewer {number} at step {step}."}
                    response = http.post(OPS, json={"revision": doc["revision"], "op": op})
                    if response.status_code == 409:
                        with lock:
                            stale[0] += 1
                        continue
                    assert response.status_code == 200, response.text
                    with lock:
                        if op["op"] == "add":
                            written.setdefault(op["chunk"], []).append(op["question"])
                        else:
                            reviewed[op["pair"]] = (op["status"], op["answer"])
                    break

    failures: list[BaseException] = []

    def guarded(number: int, server: ReviewServer) -> None:
        try:
            reviewer(number, server)
        except BaseException as exc:  # surfaced below: a thread's assert must fail the test
            failures.append(exc)

    with ReviewServer(workdir) as server:
        threads = [threading.Thread(target=guarded, args=(n, server)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
    assert not failures, failures
    assert wait_until(lambda: generate.poll() is not None, timeout=120)
    assert generate.returncode == 0, (tmp_path / "gen.txt").read_text()

    data = load_clean(path)  # parses, validates, no duplicate ids
    pairs = {p.id: p for c in data.chunks for p in pairs_of(c)}
    assert sum(map(len, written.values())) >= 8 and len(reviewed) >= 8, (written, reviewed)
    for pair_id, (status, answer) in reviewed.items():
        assert (pairs[pair_id].status, pairs[pair_id].answer) == (status, answer)
    for chunk in data.chunks:
        assert chunk.state == "generated"
        if chunk.id in written:
            questions = [p.question for p in pairs_of(chunk)]
            mine = questions[:len(written[chunk.id])]
            assert sorted(mine) == sorted(written[chunk.id])  # the person's first
            assert len(questions) > len(mine)  # then the model's
    assert not list(path.parent.glob("*.tmp"))
    print(f"8 reviewers x 12 writes beside a generate run: {stale[0]} stale refusals")
