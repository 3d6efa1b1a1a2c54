"""Builders for review tests: suggestions files made from records, as generate writes them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from qaforge.cli.refine import refine_command
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.review.server import ReviewServer

MANUAL_CHUNKS: list[dict[str, Any]] = [
    {
        "headings": ["1 Introduction"], "pages": [1, 1],
        "text": "The Model 7 pump moves up to 40 litres of water per minute. It runs on a "
                "12 volt battery and weighs 3.2 kilograms.\nThe housing is made of "
                "glass-fibre reinforced nylon.",
        "pairs": [("How much water can the Model 7 pump move per minute?",
                   "up to 40 litres of water per minute"),
                  ("What powers the Model 7 pump?", "A 12 volt battery powers it."),
                  ("What is the housing made of?", "Glass-fibre reinforced nylon.")],
    },
    {
        "headings": ["2 Maintenance", "2.1 Filters"], "pages": [2, 3],
        "text": "Clean the intake filter every 50 hours of use. Replace the filter when the "
                "mesh is torn.\nNever run the pump dry: the seal overheats within a minute.",
        "pairs": [("How often should the intake filter be cleaned?", "Every 50 hours of use."),
                  ("Why must the pump never run dry?",
                   "Because the seal overheats within a minute.")],
    },
    {
        "headings": ["3 Warranty"], "pages": [4, 4], "state": "pending",
        "text": "The warranty covers two years from the date of purchase.",
        "pairs": [],
    },
]
SEED_TEXT = ("**Question 1:** What colour is the status light when charging?\n"
             "**Answer 1:** It is amber while charging.\n")


def build_file(source: str, chunks: list[dict[str, Any]]) -> SuggestionsFile:
    """A suggestions file as generate would write it, from plain chunk descriptions."""
    built = []
    for spec in chunks:
        chunk_id = Chunk.make_id(spec["text"], spec["headings"])
        pairs: list[Suggestion] | str
        if isinstance(spec["pairs"], str):
            pairs = spec["pairs"]
        else:
            pairs = [Suggestion(id=Suggestion.make_id(chunk_id, q, i), question=q, answer=a,
                                status=(spec.get("statuses") or ["draft"] * 9)[i])
                     for i, (q, a) in enumerate(spec["pairs"])]
        built.append(Chunk(id=chunk_id, pages=spec["pages"], headings=spec["headings"],
                           text=spec["text"], suggestions=pairs,
                           state=spec.get("state", "generated")))
    return SuggestionsFile(source=Source(file=source, sha256="0" * 64, pages=4),
                           generator=GeneratorInfo(backend="fake", model="fake", prompt="qa/v1"),
                           chunks=built)


WriteDoc = Callable[[str, list[dict[str, Any]]], Path]

#: two pairs refine flags in the first manual chunk: an answer the passage does not hold, and
#: a truncated answer to a question that leans on the passage
FLAWED_PAIRS = [("What colour is the pump?", "The pump is painted bright purple with green "
                 "stripes."),
                ("What does it weigh?", "It weighs 3.2 kilograms and")]


def refined_chunks() -> list[dict[str, Any]]:
    """The manual's chunks with :data:`FLAWED_PAIRS` added to the first."""
    chunks = [dict(spec) for spec in MANUAL_CHUNKS]
    chunks[0]["pairs"] = [*chunks[0]["pairs"], *FLAWED_PAIRS]
    return chunks


def run_refine(workdir: Path, *options: str) -> dict[str, Any]:
    """``qaforge refine WORKDIR`` with the fake backend and judge; returns evaluation.json."""
    result = CliRunner().invoke(refine_command, [str(workdir), "--backend", "fake",
                                                 "--judge-backend", "fake", "-q", *options])
    assert result.exit_code == 0, result.output
    evaluation: dict[str, Any] = json.loads((workdir / "evaluation.json").read_text("utf-8"))
    return evaluation


@contextmanager
def review_api(workdir: Path) -> Iterator[httpx.Client]:
    """A review server on ``workdir`` and an HTTP client that carries its token."""
    with ReviewServer(workdir) as server, httpx.Client(
            base_url=server.base_url, headers={"X-QAForge-Token": server.token},
            timeout=30) as client:
        yield client
