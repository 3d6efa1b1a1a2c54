"""Writing ``evaluation.json`` one entry at a time, and as shards past a size.

Up to :data:`SHARD_ENTRIES` entries (``$QAFORGE_EVALUATION_SHARD_ENTRIES`` overrides it)
the file is the one readable JSON document it always was, byte for byte (written piece by
piece instead of built in memory first). Above, it is an index: the same summary and
files, and ``entry_shards`` naming ``evaluation/entries-<run>-<n>.jsonl`` files of one
entry per line (as many per shard), which any line-by-line tool opens comfortably.

Crash safety: every file is written atomically, shards before the index that names them,
and a run's shard names are its own; a kill at any point leaves the previous
``evaluation.json`` with the shards it names. Shards no index names (a killed run's, or a
previous run's) are removed after the index is replaced; nothing else in the folder is.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, BinaryIO

from qaforge.fileio import atomic_writer, dumps_pretty, encode_text, read_json
from qaforge.safe_paths import require_inside

#: entries up to which ``evaluation.json`` holds them itself; also the entries per shard
SHARD_ENTRIES = 10_000
#: environment variable that overrides :data:`SHARD_ENTRIES` (tests, and people who want
#: smaller or larger shards)
SHARD_ENV = "QAFORGE_EVALUATION_SHARD_ENTRIES"


def shard_entries() -> int:
    """Entries per shard: ``$QAFORGE_EVALUATION_SHARD_ENTRIES`` when it is a positive
    number, else :data:`SHARD_ENTRIES`."""
    value = os.environ.get(SHARD_ENV, "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else SHARD_ENTRIES
SHARD_DIR = "evaluation"
_SHARD_NAME = re.compile(r"entries-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}-[0-9]{5}\.jsonl")


def write_evaluation(path: Path, head: dict[str, Any], entries: Iterable[dict[str, Any]],
                     total: int) -> list[Path]:
    """Write ``head`` plus ``entries`` (``total`` of them) to ``path``; returns the shards
    written (none when the entries fit in the file itself). A shard folder that leads
    outside ``path``'s folder (a symlink) is refused: :class:`UnsafePathError`."""
    folder = require_inside(path.parent, path.parent / SHARD_DIR, "not written")
    size = shard_entries()
    if total <= size:
        with atomic_writer(path) as handle:
            _write_inline(handle, head, entries)
        shards: list[tuple[Path, int]] = []
    else:
        shards = _write_shards(folder, entries, size)
        index = {**head, "entries_total": total,
                 "entry_shards": [{"path": f"{SHARD_DIR}/{shard.name}",
                                   "entries": count} for shard, count in shards]}
        with atomic_writer(path) as handle:
            handle.write(encode_text(dumps_pretty(index)))
    written = [shard for shard, _ in shards]
    _remove_stale(folder, {p.name for p in written})
    return written


def read_entries(path: Path) -> Iterable[dict[str, Any]]:
    """Every entry of the evaluation at ``path``, inline or in its shards, one at a time
    (a shard named outside the folder is refused: :class:`UnsafePathError`)."""
    index = read_json(path)
    if "entry_shards" not in index:
        yield from index.get("entries", [])
        return
    for shard in index["entry_shards"]:
        shard_path = require_inside(path.parent, path.parent / str(shard["path"]))
        with open(shard_path, encoding="utf-8") as lines:
            for line in lines:
                yield json.loads(line)


def _write_inline(handle: BinaryIO, head: dict[str, Any],
                  entries: Iterable[dict[str, Any]]) -> None:
    """``{**head, "entries": [...]}`` exactly as ``dumps_pretty`` writes it."""
    text = dumps_pretty({**head, "entries": []})
    closing = "[]\n}\n"
    handle.write(encode_text(text[:-len(closing)]))
    first = True
    for entry in entries:
        body = json.dumps(entry, ensure_ascii=False, indent=2).replace("\n", "\n    ")
        handle.write(encode_text(("[\n    " if first else ",\n    ") + body))
        first = False
    handle.write(encode_text(closing if first else "\n  ]\n}\n"))


def _write_shards(folder: Path, entries: Iterable[dict[str, Any]], size: int
                  ) -> list[tuple[Path, int]]:
    run = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
    shards: list[tuple[Path, int]] = []
    batch: list[bytes] = []

    def flush() -> None:
        shard = folder / f"entries-{run}-{len(shards):05d}.jsonl"
        with atomic_writer(shard) as handle:
            handle.writelines(batch)
        shards.append((shard, len(batch)))
        batch.clear()

    for entry in entries:
        batch.append(encode_text(json.dumps(entry, ensure_ascii=False) + "\n"))
        if len(batch) == size:
            flush()
    if batch:
        flush()
    return shards


def _remove_stale(folder: Path, keep: set[str]) -> None:
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if _SHARD_NAME.fullmatch(path.name) and path.name not in keep and path.is_file():
            path.unlink(missing_ok=True)
