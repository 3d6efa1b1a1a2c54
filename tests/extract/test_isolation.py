"""Extraction in a memory-capped child process (issue 14 item 12): a decompression bomb or a
crash of PDFium costs only its own file, with one clear reason, and the next file goes on."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

import pdfgen
from qaforge.config import GenerateSettings
from qaforge.errors import ExtractionError
from qaforge.extract import extract_pdf, isolation, worker
from qaforge.extract.extractor import DEFAULT_MAX_PAGES


def test_a_decompression_bomb_is_refused_and_the_next_file_is_read(tmp_path: Path) -> None:
    bomb = pdfgen.inflation_bomb_pdf(tmp_path, inflated_mb=600)
    good = pdfgen.plain_pdf(tmp_path, pages=2)
    started = time.monotonic()
    with pytest.raises(ExtractionError) as caught:
        extract_pdf(bomb, memory_limit_mb=384)
    assert str(caught.value).startswith(
        "bomb.pdf: too large to extract (more than 384 MB in memory)")
    assert time.monotonic() - started < 60
    assert extract_pdf(good, memory_limit_mb=384).elements  # a fresh worker


def _wait_until_dead(pid: int) -> None:
    """Until ``pid`` is a zombie (dead, not yet reaped: its parent must see how it died)."""
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_crash_of_the_pdf_library_names_the_signal(tmp_path: Path) -> None:
    good = pdfgen.plain_pdf(tmp_path, pages=1)
    child = isolation.ExtractWorker(512)
    try:
        assert child.proc is not None
        os.kill(child.proc.pid, signal.SIGSEGV)  # what a PDFium bug does to the process
        _wait_until_dead(child.proc.pid)
        with pytest.raises(ExtractionError, match=r"^plain\.pdf: crashed the PDF library "
                                                  r"\(signal 11\)$"):
            child.extract(good, password=None, ocr=False, max_pages=DEFAULT_MAX_PAGES)
        assert not child.alive
    finally:
        child.close()


def test_one_worker_serves_many_files_and_quits_when_idle(tmp_path: Path) -> None:
    paths = [pdfgen.plain_pdf(tmp_path, pages=1, name=f"p{n}.pdf") for n in range(3)]
    pids = set()
    for path in paths:
        assert extract_pdf(path).pages == 1
        assert isolation._worker is not None and isolation._worker.proc is not None
        pids.add(isolation._worker.proc.pid)
    assert len(pids) == 1

    idle = isolation.ExtractWorker(512, idle_s=0.6)
    try:
        assert idle.extract(paths[0], password=None, ocr=False, max_pages=5).pages == 1
        time.sleep(0.35)
        assert not idle.alive  # replaced before it could quit under a request
        assert idle.proc is not None and idle.proc.wait(timeout=10) == 0  # quit by itself
    finally:
        idle.close()


def test_memory_error_and_bugs_in_the_worker_become_one_line(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    request = {"path": str(tmp_path / "x.pdf"), "max_pages": 5}

    def out_of_memory(*_: object, **__: object) -> None:
        raise MemoryError

    def bug(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(worker, "extract_in_process", out_of_memory)
    reply = worker.handle(request)
    assert reply == {"memory": True}
    with pytest.raises(ExtractionError, match=r"^x\.pdf: too large to extract \(more than "
                                              r"1,024 MB in memory\)"):
        isolation._document_or_raise(tmp_path / "x.pdf", reply, 1024)
    monkeypatch.setattr(worker, "extract_in_process", bug)
    with pytest.raises(ExtractionError, match=r"^x\.pdf: extraction failed \(RuntimeError: "
                                              r"boom\)$"):
        isolation._document_or_raise(tmp_path / "x.pdf", worker.handle(request), 1024)


def test_the_cap_is_a_setting_with_a_default() -> None:
    assert GenerateSettings().extract_memory_mb == isolation.DEFAULT_MEMORY_LIMIT_MB == 2048
    assert GenerateSettings(extract_memory_mb=0).extract_memory_mb == 0  # 0: in-process


def test_a_forked_process_starts_its_own_worker(tmp_path: Path) -> None:
    path = pdfgen.plain_pdf(tmp_path, pages=1)
    assert extract_pdf(path).pages == 1
    assert isolation._worker is not None and isolation._worker.proc is not None
    parent_worker = isolation._worker.proc.pid
    child = os.fork()
    if child == 0:  # the copy must not share its parent's pipes to the worker
        ok = extract_pdf(path).pages == 1 and isolation._worker.proc.pid != parent_worker
        os._exit(0 if ok else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert extract_pdf(path).pages == 1 and isolation._worker.proc.pid == parent_worker


def test_a_crash_is_not_called_out_of_memory_when_the_parent_is_big(tmp_path: Path) -> None:
    """Linux starts a child's ru_maxrss at its parent's peak: a parent that once held more
    than the worker's cap must not make every crash look like a memory blow-up."""
    good = pdfgen.plain_pdf(tmp_path, pages=1)
    ballast = bytearray(300 * 1024 * 1024)
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touch every page: resident, not only mapped
    child = isolation.ExtractWorker(512)
    del ballast
    try:
        assert child.proc is not None
        os.kill(child.proc.pid, signal.SIGSEGV)
        _wait_until_dead(child.proc.pid)
        with pytest.raises(ExtractionError, match=r"crashed the PDF library \(signal 11\)"):
            child.extract(good, password=None, ocr=False, max_pages=DEFAULT_MAX_PAGES)
    finally:
        child.close()
