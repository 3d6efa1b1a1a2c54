"""Atomic file writes and JSON reading with precise error locations.

Every file qaforge writes goes through :func:`atomic_write_bytes`: a temp file in the same
directory, fsync, then ``os.replace``. A crash at any point leaves either the old file or
the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from qaforge.errors import JsonFileError


def _process_umask() -> int:
    """The umask, read without changing it (``os.umask`` would, for every thread)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets what ``open`` would give it."""
    try:
        return stat.S_IMODE(path.stat().st_mode) & 0o777
    except OSError:
        return 0o666 & ~_process_umask()


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # mkstemp makes it private (0600)
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a full disk fails write/fsync, which name no file
        raise


def encode_text(text: str) -> bytes:
    """UTF-8 that is always valid: a lone surrogate (hostile PDF text or model output) is
    written as its ``\\udXXX`` escape, which inside a JSON string reads back as the same
    character, instead of crashing or writing bytes no UTF-8 reader accepts."""
    return text.encode("utf-8", "backslashreplace")


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, encode_text(text))


def dumps_pretty(obj: Any) -> str:
    """The house JSON style for files people read: indented, UTF-8 kept readable."""
    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def atomic_write_json(path: Path | str, obj: Any) -> None:
    atomic_write_text(path, dumps_pretty(obj))


def read_json(path: Path | str) -> Any:
    """Parse a JSON file; raise :class:`JsonFileError` naming file, line and column."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    return parse_json_bytes(raw, path)


def parse_json_bytes(raw: bytes, path: Path | str) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:  # lone surrogates as older qaforge versions wrote them: readable, not lost
            text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            line = raw[: exc.start].count(b"\n") + 1
            column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
            raise JsonFileError(path, "not valid UTF-8", line, column) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(path, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from exc


def revision_of_bytes(raw: bytes) -> str:
    """A file's revision is the hash of its bytes, so hand edits change it too."""
    return hashlib.sha256(raw).hexdigest()[:16]


def file_revision(path: Path | str) -> str | None:
    """Revision of the file on disk, or ``None`` when it does not exist."""
    try:
        return revision_of_bytes(Path(path).read_bytes())
    except FileNotFoundError:
        return None


def sha256_file(path: Path | str, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()

