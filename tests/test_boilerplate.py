"""Chunks with nothing to learn (issue 15 item 4): found before generation, recorded with
the reason, never sent, and a person can send them after all.

The detector is measured on real chunk texts of the shared PDFs
(``tests/data/boilerplate_cases.json``: tables of contents, indexes, bibliographies, tables
of numbers and near-blank pages, beside prose, code, formulas and tables whose rows name
things); the CLI is run on R-intro.pdf with the fake backend, whose request log shows what
the model was asked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qaforge.boilerplate import (
    BIBLIOGRAPHY,
    BLANK,
    INDEX,
    TOC,
    is_skipped,
    mark_skipped,
    skip_reason,
)
from qaforge.records import Chunk
from qaforge.runners.driver import needs_model

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "boilerplate_cases.json").read_text("utf-8"))["cases"]
POSITIVES = [c for c in CASES if c["expect"]]
NEGATIVES = [c for c in CASES if not c["expect"]]
CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def _label(case: dict[str, Any]) -> str:
    return f"{case['pdf']}:p{case['pages'][0]}:{case['expect'] or case['what']}"


def test_fixture_holds_every_kind() -> None:
    assert {c["expect"] for c in POSITIVES} >= {TOC, INDEX, BIBLIOGRAPHY, BLANK,
                                                "number-only table"}
    assert len(NEGATIVES) >= 30


@pytest.mark.parametrize("case", NEGATIVES, ids=_label)
def test_no_chunk_with_something_to_learn_is_skipped(case: dict[str, Any]) -> None:
    assert skip_reason(case["text"], case["headings"]) is None


@pytest.mark.parametrize("case", POSITIVES, ids=_label)
def test_chunk_with_nothing_to_learn_is_skipped_with_its_reason(case: dict[str, Any]) -> None:
    assert skip_reason(case["text"], case["headings"]) == case["expect"]


def test_front_matter_is_skipped() -> None:
    notice = ("Copyright © 2019 Example Press. All rights reserved. No part of this book may "
              "be reproduced without the prior written permission of the publisher. ISBN "
              "978-0-00-000000-0. Printed in Germany. Example is a registered trademark of "
              "Example Inc.")
    assert skip_reason(notice) == "front matter"
    # a sentence about licences inside prose is content
    prose = ("The library is licensed under the BSD licence. It reads PDF files page by page, "
             "keeps the text of each page in reading order and finds the headings from the "
             "font sizes. Tables are kept as Markdown so that their rows stay together, and "
             "code blocks keep their indentation.")
    assert skip_reason(prose) is None


def _chunk(text: str, **extra: Any) -> Chunk:
    return Chunk(id=Chunk.make_id(text, []), pages=[1, 1], text=text, **extra)


def test_marked_chunk_is_not_sent_unless_a_person_or_the_setting_says_so() -> None:
    toc = POSITIVES[1]
    (chunk,) = mark_skipped([_chunk(toc["text"])])
    assert chunk.skipped == TOC
    assert not needs_model(chunk, {}, ("pending",))
    assert needs_model(chunk, {}, ("pending",), skip_boilerplate=False)
    for override in (False, None, ""):  # the person took the mark away
        edited = chunk.model_copy(update={"skipped": override})
        assert not is_skipped(edited) and needs_model(edited, {}, ("pending",))
    # generated anyway (the setting was off): the old mark no longer counts
    assert not is_skipped(chunk.model_copy(update={"state": "generated"}))


def test_skip_mark_round_trips_and_old_files_still_load() -> None:
    old = Chunk.model_validate({"id": "c-1", "pages": [1, 1], "text": "x"})
    assert old.skipped is None and "skipped" not in old.model_dump(exclude_none=True)
    by_hand = Chunk.model_validate({"id": "c-1", "pages": [1, 1], "text": "x", "skipped": False})
    assert by_hand.model_dump(mode="json")["skipped"] is False


def _generate(pdfs: Path, workdir: Path, log: Path,
              *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", "QAFORGE_FAKE_LOG": str(log)}
    return subprocess.run([*CLI, "generate", str(pdfs), "-o", str(workdir), "--backend", "fake",
                           *flags], env=env, text=True, capture_output=True, timeout=300,
                          check=False)


def _sent(log: Path) -> str:
    return log.read_text("utf-8") if log.exists() else ""


@pytest.mark.slow  # extracts a 113-page PDF (a few seconds)
def test_generate_on_r_intro_skips_contents_and_index_without_asking(
        shared_pdfs: Path, tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    shutil.copy(shared_pdfs / "R-intro.pdf", pdfs)
    workdir, log = tmp_path / "work", tmp_path / "requests.jsonl"
    done = _generate(pdfs, workdir, log, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    data = json.loads((workdir / "output_json" / "R-intro_suggestions.json").read_text("utf-8"))
    skipped = [c for c in data["chunks"] if c.get("skipped")]
    reasons = {c["skipped"] for c in skipped}
    assert {TOC, INDEX} <= reasons
    assert summary["chunks_skipped"] == {r: sum(c["skipped"] == r for c in skipped)
                                         for r in reasons}
    assert all(c["state"] == "pending" and not c["suggestions"] for c in skipped)
    # the first chunks are the table of contents, the last ones the indexes
    assert data["chunks"][1]["skipped"] == TOC
    assert data["chunks"][-2]["skipped"] == INDEX
    sent = _sent(log)
    assert len(sent.splitlines()) == len(data["chunks"]) - len(skipped)
    for chunk in skipped:
        assert json.dumps(chunk["text"][:200])[1:-1] not in sent
    assert summary["chunks_done"] == summary["chunks_total"] == len(data["chunks"])

    # the table says how many and why
    again = _generate(pdfs, workdir, log)
    assert again.returncode == 0, again.stderr
    assert f"chunks skipped (nothing to learn) │ {len(skipped)}:" in again.stdout
    assert len(_sent(log).splitlines()) == len(data["chunks"]) - len(skipped)  # nothing new

    # a person takes one mark away: only that chunk goes to the model on the next run
    path = workdir / "output_json" / "R-intro_suggestions.json"
    data["chunks"][1]["skipped"] = False
    path.write_text(json.dumps(data), "utf-8")
    before = len(_sent(log).splitlines())
    assert _generate(pdfs, workdir, log).returncode == 0
    after = _sent(log).splitlines()
    assert len(after) == before + 1
    assert json.dumps(data["chunks"][1]["text"][:200])[1:-1] in after[-1]

    # --no-skip-boilerplate sends the rest
    assert _generate(pdfs, workdir, log, "--no-skip-boilerplate").returncode == 0
    assert len(_sent(log).splitlines()) == len(data["chunks"])
    final = json.loads(path.read_text("utf-8"))
    assert all(c["state"] == "generated" for c in final["chunks"])


def test_ray_chunk_stage_marks_and_holds_back_chunks_with_nothing_to_learn() -> None:
    from qaforge.config import LLMSettings
    from qaforge.llm.fake import FakeBackend
    from qaforge.records import Document, Element
    from qaforge.runners.stage_records import ChunkedDocument, ChunkTask, Extracted
    from qaforge.runners.stages import ChunkRecords, ClientSpec

    toc, prose = POSITIVES[1], NEGATIVES[0]
    document = Document(file="b.pdf", path="b.pdf", sha256="0" * 64, pages=2, elements=[
        Element(kind="heading", text="Contents", page=1, level=1),
        Element(kind="paragraph", text=toc["text"], page=1),
        Element(kind="heading", text="Preface", page=2, level=1),
        Element(kind="paragraph", text=prose["text"], page=2)])
    record = Extracted(pdf="b.pdf", file="b_suggestions.json", document=document)
    spec = ClientSpec.of(FakeBackend(), LLMSettings(backend="fake"))
    for skip, sent in ((True, ["Preface"]), (False, ["Contents", "Preface"])):
        stage = ChunkRecords(spec, max_tokens=4000, min_tokens=0, skip_boilerplate=skip)
        chunked, *tasks = stage([record])
        assert isinstance(chunked, ChunkedDocument)
        assert [c.skipped for c in chunked.chunks] == ([TOC, None] if skip else [None, None])
        assert [t.chunk.headings[0] for t in tasks if isinstance(t, ChunkTask)] == sent
        assert chunked.todo == len(sent)
