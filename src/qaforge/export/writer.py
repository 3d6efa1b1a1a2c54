"""Writing an export: all of it or none of it.

Every file is written into a fresh folder beside the output, which then takes the output's
place in one step (``renameat2(RENAME_EXCHANGE)`` on Linux; two renames elsewhere, undone
by the next export if a crash falls between them). A kill at any moment leaves the old export
whole or the new one complete, never a new ``train.jsonl`` beside an old
``validation.jsonl``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

from qaforge.errors import ExportError
from qaforge.export.card import CARD_MARKER, CARD_NAME
from qaforge.fileio import atomic_write_text

_NEW, _OLD = ".qaforge-new-", ".qaforge-old-"


def check_output(output: Path, ours: set[str]) -> None:
    """Refuse a folder that an earlier export did not write, or that holds other files
    (replacing the folder would take them away)."""
    if not output.exists():
        return
    if not output.is_dir():
        raise ExportError(f"{output}: not a folder; choose another one with -o")
    readme = output / CARD_NAME
    written_by_us = readme.is_file() and CARD_MARKER in readme.read_text(
        encoding="utf-8", errors="replace")
    names = sorted(p.name for p in output.iterdir())
    if names and not written_by_us:
        raise ExportError(f"{output}: already has {', '.join(names[:5])} not written by "
                          "`qaforge export`; choose another folder with -o")
    foreign = [name for name in names if name not in ours]
    if foreign:
        raise ExportError(f"{output}: also holds {', '.join(foreign[:5])}, which an export "
                          "would replace; move them out or choose another folder with -o")


def recover(output: Path) -> None:
    """Tidy what a killed export left beside ``output``: a half-written new folder goes;
    an old export moved aside just before the kill comes back."""
    parent = output.parent
    if not parent.is_dir():
        return
    for leftover in parent.glob(f".{output.name}{_NEW}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in sorted(parent.glob(f".{output.name}{_OLD}*")):
        if not output.exists():
            os.replace(leftover, output)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def write_folder(output: Path, files: dict[str, str]) -> None:
    """Write ``files`` (name -> text) as the whole content of ``output``, atomically."""
    with new_folder(output) as fresh:
        for name, text in files.items():
            atomic_write_text(fresh / name, text)


@contextlib.contextmanager
def new_folder(output: Path) -> Iterator[Path]:
    """A fresh folder to write into; when the block ends without error it becomes
    ``output`` in one step (files too large to hold in memory are written into it as they
    are made). On an error, ``output`` is untouched."""
    output.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    fresh = output.parent / f".{output.name}{_NEW}{token}"
    fresh.mkdir()
    try:
        yield fresh
        _fsync_dir(fresh)
        if not output.exists():
            os.rename(fresh, output)
        elif not _exchange(fresh, output):
            aside = output.parent / f".{output.name}{_OLD}{token}"
            os.rename(output, aside)
            os.rename(fresh, output)
            fresh = aside
        _fsync_dir(output.parent)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where unsupported."""
    rename_exchange, at_fdcwd = 2, -100
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return bool(result == 0)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
