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
import tempfile
from pathlib import Path
from typing import Any


class JsonFileError(ValueError):
    """A JSON file that does not parse, with the position a person needs to fix it."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.reason = message
        where = f":{line}:{column}" if line is not None else ""
        super().__init__(f"{self.path}{where}: {message}")


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path | str, text: str) -> None:
    # surrogatepass keeps lone surrogates from hostile input writable instead of crashing
    atomic_write_bytes(path, text.encode("utf-8", "surrogatepass"))


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


def inside(root: Path, candidate: Path) -> bool:
    """True when ``candidate`` resolves to a path inside ``root`` (no traversal, no symlink escape)."""
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
