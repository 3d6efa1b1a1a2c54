"""A near-duplicate index whose memory does not grow with the number of pairs.

MinHash signatures of character shingles, cut into bands; each band of a kept pair is one
row of a temporary SQLite table on disk (deleted when the index closes), so a million kept
pairs cost disk, not RAM. Looking a text up returns the kept pairs that share a band with
it: the candidates a real comparison (rapidfuzz) then confirms or not.

The scheme (5-character shingles, 32 bands of 4 rows) finds pairs whose shingle sets are
0.6 similar (Jaccard) 99 times in 100 and 0.5 similar 87 times in 100 (pairs 85% alike by
rapidfuzz ratio are mostly above that), while unrelated pairs (~0.05) rarely share a band.
The text each candidate is confirmed by is stored beside its bands, so a lookup reads
rows, not records.

Unrelated texts share one band now and then (templated questions more often), so the
number of such chance candidates grows with the index: ~0.4 a lookup per 1,000 kept pairs
of ``bench/scale_refine.py``'s text, which made the search quadratic (30 min at a million
pairs against 50 s at 100k). Chance candidates almost never share two bands (103 of 191,157
in that text), while texts 85-90% alike by rapidfuzz ratio share two or more 95 times in
100 and at least one 99 times in 100 (random word edits of the corpus's text). So a lookup
returns every item sharing two or more bands, and the items sharing one only while there
are at most ``WEAK_LIMIT`` of them (else the first ``WEAK_LIMIT`` in item order): a small
index is searched as before, a large one stays linear.
"""

from __future__ import annotations

import hashlib
import sqlite3
from types import TracebackType

import numpy as np

SHINGLE = 5
BANDS = 32
ROWS = 4
#: candidates sharing a single band that a lookup confirms at most
WEAK_LIMIT = 64
#: SQLite's bound parameters per statement stay under its smallest default limit (999)
_IN_BATCH = 500


class Scheme:
    """Shingle size, bands and rows per band, and the fixed random numbers that hash them
    (seeded: the same text always gives the same band keys)."""

    def __init__(self, shingle: int = SHINGLE, bands: int = BANDS, rows: int = ROWS) -> None:
        self.shingle, self.bands, self.rows = shingle, bands, rows
        rng = np.random.default_rng(20240611)
        odd = np.uint64(1)
        self.multiply = rng.integers(1, 2**63, size=bands * rows, dtype=np.uint64) | odd
        self.add = rng.integers(0, 2**63, size=bands * rows, dtype=np.uint64)
        self.band_mix = rng.integers(1, 2**63, size=rows, dtype=np.uint64) | odd
        self.band_salt = rng.integers(0, 2**63, size=bands, dtype=np.uint64)
        self.shingle_mix = rng.integers(1, 2**63, size=shingle, dtype=np.uint64) | odd

    def shingles(self, text: str) -> np.ndarray:
        """Distinct 64-bit hashes of the text's ``shingle``-character substrings."""
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        codes = codes.astype(np.uint64)
        if len(codes) < self.shingle:
            codes = np.concatenate([codes, np.zeros(self.shingle - len(codes), np.uint64)])
        count = len(codes) - self.shingle + 1
        hashed = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for offset in range(self.shingle):
                hashed ^= codes[offset:offset + count] * self.shingle_mix[offset]
                hashed = (hashed << np.uint64(13)) | (hashed >> np.uint64(51))
        return np.unique(hashed)

    def band_keys(self, text: str) -> list[int]:
        """The ``bands`` keys of ``text`` (signed 64-bit, as SQLite stores them)."""
        shingles = self.shingles(text)
        with np.errstate(over="ignore"):
            signature = (shingles[:, None] * self.multiply[None, :]
                         + self.add[None, :]).min(axis=0)
            rows = signature.reshape(self.bands, self.rows) * self.band_mix[None, :]
            keys = rows.sum(axis=1, dtype=np.uint64) ^ self.band_salt
        return [int(k) for k in keys.view(np.int64)]


DEFAULT_SCHEME = Scheme()


class NearIndex:
    """Kept pairs by band; :meth:`candidates` then :meth:`add` per pair, in order."""

    def __init__(self, scheme: Scheme | None = None, weak_limit: int = WEAK_LIMIT) -> None:
        self.scheme = scheme or DEFAULT_SCHEME
        self.weak_limit = weak_limit
        # "" = a private temporary database on disk, removed when it is closed
        self.db = sqlite3.connect("")
        self.db.execute("PRAGMA cache_size = -16384")  # 16 MB of pages in memory at most
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE band (key INTEGER NOT NULL, item INTEGER NOT NULL, "
                        "PRIMARY KEY (key, item)) WITHOUT ROWID")
        self.db.execute("CREATE TABLE question (hash INTEGER PRIMARY KEY, item INTEGER)")
        self.db.execute("CREATE TABLE text (item INTEGER PRIMARY KEY, text TEXT NOT NULL, "
                        "length INTEGER NOT NULL)")
        self._shared = ("SELECT item, count(*) FROM band WHERE key IN ("
                        + ",".join("?" * self.scheme.bands) + ") GROUP BY item ORDER BY item")

    def keys(self, text: str) -> list[int]:
        """The band keys of ``text`` (what :meth:`candidates` and :meth:`add` take)."""
        return self.scheme.band_keys(text)

    def shared(self, keys: list[int]) -> list[tuple[int, int]]:
        """``(item, bands shared with keys)`` of every item added before that shares one, in
        item order (uncapped)."""
        return self.db.execute(self._shared, keys).fetchall()

    def candidates(self, keys: list[int]) -> list[tuple[int, str, int]]:
        """``(item, text, length)`` of the items added before that share two or more bands
        with ``keys``, and of the first ``weak_limit`` that share one, in item order."""
        strong: list[int] = []
        weak: list[int] = []
        for item, shared in self.shared(keys):
            (strong if shared > 1 else weak).append(item)
        chosen = sorted(strong + weak[:self.weak_limit])
        rows: list[tuple[int, str, int]] = []
        for start in range(0, len(chosen), _IN_BATCH):
            batch = chosen[start:start + _IN_BATCH]
            rows += self.db.execute(
                "SELECT item, text, length FROM text WHERE item IN ("
                + ",".join("?" * len(batch)) + ") ORDER BY item", batch).fetchall()
        return rows

    def add(self, item: int, keys: list[int], text: str, length: int) -> None:
        """Index ``item`` under ``keys``, keeping ``text`` (what a candidate is compared
        by) and ``length`` (of the whole text, which ``text`` may be a prefix of)."""
        self.db.executemany("INSERT OR IGNORE INTO band VALUES (?, ?)",
                            [(key, item) for key in keys])
        self.db.execute("INSERT INTO text VALUES (?, ?, ?)", (item, text, length))

    def question(self, question: str) -> int | None:
        """The item added with this (normalised) question, if any."""
        row = self.db.execute("SELECT item FROM question WHERE hash = ?",
                              (key_of(question),)).fetchone()
        return None if row is None else int(row[0])

    def add_question(self, item: int, question: str) -> None:
        self.db.execute("INSERT OR IGNORE INTO question VALUES (?, ?)", (key_of(question), item))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> NearIndex:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def key_of(text: str) -> int:
    """A 64-bit key of ``text`` (signed, as SQLite stores it)."""
    # 8 bytes: two different questions collide once in ~10^19 pairs
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
