"""Atomic file writes and JSON reading with precise error locations.

Every file qaforge writes goes through :func:`atomic_write_bytes`: a temp file in the same
directory, fsync, then ``os.replace``. A crash at any point leaves either the old file or
the new one, never half of either. Files a person may edit at the same time (with an editor
that takes no lock) are replaced with :func:`replace_checked` instead, which refuses when the
file moved on since it was read and never destroys bytes that landed meanwhile.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from qaforge.errors import JsonFileError, StaleRevisionError

#: deeper JSON is refused: the format needs 6 levels, and code that walks values recursively
#: (validation, the JSON encoder) must never meet a RecursionError
MAX_JSON_DEPTH = 64


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


@contextlib.contextmanager
def _temp_beside(path: Path) -> Iterator[tuple[BinaryIO, str]]:
    """A synced temp file beside ``path``, with the permissions ``path`` has; removed if
    the block fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # mkstemp makes it private (0600)
                os.fchmod(handle.fileno(), mode)
            yield handle, tmp
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a full disk fails write/fsync, which name no file
        raise


def _write_temp(path: Path, data: bytes) -> str:
    """``data`` in a synced temp file beside ``path``, with the permissions ``path`` has."""
    with _temp_beside(path) as (handle, tmp):
        handle.write(data)
    return tmp


@contextlib.contextmanager
def atomic_writer(path: Path | str) -> Iterator[BinaryIO]:
    """A handle whose bytes replace ``path`` atomically when the block ends (temp file +
    fsync + rename), for outputs too large to build in memory first; if the block fails,
    ``path`` is untouched."""
    path = Path(path)
    with _temp_beside(path) as (handle, tmp):
        yield handle
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file + fsync + rename)."""
    with atomic_writer(path) as handle:
        handle.write(data)


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
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(path, f"invalid JSON: {exc.msg}", exc.lineno, exc.colno) from exc
    except RecursionError as exc:
        raise JsonFileError(path, f"nested deeper than {MAX_JSON_DEPTH} levels") from exc
    except ValueError as exc:  # an integer with more digits than Python converts
        raise JsonFileError(path, f"unreadable value: {str(exc).split(';')[0]}") from exc
    if type(value) in (dict, list) and _depth_over(value, MAX_JSON_DEPTH):
        raise JsonFileError(path, f"nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """True when parsed JSON ``value`` nests deeper than ``limit`` (walked level by level,
    without recursion)."""
    level = [value]
    for _ in range(limit):
        below: list[Any] = []
        for item in level:
            children = item.values() if type(item) is dict else item
            below += [child for child in children if type(child) in (dict, list)]
        if not below:
            return False
        level = below
    return True


def revision_of_bytes(raw: bytes) -> str:
    """A file's revision is the hash of its bytes, so hand edits change it too."""
    return hashlib.sha256(raw).hexdigest()[:16]


def file_revision(path: Path | str) -> str | None:
    """Revision of the file on disk, or ``None`` when it does not exist."""
    try:
        return revision_of_bytes(Path(path).read_bytes())
    except FileNotFoundError:
        return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A file's bytes as read, and which file (inode, size, mtime) they were read from."""

    path: Path
    raw: bytes | None  # None: the file did not exist
    identity: tuple[int, int, int] | None

    @property
    def revision(self) -> str | None:
        return None if self.raw is None else revision_of_bytes(self.raw)


def _identity(info: os.stat_result) -> tuple[int, int, int]:
    return info.st_ino, info.st_size, info.st_mtime_ns


def read_snapshot(path: Path | str) -> Snapshot:
    """Read ``path`` for a later :func:`replace_checked`; a missing file reads as ``None``."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            identity = _identity(os.fstat(handle.fileno()))
            raw = handle.read()
    except FileNotFoundError:
        return Snapshot(path, None, None)
    except OSError as exc:
        raise JsonFileError(path, f"cannot read: {exc.strerror or exc}") from exc
    return Snapshot(path, raw, identity)


def _holds(path: Path, snapshot: Snapshot) -> bool:
    """True when ``path`` is still the very file ``snapshot`` read, with the same bytes."""
    try:
        with open(path, "rb") as handle:
            same = _identity(os.fstat(handle.fileno())) == snapshot.identity
            return same and handle.read() == snapshot.raw
    except FileNotFoundError:
        return snapshot.raw is None


_libc: Any = None


def _exchange(first: str | Path, second: str | Path) -> bool:
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` where
    the system or the file system cannot."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL(None, use_errno=True)
            _libc.renameat2  # noqa: B018 - raises AttributeError without it
        except (OSError, AttributeError):
            _libc = False
    if not _libc:
        return False
    at_cwd, exchange = -100, 2
    if _libc.renameat2(at_cwd, os.fsencode(first), at_cwd, os.fsencode(second), exchange) == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not on this file system
        return False
    raise OSError(error, os.strerror(error), str(second))


def replace_checked(path: Path | str, data: bytes, based_on: Snapshot) -> str:
    """Atomically replace ``path`` with ``data`` unless it changed since ``based_on`` was read.

    Meant for files a person edits while qaforge writes them: their editor takes no lock, so
    the check happens at the last moment (same inode, size, mtime and bytes), the new file is
    swapped in atomically, and the file it displaced is checked once more. A save that landed
    between the check and the swap is put back and :class:`StaleRevisionError` raised; the
    person's bytes are never destroyed (in the worst case they are kept beside the file, named
    in the error). Returns the new revision.
    """
    path = Path(path)
    tmp = _write_temp(path, data)
    try:
        if not _holds(path, based_on):
            raise StaleRevisionError(path, based_on.revision, file_revision(path))
        if based_on.raw is None:
            try:  # a hard link fails when the name exists: create-if-absent, atomically
                os.link(tmp, path)
            except FileExistsError as exc:
                raise StaleRevisionError(path, None, file_revision(path)) from exc
            except OSError:  # a file system without hard links: checked just above
                os.replace(tmp, path)
            return revision_of_bytes(data)
        if not _exchange(tmp, path):
            _replace_keeping_aside(path, tmp, based_on)
            return revision_of_bytes(data)
        if _holds(Path(tmp), based_on):  # what was displaced is what was checked
            return revision_of_bytes(data)
        # someone saved between the check and the swap: put their file back
        _exchange(tmp, path)
        if Path(tmp).read_bytes() != data:  # ... and saved over ours too: keep both
            kept = _keep_aside(path, tmp)
            raise StaleRevisionError(path, based_on.revision, file_revision(path),
                                     note=f"a concurrent save is kept in {kept}")
        raise StaleRevisionError(path, based_on.revision, file_revision(path))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _replace_keeping_aside(path: Path, tmp: str, based_on: Snapshot) -> None:
    """Without an atomic swap: link the current file aside, replace, then check what was
    linked aside; a save that landed in between is put back."""
    aside = f"{tmp}.old"
    try:
        os.link(path, aside)
    except OSError:  # a file system without hard links: checked just before, replace
        os.replace(tmp, path)
        return
    try:
        os.replace(tmp, path)
        if not _holds(Path(aside), based_on):
            os.replace(aside, path)
            raise StaleRevisionError(path, based_on.revision, file_revision(path))
    finally:
        with contextlib.suppress(OSError):
            os.unlink(aside)


def _keep_aside(path: Path, tmp: str) -> Path:
    kept = path.with_name(f"{path.name}.conflict-{time.strftime('%Y%m%d-%H%M%S')}-"
                          f"{os.getpid()}")
    os.rename(tmp, kept)
    return kept


def sha256_file(path: Path | str, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            digest.update(chunk)
    return digest.hexdigest()

