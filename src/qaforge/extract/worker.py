"""The extraction child process: ``python -m qaforge.extract.worker LIMIT_MB IDLE_S``.

It caps its own address space at ``LIMIT_MB`` (``RLIMIT_AS``), then extracts one PDF per
request until its stdin closes or it has been idle for ``IDLE_S`` seconds. A PDF that needs
more memory makes an allocation fail here (PDFium then aborts, or Python raises
:class:`MemoryError`), and only this process dies; :mod:`qaforge.extract.isolation` starts
a fresh one for the next file.

Protocol (plain data both ways, never code): one JSON line per request on stdin
(``{"path", "password", "ocr", "max_pages"}``); per request one reply on the descriptor that
was stdout at start: an 8-byte big-endian length, then a JSON object, one of
``{"document": {...}}``, ``{"error": reason, "encrypted": bool}``, ``{"memory": true}`` or
``{"failed": "Type: message"}``. Stray writes to stdout (a C library printing) go to stderr.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import struct
import sys
from pathlib import Path
from typing import IO, Any

from qaforge.errors import EncryptedPDFError, ExtractionError
from qaforge.extract.extractor import extract_in_process

HEADER = struct.Struct(">Q")


def send(channel: IO[bytes], message: dict[str, Any]) -> None:
    """One framed reply; ``ensure_ascii`` keeps lone surrogates from PDF text round-trippable."""
    body = json.dumps(message, ensure_ascii=True).encode("ascii")
    channel.write(HEADER.pack(len(body)) + body)
    channel.flush()


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Extract the requested file; every outcome becomes a reply, nothing escapes."""
    try:
        document = extract_in_process(Path(request["path"]), password=request.get("password"),
                                      ocr=bool(request.get("ocr")),
                                      max_pages=int(request["max_pages"]))
    except ExtractionError as exc:
        return {"error": exc.reason, "encrypted": isinstance(exc, EncryptedPDFError)}
    except MemoryError:
        return {"memory": True}
    except Exception as exc:  # a bug or a library error costs only this file
        return {"failed": f"{type(exc).__name__}: {exc}"}
    return {"document": document.model_dump(mode="json")}


def main(argv: list[str]) -> int:
    limit_mb, idle_s = int(argv[0]), float(argv[1])
    # Ctrl-C reaches the whole process group; the parent decides, and closes our stdin
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    limit = limit_mb << 20
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], idle_s)
        if not ready:
            return 0  # idle: give the memory back; the parent starts a new one when needed
        line = stdin.readline()  # one request at a time: nothing else sits in the buffer
        if not line:
            return 0
        reply = handle(json.loads(line))
        send(channel, reply)
        if "memory" in reply:
            return 3  # the heap may be in a poor state after MemoryError: start fresh


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
