"""Extraction in a child process with a memory cap, so one hostile PDF costs only itself.

A decompression bomb (a 2 MB file whose streams inflate to gigabytes) or a crash inside
PDFium takes down the process it runs in. Each file is therefore extracted in a worker
process (:mod:`qaforge.extract.worker`) whose address space is capped; when the worker dies
the file gets one :class:`ExtractionError` line ("too large to extract (more than N MB in
memory)" or "crashed the PDF library (signal N)") and the next file gets a fresh worker.
The worker is reused across files (starting Python for each file would cost more than
extracting most of them) and exits by itself when idle, so it holds no memory while the
model generates.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import resource
import select
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import qaforge
from qaforge.config import GenerateSettings
from qaforge.errors import EncryptedPDFError, ExtractionError
from qaforge.records import Document

#: per-file memory cap (address space of the extraction process, MB)
DEFAULT_MEMORY_LIMIT_MB: int = GenerateSettings.model_fields["extract_memory_mb"].default
#: a worker quits after this long without work; the parent replaces it after half of it
IDLE_EXIT_S = 20.0
#: a worker that died having used at least this share of its cap ran out of memory (an
#: allocation that fails is often a doubling buffer, so the peak seen may be half the cap)
MEMORY_DEATH_SHARE = 0.4
HEADER = struct.Struct(">Q")


def supported() -> bool:
    """Memory caps need POSIX ``setrlimit``; elsewhere extraction runs in this process."""
    return sys.platform.startswith("linux") or sys.platform == "darwin"


class _Died(Exception):
    """The worker ended without a reply."""


class ExtractWorker:
    """One extraction child process with an address-space cap of ``limit_mb``."""

    def __init__(self, limit_mb: int, idle_s: float = IDLE_EXIT_S) -> None:
        self.limit_mb = limit_mb
        self.idle_s = idle_s
        # a child's ru_maxrss starts at its parent's peak (Linux keeps it across fork and
        # exec), so only a peak above ours says anything about the worker's own memory
        self._inherited_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self._polled_kb = 0
        src = str(Path(qaforge.__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
        self.proc: subprocess.Popen[bytes] | None = subprocess.Popen(
            [sys.executable, "-m", "qaforge.extract.worker", str(limit_mb), str(idle_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})
        self.last_used = time.monotonic()

    @property
    def alive(self) -> bool:
        # the worker exits after idle_s without work; replace it well before that
        return (self.proc is not None and self.proc.poll() is None
                and time.monotonic() - self.last_used < self.idle_s / 2)

    def extract(self, path: Path, *, password: str | None, ocr: bool,
                max_pages: int) -> Document:
        """Extract ``path`` in the worker; raises :class:`ExtractionError` for every failure."""
        assert self.proc is not None and self.proc.stdin is not None
        request = {"path": str(Path(path).resolve()), "password": password, "ocr": ocr,
                   "max_pages": max_pages}
        try:
            self.proc.stdin.write(json.dumps(request).encode() + b"\n")
            self.proc.stdin.flush()
            reply = self._read_reply()
        except (_Died, OSError, ValueError):
            raise ExtractionError(path, self._death_reason()) from None
        finally:
            self.last_used = time.monotonic()
        return _document_or_raise(path, reply, self.limit_mb)

    def _read_reply(self) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        self._watch_memory_until_readable()
        head = _read_exactly(self.proc.stdout, HEADER.size)
        reply: dict[str, Any] = json.loads(_read_exactly(self.proc.stdout,
                                                         HEADER.unpack(head)[0]))
        return reply

    def _watch_memory_until_readable(self, interval_s: float = 0.02) -> None:
        """Wait for the worker's reply, noting its resident high-water mark meanwhile (the
        kernel forgets it once the process is dead)."""
        assert self.proc is not None and self.proc.stdout is not None
        status = Path(f"/proc/{self.proc.pid}/status")
        while not select.select([self.proc.stdout], [], [], interval_s)[0]:
            try:
                text = status.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self._polled_kb = max(self._polled_kb, int(line.split()[1]))
            if self.proc.poll() is not None:
                return

    def _death_reason(self) -> str:
        """Reap the dead worker and say why it died, from its exit status and peak memory."""
        assert self.proc is not None
        proc, self.proc = self.proc, None
        _close_quietly(proc.stdin)  # a request may still sit in its buffer
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        _close_quietly(proc.stdout)
        kb_per_unit = 1 / 1024 if sys.platform == "darwin" else 1  # macOS counts bytes
        reported = usage.ru_maxrss * kb_per_unit
        own = reported if reported > self._inherited_kb * kb_per_unit else 0
        peak_mb = max(own, self._polled_kb) / 1024
        if peak_mb >= MEMORY_DEATH_SHARE * self.limit_mb:
            return _too_large(self.limit_mb)
        if os.WIFSIGNALED(status):
            return f"crashed the PDF library (signal {os.WTERMSIG(status)})"
        return f"the extraction process stopped (exit code {proc.returncode})"

    def close(self) -> None:
        """End the worker (it exits when its stdin closes) and reap it."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        _close_quietly(proc.stdin)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            _close_quietly(proc.stdout)


def _too_large(limit_mb: int) -> str:
    return (f"too large to extract (more than {limit_mb:,} MB in memory); raise "
            f"[generate] extract_memory_mb if the file is genuine")


def _close_quietly(stream: IO[bytes] | None) -> None:
    if stream is not None:
        with contextlib.suppress(OSError):
            stream.close()


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise _Died
    return data


def _document_or_raise(path: Path, reply: dict[str, Any], limit_mb: int) -> Document:
    if "document" in reply:
        return Document.model_validate(reply["document"])
    if "memory" in reply:
        raise ExtractionError(path, _too_large(limit_mb))
    if "error" in reply:
        error = EncryptedPDFError if reply.get("encrypted") else ExtractionError
        raise error(path, str(reply["error"]))
    raise ExtractionError(path, f"extraction failed ({reply.get('failed', 'no reason given')})")


_lock = threading.Lock()
_worker: ExtractWorker | None = None


def extract_isolated(path: Path, *, password: str | None, ocr: bool, max_pages: int,
                     limit_mb: int) -> Document:
    """Extract ``path`` in the shared worker (started, or replaced, as needed)."""
    global _worker
    with _lock:
        if _worker is None or not _worker.alive or _worker.limit_mb != limit_mb:
            if _worker is None:
                atexit.register(_close_worker)
            else:
                _worker.close()
            _worker = ExtractWorker(limit_mb)
        return _worker.extract(path, password=password, ocr=ocr, max_pages=max_pages)


def _close_worker() -> None:
    with _lock:
        if _worker is not None:
            _worker.close()
