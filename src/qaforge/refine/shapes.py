"""Hand-edited suggestions files in the shapes people write, read as what they plainly mean.

The loader validates one shape: ``chunks`` is a list of chunk objects, each with a list of
pair objects (or one string of free text). A person's editor also produces ``chunks`` as an
object (a mapping of chunks, or one chunk on its own), ``suggestions`` as an object (a
mapping of pairs, or one pair) and a pair written as ``[question, answer]``. Those are
rewritten into the one shape, remembering where each entry sits in the file, so every
pair is either read or reported as malformed at its own location. Anything else is left as
it is, for the loader to report.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_CHUNK_FIELDS = frozenset({"id", "text", "suggestions", "pages", "headings", "state"})
_PAIR_FIELDS = frozenset({"id", "question", "answer", "status"})
_CANONICAL = re.compile(r"^chunks\[(\d+)\](?:\.suggestions\[(\d+)\])?")


@dataclass(slots=True)
class Shaped:
    """The document in the loader's shape, and where each entry came from in the file."""

    doc: dict[str, Any]
    chunk_places: list[str] = field(default_factory=list)
    pair_places: list[list[str]] = field(default_factory=list)
    changed: bool = False

    def place(self, field_path: str) -> str:
        """The location in the file of a field named in the loader's shape."""
        match = _CANONICAL.match(field_path)
        if match is None:
            return field_path
        i = int(match.group(1))
        if i >= len(self.chunk_places):
            return field_path
        if match.group(2) is None:
            where = self.chunk_places[i]
        else:
            j = int(match.group(2))
            places = self.pair_places[i]
            where = places[j] if j < len(places) else f"{self.chunk_places[i]}.suggestions[{j}]"
        return where + field_path[match.end():]


def _key(name: str) -> str:
    return f"[{json.dumps(name, ensure_ascii=False)}]"


def _entries(value: dict[str, Any], place: str, one: frozenset[str]
             ) -> tuple[list[Any], list[str]]:
    """An object standing for a list: a mapping of entries, or one entry on its own."""
    if value.keys() & one and not all(isinstance(v, dict | list) for v in value.values()):
        return [value], [place]
    return list(value.values()), [place + _key(str(k)) for k in value]


def _pair(value: Any) -> tuple[Any, bool]:
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(part, str) for part in value)):
        return {"question": value[0], "answer": value[1]}, True
    return value, False


def shape(doc: dict[str, Any]) -> Shaped:
    """``doc`` with chunks and pairs as lists, and the file location of every entry."""
    shaped = Shaped(doc=doc)
    chunks = doc.get("chunks")
    if isinstance(chunks, dict):
        chunks, shaped.chunk_places = _entries(chunks, "chunks", _CHUNK_FIELDS)
        shaped.changed = True
    elif isinstance(chunks, list):
        shaped.chunk_places = [f"chunks[{i}]" for i in range(len(chunks))]
    else:
        return shaped
    out_chunks = []
    for entry, place in zip(chunks, shaped.chunk_places, strict=True):
        pairs = entry.get("suggestions") if isinstance(entry, dict) else None
        if isinstance(pairs, dict):
            pairs, places = _entries(pairs, f"{place}.suggestions", _PAIR_FIELDS)
            shaped.changed = True
        elif isinstance(pairs, list):
            places = [f"{place}.suggestions[{j}]" for j in range(len(pairs))]
        else:
            shaped.pair_places.append([])
            out_chunks.append(entry)
            continue
        fixed = [_pair(p) for p in pairs]
        shaped.changed |= any(was_list for _, was_list in fixed)
        shaped.pair_places.append(places)
        out_chunks.append({**entry, "suggestions": [p for p, _ in fixed]})
    if shaped.changed:
        shaped.doc = {**doc, "chunks": out_chunks}
    return shaped
