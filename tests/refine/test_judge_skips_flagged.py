"""The judge does not look at a pair the deterministic checks already flag until it is about
to be rewritten (issue 20 item 3: "skip the model for pairs that deterministic checks
already reject"); its verdict would not decide such a pair."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from refine_helpers import (
    EIFFEL,
    NILE,
    chunk,
    is_judge,
    pair,
    prompt_pair,
    rubric,
    scripted,
    write_doc,
)

from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir

GOOD = ("What is the height of the Eiffel Tower?", "The tower is 330 metres tall.")
CUT = [  # answers cut off mid-sentence: flagged before any model call
    ("When was the Eiffel Tower completed?", "It was completed in 1889 for the"),
    ("Who designed the Eiffel Tower?", "The engineering company of Gustave Eiffel, which"),
    ("Where does the Eiffel Tower stand?", "It stands on the Champ de Mars in"),
]


def workdir(root: Path, *, reviewed_cut: bool = False) -> Path:
    pairs = [pair("good", *GOOD)] + [pair(f"cut{i}", q, a) for i, (q, a) in enumerate(CUT)]
    if reviewed_cut:
        pairs.append(pair("mine", "What is the Eiffel Tower made of?",
                          "It is a wrought-iron lattice tower and", status="accepted"))
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, pairs)])
    return root


def judged_questions(backend: FakeBackend) -> list[str]:
    return [prompt_pair(r)[0] for r in backend.history if is_judge(r)]


def entries(root: Path) -> dict[str, dict[str, Any]]:
    evaluation = json.loads((root / "evaluation.json").read_text(encoding="utf-8"))
    return {e["pair_id"]: e for e in evaluation["entries"]}


def calls(root: Path) -> dict[str, int]:
    evaluation = json.loads((root / "evaluation.json").read_text(encoding="utf-8"))
    return evaluation["summary"]["model_calls"]


def test_without_correction_a_flagged_pair_is_never_sent_to_the_judge(tmp_path: Path) -> None:
    backend = FakeBackend(scripted())
    summary = refine_workdir(workdir(tmp_path, reviewed_cut=True), judge=backend,
                             settings=rubric(correct=False))
    # the clean pair, and the one a person accepted (it stays: the judge's view is shown)
    assert sorted(judged_questions(backend)) == sorted(
        [GOOD[0], "What is the Eiffel Tower made of?"])
    got = entries(tmp_path)
    for i in range(len(CUT)):
        entry = got[f"cut{i}"]
        assert entry["final_decision"] == "skipped"
        assert "cut off mid-sentence" in entry["reason"]
        # labelled by the checks, as the labelling guideline labels a cut-off answer
        assert entry["verdict"]["label"] == "Needs Improvement"
        assert entry["verdict"]["model"] == "qaforge:checks"
        assert "cut off mid-sentence" in entry["verdict"]["reason"]
    assert got["mine"]["verdict"]["label"] == "Clear" and got["mine"]["final_decision"] == "kept"
    assert summary.judge_calls == 2 and calls(tmp_path)["judge"] == 2
    assert summary.not_asked == 3 and summary.labels["Needs Improvement"] == 3
    assert calls(tmp_path)["pairs_judged"] == 2


def test_a_flagged_pair_is_judged_just_before_its_rewrite(tmp_path: Path) -> None:
    fixed = {q: (q, a.rsplit(" ", 2)[0] + ".") for q, a in CUT}  # the rewrite ends the answer
    backend = FakeBackend(scripted(corrections=fixed))
    refine_workdir(workdir(tmp_path), judge=backend, settings=rubric(correct_trial=0))
    kinds = ["judge" if is_judge(r) else "rewrite" for r in backend.history]
    # the judge step (the clean pair), first looks at the flagged ones, their rewrites,
    # the rewrites judged
    assert kinds == ["judge"] * 4 + ["rewrite"] * 3 + ["judge"] * 3
    got = entries(tmp_path)
    for i in range(len(CUT)):
        entry = got[f"cut{i}"]
        assert entry["verdict"]["label"] == "Clear"  # its first look, recorded
        assert entry["final_decision"] == "corrected", entry["reason"]
    assert {k: calls(tmp_path)[k] for k in ("judge", "correct", "re_judge")} == {
        "judge": 4, "correct": 3, "re_judge": 3}


def test_pairs_left_when_correction_stops_are_never_judged(tmp_path: Path) -> None:
    backend = FakeBackend(scripted())  # a rewrite is the pair as it was: it never passes
    summary = refine_workdir(workdir(tmp_path), judge=backend, settings=rubric(correct_trial=2))
    # the last drafted go first (the prompt cache holds their chunks): cut0 is past the trial
    assert judged_questions(backend).count(CUT[0][0]) == 0
    assert summary.correction_stopped == 1
    assert entries(tmp_path)["cut0"]["verdict"]["model"] == "qaforge:checks"
    # the rewrites came back unchanged, so their judging was the first looks' replies
    assert {k: calls(tmp_path)[k] for k in ("judge", "correct", "re_judge")} == {
        "judge": 3, "correct": 2, "re_judge": 0}


def test_a_judge_failure_on_a_first_look_leaves_the_pair_uncorrected(tmp_path: Path) -> None:
    backend = FakeBackend(scripted(raw={CUT[0][0]: "not json"}))
    refine_workdir(workdir(tmp_path), judge=backend, settings=rubric(correct_trial=0))
    entry = entries(tmp_path)["cut0"]
    assert entry["final_decision"] == "skipped" and "no usable verdict" in entry["reason"]
    assert entry["correction"] is None


def test_the_judge_takes_the_last_drafted_chunks_first(tmp_path: Path) -> None:
    """An engine's prompt cache that cannot hold every chunk the run drafted holds the
    latest: judging those first reads them from it (docs/benchmarks.md 3.4)."""
    write_doc(tmp_path, "a-eiffel.pdf", [chunk(EIFFEL, [pair("e", *GOOD)])])
    write_doc(tmp_path, "b-nile.pdf", [
        chunk(NILE, [pair("n1", "How long is the Nile?", "It is about 6,650 kilometres long.")]),
        chunk(NILE + " It is long.", [pair("n2", "Where does the Nile flow into the sea?",
                                           "It flows into the Mediterranean Sea.")],
              headings=["2 More"])])
    backend = FakeBackend(scripted(), max_concurrency=1)  # sent one at a time, in order
    refine_workdir(tmp_path, judge=backend, settings=rubric())
    assert judged_questions(backend) == ["Where does the Nile flow into the sea?",
                                         "How long is the Nile?", GOOD[0]]


def test_an_answer_mostly_not_in_the_passage_is_labelled_unclear_by_the_checks(
        tmp_path: Path) -> None:
    write_doc(tmp_path, "eiffel.pdf", [chunk(EIFFEL, [
        pair("made-up", "What colour is the Eiffel Tower painted?",
             "Painters renew its bronze-brown coat every seven years.")])])
    backend = FakeBackend(scripted())
    refine_workdir(tmp_path, judge=backend, settings=rubric(correct=False))
    verdict = entries(tmp_path)["made-up"]["verdict"]
    assert judged_questions(backend) == []
    assert verdict["label"] == "Unclear" and "found in the passage" in verdict["reason"]


def test_the_judge_progress_counts_the_pairs_the_checks_labelled(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    refine_workdir(workdir(tmp_path), judge=FakeBackend(scripted()),
                   settings=rubric(correct=False),
                   progress=lambda stage, done, of: seen.append((stage, done, of)))
    judge = [(done, of) for stage, done, of in seen if stage == "judge"]
    assert judge[-1] == (4, 4)  # 3 labelled by the checks, 1 judged by the model
