"""An export is all or nothing (issue 14 item 5): a kill or a failure at any moment leaves the
old export whole or the new one complete, never a new train.jsonl beside an old
validation.jsonl."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qaforge.export import ExportError, export_dataset
from qaforge.export import pipeline as pipeline_mod
from qaforge.export.writer import recover


def big_workdir(root: Path, rows: int) -> Path:
    """A refined dataset written directly: ``rows`` rows over 50 documents."""
    root.mkdir(parents=True)
    lines = []
    for i in range(rows):
        doc = f"doc{i % 50}.pdf"
        lines.append(json.dumps({
            "messages": [{"role": "user", "content": f"Question {i} about {doc}?"},
                         {"role": "assistant", "content": f"Answer {i}. " * 8}],
            "id": f"q-{i}", "source_file": f"output_json/doc{i % 50}_suggestions.json",
            "document": doc, "pages": [1, 1], "chunk_id": f"c-{i % 400}", "label": "Clear",
            "decision": "kept"}))
    (root / "cleaned_finetune.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def test_a_failure_between_files_leaves_the_old_export_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = big_workdir(tmp_path / "work", 200)
    export_dataset(work, split=0.9, seed=0)
    old = snapshot(work / "export")
    assert {"train.jsonl", "validation.jsonl", "README.md"} <= set(old)
    real, calls = pipeline_mod.atomic_write_text, []

    def fail_on_second(path: Path, text: str) -> None:
        calls.append(path.name)
        # the rows are streamed into the new folder first, then the card and configs
        assert (path.parent / "train.jsonl").is_file()
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(pipeline_mod, "atomic_write_text", fail_on_second)
    with pytest.raises(OSError, match="No space left"):
        export_dataset(work, fmt="alpaca", split=0.5, seed=7)
    assert len(calls) == 2
    assert snapshot(work / "export") == old
    assert [p.name for p in work.iterdir() if p.name.startswith(".")] == []


def test_recover_brings_back_an_export_moved_aside_and_drops_a_half_written_one(
        tmp_path: Path) -> None:
    out = tmp_path / "export"
    aside = tmp_path / ".export.qaforge-old-1234"
    aside.mkdir()
    (aside / "train.jsonl").write_text("old\n", encoding="utf-8")
    half = tmp_path / ".export.qaforge-new-5678"
    half.mkdir()
    (half / "train.jsonl").write_text("new\n", encoding="utf-8")
    recover(out)
    assert snapshot(out) == {"train.jsonl": b"old\n"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


@pytest.mark.slow
def test_kill_9_at_any_moment_never_mixes_two_exports(tmp_path: Path) -> None:
    work = big_workdir(tmp_path / "work", 20_000)
    export_dataset(work, split=0.9, seed=0)
    old = snapshot(work / "export")
    export_dataset(work, fmt="alpaca", split=0.8, seed=5, output=tmp_path / "reference")
    new = snapshot(tmp_path / "reference")
    command = [sys.executable, "-c", "from qaforge.cli import main; main()", "export",
               str(work), "--format", "alpaca", "--split", "0.8", "--seed", "5"]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    full = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert snapshot(work / "export") == new
    seen = set()
    for step in range(6):
        export_dataset(work, split=0.9, seed=0)  # back to the old export
        assert snapshot(work / "export") == old
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(full * (0.3 + 0.12 * step))
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
        recover(work / "export")  # what the next export does first
        now = snapshot(work / "export")
        assert now in (old, new), sorted(now)
        seen.add("old" if now == old else "new")
    assert "old" in seen  # at least one kill landed before the swap


def test_a_folder_with_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    work = big_workdir(tmp_path / "work", 20)
    export_dataset(work, split=0.5)
    (work / "export" / "notes.txt").write_text("mine\n", encoding="utf-8")
    before = snapshot(work / "export")
    with pytest.raises(ExportError, match=r"also holds notes.txt, which an export would "):
        export_dataset(work)
    assert snapshot(work / "export") == before


def test_export_streams_the_rows(tmp_path: Path) -> None:
    """Rows are read and written one at a time (issue 20): the export of a large dataset
    does not hold it whole (it held every row parsed, then every output file as one
    string). Same bytes as one string of every converted row, split by document."""
    import tracemalloc

    from qaforge.export.formats import export_row, read_dataset

    work = big_workdir(tmp_path / "work", 3000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = export_dataset(work, fmt="alpaca", split=0.8, seed=3)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak / 3000 < 400, f"{peak / 3000:.0f} bytes per row"
    rows = read_dataset(work / "cleaned_finetune.jsonl")
    train = (work / "export" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    validation = (work / "export" / "validation.jsonl").read_text(
        encoding="utf-8").splitlines()
    assert (result.train, result.validation) == (len(train), len(validation)) == (2400, 600)
    held = {json.loads(line)["document"] for line in validation}
    assert not held & {json.loads(line)["document"] for line in train}
    assert sorted(train + validation) == sorted(
        json.dumps(export_row(row, "alpaca"), ensure_ascii=False) for row in rows)
