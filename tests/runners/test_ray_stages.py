"""The record-form stages and the work-dir plan/store split, driven in-process (no Ray).

The Ray runner ships exactly these objects to its workers, so what they do here is what
they do on a cluster.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import pytest

import pdfgen
from qaforge.chunking import chunk_document
from qaforge.config import GenerateSettings, LLMSettings, RefineSettings
from qaforge.extract import extract_pdf
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm.base import BackendUnavailable
from qaforge.llm.fake import FakeBackend
from qaforge.llm.openai import OpenAIClient
from qaforge.llm.openai import from_settings as openai_client
from qaforge.records import GeneratorInfo
from qaforge.runners.stage_records import (
    ChunkedDocument,
    ChunkTask,
    Extracted,
    ExtractFailed,
    PdfTask,
    from_json,
    to_json,
)
from qaforge.runners.stages import ChunkRecords, ClientSpec, GenerateRecords, extract_records
from qaforge.suggestions import load_suggestions
from qaforge.testing import FakeOpenAIServer
from qaforge.workspace import Prepared, plan_document, prepare_document, store_document

FAKE = LLMSettings(backend="fake")
INFO = GeneratorInfo(backend="fake", model="fake-model", prompt="qa/v1")


def pdf_record(pdf: Path, settled: list[str] | None = None) -> PdfTask:
    return PdfTask(pdf=str(pdf), file=pdf.stem + "_suggestions.json", settled=settled or [])


def test_extract_then_chunk_records_equal_the_direct_calls(tmp_path: Path) -> None:
    pdf = pdfgen.headings_pdf(tmp_path, outline=False)
    [extracted] = extract_records([pdf_record(pdf)])
    assert isinstance(extracted, Extracted)
    stage = ChunkRecords(ClientSpec.of(FakeBackend(), FAKE), max_tokens=60, min_tokens=10)
    document, *chunk_rows = stage([extracted])

    direct = chunk_document(extract_pdf(pdf), max_tokens=60,
                            count_tokens=FakeBackend().count_tokens, min_tokens=10)
    assert len(direct) >= 3  # the fan-out is real
    assert isinstance(document, ChunkedDocument) and document.todo == len(direct)
    assert document.chunks == direct
    assert all(isinstance(r, ChunkTask) for r in chunk_rows)
    assert [r.chunk for r in chunk_rows] == document.chunks  # type: ignore[union-attr]
    assert {r.document for r in chunk_rows} == {pdf.name}  # type: ignore[union-attr]
    for record in (extracted, document, *chunk_rows):  # what travels: JSON, same record back
        assert from_json(to_json(record)) == record
        assert json.loads(to_json(record))["kind"] == record.kind


def test_chunk_stage_lists_settled_chunks_but_does_not_send_them(tmp_path: Path) -> None:
    pdf = pdfgen.headings_pdf(tmp_path, outline=False)
    [extracted] = extract_records([pdf_record(pdf)])
    assert isinstance(extracted, Extracted)
    stage = ChunkRecords(ClientSpec.of(FakeBackend(), FAKE), max_tokens=60, min_tokens=10)
    first, *rows = stage([extracted])
    ids = [r.chunk.id for r in rows if isinstance(r, ChunkTask)]
    settled = [ids[0], ids[2]]
    document, *rest = stage([extracted.model_copy(update={"settled": settled})])
    assert isinstance(first, ChunkedDocument) and isinstance(document, ChunkedDocument)
    assert document.chunks == first.chunks and document.todo == len(rows) - 2
    assert [r.chunk.id for r in rest if isinstance(r, ChunkTask)] == [
        i for i in ids if i not in settled]


def test_extract_stage_reports_a_broken_pdf_and_goes_on(tmp_path: Path) -> None:
    good = pdfgen.table_pdf(tmp_path)
    broken = pdfgen.truncated_pdf(tmp_path)
    out = extract_records([pdf_record(broken), pdf_record(good)])
    assert [r.kind for r in out] == ["failed", "extracted"]
    assert isinstance(out[0], ExtractFailed)
    assert out[0].error.startswith("truncated.pdf: ") and "\n" not in out[0].error


def test_generate_records_equal_generate_qa_and_pass_other_records(tmp_path: Path) -> None:
    pdf = pdfgen.two_column_pdf(tmp_path)
    chunks = chunk_document(extract_pdf(pdf), max_tokens=80, count_tokens=lambda t: len(t) // 4)
    rows = [ChunkTask(file="f.json", document=pdf.name, chunk=c) for c in chunks]
    marker = ChunkedDocument(file="f.json", pdf=str(pdf), pages=1, warnings=[], chunks=[],
                             todo=0)
    stage = GenerateRecords(ClientSpec.of(FakeBackend(), FAKE), pairs_per_chunk=2,
                            prompt=GenerateQA(FakeBackend()).prompt)
    out = stage([rows[0], marker, *rows[1:]])
    assert out[1] == marker
    generated = [r for r in out if isinstance(r, ChunkTask)]
    stats = generated[0].stats
    assert stats and stats["completion_tokens"] > 0 and stats["prompt_tokens"] > 0
    assert all(r.stats is None for r in generated[1:])
    expected = list(GenerateQA(FakeBackend(), pairs_per_chunk=2).stream(
        [ChunkJob(pdf.name, c) for c in chunks]))
    by_id = {c.id: c for c in expected}
    assert [r.chunk for r in generated] == [by_id[c.id] for c in chunks]


def test_client_spec_rebuilds_the_drivers_openai_client_on_a_worker() -> None:
    with FakeOpenAIServer(owned_by="llamacpp") as server:
        settings = LLMSettings(backend="openai", base_urls=[server.url, server.url],
                               concurrency=4, timeout=7.0, retries=1)
        driver = openai_client(settings)
        spec = ClientSpec.of(driver, settings)
        assert spec.recipe is not None and spec.servers == 2
        assert spec.recipe.concurrency == 4 and spec.total_concurrency == 8
        worker = pickle.loads(pickle.dumps(spec)).build()  # as it travels to a worker
        assert isinstance(worker, OpenAIClient)
        assert (worker.backend, worker.model, worker.context_length) == (
            driver.backend, driver.model, driver.context_length)
        assert worker.base_urls == [server.url, server.url]
        assert (worker.timeout, worker.retries) == (7.0, 1)
        assert worker.profile == driver.profile and worker.max_concurrency == 8
        assert worker.count_tokens("three short words") == 3  # the server's /tokenize
        halves = spec.split(3)
        assert halves.total_concurrency == 4 and halves.build().max_concurrency == 4
        driver.close()
        worker.close()


def test_client_spec_keeps_the_embedded_engine_label() -> None:
    """Actors reach the driver's engine as plain HTTP, but files, verdicts and cache keys
    must still say ``llamacpp`` like the local runner's."""
    with FakeOpenAIServer(owned_by="llamacpp") as server:
        settings = LLMSettings(backend="openai", base_url=server.url)
        driver = openai_client(settings)
        driver.backend, driver.is_demo_model = "llamacpp", True
        worker = ClientSpec.of(driver, settings).build()
        assert worker.backend == "llamacpp" and worker.is_demo_model
        driver.close()
        worker.close()


def test_other_backends_are_rebuilt_from_settings() -> None:
    spec = ClientSpec.of(FakeBackend(model="m"), LLMSettings(backend="fake", model="m"))
    assert spec.recipe is None and spec.split(4) is spec
    client = spec.build()
    assert isinstance(client, FakeBackend) and client.model == "m"


# ---------------------------------------------------------------- plan / store


def _prepare(pdf: Path, out: Path) -> Prepared:
    settings = GenerateSettings()
    count = FakeBackend().count_tokens
    return prepare_document(pdf, out, extract=extract_pdf,
                            chunk=lambda d: chunk_document(d, max_tokens=200, count_tokens=count,
                                                           min_tokens=settings.min_chunk_tokens),
                            generator=INFO)


def test_plan_then_store_is_what_prepare_document_does(tmp_path: Path) -> None:
    pdf = pdfgen.two_column_pdf(tmp_path)
    one, two = tmp_path / "a" / "x_suggestions.json", tmp_path / "b" / "x_suggestions.json"
    one.parent.mkdir()
    two.parent.mkdir()
    prepared = _prepare(pdf, one)
    plan = plan_document(pdf, two)
    assert plan.needs_extraction and plan.existing is None
    document = extract_pdf(pdf)
    chunks = chunk_document(document, max_tokens=200, count_tokens=FakeBackend().count_tokens,
                            min_tokens=48)
    stored = store_document(plan, pages=document.pages, chunks=chunks,
                            warnings=document.warnings, generator=INFO)
    assert one.read_bytes() == two.read_bytes()
    assert (stored.status, stored.chunks) == ("new", prepared.chunks)
    again = plan_document(pdf, two)
    assert not again.needs_extraction and again.done is not None
    assert again.done.status == "unchanged" and _prepare(pdf, two).status == "unchanged"


def test_plan_leaves_an_unparseable_file_alone(tmp_path: Path) -> None:
    pdf = pdfgen.table_pdf(tmp_path)
    out = tmp_path / "table_suggestions.json"
    out.write_text('{"schema": "qaforge.suggestions/1", "chunks": [', encoding="utf-8")
    plan = plan_document(pdf, out)
    assert plan.done is not None and plan.done.status == "failed"
    assert "left untouched" in plan.done.message
    assert out.read_text(encoding="utf-8").endswith("[")


def test_store_merges_a_changed_pdf_and_keeps_reviewed_chunks(tmp_path: Path) -> None:
    pdf = pdfgen.table_pdf(tmp_path, name="doc.pdf")
    out = tmp_path / "doc_suggestions.json"
    _prepare(pdf, out)
    data = load_suggestions(out).data
    raw = json.loads(out.read_text(encoding="utf-8"))
    raw["chunks"][0]["suggestions"] = [{"id": "q-1", "question": "Which region fell?",
                                        "answer": "The East.", "status": "accepted"}]
    out.write_text(json.dumps(raw), encoding="utf-8")
    pdfgen.two_column_pdf(tmp_path, name="doc.pdf")  # same name, new content
    plan = plan_document(pdf, out)
    assert plan.needs_extraction and plan.existing is not None
    document = extract_pdf(pdf)
    chunks = chunk_document(document, max_tokens=200, count_tokens=FakeBackend().count_tokens)
    prepared = store_document(plan, pages=document.pages, chunks=chunks, warnings=(),
                              generator=INFO)
    assert prepared.status == "changed" and "kept 1 reviewed chunk" in prepared.message
    merged = load_suggestions(out).data
    assert [c.id for c in merged.chunks] == [c.id for c in chunks] + [data.chunks[0].id]
    assert merged.chunks[-1].model_extra and "stale" in merged.chunks[-1].model_extra


def test_missing_ray_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from qaforge.runners.ray import run_generate_ray
    from qaforge.runners.ray_refine import refine_workdir_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` does without the extra
    with pytest.raises(BackendUnavailable, match=r"pip install 'qaforge\[ray\]'"):
        run_generate_ray([tmp_path], tmp_path / "w", llm=FAKE, settings=GenerateSettings())
    with pytest.raises(BackendUnavailable, match="ray extra"):
        refine_workdir_ray(tmp_path, judge=FAKE, settings=RefineSettings())
