"""Fixtures for the review app: suggestions files built from records, a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from review_helpers import MANUAL_CHUNKS, WriteDoc, build_file

from qaforge.review.server import ReviewServer
from qaforge.suggestions import serialize


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    (root / "output_json").mkdir(parents=True)
    return root


@pytest.fixture
def write_doc(workdir: Path) -> WriteDoc:
    """Write ``output_json/<stem>_suggestions.json`` for ``<stem>.pdf``; returns its path."""

    def write(stem: str, chunks: list[dict[str, Any]]) -> Path:
        path = workdir / "output_json" / f"{stem}_suggestions.json"
        path.write_bytes(serialize(build_file(f"{stem}.pdf", chunks)))
        return path

    return write


@pytest.fixture
def manual(write_doc: WriteDoc) -> Path:
    return write_doc("manual", MANUAL_CHUNKS)


@pytest.fixture
def server(workdir: Path, manual: Path) -> Iterator[ReviewServer]:
    with ReviewServer(workdir) as running:
        yield running


@pytest.fixture
def client(server: ReviewServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"X-QAForge-Token": server.token},
                      timeout=30) as http:
        yield http

