"""Fixtures shared by the whole suite: the real PDF corpus and the bundled model."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

# A suite started in the background (nohup, ``cmd &`` in a script) inherits SIGINT ignored,
# and so would every CLI it starts; the Ctrl-C tests need it delivered. Children get the
# default action back, since a Python-level handler is reset on exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SHARED_PDFS = (REPO / ".." / "shared" / "pdfs").resolve()


@pytest.fixture(scope="session")
def shared_pdfs() -> Path:
    """``../shared/pdfs``: 24 real PDFs (see its MANIFEST.md); skip when absent."""
    if not (SHARED_PDFS / "MANIFEST.md").is_file():
        pytest.skip(f"real PDF corpus not found at {SHARED_PDFS}")
    return SHARED_PDFS


def bundled_model_path() -> Path | None:
    explicit = os.environ.get("QAFORGE_TEST_MODEL")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    try:
        from qaforge.llm.catalogue import find_bundled_model
    except ImportError:
        fallback = Path("/tmp/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        return fallback if fallback.is_file() else None
    return find_bundled_model()


@pytest.fixture(scope="session")
def bundled_model() -> Path:
    """The bundled SmolLM2 GGUF; skip with the command that fetches it when absent."""
    path = bundled_model_path()
    if path is None:
        pytest.skip("bundled model not found: run `qaforge models pull` first")
    return path
