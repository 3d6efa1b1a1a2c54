"""Issue 14 item 13: the work refine does per pair is bounded by the input, whatever a hand
edit puts in a file: a pair far longer than its chunk, or over a hard cap, is flagged with a
reason and skipped, without fuzzy matching it in full."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

from click.testing import CliRunner
from refine_helpers import EIFFEL, NILE, chunk, pair, write_doc

from qaforge.cli.refine import refine_command
from qaforge.refine.checks import size_issue
from qaforge.refine.dedup import deduplicate
from qaforge.refine.pair_record import PairRecord

FIVE_MB = 5 * 1024 * 1024


def _sentences(size: int) -> str:
    unit = "The tower was painted again in a slightly different shade of brown. "
    return (unit * (size // len(unit) + 1))[:size]


def test_five_megabyte_answer_and_question_are_flagged_quickly(tmp_path: Path) -> None:
    write_doc(tmp_path, "a.pdf", [
        chunk(EIFFEL, [pair("long-a", "What colour is the Eiffel Tower painted?",
                            _sentences(FIVE_MB)),
                       pair("ok", "Who designed the Eiffel Tower?",
                            "The engineering company of Gustave Eiffel designed it.")]),
        chunk(NILE, [pair("long-q", _sentences(FIVE_MB) + "?", "The Mediterranean Sea.")]),
        chunk(NILE + " Again.", "Q: Into which sea does the Nile flow?\nA: "
              + _sentences(FIVE_MB))])
    started = time.perf_counter()
    result = CliRunner().invoke(refine_command, [str(tmp_path), "--judge-backend", "fake"])
    seconds = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert seconds < 20, f"refine took {seconds:.1f} s"  # a guard; the point is the flag
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    by_id = {e["pair_id"]: e for e in evaluation["entries"]}
    text_id = next(pid for pid in by_id if pid.endswith("-text"))
    for pid in ("long-a", "long-q", text_id):
        entry = by_id[pid]
        assert entry["final_decision"] == "skipped"
        assert [c["code"] for c in entry["checks"]] == ["too_long"]
        assert "too long" in entry["reason"]
        assert entry["grounding"] is None and entry["verdict"] is None
    assert by_id["ok"]["in_dataset"]
    rows = (tmp_path / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1


def test_size_limits() -> None:
    assert size_issue("How tall is it?", "330 metres.", EIFFEL) is None
    # an answer a few times the chunk is fine, one far longer is not
    assert size_issue("Why?", EIFFEL * 2, EIFFEL) is None
    far = size_issue("Why?", EIFFEL * 30, EIFFEL)
    assert far is not None and far.target == "answer" and "longer than its passage" in far.message
    capped = size_issue("Why?", "x" * 25_000, "y" * 100_000)
    assert capped is not None and "25,000" in capped.message
    question = size_issue("W" * 3_000 + "?", "Yes.", EIFFEL)
    assert question is not None and question.target == "question"


def _record(pid: str, question: str, answer: str) -> PairRecord:
    return PairRecord(source_file="f", document="d.pdf", chunk_id="c", pair_id=pid,
                      question=question, answer=answer)


def test_near_duplicate_search_on_long_pairs_is_bounded() -> None:
    rng = random.Random(1)
    words = ["tower", "paint", "brown", "shade", "iron", "lattice", "river", "delta",
             "flows", "north", "sea", "metres"]
    records = [_record(str(i), f"Question number {i}?",
                       " ".join(rng.choice(words) for _ in range(3_300))) for i in range(100)]
    long_answer = records[0].answer
    records.append(_record("same", "Question number 0?", long_answer))
    records.append(_record("longer", "Question number 0 again?", long_answer + " " + long_answer))
    started = time.perf_counter()
    deduplicate(records)
    seconds = time.perf_counter() - started
    assert seconds < 20, f"{seconds:.1f} s"  # was 76 s: 100 x 100 full 20,000-character matches
    by_id = {r.pair_id: r for r in records}
    assert by_id["same"].decision == "duplicate" and by_id["same"].duplicate_of == "0"
    assert by_id["longer"].decision == "pending"  # same start, twice the length: not a copy
    assert sum(r.decision == "duplicate" for r in records) == 1
