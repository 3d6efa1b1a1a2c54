"""Shared pieces of the Ray runner tests: one real local Ray cluster per test session, small
PDFs, and comparisons of work directories.

Import the fixture into a test module (``from ray_helpers import ray_cluster``) to use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pdfgen  # tests/ is on sys.path through tests/conftest.py

SKIP_NO_RAY = "ray is not installed (pip install 'qaforge[ray]')"


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """A real local Ray cluster (2 CPUs, no dashboard), started once; yields its address."""
    ray = pytest.importorskip("ray", reason=SKIP_NO_RAY)
    pytest.importorskip("ray.data", reason=SKIP_NO_RAY)
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
                 object_store_memory=256 * 2**20)
    yield str(ray.get_runtime_context().gcs_address)
    if started:
        ray.shutdown()


def small_pdfs(directory: Path) -> list[Path]:
    """Three one-page PDFs of one or two chunks each."""
    directory.mkdir(parents=True, exist_ok=True)
    return [pdfgen.table_pdf(directory), pdfgen.two_column_pdf(directory),
            pdfgen.plain_pdf(directory, pages=1)]


def suggestion_files(workdir: Path) -> dict[str, bytes]:
    """``output_json`` file name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted((workdir / "output_json").glob("*.json"))}


def evaluation_without_timings(workdir: Path) -> dict[str, Any]:
    """``evaluation.json`` without what differs run to run by nature (clock readings)."""
    data: dict[str, Any] = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    data.pop("created", None)
    data["summary"].pop("timings", None)
    return data


def chunks_of(workdir: Path) -> dict[str, dict[str, Any]]:
    """Every chunk of every suggestions file, by id."""
    out: dict[str, dict[str, Any]] = {}
    for path in sorted((workdir / "output_json").glob("*.json")):
        for chunk in json.loads(path.read_text(encoding="utf-8"))["chunks"]:
            out[chunk["id"]] = chunk
    return out
