"""Which suggestions file each PDF maps to (and each DOCX, EPUB, HTML, Markdown or text
file: "PDF" below stands for any document; ``guide.md`` maps to ``guide.md_suggestions.json``).

The mapping is injective and stable across runs:

* every suggestions file records the path of its PDF relative to the input folder it was
  found under (``source.path``, POSIX form); a file that records a path belongs to that
  path for ever, whatever else is added, removed or renamed later;
* a new PDF gets the plain ``<stem>_suggestions.json`` only when no existing file has that
  name and no other new PDF of the run wants it (compared case-insensitively, for
  case-insensitive file systems); otherwise ``<stem>-<hash of its path>_suggestions.json``,
  so the choice never depends on the order files are found in;
* names stay under :data:`MAX_NAME_BYTES` (UTF-8 bytes; temp and lock files add a few);
  a longer stem is cut and the hash keeps the name unique;
* files written by older versions record no path: the PDF of that name claims them as
  before; when several PDFs could, the one with the file's recorded bytes (sha256) wins,
  and without one the run refuses them with a message instead of guessing.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from qaforge.fileio import JsonFileError, parse_json_bytes, sha256_file
from qaforge.ingest import is_document, unsupported
from qaforge.records import suggestions_filename
from qaforge.suggestions import SUFFIX, iter_suggestion_files, suggestions_dir

#: longest suggestions file name, in bytes (the file system's limit is 255; the temp file of
#: an atomic write adds 14 and the lock file 6)
MAX_NAME_BYTES = 200
HASH_LENGTH = 10


class FoundPdf(NamedTuple):
    """A PDF of this run: where it is, its suggestions file name, and the path recorded in
    that file (relative to the input folder it was found under, POSIX form)."""

    pdf: Path
    name: str
    source: str


@dataclass(frozen=True, slots=True)
class _Existing:
    """What a suggestions file on disk says about its PDF (``None``: not recorded / unreadable)."""

    name: str
    source: str | None
    file: str | None
    sha256: str | None


def _name_bytes(name: str) -> int:
    return len(os.fsencode(name))


def plain_name(pdf_file: str) -> str | None:
    """``<stem>_suggestions.json``, or ``None`` when that is too long for a file name."""
    name = suggestions_filename(pdf_file)
    return name if _name_bytes(name) <= MAX_NAME_BYTES else None


def hashed_name(pdf_file: str, source: str, length: int = HASH_LENGTH) -> str:
    """``<stem>-<hash of source>_suggestions.json``, the stem cut to fit the byte limit."""
    digest = hashlib.sha256(source.encode("utf-8", "surrogateescape")).hexdigest()[:length]
    tail = f"-{digest}{SUFFIX}"
    stem = suggestions_filename(pdf_file)[: -len(SUFFIX)]
    while stem and _name_bytes(stem + tail) > MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + tail


def _legacy_name(source: str) -> str:
    """The name versions before recorded paths gave the second PDF of a name clash."""
    return suggestions_filename("__".join(source.split("/")))


def find_pdfs(inputs: Iterable[Path], skip: Path | None = None,
              ) -> tuple[list[tuple[Path, str]], list[str]]:
    """Every document (PDF, DOCX, EPUB, HTML, Markdown, text) under ``inputs`` with its path
    relative to the folder it was found under. In folders, a file of any other kind is one
    problem line naming it; hidden files and folders (``.git``) and ``skip`` (the work dir,
    when it lies inside an input folder) are not looked at. A file named as an input is
    always taken (its extraction says what is wrong with it)."""
    found: list[tuple[Path, str]] = []
    problems: list[str] = []
    skipped = skip.resolve() if skip is not None else None
    for item in inputs:
        if item.is_dir():
            for path in sorted(item.rglob("*")):
                relative = path.relative_to(item)
                if (not path.is_file() or any(part.startswith(".") for part in relative.parts)
                        or (skipped is not None and path.resolve().is_relative_to(skipped))):
                    continue
                if is_document(path):
                    found.append((path, relative.as_posix()))
                else:
                    problems.append(f"{path}: {unsupported(path)}")
        elif item.is_file():
            found.append((item, item.name))
        else:
            problems.append(f"{item}: no such file or folder")
    seen: set[Path] = set()
    unique: list[tuple[Path, str]] = []
    for pdf, source in found:  # the same file named twice (a folder and a file in it)
        key = pdf.resolve()
        if key not in seen:
            seen.add(key)
            unique.append((pdf, source))
    by_source: dict[str, list[Path]] = {}
    for pdf, source in unique:
        by_source.setdefault(source, []).append(pdf)
    out = []
    for pdf, source in unique:
        clash = by_source[source]
        if len(clash) == 1:
            out.append((pdf, source))
        elif pdf == clash[0]:
            problems.append(f"{', '.join(map(str, clash))}: the same path {source!r} under "
                            "different input folders; skipped (give them in separate runs "
                            "with separate work dirs, or rename one)")
    return out, problems


def _read_existing(workdir: Path) -> list[_Existing]:
    """What each suggestions file records about its PDF; an unreadable file records nothing
    (it is still a name no other PDF may take)."""
    existing = []
    for path in iter_suggestion_files(workdir):
        source: Any = None
        try:
            doc = parse_json_bytes(path.read_bytes(), path)
            source = doc.get("source") if isinstance(doc, dict) else None
        except (OSError, JsonFileError):
            pass
        source = source if isinstance(source, dict) else {}

        def text(key: str, source: dict[str, Any] = source) -> str | None:
            value = source.get(key)
            return value if isinstance(value, str) and value else None

        existing.append(_Existing(path.name, text("path"), text("file"), text("sha256")))
    return existing


def discover_pdfs(inputs: Iterable[Path], workdir: Path) -> tuple[list[FoundPdf], list[str]]:
    """Documents under ``inputs`` (files or folders, recursive; see :func:`find_pdfs`), each
    with the suggestions file it maps to in ``workdir`` (see the module's rules). Returns
    ``(found, problems)``; a file named in ``problems`` is left out of ``found``."""
    found, problems = find_pdfs(inputs, skip=workdir)
    existing = _read_existing(workdir)
    claimed: dict[str, str] = {}
    for entry in existing:
        if entry.source is not None:
            claimed.setdefault(entry.source, entry.name)
    taken = {entry.name.casefold() for entry in existing}
    names: dict[str, str] = {source: claimed[source] for _, source in found if source in claimed}

    refused = _claim_legacy(found, existing, names, workdir, problems)
    new = sorted((source, pdf.name) for pdf, source in found
                 if source not in names and source not in refused)
    wanted = Counter((plain_name(file) or "").casefold() for _, file in new)
    later = []
    for source, file in new:  # plain names first, so no hashed name can take one
        plain = plain_name(file)
        if plain and plain.casefold() not in taken and wanted[plain.casefold()] == 1:
            names[source] = plain
            taken.add(plain.casefold())
        else:
            later.append((source, file))
    for source, file in later:
        names[source] = _unique_hashed(file, source, taken)
        taken.add(names[source].casefold())
    return [FoundPdf(pdf, names[source], source) for pdf, source in found
            if source in names], problems


def _unique_hashed(file: str, source: str, taken: set[str]) -> str:
    """The hashed name, longer (then numbered) only if another file already has it."""
    for length in (HASH_LENGTH, 16, 32, 64):
        name = hashed_name(file, source, length)
        if name.casefold() not in taken:
            return name
    number = 2
    while (name := hashed_name(file, f"{source}#{number}")).casefold() in taken:
        number += 1
    return name


def _claim_legacy(found: list[tuple[Path, str]], existing: list[_Existing],
                  names: dict[str, str], workdir: Path, problems: list[str]) -> set[str]:
    """Give files that record no path (older versions, unreadable files) to their PDF;
    fills ``names``, returns the sources refused because the owner is ambiguous."""
    legacy = {entry.name: entry for entry in existing if entry.source is None}
    waiting = [(pdf, source) for pdf, source in found if source not in names]
    wanting: dict[str, list[tuple[Path, str]]] = {}
    for pdf, source in waiting:
        old = _legacy_name(source)
        if "/" in source and old in legacy and legacy[old].file in (None, pdf.name):
            names[source] = old  # only this path could have been given that name
            continue
        plain = suggestions_filename(pdf.name)
        if plain in legacy and legacy[plain].file in (None, pdf.name):
            wanting.setdefault(plain, []).append((pdf, source))
    refused: set[str] = set()
    for name, candidates in wanting.items():
        if len(candidates) > 1:
            sha = legacy[name].sha256
            candidates = [c for c in candidates if sha is not None and sha256_file(c[0]) == sha]
        if len(candidates) == 1:
            names[candidates[0][1]] = name
            continue
        competing = [pdf for pdf, _ in wanting[name]]
        refused.update(source for _, source in wanting[name])
        problems.append(
            f"{suggestions_dir(workdir) / name}: made by an older qaforge for a PDF named "
            f"{competing[0].name!r} without recording which one, and "
            f"{', '.join(map(str, competing))} could each be it (none has its recorded bytes); "
            "skipped them: run generate on the right PDF alone once, or rename the file")
    return refused
