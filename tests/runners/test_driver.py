"""The stage-1 driver both runners call: the which-chunks-need-the-model rule, once."""

from __future__ import annotations

from pathlib import Path

from qaforge.config import GenerateSettings
from qaforge.progress import SilentReporter
from qaforge.records import Chunk, GeneratorInfo, Source, SuggestionsFile
from qaforge.runners.driver import GenerateDriver, needs_model
from qaforge.suggestions import write_suggestions


def _chunk(n: int, state: str) -> Chunk:
    return Chunk(id=f"c{n}", pages=[1, 1], text=f"Chunk number {n}.", state=state)  # type: ignore[arg-type]


def test_needs_model_rule() -> None:
    pending, failed, generated = _chunk(1, "pending"), _chunk(2, "failed"), _chunk(3, "generated")
    once, retry = ("pending",), ("pending", "failed")
    assert needs_model(pending, {}, once) and needs_model(failed, {}, retry)
    assert not needs_model(failed, {}, once) and not needs_model(generated, {}, retry)
    # a finished result the file refused so far is done: not sent again...
    assert not needs_model(pending, {"c1": _chunk(1, "generated")}, once)
    assert not needs_model(pending, {"c1": _chunk(1, "failed")}, once)
    # ...unless it failed and this run retries failures
    assert needs_model(pending, {"c1": _chunk(1, "failed")}, retry)


def test_queue_file_and_settled_agree_and_identical_chunks_generate_once(tmp_path: Path) -> None:
    chunks = [_chunk(1, "pending"), _chunk(2, "failed"), _chunk(3, "generated")]
    paths = []
    for name in ("a_suggestions.json", "b_suggestions.json"):
        path = tmp_path / "output_json" / name
        path.parent.mkdir(exist_ok=True)
        write_suggestions(path, SuggestionsFile(
            source=Source(file=name.replace("_suggestions.json", ".pdf"), sha256="0" * 64,
                          pages=1), chunks=chunks,
            generator=GeneratorInfo(backend="fake", model="m", prompt="qa/v1")))
        paths.append(path)
    driver = GenerateDriver(tmp_path, GenerateSettings(retry_failed=True), SilentReporter())
    driver.open_writer({p.name: p for p in paths})
    jobs = driver.queue_file(paths[0].name, paths[0])
    assert [j.chunk.id for j in jobs] == ["c1", "c2"] and jobs[0].document == "a.pdf"
    assert driver.queue_file(paths[1].name, paths[1]) == []  # the same chunks: queued once
    assert driver.owners == {"c1": [paths[0].name, paths[1].name],
                             "c2": [paths[0].name, paths[1].name]}
    assert driver.settled(paths[0].name, chunks) == ["c3"]
    summary = driver.summary
    assert (summary.chunks_total, summary.chunks_done) == (6, 2)
    assert driver.left == {paths[0].name: 2, paths[1].name: 2}
    driver.close_writer()
