"""Refine's records on disk between the steps, so memory does not grow with the pairs.

Every :class:`PairRecord` is a row of a private temporary SQLite database (removed when
the store closes, or by the system when the process dies): its JSON without the chunk text
(compressed), plus the few columns the whole-corpus steps sort and count by. A chunk's text
is stored once, beside. Steps read the records back a bounded group at a time, in file
order or from the last back (:meth:`RecordStore.groups`) or by position
(:meth:`RecordStore.get`), and write back what they changed (:meth:`RecordStore.put`);
what the coverage ledger needs per file waits here too (:meth:`RecordStore.put_sentences`).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from array import array
from collections.abc import Iterable, Iterator
from types import TracebackType

from qaforge.refine.coverage import FileSentences
from qaforge.refine.evidence import ChunkCoverage
from qaforge.refine.pair_record import PairRecord

#: rows read from SQLite at once when going through the records in order
_PAGE = 500


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")  # PDF text may hold lone surrogates


def _text_key(text: str) -> str:
    # by content, not chunk id: a hand-edited file may give two chunks one id
    return hashlib.blake2b(_utf8(text), digest_size=16).hexdigest()


class RecordStore:
    """The records of one run, by position (the order they were loaded in)."""

    def __init__(self) -> None:
        # "" = a private temporary database on disk, removed when it is closed
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA cache_size = -16384")  # 16 MB of pages in memory at most
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute(
            "CREATE TABLE record (pos INTEGER PRIMARY KEY, chunk TEXT NOT NULL, "
            "form TEXT NOT NULL, decision TEXT NOT NULL, preference BLOB NOT NULL, "
            "body BLOB NOT NULL)")
        self.db.execute("CREATE TABLE chunk (key TEXT PRIMARY KEY, text BLOB NOT NULL)")
        self.db.execute("CREATE TABLE sentences (file INTEGER PRIMARY KEY, body TEXT)")
        self.size = 0
        self._chunks: dict[str, str] = {}

    def __len__(self) -> int:
        return self.size

    def add(self, records: Iterable[PairRecord]) -> None:
        """Append ``records`` (they get the next positions)."""
        rows = []
        for record in records:
            self.db.execute("INSERT OR IGNORE INTO chunk VALUES (?, ?)",
                            (_text_key(record.chunk_text), _utf8(record.chunk_text)))
            rows.append((self.size, *self._columns(record)))
            self.size += 1
        self.db.executemany("INSERT INTO record VALUES (?, ?, ?, ?, ?, ?)", rows)

    def put(self, group: Iterable[tuple[int, PairRecord]]) -> None:
        """Write back records a step changed (``(position, record)``)."""
        self.db.executemany(
            "UPDATE record SET chunk = ?, form = ?, decision = ?, preference = ?, body = ? "
            "WHERE pos = ?",
            [(*self._columns(record), pos) for pos, record in group])

    def get(self, pos: int) -> PairRecord:
        row = self.db.execute("SELECT chunk, body FROM record WHERE pos = ?", (pos,)).fetchone()
        return self._record(row[0], row[1])

    def records(self, where: str = "1", *, last_first: bool = False
                ) -> Iterator[tuple[int, PairRecord]]:
        """``(position, record)`` in file order, or from the last back (of those ``where``
        selects: an SQL condition over the columns), read a page at a time."""
        after, order, last = ("<", "DESC", self.size) if last_first else (">", "ASC", -1)
        while True:
            rows = self.db.execute(
                f"SELECT pos, chunk, body FROM record WHERE pos {after} ? AND ({where}) "
                f"ORDER BY pos {order} LIMIT {_PAGE}", (last,)).fetchall()
            if not rows:
                return
            for pos, chunk, body in rows:
                yield pos, self._record(chunk, body)
            last = rows[-1][0]

    def groups(self, size: int, where: str = "1", *, last_first: bool = False
               ) -> Iterator[list[tuple[int, PairRecord]]]:
        """:meth:`records` in groups of at least ``size`` (the last may be smaller) that
        end where a chunk does, so that a step sees every pair of a chunk together."""
        group: list[tuple[int, PairRecord]] = []
        for pos, record in self.records(where, last_first=last_first):
            if len(group) >= size and record.chunk_key != group[-1][1].chunk_key:
                yield group
                group = []
            group.append((pos, record))
        if group:
            yield group

    def count(self, where: str = "1") -> int:
        return int(self.db.execute(f"SELECT COUNT(*) FROM record WHERE {where}").fetchone()[0])

    def forms(self) -> list[tuple[str, int]]:
        """The question forms of the pairs still in the running, with their numbers."""
        return [(str(form), int(n)) for form, n in self.db.execute(
            "SELECT form, COUNT(*) FROM record WHERE decision = 'pending' GROUP BY form "
            "ORDER BY MIN(pos)")]

    def by_preference(self, form: str) -> array[int]:
        """Positions of the pairs of ``form`` still in the running, the preferred first
        (8 bytes a pair: what the near-duplicate search walks through)."""
        out = array("q")
        out.extend(pos for (pos,) in self.db.execute(
            "SELECT pos FROM record WHERE decision = 'pending' AND form = ? "
            "ORDER BY preference, pos", (form,)))
        return out

    def put_sentences(self, file: int, sentences: FileSentences | None) -> None:
        """Keep the coverage ledger's entry of file number ``file`` until the report."""
        if sentences is None:
            return
        body = {"pages": sentences.pages, "skipped": sentences.skipped,
                "chunks": [[key, [list(s) for s in c.sentences]]
                           for key, c in sentences.chunks.items()]}
        self.db.execute("INSERT OR REPLACE INTO sentences VALUES (?, ?)",
                        (file, json.dumps(body)))

    def sentences(self, file: int) -> FileSentences | None:
        row = self.db.execute("SELECT body FROM sentences WHERE file = ?", (file,)).fetchone()
        if row is None:
            return None
        body = json.loads(row[0])
        return FileSentences(pages=body["pages"], skipped=body["skipped"], chunks={
            key: ChunkCoverage([(s[0], s[1]) for s in spans]) for key, spans in body["chunks"]})

    def _columns(self, record: PairRecord) -> tuple[str, str, str, bytes, bytes]:
        # the json module, not pydantic's: a PDF's text may hold lone surrogates
        body = zlib.compress(json.dumps(record.model_dump(mode="json", exclude={"chunk_text"})
                                        ).encode(), 1)
        grounding = record.grounding.score if record.grounding else 0.0
        # dedup's preference (dedup._preference), as bytes that sort the same way
        preference = bytes([0 if record.reviewed else 1, 1 if record.issues else 0]) + (
            round((1.0 - grounding) * 10**12).to_bytes(8, "big"))
        return _text_key(record.chunk_text), record.form, record.decision, preference, body

    def _record(self, chunk: str, body: bytes) -> PairRecord:
        record = PairRecord.model_validate(json.loads(zlib.decompress(body)))
        record.chunk_text = self._chunk_text(chunk)
        return record

    def _chunk_text(self, key: str) -> str:
        text = self._chunks.get(key)
        if text is None:
            row = self.db.execute("SELECT text FROM chunk WHERE key = ?", (key,)).fetchone()
            text = row[0].decode("utf-8", "surrogatepass") if row else ""
            if len(self._chunks) >= 64:  # the pairs of a chunk come together: keep a few
                self._chunks.clear()
            self._chunks[key] = text
        return text

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
