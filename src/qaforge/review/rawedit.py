"""Write a review change into the file's own text, so only what changed is rewritten.

A person may have written the file by hand: their indentation, key order, numbers such as
``1e999`` or ``1.50``, ``NaN``, keys qaforge does not know. Re-serialising the validated
records would rewrite all of that. Instead the change is found by comparing the edited
chunk before and after the operation, and only the JSON values that differ are replaced in
the text (a changed field, an inserted or removed pair); every other byte stays as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from qaforge.records import Chunk, Suggestion, SuggestionsFile

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Member:
    """Where one ``"key": value`` of a JSON object sits in the text."""

    key_start: int
    colon: str  # the text between the key and its value, e.g. ": "
    value_start: int
    value_end: int


@dataclass(frozen=True, slots=True)
class Edit:
    start: int
    end: int
    text: str


def decode(raw: bytes) -> tuple[str, bool]:
    """The file's text and whether it starts with a BOM (:func:`encode` restores both)."""
    bom = raw.startswith(BOM)
    return raw[len(BOM) if bom else 0:].decode("utf-8", "surrogatepass"), bom


def encode(text: str, bom: bool) -> bytes:
    return (BOM if bom else b"") + text.encode("utf-8", "surrogatepass")


def _skip(text: str, index: int) -> int:
    match = _SPACE.match(text, index)
    return match.end() if match else index


def _value_end(text: str, start: int) -> int:
    return int(_DECODER.raw_decode(text, start)[1])


def members(text: str, start: int, until: str | None = None) -> dict[str, Member]:
    """The members of the object whose ``{`` is at ``start`` (the last of a repeated key
    wins, as for ``json.loads``). With ``until``, reading stops at that key, whose value is
    not read (its ``value_end`` is -1)."""
    out: dict[str, Member] = {}
    index = _skip(text, start + 1)
    while text[index] != "}":
        key, after_key = _DECODER.raw_decode(text, index)
        value_start = _skip(text, _skip(text, after_key) + 1)
        if key == until:
            out[key] = Member(index, text[after_key:value_start], value_start, -1)
            return out
        value_end = _value_end(text, value_start)
        out[key] = Member(index, text[after_key:value_start], value_start, value_end)
        index = _skip(text, value_end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return out


def items(text: str, start: int, stop: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of each value of the array whose ``[`` is at ``start`` (the first
    ``stop`` of them)."""
    out: list[tuple[int, int]] = []
    index = _skip(text, start + 1)
    while text[index] != "]" and (stop is None or len(out) < stop):
        end = _value_end(text, index)
        out.append((index, end))
        index = _skip(text, end)
        if text[index] == ",":
            index = _skip(text, index + 1)
    return out


def _line_indent(text: str, index: int) -> str:
    line_start = text.rfind("\n", 0, index) + 1
    return text[line_start:_skip(text, line_start)].replace("\n", "").replace("\r", "")


def _dump(value: Any, indent: str | None, step: str) -> str:
    """``value`` as JSON in the file's style: ``indent`` is the indentation of the line it
    starts on, ``None`` for a file written on one line."""
    ascii_only = bool(_LONE_SURROGATE.search(json.dumps(value, ensure_ascii=False)))
    if indent is None:
        return json.dumps(value, ensure_ascii=ascii_only)
    return json.dumps(value, ensure_ascii=ascii_only,
                      indent=step or "  ").replace("\n", "\n" + indent)


def _style(text: str, start: int, end: int) -> tuple[str | None, str]:
    """The indentation of the container at ``start..end`` and its indent step."""
    if "\n" not in text[start:end]:
        return None, ""
    outer = _line_indent(text, start)
    inner_at = _skip(text, start + 1)
    inner = _line_indent(text, inner_at) if text[inner_at] not in "]}" else outer + "  "
    step = inner[len(outer):] if inner.startswith(outer) and len(inner) > len(outer) else "  "
    return outer, step


def _same(a: Any, b: Any) -> bool:
    """Equal as JSON (``NaN`` equals ``NaN``; ``1`` is not ``1.0`` or ``True``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def object_edits(text: str, start: int, end: int, old: dict[str, Any],
                 new: dict[str, Any]) -> list[Edit]:
    """Edits that turn the object at ``start..end`` (which reads as ``old``) into ``new``,
    touching only the members whose values differ."""
    found = members(text, start)
    outer, step = _style(text, start, end)
    inner = None if outer is None else outer + step
    edits: list[Edit] = []
    for key, value in new.items():
        if key in old and key in found and _same(old[key], value):
            continue
        if key in found:
            member = found[key]
            indent = None if outer is None else _line_indent(text, member.value_start)
            edits.append(Edit(member.value_start, member.value_end, _dump(value, indent, step)))
        else:
            edits.append(_insert_member(text, found, start, end, key, value, inner, step))
    ordered = sorted(found.items(), key=lambda pair: pair[1].key_start)
    for position, (key, member) in enumerate(ordered):
        if key in old and key not in new:
            if position + 1 < len(ordered):
                edits.append(Edit(member.key_start, ordered[position + 1][1].key_start, ""))
            elif position:
                edits.append(Edit(ordered[position - 1][1].value_end, member.value_end, ""))
            else:
                edits.append(Edit(member.key_start, member.value_end, ""))
    return edits


def _insert_member(text: str, found: dict[str, Member], start: int, end: int, key: str,
                   value: Any, inner: str | None, step: str) -> Edit:
    last = max(found.values(), key=lambda member: member.key_start, default=None)
    colon = last.colon if last else ": "
    body = f"{json.dumps(key, ensure_ascii=False)}{colon}{_dump(value, inner, step)}"
    if last is None:
        return Edit(start + 1, start + 1, body)
    if inner is None:
        return Edit(last.value_end, last.value_end, f", {body}")
    return Edit(last.value_end, last.value_end, f",\n{inner}{body}")


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with ``edits`` (which must not overlap) applied."""
    out, cursor = [], 0
    for edit in sorted(edits, key=lambda item: item.start):
        if edit.start < cursor:
            raise ValueError("overlapping edits")
        out += [text[cursor:edit.start], edit.text]
        cursor = edit.end
    out.append(text[cursor:])
    return "".join(out)


def _fields(model: Suggestion | Chunk, exclude: set[str] | None = None) -> dict[str, Any]:
    """The fields the file has (or a change set), as Python values (``NaN`` stays one)."""
    return model.model_dump(mode="python", exclude_unset=True, exclude=exclude)


def _chunk_span(text: str, index: int) -> tuple[int, int]:
    """Where chunk ``index`` sits in the text (only the chunks before it are read again)."""
    # a repeated "chunks" key would put the edit in the wrong list: check_written refuses it
    chunks = members(text, _skip(text, 0), until="chunks")["chunks"]
    return items(text, chunks.value_start, index + 1)[index]


def repair_ids(text: str, data: SuggestionsFile) -> str:
    """Write the ids the loader gave pairs that had none or a duplicate, so the ids the page
    shows are the ids on disk."""
    doc = json.loads(text)
    edits: list[Edit] = []
    for index, chunk in enumerate(data.chunks):
        raw_pairs = doc["chunks"][index].get("suggestions")
        if not isinstance(chunk.suggestions, list) or not isinstance(raw_pairs, list):
            continue
        for position, pair in enumerate(chunk.suggestions):
            if raw_pairs[position].get("id") == pair.id:
                continue
            chunk_members = members(text, _chunk_span(text, index)[0])
            pair_spans = items(text, chunk_members["suggestions"].value_start)
            start, end = pair_spans[position]
            edits += object_edits(text, start, end, raw_pairs[position],
                                  {**raw_pairs[position], "id": pair.id})
    return apply_edits(text, edits) if edits else text


def check_written(text: str, index: int, after: Chunk) -> None:
    """Refuse to write ``text`` unless chunk ``index`` reads back as ``after`` (a safety net:
    an edit in the wrong place must fail loudly, not be written)."""
    written = Chunk.model_validate(json.loads(text)["chunks"][index])
    if not _same(written.model_dump(mode="python"), after.model_dump(mode="python")):
        raise RuntimeError(f"internal error: chunk {after.id!r} would not read back as edited")


def chunk_edits(text: str, index: int, before: Chunk, after: Chunk) -> list[Edit]:
    """Edits that turn chunk ``index`` of the file (which reads as ``before``) into ``after``."""
    start, end = _chunk_span(text, index)
    old_fields = _fields(before, {"suggestions"})
    edits = object_edits(text, start, end, old_fields, _fields(after, {"suggestions"}))
    old_pairs, new_pairs = before.suggestions, after.suggestions
    found = members(text, start)
    value = found.get("suggestions")
    if (value is None or not isinstance(old_pairs, list) or not isinstance(new_pairs, list)
            or text[value.value_start] != "["):
        if _same(_pairs_value(old_pairs), _pairs_value(new_pairs)) and value is not None:
            return edits
        return edits + object_edits(text, start, end, {}, {"suggestions": _pairs_value(
            new_pairs)})
    return edits + _pair_list_edits(text, value, old_pairs, new_pairs)


def _pairs_value(pairs: list[Suggestion] | str) -> Any:
    return pairs if isinstance(pairs, str) else [_fields(pair) for pair in pairs]


def _pair_list_edits(text: str, value: Member, old: list[Suggestion],
                     new: list[Suggestion]) -> list[Edit]:
    spans = items(text, value.value_start)
    old_at = {pair.id: (pair, span) for pair, span in zip(old, spans, strict=True)}
    _, step = _style(text, value.value_start, value.value_end)
    per_pair = {pair.id: object_edits(text, *old_at[pair.id][1], _fields(old_at[pair.id][0]),
                                      _fields(pair))
                for pair in new if pair.id in old_at}
    if [pair.id for pair in new] == [pair.id for pair in old]:
        return [edit for pair_edits in per_pair.values() for edit in pair_edits]
    # pairs added, removed or moved: the list is rebuilt from the pairs' own text
    if not spans or not new:
        indent = _line_indent(text, value.value_start)
        multiline = "\n" in text[value.value_start:value.value_end] or "\n" in text[:2000]
        return [Edit(value.value_start, value.value_end,
                     _dump(_pairs_value(new), indent if multiline else None, step))]
    opening = text[value.value_start + 1:spans[0][0]]
    closing = text[spans[-1][1]:value.value_end - 1]
    separator = (text[spans[0][1]:spans[1][0]] if len(spans) > 1 else "," + opening)
    item_indent = _line_indent(text, spans[0][0]) if "\n" in opening else None
    parts = []
    for pair in new:
        if pair.id in old_at:
            start, end = old_at[pair.id][1]
            local = [Edit(e.start - start, e.end - start, e.text) for e in per_pair[pair.id]]
            parts.append(apply_edits(text[start:end], local))
        else:
            parts.append(_dump(_fields(pair), item_indent, step))
    return [Edit(value.value_start, value.value_end,
                 "[" + opening + separator.join(parts) + closing + "]")]
