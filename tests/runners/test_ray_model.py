"""Conformance with the real bundled model: the local runner and the Ray runner, fed the same
PDFs, write identical suggestions files, and then identical refine outputs.

The LLM is the embedded llama.cpp engine (1 thread, temperature 0). The Ray actors reach it
over its OpenAI-compatible loopback endpoint. Both runs use one engine slot, because with two
slots llama.cpp batches whichever requests happen to overlap. That changes the floating-point
path, so the same prompt can decode differently. Measured here: with ``concurrency=2``, 6 of
14 chunks came out different between the two runners; with ``concurrency=1``, none did.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from ray_helpers import evaluation_without_timings, ray_cluster, suggestion_files

import pdfgen
from qaforge.config import GenerateSettings, LLMSettings, RefineSettings
from qaforge.llm import make_client
from qaforge.refine import refine_workdir
from qaforge.runners.local import run_generate
from qaforge.runners.ray import run_generate_ray
from qaforge.runners.ray_refine import refine_workdir_ray

pytestmark = [pytest.mark.ray, pytest.mark.model, pytest.mark.slow]
__all__ = ["ray_cluster"]


def test_local_and_ray_runners_agree_with_the_real_model(
        tmp_path: Path, bundled_model: Path, ray_cluster: str) -> None:
    (tmp_path / "pdfs").mkdir()
    pdfs = [pdfgen.table_pdf(tmp_path / "pdfs"), pdfgen.two_column_pdf(tmp_path / "pdfs")]
    llm = LLMSettings(backend="llamacpp", model=str(bundled_model), threads=1, concurrency=1)
    settings = GenerateSettings(pairs_per_chunk=1)
    refine = RefineSettings()

    started = time.monotonic()
    with make_client(llm) as client:
        local = run_generate(pdfs, tmp_path / "local", client=client, settings=settings)
        local_refine = refine_workdir(tmp_path / "local", judge=client, settings=refine)
    local_seconds = time.monotonic() - started

    started = time.monotonic()
    # as `qaforge run --runner ray` would: one engine for both stages, as the local run had
    # (the judge's prompts begin as the drafts did, so the engine's prompt cache serves them
    # in both runs alike; a prompt read afresh can decode differently from a cached one)
    with make_client(llm) as engine:
        ray = run_generate_ray(pdfs, tmp_path / "ray", llm=llm, settings=settings,
                               client=engine)
        ray_refine = refine_workdir_ray(tmp_path / "ray", judge=llm, settings=refine,
                                        judge_client=engine)
        assert engine.running
    ray_seconds = time.monotonic() - started
    print(f"\nlocal runner {local_seconds:.1f} s, ray runner {ray_seconds:.1f} s "
          f"(generate {ray.generate_seconds:.1f} s, refine {ray_refine.seconds['total']:.1f} s)")

    assert local.ok and ray.ok and local.chunks_total >= 2
    assert local.chunks_failed == ray.chunks_failed
    assert suggestion_files(tmp_path / "ray") == suggestion_files(tmp_path / "local")
    assert ray.completion_tokens == local.completion_tokens > 0

    assert local_refine.pairs_in == ray_refine.pairs_in >= 2
    assert ray_refine.decisions == local_refine.decisions
    assert (ray_refine.judge_calls, ray_refine.correct_calls) == (
        local_refine.judge_calls, local_refine.correct_calls)
    assert ((tmp_path / "ray" / "cleaned_finetune.jsonl").read_bytes()
            == (tmp_path / "local" / "cleaned_finetune.jsonl").read_bytes())
    assert evaluation_without_timings(tmp_path / "ray") == evaluation_without_timings(
        tmp_path / "local")
