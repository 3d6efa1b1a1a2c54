"""A refined work dir for export tests: real suggestions files through ``refine_workdir``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qaforge.config import RefineSettings
from qaforge.fileio import atomic_write_json
from qaforge.llm.fake import FakeBackend
from qaforge.records import Chunk
from qaforge.refine import refine_workdir

RHINE = ("The Rhine rises in the Swiss Alps and flows 1,230 kilometres to the North Sea. It "
         "passes Basel, Strasbourg, Cologne and Rotterdam. Its largest tributary by volume is "
         "the Aare.")
PAIRS = [("Where does the Rhine rise?", "The Rhine rises in the Swiss Alps."),
         ("How long is the Rhine?", "It flows 1,230 kilometres to the North Sea."),
         ("Which cities does the Rhine pass?", "It passes Basel, Strasbourg, Cologne and "
          "Rotterdam."),
         ("What is the Rhine's largest tributary by volume?", "Its largest tributary by "
          "volume is the Aare."),
         ("Into which sea does the Rhine flow?", "The Rhine flows to the North Sea.")]
DANUBE = ("The Danube rises in the Black Forest in Germany and flows 2,850 kilometres to the "
          "Black Sea. It passes Vienna, Bratislava, Budapest and Belgrade.")
DANUBE_PAIRS = [("Where does the Danube rise?", "The Danube rises in the Black Forest in "
                 "Germany."),
                ("Which capitals does the Danube pass?", "It passes Vienna, Bratislava, "
                 "Budapest and Belgrade.")]
BAIKAL = ("Lake Baikal in Siberia is the deepest lake in the world, 1,642 metres deep. It "
          "holds about a fifth of the unfrozen fresh water on Earth.")
BAIKAL_PAIRS = [("How deep is Lake Baikal?", "Lake Baikal is 1,642 metres deep."),
                ("How much fresh water does Lake Baikal hold?", "It holds about a fifth of "
                 "the unfrozen fresh water on Earth.")]


def _chunk(text: str, heading: str, pairs: list[tuple[str, str]], prefix: str,
           pages: list[int]) -> dict[str, Any]:
    return {"id": Chunk.make_id(text, [heading]), "pages": pages, "headings": [heading],
            "text": text, "state": "generated",
            "suggestions": [{"id": f"q-{prefix}{i}", "question": q, "answer": a,
                             "status": "draft"} for i, (q, a) in enumerate(pairs)]}


def _doc(root: Path, pdf: str, sha: str, chunks: list[dict[str, Any]]) -> None:
    atomic_write_json(root / "output_json" / f"{pdf.removesuffix('.pdf')}_suggestions.json", {
        "schema": "qaforge.suggestions/1",
        "source": {"file": pdf, "sha256": sha, "pages": 2},
        "generator": {"backend": "fake", "model": "gen-model", "prompt": "qa/v1"},
        "chunks": chunks})


def refined(root: Path, system_prompt: str = "", *, documents: int = 1,
            chunks: int = 1) -> Path:
    """rivers.pdf (the Rhine chunk, and the Danube chunk when ``chunks`` is 2), plus
    lakes.pdf when ``documents`` is 2; every pair kept by refine."""
    rivers = [_chunk(RHINE, "Rivers", PAIRS, "r", [1, 1])]
    if chunks > 1:
        rivers.append(_chunk(DANUBE, "Danube", DANUBE_PAIRS, "d", [2, 2]))
    _doc(root, "rivers.pdf", "a" * 64, rivers)
    expected = len(PAIRS) + (len(DANUBE_PAIRS) if chunks > 1 else 0)
    if documents > 1:
        _doc(root, "lakes.pdf", "b" * 64, [_chunk(BAIKAL, "Lakes", BAIKAL_PAIRS, "b", [1, 1])])
        expected += len(BAIKAL_PAIRS)
    summary = refine_workdir(root, judge=FakeBackend(), settings=RefineSettings(
        system_prompt=system_prompt))
    assert summary.dataset_rows == expected, summary
    return root


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
