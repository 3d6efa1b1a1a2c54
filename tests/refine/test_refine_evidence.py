"""Evidence per pair and the coverage ledger (issue 15 item 5, the deterministic part):
each pair's supporting sentences as character offsets into its chunk, and the share of each
document's informative sentences that the dataset's pairs rest on, in evaluation.json."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from refine_helpers import EIFFEL, NILE, chunk, pair, write_doc

from qaforge.records import SuggestionsFile
from qaforge.refine.coverage import CoverageLedger, document_names, file_sentences
from qaforge.refine.evidence import evidence_spans, informative_spans
from qaforge.refine.grounding import grounding_of
from qaforge.refine.pair_record import Grounding, PairRecord

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
DESIGNED = "It was designed by the engineering company of Gustave Eiffel"


def _texts(spans: list[tuple[int, int]], text: str) -> list[str]:
    return [text[start:end] for start, end in spans]


def test_evidence_is_the_supporting_sentences_with_exact_offsets() -> None:
    spans = evidence_spans("Who designed the Eiffel Tower?",
                           "The engineering company of Gustave Eiffel designed it.", EIFFEL)
    assert _texts(spans, EIFFEL) == [DESIGNED + " and completed in 1889 for the World's Fair."]
    # an answer drawn from two sentences rests on both, in text order
    both = evidence_spans("What is the Eiffel Tower?", "A wrought-iron lattice tower in Paris, "
                          "330 metres tall.", EIFFEL)
    assert [t[:20] for t in _texts(both, EIFFEL)] == ["The Eiffel Tower is ",
                                                      "The tower is 330 met"]


def test_short_answer_is_placed_by_its_question() -> None:
    spans = evidence_spans("In which year was the Eiffel Tower completed for the World's Fair?",
                           "1889", EIFFEL)
    assert _texts(spans, EIFFEL)[0].startswith("It was designed")


def test_answer_the_chunk_does_not_hold_has_no_evidence() -> None:
    assert evidence_spans("Who painted the Mona Lisa?", "Leonardo da Vinci painted it in "
                          "Florence around 1503.", EIFFEL) == []


def test_grounding_carries_the_evidence_only_when_asked() -> None:
    answer = "It flows into the Mediterranean Sea."
    assert grounding_of(answer, NILE).sentences == []
    found = grounding_of(answer, NILE, question="Into which sea does the Nile flow?").sentences
    assert _texts(found, NILE) == ["It flows into the Mediterranean Sea and is about 6,650 "
                                   "kilometres long."]


def test_informative_sentences_leave_out_headings_and_leader_lines() -> None:
    text = ("2 Vectors\n\nR operates on named data structures such as numeric vectors.\n\n"
            "2.1 Vectors and assignment . . . . . . . . 8\n\nOk.")
    assert _texts(informative_spans(text), text) == [
        "R operates on named data structures such as numeric vectors."]


def test_ledger_counts_kept_evidence_per_document_and_leaves_skipped_chunks_out(
        tmp_path: Path) -> None:
    toc = "Contents . . . . . . . . 1\n\nVectors . . . . . . . . 8\n\nLists . . . . . . . . 20"
    doc = SuggestionsFile.model_validate({
        "source": {"file": "a.pdf", "sha256": "0" * 64, "pages": 2},
        "generator": {"backend": "fake", "model": "m", "prompt": "qa/v2"},
        "chunks": [chunk(EIFFEL, []), chunk(NILE, []),
                   {**chunk(toc, [], state="pending"), "skipped": "table of contents"}]})
    entry = file_sentences(doc)
    assert entry.skipped == {"table of contents": 1} and len(entry.chunks) == 2
    ledger = CoverageLedger({"a": entry})
    eiffel_id = doc.chunks[0].id
    spans = evidence_spans("Who designed it?", DESIGNED, EIFFEL)
    kept = PairRecord(source_file="a", document="a.pdf", chunk_id=eiffel_id, pair_id="q1",
                      decision="kept", grounding=Grounding(score=1, span=1, words=1,
                                                           sentences=spans))
    dropped = kept.model_copy(update={"decision": "rejected", "pair_id": "q2",
                                      "chunk_id": doc.chunks[1].id})
    report = ledger.add_all([kept, dropped]).report(document_names([("a", "a.pdf")]))
    total = len(informative_spans(EIFFEL)) + len(informative_spans(NILE))
    assert report["documents"]["a.pdf"]["covered_sentences"] == 1
    assert report["coverage"] == round(1 / total, 4)
    assert report["documents"]["a.pdf"]["chunks_uncovered"] == 1  # the Nile's
    assert report["pairs_per_page"] == 0.5 and report["chunks_skipped"] == {
        "table of contents": 1}


def test_refine_cli_reports_evidence_and_coverage(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    write_doc(workdir, "facts.pdf", [
        chunk(EIFFEL, [pair("q1", "Who designed the Eiffel Tower?",
                            "The engineering company of Gustave Eiffel designed it."),
                       pair("q2", "How tall is the Eiffel Tower?",
                            "The Eiffel Tower is 330 metres tall.")]),
        chunk(NILE, [])])
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run([*CLI, "refine", str(workdir), "--backend", "fake"], env=env,
                          text=True, capture_output=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    evaluation = json.loads((workdir / "evaluation.json").read_text("utf-8"))
    for entry in evaluation["entries"]:
        sentences = entry["grounding"]["sentences"]
        assert sentences, entry["original_messages"]
        assert all(EIFFEL[s:e].strip() == EIFFEL[s:e] and e > s for s, e in sentences)
    coverage = evaluation["summary"]["sentence_coverage"]
    document = coverage["documents"]["facts.pdf"]
    kept = evaluation["summary"]["decisions"]["kept"]
    assert document["informative_sentences"] == (len(informative_spans(EIFFEL))
                                                 + len(informative_spans(NILE)))
    assert 0 < document["covered_sentences"] <= 2 and document["dataset_rows"] == kept
    assert document["pairs_per_page"] == round(kept / 3, 4)
    assert coverage["coverage"] == document["coverage"]
    # the summary table says it too
    row = next(line for line in done.stdout.splitlines() if "coverage (sentences)" in line)
    assert f"{document['coverage']:.0%} / {kept / 3:.1f}" in row
    checks = evaluation["summary"]["checks"]
    defects = next(line for line in done.stdout.splitlines() if "defects by class" in line)
    assert all(f"{n} {code}" in defects for code, n in checks.items()) and (
        checks or "none" in defects)


@pytest.mark.slow  # extracts a 113-page PDF
def test_skipped_chunks_reach_the_ledger_through_a_real_run(tmp_path: Path,
                                                            shared_pdfs: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    shutil.copy(shared_pdfs / "R-intro.pdf", pdfs)
    workdir = tmp_path / "work"
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    for args in (["generate", str(pdfs), "-o", str(workdir)], ["refine", str(workdir)]):
        done = subprocess.run([*CLI, *args, "--backend", "fake", "-q"], env=env, text=True,
                              capture_output=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
    summary = json.loads((workdir / "evaluation.json").read_text("utf-8"))["summary"]
    document = summary["sentence_coverage"]["documents"]["R-intro.pdf"]
    assert document["chunks_skipped"]["index"] >= 5
    assert document["chunks_skipped"]["table of contents"] >= 5
    assert 0 < document["coverage"] < 1 and document["pairs_per_page"] > 1
