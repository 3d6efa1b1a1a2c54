"""The Ray runner on a real local Ray cluster, against the local runner on the same input.

The LLM here is qaforge's fake backend or a real OpenAI-compatible HTTP server on loopback
(:class:`~qaforge.testing.FakeOpenAIServer`) that the Ray actors call over the network;
``test_ray_model.py`` does the same with the real bundled model.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from ray_helpers import (
    chunks_of,
    evaluation_without_timings,
    ray_cluster,
    small_pdfs,
    suggestion_files,
)

import pdfgen
from qaforge.config import GenerateSettings, LLMSettings, RefineSettings
from qaforge.fileio import atomic_write_json
from qaforge.llm import make_client
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import echo_pairs
from qaforge.progress import SilentReporter
from qaforge.records import Chunk, suggestions_filename
from qaforge.refine import refine_workdir
from qaforge.runners.local import run_generate
from qaforge.runners.ray import run_generate_ray
from qaforge.runners.ray_refine import refine_workdir_ray
from qaforge.testing import FakeOpenAIServer

pytestmark = [pytest.mark.ray, pytest.mark.slow]
__all__ = ["ray_cluster"]  # the session fixture, imported for pytest

FAKE = LLMSettings(backend="fake")


def local_generate(pdfs: list[Path], workdir: Path, llm: LLMSettings,
                   settings: GenerateSettings) -> Any:
    with make_client(llm) as client:
        return run_generate(pdfs, workdir, client=client, settings=settings)


def test_generate_on_ray_writes_the_local_runners_files(tmp_path: Path, ray_cluster: str) -> None:
    pdfs = [*small_pdfs(tmp_path / "pdfs"), pdfgen.truncated_pdf(tmp_path / "pdfs")]
    settings = GenerateSettings(pairs_per_chunk=2, chunk_tokens=60)
    local = local_generate(pdfs, tmp_path / "local", FAKE, settings)
    reporter = SilentReporter()
    ray = run_generate_ray(pdfs, tmp_path / "ray", llm=FAKE, settings=settings,
                           reporter=reporter)

    files = suggestion_files(tmp_path / "local")
    assert len(files) == 3 and sum(len(json.loads(b)["chunks"]) for b in files.values()) >= 5
    assert suggestion_files(tmp_path / "ray") == files
    assert [(p.pdf, p.status, p.chunks, p.message) for p in ray.files] == [
        (p.pdf, p.status, p.chunks, p.message) for p in local.files]
    assert (ray.chunks_total, ray.chunks_done, ray.pairs, ray.chunks_failed) == (
        local.chunks_total, local.chunks_done, local.pairs, local.chunks_failed)
    assert ray.completion_tokens == local.completion_tokens > 0
    assert ray.ok is local.ok is False  # the truncated PDF
    assert any(line.startswith("error: truncated.pdf: ") for line in reporter.lines)
    assert not (tmp_path / "ray" / ".qaforge" / "generate.journal.jsonl").exists()


def test_rerun_sends_only_new_work(tmp_path: Path, ray_cluster: str) -> None:
    """A finished run is not redone; a changed PDF and a chunk left pending go through the
    cluster together, and a person's reviewed pair survives the re-chunking."""
    pdfs = small_pdfs(tmp_path / "pdfs")
    workdir = tmp_path / "work"
    settings = GenerateSettings(pairs_per_chunk=2, chunk_tokens=60, skip_boilerplate=False)
    with FakeOpenAIServer(owned_by="llamacpp") as server:
        llm = LLMSettings(backend="openai", base_url=server.url, concurrency=2)
        run_generate_ray(pdfs, workdir, llm=llm, settings=settings)
        first = len(server.received)
        assert first == len(chunks_of(workdir)) >= 4
        again = run_generate_ray(pdfs, workdir, llm=llm, settings=settings)
        assert len(server.received) == first and again.chunks_done == again.chunks_total

        table = workdir / "output_json" / "table_suggestions.json"
        data = json.loads(table.read_text(encoding="utf-8"))
        kept = data["chunks"][0]
        kept["suggestions"][0]["status"] = "accepted"
        table.write_text(json.dumps(data), encoding="utf-8")
        plain = workdir / "output_json" / "plain_suggestions.json"
        data = json.loads(plain.read_text(encoding="utf-8"))
        redo = data["chunks"][-1]
        redo.update(state="pending", suggestions=[])
        plain.write_text(json.dumps(data), encoding="utf-8")
        pdfgen.headings_pdf(tmp_path / "pdfs", outline=False, name="table.pdf")  # new content

        before = len(server.received)
        summary = run_generate_ray(pdfs, workdir, llm=llm, settings=settings)
        sent = server.received[before:]

    statuses = {p.pdf.name: p.status for p in summary.files}
    assert statuses == {"table.pdf": "changed", "two_column.pdf": "unchanged",
                        "plain.pdf": "unchanged"}
    table_now = json.loads(table.read_text(encoding="utf-8"))
    new_chunks = [c for c in table_now["chunks"] if "stale" not in c]
    assert len(sent) == len(new_chunks) + 1
    assert sum(redo["text"] in json.dumps(body) for body in sent) == 1
    assert table_now["chunks"][-1]["stale"] and table_now["chunks"][-1]["id"] == kept["id"]
    assert table_now["chunks"][-1]["suggestions"][0]["status"] == "accepted"
    assert all(c["state"] == "generated" for c in chunks_of(workdir).values())


def test_changed_pdf_generates_only_its_new_chunks(tmp_path: Path, ray_cluster: str) -> None:
    """A PDF that grew a page is re-extracted on the cluster; the chunks it still has keep
    their pairs and are not sent again."""
    pdf = pdfgen.plain_pdf(tmp_path, pages=2, name="manual.pdf")
    workdir = tmp_path / "work"
    settings = GenerateSettings(pairs_per_chunk=1, chunk_tokens=60)
    with FakeOpenAIServer(owned_by="llamacpp") as server:
        llm = LLMSettings(backend="openai", base_url=server.url)
        run_generate_ray([pdf], workdir, llm=llm, settings=settings)
        old = chunks_of(workdir)
        pdfgen.plain_pdf(tmp_path, pages=3, name="manual.pdf")
        before = len(server.received)
        summary = run_generate_ray([pdf], workdir, llm=llm, settings=settings)
        sent = len(server.received) - before

    new = chunks_of(workdir)
    kept = set(old) & set(new)
    assert summary.files[0].status == "changed" and kept and set(new) - kept
    assert sent == len(set(new) - kept)
    assert all(new[cid] == old[cid] for cid in kept)
    assert all(c["state"] == "generated" for c in new.values())


EIFFEL = ("The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. "
          "It was designed by the engineering company of Gustave Eiffel and completed in "
          "1889 for the World's Fair. The tower is 330 metres tall.")
NILE = ("The Nile is a major north-flowing river in northeastern Africa. It flows into the "
        "Mediterranean Sea and is about 6,650 kilometres long.")
_FLAGGED = re.compile(r"text|Who designed the Nile|How long")


def _write_reviewed_workdir(workdir: Path) -> None:
    """Two suggestions files whose pairs take every road through refine: kept, corrected
    (question form, judge), skipped (answer not in the chunk), duplicate, rejected by a
    person, and accepted by a person although the judge flags it."""
    def pair(pid: str, q: str, a: str, status: str = "draft") -> dict[str, str]:
        return {"id": pid, "question": q, "answer": a, "status": status}

    def doc(pdf: str, text: str, pairs: list[dict[str, str]]) -> None:
        chunk = {"id": Chunk.make_id(text, ["1 Facts"]), "pages": [1, 1],
                 "headings": ["1 Facts"], "text": text, "suggestions": pairs, "raw": None,
                 "error": None, "state": "generated"}
        atomic_write_json(workdir / "output_json" / suggestions_filename(pdf), {
            "schema": "qaforge.suggestions/1",
            "source": {"file": pdf, "sha256": "0" * 64, "pages": 1},
            "generator": {"backend": "fake", "model": "m", "prompt": "qa/v1", "params": {}},
            "chunks": [chunk]})

    doc("eiffel.pdf", EIFFEL, [
        pair("q-1", "When was the Eiffel Tower completed?",
             "It was completed in 1889 for the World's Fair."),
        pair("q-2", "According to the text, how tall is the Eiffel Tower?",
             "The tower is 330 metres tall."),
        pair("q-3", "when was the eiffel tower completed", "In 1889."),
        pair("q-4", "Where is the Eiffel Tower?", "On the Champ de Mars in Paris.",
             status="rejected")])
    doc("nile.pdf", NILE, [
        pair("q-5", "What does the text state about the Nile?",
             "The Nile is a major north-flowing river in northeastern Africa."),
        pair("q-6", "Who designed the Nile?", "Gustave Eiffel designed it in 1889."),
        pair("q-7", "How long is the Nile?", "It is about 6,650 kilometres long.",
             status="accepted")])


def _refine_reply(request: ChatRequest) -> str:
    """A judge that flags the questions :data:`_FLAGGED` matches, and a corrector that
    makes questions standalone (keeping the answer)."""
    props = (request.schema or {}).get("properties", {})
    # over HTTP only the text travels (no ChatRequest.pair): read the judge/correct prompt
    prompt = request.messages[-1]["content"]
    question = (re.findall(r"Question:\s*(.+)", prompt) or ["?"])[-1]
    answer = (re.findall(r"Answer:\s*(.+)", prompt) or ["-"])[-1]
    if "label" in props:
        flagged = bool(_FLAGGED.search(question))
        score = 2 if flagged else 5
        return json.dumps({**{k: score for k in ("clarity", "coherence", "relevance",
                                                 "groundedness")},
                           "label": "Needs Improvement" if flagged else "Clear",
                           "reason": "refers to the text" if flagged else "fine"})
    if "question" in props and "answer" in props:
        fixed = question.replace("According to the text, how", "How").replace(
            "What does the text state about", "What is known about")
        return json.dumps({"question": fixed, "answer": answer})
    return echo_pairs(request)


def test_refine_on_ray_writes_the_local_runners_outputs(tmp_path: Path,
                                                         ray_cluster: str) -> None:
    _write_reviewed_workdir(tmp_path / "local")
    shutil.copytree(tmp_path / "local" / "output_json", tmp_path / "ray" / "output_json")
    refine = RefineSettings(judge_method="rubric")  # _refine_reply scripts rubric verdicts
    with FakeOpenAIServer(owned_by="llamacpp", reply=_refine_reply) as server:
        judge = LLMSettings(backend="openai", base_url=server.url, concurrency=2)
        with make_client(judge) as client:
            local = refine_workdir(tmp_path / "local", judge=client, settings=refine)
        local_calls = len(server.received)
        ray = refine_workdir_ray(tmp_path / "ray", judge=judge, settings=refine)
        ray_calls = len(server.received) - local_calls
        evaluation = evaluation_without_timings(tmp_path / "ray")
        again = refine_workdir_ray(tmp_path / "ray", judge=judge, settings=refine)
        assert len(server.received) == local_calls + ray_calls  # all from the cache

    assert {k: v for k, v in local.decisions.items() if v} == {
        "kept": 2, "corrected": 2, "skipped": 1, "duplicate": 1, "rejected": 1}
    assert ray_calls == local_calls
    for name in ("judge_calls", "correct_calls", "decisions", "labels", "dataset_rows",
                 "model_errors", "cache_hits"):
        assert getattr(ray, name) == getattr(local, name), name
    assert ((tmp_path / "ray" / "cleaned_finetune.jsonl").read_bytes()
            == (tmp_path / "local" / "cleaned_finetune.jsonl").read_bytes())
    assert evaluation == evaluation_without_timings(tmp_path / "local")
    assert again.judge_calls == again.correct_calls == 0
    assert again.cache_hits == local.judge_calls + local.correct_calls + local.cache_hits
    assert again.decisions == local.decisions


def test_refine_on_ray_with_a_separate_corrector_model(tmp_path: Path,
                                                         ray_cluster: str) -> None:
    _write_reviewed_workdir(tmp_path / "local")
    shutil.copytree(tmp_path / "local" / "output_json", tmp_path / "ray" / "output_json")
    rubric = RefineSettings(judge_method="rubric")  # _refine_reply scripts rubric verdicts
    with FakeOpenAIServer(owned_by="llamacpp", reply=_refine_reply, model="judge") as judges, \
            FakeOpenAIServer(owned_by="llamacpp", reply=_refine_reply, model="fixer") as fixers:
        judge = LLMSettings(backend="openai", base_url=judges.url)
        fixer = LLMSettings(backend="openai", base_url=fixers.url)
        with make_client(judge) as judge_client, make_client(fixer) as fixer_client:
            local = refine_workdir(tmp_path / "local", judge=judge_client,
                                   corrector=fixer_client, settings=rubric)
        sent = (len(judges.received), len(fixers.received))
        ray = refine_workdir_ray(tmp_path / "ray", judge=judge, corrector=fixer,
                                 settings=rubric)
        ray_sent = (len(judges.received) - sent[0], len(fixers.received) - sent[1])

    def asks_for(body: dict[str, Any]) -> set[str]:
        schema = body["response_format"]["json_schema"]["schema"]
        return {"judge" if "label" in schema["properties"] else "correct"}

    assert sent == ray_sent and sent[1] == local.decisions["corrected"] + 1
    assert set().union(*map(asks_for, judges.received)) == {"judge"}
    assert set().union(*map(asks_for, fixers.received)) == {"correct"}
    assert ray.decisions == local.decisions
    assert evaluation_without_timings(tmp_path / "ray") == evaluation_without_timings(
        tmp_path / "local")


_DRIVER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from qaforge.config import GenerateSettings, LLMSettings
    from qaforge.runners.ray import run_generate_ray

    url, address, workdir, *pdfs = sys.argv[1:]
    run_generate_ray([Path(p) for p in pdfs], Path(workdir), ray_address=address,
                     llm=LLMSettings(backend="openai", base_url=url, concurrency=1),
                     settings=GenerateSettings(pairs_per_chunk=1, chunk_tokens=40))
""")


def _slow_echo(request: ChatRequest) -> str:
    time.sleep(0.4)
    return echo_pairs(request)


def _done_ids(workdir: Path) -> set[str]:
    done = {cid for cid, c in chunks_of(workdir).items() if c["state"] == "generated"} \
        if (workdir / "output_json").is_dir() else set()
    journal = workdir / ".qaforge" / "generate.journal.jsonl"
    if journal.exists():
        for line in journal.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError):
                done.add(json.loads(line)["chunk"]["id"])
    return done


def test_killed_driver_resumes_without_redoing_chunks(tmp_path: Path, ray_cluster: str) -> None:
    """A preempted job: the driver is killed (SIGKILL) mid-run; the re-run sends only what
    was not finished, and what was finished is left as it was."""
    pdfs = small_pdfs(tmp_path / "pdfs")
    workdir = tmp_path / "work"
    with FakeOpenAIServer(owned_by="llamacpp", reply=_slow_echo) as server:
        driver = subprocess.Popen(
            [sys.executable, "-c", _DRIVER, server.url, ray_cluster, str(workdir),
             *map(str, pdfs)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env={**os.environ, "RAY_ADDRESS": ""})
        try:
            deadline = time.monotonic() + 120
            while len(_done_ids(workdir)) < 3:
                assert driver.poll() is None, driver.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                assert time.monotonic() < deadline, "the driver made no progress"
                time.sleep(0.1)
        finally:
            driver.send_signal(signal.SIGKILL)
            driver.wait()
        time.sleep(3)  # let the killed job's actors finish their in-flight request
        finished = _done_ids(workdir)
        before_files = chunks_of(workdir)
        sent_before = len(server.received)
        summary = run_generate_ray(pdfs, workdir, ray_address=ray_cluster,
                                   llm=LLMSettings(backend="openai", base_url=server.url,
                                                   concurrency=1),
                                   settings=GenerateSettings(pairs_per_chunk=1,
                                                             chunk_tokens=40))
        resent = server.received[sent_before:]

    after = chunks_of(workdir)
    assert summary.ok and all(c["state"] == "generated" for c in after.values())
    assert len(after) > len(finished) >= 3, "the kill came too late to test resuming"
    assert len(resent) == len(after) - len(finished)
    for chunk_id in finished:
        assert not any(after[chunk_id]["text"] in json.dumps(b) for b in resent)
    for chunk_id, chunk in before_files.items():
        if chunk["state"] == "generated":
            assert after[chunk_id] == chunk


def test_sigterm_stops_the_ray_driver_like_ctrl_c(tmp_path: Path, ray_cluster: str) -> None:
    """``ray.init`` swaps the driver's SIGTERM handler for ``sys.exit(15)``; qaforge puts its
    own back, so a job preempted with SIGTERM says so, exits 143 and keeps finished chunks."""
    pdfs = small_pdfs(tmp_path / "pdfs")
    workdir = tmp_path / "work"
    with FakeOpenAIServer(owned_by="llamacpp", reply=_slow_echo) as server:
        driver = subprocess.Popen(
            [sys.executable, "-c", "from qaforge.cli import main; main()", "generate",
             *map(str, pdfs), "-o", str(workdir), "--backend", "openai", "--base-url",
             server.url, "--concurrency", "1", "--pairs", "1", "--chunk-tokens", "40",
             "--runner", "ray", "--ray-address", ray_cluster],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "RAY_ADDRESS": ""})
        try:
            deadline = time.monotonic() + 120
            while not _done_ids(workdir):
                assert driver.poll() is None, driver.communicate()[0][-2000:]
                assert time.monotonic() < deadline, "the driver made no progress"
                time.sleep(0.1)
            driver.send_signal(signal.SIGTERM)
            output, _ = driver.communicate(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    assert driver.returncode == 143, output[-2000:]
    assert "terminated: finished work is saved" in output and "Traceback" not in output
    assert _done_ids(workdir) <= {cid for cid, c in chunks_of(workdir).items()
                                  if c["state"] == "generated"}  # journal written into files
