"""Crash-safe, incremental writing of generated chunks into suggestions files.

Each finished chunk is appended to a journal (one JSON line, flushed to the OS at once), so
a kill -9 loses only the requests in flight. Suggestions files are rewritten from the
journal at most every few seconds (a rewrite costs the whole file), under the file lock and
re-reading the file first, so a person's concurrent edits are kept. The next run replays
whatever the journal still holds.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import time
from pathlib import Path
from typing import TextIO

from qaforge.fileio import JsonFileError
from qaforge.records import Chunk, SuggestionsFile
from qaforge.suggestions import update_suggestions


class ChunkJournal:
    """Append-only JSONL of ``{"file": <suggestions file name>, "chunk": {...}}``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: TextIO | None = None

    def replay(self) -> dict[str, dict[str, Chunk]]:
        """Entries left by an earlier run, by file name and chunk id. A torn last line
        (the process died mid-write) is ignored."""
        out: dict[str, dict[str, Chunk]] = {}
        if not self.path.exists():
            return out
        with open(self.path, encoding="utf-8", errors="surrogateescape") as handle:
            for line in handle:
                try:
                    entry = json.loads(line)
                    chunk = Chunk.model_validate(entry["chunk"])
                except (ValueError, KeyError, TypeError):
                    continue
                out.setdefault(entry["file"], {})[chunk.id] = chunk
        return out

    def append(self, file_name: str, chunk: Chunk) -> None:
        handle = self._handle
        if handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = self._ends_mid_line()
            handle = self._handle = open(self.path, "a", encoding="utf-8",  # noqa: SIM115
                                         errors="surrogatepass")
            if torn:  # a killed run's torn last line must not swallow this entry
                handle.write("\n")
        line = json.dumps({"file": file_name, "chunk": chunk.model_dump(mode="json")},
                          ensure_ascii=True)
        handle.write(line + "\n")
        handle.flush()

    def _ends_mid_line(self) -> bool:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                if handle.tell() == 0:
                    return False
                handle.seek(-1, os.SEEK_END)
                return handle.read(1) != b"\n"
        except FileNotFoundError:
            return False

    def clear(self) -> None:
        self.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def apply_generated(data: SuggestionsFile, results: dict[str, Chunk]) -> int:
    """Put generated chunks into ``data``; returns how many landed.

    Only chunks still waiting (``pending``, or ``failed`` being retried) are filled; pairs a
    person added to a waiting chunk (or wrote into a failed one) are kept ahead of the
    generated ones, and a hand-written string of suggestions is never replaced.
    """
    landed = 0
    for chunk in data.chunks:
        result = results.get(chunk.id)
        if result is None or chunk.state == "generated":
            continue
        if isinstance(chunk.suggestions, list):
            # a failed result carries no model pairs, only the chunk's pairs at request time
            drafted = (result.suggestions if result.state == "generated"
                       and isinstance(result.suggestions, list) else [])
            known = {s.id for s in chunk.suggestions}
            chunk.suggestions = [*chunk.suggestions, *(s for s in drafted if s.id not in known)]
        chunk.state, chunk.raw, chunk.error = result.state, result.raw, result.error
        landed += 1
    return landed


class ChunkWriter:
    """Collects finished chunks per suggestions file and writes them out in batches."""

    def __init__(self, journal: ChunkJournal, paths: dict[str, Path],
                 interval: float = 2.0) -> None:
        self.journal = journal
        self.paths = paths
        self.interval = interval
        self.pending: dict[str, dict[str, Chunk]] = {}
        self.errors: dict[str, str] = {}
        self._last = time.monotonic()

    def add(self, file_name: str, chunk: Chunk) -> None:
        self.journal.append(file_name, chunk)
        self.pending.setdefault(file_name, {})[chunk.id] = chunk
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def preload(self, entries: dict[str, dict[str, Chunk]]) -> None:
        """Take over an earlier run's journal entries (they are already in the journal)."""
        for file_name, chunks in entries.items():
            if file_name in self.paths:
                self.pending.setdefault(file_name, {}).update(chunks)

    def flush(self) -> None:
        """Write every file with pending chunks; clear the journal when all landed."""
        self._last = time.monotonic()
        for file_name in list(self.pending):
            path = self.paths[file_name]
            results = self.pending[file_name]
            try:
                update_suggestions(path, functools.partial(apply_generated, results=results))
            except (JsonFileError, ValueError, OSError) as exc:
                self.errors[file_name] = str(exc)
                continue
            self.errors.pop(file_name, None)
            del self.pending[file_name]
        if not self.pending:
            self.journal.clear()

    def close(self) -> None:
        self.flush()
        self.journal.close()
