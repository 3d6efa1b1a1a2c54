"""A small persistent cache of model replies, so refine resumes where it stopped.

Keys hash everything that decides a reply: the model, the rendered messages (which hold the
pair, the chunk text and the prompt template) and the JSON schema. A re-run after a crash,
or after a person edited five pairs, sends only what changed. SQLite in WAL mode: every
reply is committed as it arrives, and a reader never blocks the writer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Protocol

from qaforge.llm.base import ChatRequest, LLMClient
from qaforge.safe_paths import require_inside

CACHE_PATH = Path(".qaforge") / "cache.sqlite"


class ReplyStore(Protocol):
    """What the judge and the corrector need of a cache: :class:`ReplyCache`, or a proxy to
    one (a distributed runner keeps the cache with the work directory)."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, kind: str, value: Any) -> None: ...


def request_key(kind: str, client: LLMClient, request: ChatRequest) -> str:
    """Stable hash of one request as ``client`` would answer it."""
    material = json.dumps(
        {"kind": kind, "backend": client.backend, "model": client.model,
         "messages": request.messages, "schema": request.schema,
         "max_tokens": request.max_tokens, "temperature": request.temperature},
        sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


class ReplyCache:
    """``key -> JSON value`` on disk; ``ReplyCache(None)`` keeps everything in memory."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        target = ":memory:"
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            target = str(path)
        # check_same_thread=False: Ray/thread runners may hand the object around; we never
        # use one connection from two threads at once
        self._db = sqlite3.connect(target, timeout=30, check_same_thread=False)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, "
                         "kind TEXT NOT NULL, value TEXT NOT NULL, created REAL NOT NULL)")
        self._db.commit()
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_workdir(cls, workdir: Path) -> ReplyCache:
        return cls(require_inside(workdir, workdir / CACHE_PATH, "not used"))

    def get(self, key: str) -> Any | None:
        row = self._db.execute("SELECT value FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        try:
            value = json.loads(row[0])
        except ValueError:
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, key: str, kind: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO replies (key, kind, value, created) "
                         "VALUES (?, ?, ?, ?)",
                         (key, kind, json.dumps(value, ensure_ascii=True), time.time()))
        self._db.commit()

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReplyCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
