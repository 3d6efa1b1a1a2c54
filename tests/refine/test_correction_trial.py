"""A run stops correcting when too few of its first rewrites passed (issue 20 item 3: the
demo model's rewrites never pass, and they cost as much time as judging)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import EIFFEL, NILE, chunk, is_judge, pair, rubric, scripted, write_doc

from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir

FLAGGED = [  # question, answer; all judged Needs Improvement
    ("Who designed the tower?", "The engineering company of Gustave Eiffel designed it."),
    ("When was the tower completed?", "It was completed in 1889."),
    ("How tall is it?", "The tower is 330 metres tall."),
    ("Where does it stand?", "On the Champ de Mars in Paris."),
    ("Until which year was it the tallest structure?", "It was the tallest until 1930."),
    ("What is it made of?", "It is a wrought-iron lattice tower."),
    ("Into which sea does this river flow?", "It flows into the Mediterranean Sea."),
    ("Where do its tributaries meet?", "They meet at Khartoum in Sudan."),
]
#: refine takes the last drafted pairs first (the prompt cache holds their chunks), so the
#: trial's first rewrites are the Nile pairs and then the last Eiffel ones
IN_TRIAL = FLAGGED[5][0]
GOOD_REWRITE = ("What is the Eiffel Tower made of?", "It is a wrought-iron lattice tower.")


def flagged_workdir(root: Path) -> Path:
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, [
        pair(f"e{i}", q, a) for i, (q, a) in enumerate(FLAGGED[:6])])])
    write_doc(root, "nile.pdf", [chunk(NILE, [
        pair(f"n{i}", q, a) for i, (q, a) in enumerate(FLAGGED[6:])], headings=["2 Nile"])])
    return root


def model(corrections: dict[str, tuple[str, str]] | None = None) -> FakeBackend:
    """Judges every drafted question Needs Improvement; a rewrite is the pair unchanged
    (never passes) unless ``corrections`` gives one."""
    return FakeBackend(scripted(labels={q: "Needs Improvement" for q, _ in FLAGGED},
                                corrections=corrections))


def entries(workdir: Path) -> dict[str, dict[str, Any]]:
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    return {e["pair_id"]: e for e in evaluation["entries"]}


def rewrites_asked(backend: FakeBackend) -> int:
    return sum(1 for request in backend.history if not is_judge(request)
               and "question" in (request.schema or {}).get("properties", {}))


def test_no_rewrite_passes_so_correction_stops_after_the_trial(tmp_path: Path) -> None:
    backend = model()
    summary = refine_workdir(flagged_workdir(tmp_path), judge=backend,
                             settings=rubric(correct_trial=3))
    assert rewrites_asked(backend) == 3
    stopped = [e for e in entries(tmp_path).values()
               if "correction stopped: 0 of this run's first 3 rewrites passed"
               in e["reason"]]
    assert len(stopped) == 5
    assert all(e["final_decision"] == "skipped" and e["correction"] is None for e in stopped)
    assert summary.decisions["skipped"] == 8
    assert summary.correction_stopped == 5
    assert ("flagged, not corrected (too few rewrites passed the trial)", "5") in summary.rows()
    calls = json.loads((tmp_path / "evaluation.json").read_text())["summary"]["model_calls"]
    assert calls["correction_stopped"] == 5


def test_too_small_a_share_passing_stops_correction_and_says_how_many_passed(
        tmp_path: Path) -> None:
    backend = model({IN_TRIAL: GOOD_REWRITE})
    summary = refine_workdir(flagged_workdir(tmp_path), judge=backend,
                             settings=rubric(correct_trial=4, correct_trial_pass=0.5))
    assert rewrites_asked(backend) == 4  # 1 of 4 passed; 2 were needed
    assert summary.decisions["corrected"] == 1 and summary.correction_stopped == 4
    assert all("1 of this run's first 4 rewrites passed" in e["reason"]
               for e in entries(tmp_path).values() if "correction stopped" in e["reason"])


def test_a_share_of_zero_still_needs_one_rewrite_to_pass(tmp_path: Path) -> None:
    backend = model()
    summary = refine_workdir(flagged_workdir(tmp_path), judge=backend,
                             settings=rubric(correct_trial=2, correct_trial_pass=0.0))
    assert rewrites_asked(backend) == 2 and summary.correction_stopped == 6


def test_one_rewrite_passing_in_the_trial_lets_every_flagged_pair_be_corrected(
        tmp_path: Path) -> None:
    backend = model({IN_TRIAL: GOOD_REWRITE})
    summary = refine_workdir(flagged_workdir(tmp_path), judge=backend,
                             settings=rubric(correct_trial=3))
    assert rewrites_asked(backend) == 8
    assert summary.decisions["corrected"] == 1
    assert not any("correction stopped" in e["reason"] for e in entries(tmp_path).values())


@pytest.mark.parametrize("trial", [0, 8, 20])
def test_a_trial_of_zero_or_as_long_as_the_flagged_never_stops(tmp_path: Path,
                                                                trial: int) -> None:
    backend = model()
    refine_workdir(flagged_workdir(tmp_path), judge=backend, settings=rubric(correct_trial=trial))
    assert rewrites_asked(backend) == 8


def test_the_trial_runs_over_the_groups_of_a_run(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of two records: the trial of three spans two groups, and the stop holds for
    every later group."""
    from qaforge.refine import pipeline

    monkeypatch.setattr(pipeline, "MODEL_BATCH", 2)
    backend = model()
    refine_workdir(flagged_workdir(tmp_path), judge=backend, settings=rubric(correct_trial=3))
    assert rewrites_asked(backend) == 3
    assert sum("correction stopped" in e["reason"] for e in entries(tmp_path).values()) == 5


def test_a_person_reviewed_pair_is_kept_when_correction_stops(tmp_path: Path) -> None:
    write_doc(tmp_path, "eiffel.pdf", [chunk(EIFFEL, [  # its pair first: the trial's last
        pair("mine", *FLAGGED[5], status="accepted"),
        *(pair(f"e{i}", q, a) for i, (q, a) in enumerate(FLAGGED[:5]))])])
    refine_workdir(tmp_path, judge=model(),
                   settings=rubric(correct_trial=2, correct_reviewed=True))
    mine = entries(tmp_path)["mine"]
    assert mine["final_decision"] == "kept"
    assert "correction stopped" in mine["reason"]
