"""A person's editor saving a suggestions file while the review page writes the same file.

An editor does not take qaforge's lock: it writes the file directly, by writing a temp file
and renaming it over the original or by truncating and rewriting it in place. Page edits go
over HTTP to a real review server on 127.0.0.1. Whatever the interleaving, every hand edit
that reached the disk must still be in the file at the end: a page edit based on a version
the editor has since replaced is refused (409), never written over the person's save.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import httpx

from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.review.server import ReviewServer
from qaforge.suggestions import serialize, suggestions_dir

DOC = "big_suggestions.json"
HAND_EDITS = 40
FILLER = "The pump moves water through the filter and back into the tank. " * 9


def big_file(chunks: int = 1100) -> SuggestionsFile:
    """About 2 MB: many chunks of text with three pairs each."""
    built = []
    for index in range(chunks):
        text = f"Section {index}. {FILLER}"
        chunk_id = Chunk.make_id(text, [f"H{index}"])
        pairs = [Suggestion(id=f"q-{index}-{j}", question=f"Question {index}.{j}?",
                            answer=f"Answer {index}.{j}. {FILLER[:200]}") for j in range(3)]
        built.append(Chunk(id=chunk_id, pages=[index + 1, index + 1], headings=[f"H{index}"],
                           text=text, suggestions=pairs, state="generated"))
    return SuggestionsFile(source=Source(file="big.pdf", sha256="0" * 64, pages=chunks),
                           generator=GeneratorInfo(backend="fake", model="m", prompt="qa/v1"),
                           chunks=built)


def editor_save(path: Path, number: int, in_place: bool) -> None:
    """What an editor does on save: its buffer (the file as it read it, plus one change)
    written over the file, without any lock."""
    old = f'"question": "Question {number}.1?"'.encode()
    data = path.read_bytes()
    assert old in data, number
    data = data.replace(old, f'"question": "Question {number}.1? [hand {number}]"'.encode())
    if in_place:
        with open(path, "r+b") as handle:
            handle.truncate(0)
            handle.write(data)
        return
    temp = path.with_name(f".{path.name}.editor~")
    temp.write_bytes(data)
    os.replace(temp, path)


def test_editor_saves_racing_page_edits_lose_no_hand_edit(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    path = suggestions_dir(workdir) / DOC
    path.parent.mkdir(parents=True)
    path.write_bytes(serialize(big_file()))
    assert path.stat().st_size > 2_000_000
    rng = random.Random(14)
    outcomes: dict[str, int] = {}
    stop = threading.Event()

    with ReviewServer(workdir) as server, httpx.Client(
            base_url=server.base_url, headers={"X-QAForge-Token": server.token},
            timeout=60) as http:
        document = http.get(f"/api/docs/{DOC}").json()
        revision = document["revision"]
        chunk = document["chunk_list"][0]["id"]

        def page() -> None:
            nonlocal revision
            turn = 0
            while not stop.is_set():
                turn += 1
                status = ("accepted", "rejected")[turn % 2]
                reply = http.post(f"/api/docs/{DOC}/ops", json={
                    "revision": revision,
                    "op": {"op": "update", "chunk": chunk, "pair": "q-0-0", "status": status}})
                body = reply.json()
                outcome = f"{reply.status_code} {body.get('kind', '')}".strip()
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                if body.get("revision"):  # written, or refused as stale: go on from there
                    revision = body["revision"]
                else:  # the editor's in-place save was half written when the page read
                    assert reply.status_code in (409, 422), body
                    time.sleep(0.005)

        writer = threading.Thread(target=page, daemon=True)
        writer.start()
        try:
            for number in range(1, HAND_EDITS + 1):
                time.sleep(rng.uniform(0, 0.15))
                editor_save(path, number, in_place=number % 2 == 0)
                if number % 5 == 0:  # a pause, so that page edits also land between saves
                    wrote = outcomes.get("200", 0)
                    deadline = time.monotonic() + 3
                    while outcomes.get("200", 0) == wrote and time.monotonic() < deadline:
                        time.sleep(0.01)
        finally:
            stop.set()
            writer.join(60)

    final = path.read_text(encoding="utf-8")
    lost = [n for n in range(1, HAND_EDITS + 1) if f"[hand {n}]" not in final]
    assert not lost, f"{len(lost)} of {HAND_EDITS} hand edits lost: {lost}; page: {outcomes}"
    assert outcomes.get("200"), outcomes  # the page did write in between
    print(f"\n{HAND_EDITS} editor saves, 0 lost; page edits: {outcomes}")
    leftovers = [p.name for p in path.parent.iterdir() if p.name not in (DOC, f".{DOC}.lock")]
    assert not leftovers, leftovers
