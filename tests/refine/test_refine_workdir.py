"""refine_workdir end to end with the scripted fake backend: every path a pair can take."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from refine_helpers import (
    EIFFEL,
    NILE,
    chunk,
    is_judge,
    pair,
    prompt_pair,
    rubric,
    scripted,
    verdict_json,
    write_doc,
)

from qaforge.fileio import file_revision
from qaforge.llm.fake import FakeBackend
from qaforge.refine import refine_workdir

CLEAR_Q = "Who designed the Eiffel Tower?"
FIXABLE_Q = "What does the text say about how tall it is?"
FIXED_Q = "How tall is the Eiffel Tower?"
BROKEN_Q = "When was the Eiffel Tower completed?"
ACCEPTED_Q = "What is the Eiffel Tower made of?"
NILE_Q = "Into which sea does the Nile flow?"


def eiffel_pairs() -> list[dict[str, Any]]:
    return [
        pair("q-clear", CLEAR_Q, "It was designed by the engineering company of Gustave Eiffel."),
        pair("q-fixable", FIXABLE_Q, "The tower is 330 metres tall."),
        pair("q-broken", BROKEN_Q, "It was completed in 1925 on the Moon by Napoleon."),
        pair("q-dup", "Who designed the Eiffel tower", "It was designed by the engineering "
             "company of Gustave Eiffel."),
        pair("q-rejected", "Is the Eiffel Tower in Paris?", "Yes.", status="rejected"),
        pair("q-accepted", ACCEPTED_Q, "It is a wrought-iron lattice tower.",
             status="accepted"),
        {"id": "q-malformed", "question": "What is missing here?", "status": "draft"},
    ]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    write_doc(tmp_path, "eiffel.pdf", [chunk(EIFFEL, eiffel_pairs())])
    write_doc(tmp_path, "nile.pdf", [
        chunk(NILE, [pair("n-1", NILE_Q, "The Nile flows into the Mediterranean Sea.")]),
        chunk("A pending chunk that was never sent to the model.", [], state="pending",
              headings=["2 Later"]),
    ])
    return tmp_path


def standard_model() -> FakeBackend:
    return FakeBackend(scripted(
        labels={FIXABLE_Q: "Unclear", BROKEN_Q: "Needs Improvement",
                "When was it completed?": "Needs Improvement", ACCEPTED_Q: "Unclear"},
        corrections={FIXABLE_Q: (FIXED_Q, "ignored: only the question is rewritten"),
                     BROKEN_Q: ("When was it completed?", "In 1925.")}))


def entries_by_id(workdir: Path) -> dict[str, dict[str, Any]]:
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    return {e["pair_id"]: e for e in evaluation["entries"]}


def dataset(workdir: Path) -> list[dict[str, Any]]:
    lines = (workdir / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_every_pair_takes_the_right_path(workdir: Path) -> None:
    before = {p.name: file_revision(p) for p in (workdir / "output_json").iterdir()}
    model = standard_model()
    summary = refine_workdir(workdir, judge=model, settings=rubric())
    entries = entries_by_id(workdir)

    assert entries["q-clear"]["final_decision"] == "kept"
    assert entries["q-clear"]["verdict"]["label"] == "Clear"
    assert entries["q-fixable"]["final_decision"] == "corrected"
    assert entries["q-fixable"]["corrected_messages"] == [
        {"role": "user", "content": FIXED_Q},
        {"role": "assistant", "content": "The tower is 330 metres tall."}]
    assert entries["q-broken"]["final_decision"] == "skipped"
    assert "still not good enough" in entries["q-broken"]["reason"]
    assert entries["q-dup"]["final_decision"] == "duplicate"
    assert entries["q-dup"]["duplicate_of"] == "q-clear"
    assert entries["q-rejected"]["final_decision"] == "rejected"
    assert entries["q-rejected"]["verdict"] is None
    assert entries["q-malformed"]["final_decision"] == "malformed"
    assert "answer" in entries["q-malformed"]["reason"]
    accepted = entries["q-accepted"]
    assert accepted["final_decision"] == "kept"
    assert accepted["verdict"]["label"] == "Unclear"
    assert accepted["corrected_messages"] is None
    assert entries["n-1"]["final_decision"] == "kept"

    # the accepted pair was judged but never sent for correction; nor were clear pairs
    corrected = [prompt_pair(r)[0] for r in model.history if not is_judge(r)]
    assert sorted(corrected) == sorted([FIXABLE_Q, BROKEN_Q])
    judged = [prompt_pair(r)[0] for r in model.history if is_judge(r)]
    assert "Who designed the Eiffel tower" not in judged  # duplicates are not judged
    assert "Is the Eiffel Tower in Paris?" not in judged  # nor rejected pairs

    rows = dataset(workdir)
    assert [r["messages"][0]["content"] for r in rows] == [
        CLEAR_Q, FIXED_Q, ACCEPTED_Q, NILE_Q]
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in rows)

    assert summary.pairs_in == 8
    assert summary.decisions == {"kept": 3, "corrected": 1, "skipped": 1, "duplicate": 1,
                                 "rejected": 1, "malformed": 1}
    assert summary.dataset_rows == 4
    assert summary.retention_rate == pytest.approx(4 / 7, abs=1e-3)
    assert summary.ok and not summary.demo_judge
    # refine never writes to the suggestions files
    assert before == {p.name: file_revision(p) for p in (workdir / "output_json").iterdir()}


def test_evaluation_summary_accounts_for_every_pair(workdir: Path) -> None:
    refine_workdir(workdir, judge=standard_model(), settings=rubric())
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    summary = evaluation["summary"]
    assert sum(summary["decisions"].values()) == summary["pairs_in"] == len(
        evaluation["entries"])
    assert summary["labels"] == {"Clear": 2, "Unclear": 2, "Needs Improvement": 1,
                                 "no verdict": 0}
    assert summary["reviewed_flagged_kept"] == 1
    assert evaluation["demo_judge"] is None
    nile = summary["coverage"]["nile.pdf"]
    assert nile["chunks"] == 2 and nile["chunks_pending"] == 1
    assert nile["chunks_in_dataset"] == 1 and nile["chunk_coverage"] == 0.5
    assert summary["models"]["judge"] == {"backend": "fake", "model": "fake-model"}
    assert summary["models"]["generators"][0]["model"] == "gen-model"
    assert summary["prompts"] == {"judge": "judge/v2", "correct": "correct/v3"}
    assert set(summary["timings"]) >= {"load", "judge", "correct", "total"}
    entry = next(e for e in evaluation["entries"] if e["pair_id"] == "q-clear")
    assert entry["source_file"] == "output_json/eiffel_suggestions.json"
    assert entry["document"] == "eiffel.pdf" and entry["pages"] == [1, 1]
    assert entry["grounding"]["score"] > 0.7
    assert set(entry["verdict"]["scores"]) == {"clarity", "coherence", "relevance",
                                               "groundedness"}


def test_system_prompt_goes_first(workdir: Path) -> None:
    refine_workdir(workdir, judge=standard_model(),
                   settings=rubric(system_prompt="You answer questions about places."))
    for row in dataset(workdir):
        assert row["messages"][0] == {"role": "system",
                                      "content": "You answer questions about places."}


def test_correct_reviewed_lets_the_model_rewrite_accepted_pairs(workdir: Path) -> None:
    model = FakeBackend(scripted(labels={ACCEPTED_Q: "Unclear"}, corrections={
        ACCEPTED_Q: ("What material is the Eiffel Tower made of?", "x")}))
    refine_workdir(workdir, judge=model, settings=rubric(correct_reviewed=True))
    accepted = entries_by_id(workdir)["q-accepted"]
    assert accepted["final_decision"] == "corrected"
    assert accepted["corrected_messages"][0]["content"] == (
        "What material is the Eiffel Tower made of?")


def test_no_correct_skips_flagged_drafts(workdir: Path) -> None:
    model = standard_model()
    refine_workdir(workdir, judge=model, settings=rubric(correct=False))
    entries = entries_by_id(workdir)
    assert entries["q-fixable"]["final_decision"] == "skipped"
    assert "correction is off" in entries["q-fixable"]["reason"]
    assert all(is_judge(r) for r in model.history)


def test_separate_corrector_model(workdir: Path) -> None:
    judge, corrector = standard_model(), standard_model()
    corrector.model = "bigger-model"
    refine_workdir(workdir, judge=judge, corrector=corrector, settings=rubric())
    assert all(is_judge(r) for r in judge.history)
    assert corrector.history and not any(is_judge(r) for r in corrector.history)
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["summary"]["models"]["corrector"]["model"] == "bigger-model"


def test_unparseable_judge_reply_is_retried_once_then_recorded(workdir: Path) -> None:
    model = FakeBackend(scripted(raw={NILE_Q: "I think this pair is fine!"}))
    summary = refine_workdir(workdir, judge=model, settings=rubric())
    nile = entries_by_id(workdir)["n-1"]
    assert nile["verdict"]["label"] is None
    assert "after one retry" in nile["verdict"]["error"]
    assert nile["final_decision"] == "skipped"
    asked = [r for r in model.history if prompt_pair(r)[0] == NILE_Q]
    assert len(asked) == 2  # the request and one retry, no correction attempt
    assert "Reply again" in asked[1].messages[-1]["content"]
    assert summary.labels["no verdict"] == 1


def test_retry_that_succeeds_is_used(workdir: Path) -> None:
    def reply(request: Any) -> str:
        if "Reply again" in request.messages[-1]["content"]:
            return verdict_json("Clear")
        if is_judge(request) and prompt_pair(request)[0] == NILE_Q:
            return "```json\n{\"label\": \"Clear\"}\n```"  # JSON, but not a full verdict
        return scripted()(request)

    refine_workdir(workdir, judge=FakeBackend(reply), settings=rubric())
    assert entries_by_id(workdir)["n-1"]["final_decision"] == "kept"


def test_resume_rejudges_only_changed_pairs(workdir: Path) -> None:
    first = standard_model()
    refine_workdir(workdir, judge=first, settings=rubric())
    assert first.history

    again = standard_model()
    refine_workdir(workdir, judge=again, settings=rubric())
    assert again.history == []  # everything came from the cache
    assert entries_by_id(workdir)["q-fixable"]["final_decision"] == "corrected"

    path = workdir / "output_json" / "nile_suggestions.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["chunks"][0]["suggestions"][0]["answer"] = "The Nile ends in the Mediterranean Sea."
    doc["chunks"][0]["suggestions"][0]["status"] = "edited"
    path.write_text(json.dumps(doc), encoding="utf-8")
    third = standard_model()
    refine_workdir(workdir, judge=third, settings=rubric())
    assert [prompt_pair(r) for r in third.history] == [
        (NILE_Q, "The Nile ends in the Mediterranean Sea.")]
    assert entries_by_id(workdir)["n-1"]["status"] == "edited"


def test_changing_the_judge_model_rejudges(workdir: Path) -> None:
    refine_workdir(workdir, judge=standard_model(), settings=rubric())
    other = standard_model()
    other.model = "another-judge"
    refine_workdir(workdir, judge=other, settings=rubric())
    assert sum(1 for r in other.history if is_judge(r)) >= 5


def test_model_failures_are_recorded_not_raised(workdir: Path) -> None:
    from qaforge.llm.base import LLMError

    def reply(request: Any) -> Any:
        if prompt_pair(request)[0] == CLEAR_Q:
            return LLMError("server went away")
        return scripted()(request)

    summary = refine_workdir(workdir, judge=FakeBackend(reply), settings=rubric())
    clear = entries_by_id(workdir)["q-clear"]
    assert clear["final_decision"] == "skipped"
    assert "server went away" in clear["verdict"]["error"]
    assert summary.model_errors == 1
    # the duplicate was judged in its place? no: duplicates stay duplicates of the kept one
    assert entries_by_id(workdir)["q-dup"]["final_decision"] == "duplicate"


def test_demo_judge_lets_deterministic_checks_decide(workdir: Path) -> None:
    # a judge that cannot discriminate: every pair gets the same low verdict
    demo = FakeBackend(lambda r: verdict_json("Needs Improvement", 1) if is_judge(r) else
                       json.dumps({"question": "How tall is the Eiffel Tower?",
                                   "answer": "The tower is 330 metres tall."}),
                       is_demo_model=True, model="SmolLM2-135M-Instruct.Q4_1.gguf")
    summary = refine_workdir(workdir, judge=demo, settings=rubric())
    assert summary.demo_judge
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert "demo model" in evaluation["demo_judge"]
    entries = {e["pair_id"]: e for e in evaluation["entries"]}
    assert entries["q-clear"]["final_decision"] == "kept"
    assert entries["q-clear"]["verdict"]["advisory"] is True
    assert "demo judge did not decide" in entries["q-clear"]["reason"]
    # "what does the text say" fails the standalone check; the rewrite passes the checks
    assert entries["q-fixable"]["final_decision"] == "corrected"
    # the invented answer is poorly grounded; its rewrite passes the checks but repeats
    # the rewrite of q-fixable, so it goes as a duplicate
    assert entries["q-broken"]["flags"][0].startswith("only 44% of the answer")
    assert entries["q-broken"]["final_decision"] == "duplicate"
    assert entries["q-broken"]["duplicate_of"] == "q-fixable"
    assert entries["n-1"]["final_decision"] == "kept"
    # an advisory verdict for each pair the deterministic checks pass (q-fixable and
    # q-broken they flag: asking would decide nothing); rewrites are not re-judged by a
    # judge that cannot tell
    judged = sorted(prompt_pair(r)[0] for r in demo.history if is_judge(r))
    assert len(judged) == 3 and FIXABLE_Q not in judged and BROKEN_Q not in judged
    # their label is the checks' (no model asked)
    assert entries["q-fixable"]["verdict"]["model"] == "qaforge:checks"
    assert entries["q-fixable"]["verdict"]["label"] == "Needs Improvement"
    assert entries["q-fixable"]["correction"]["verdict"] is None
    assert summary.not_asked == 2
    rows = summary.rows()
    assert ("labelled by the checks (no model asked)",
            "2 (Needs Improvement 1, Unclear 1)") in rows
    # the demo judge's rows count only what it labelled
    assert sum(int(n) for name, n in rows if name.startswith("judged ")) == 3
    assert summary.labels_by_checks == {"Needs Improvement": 1, "Unclear": 1}


def test_broken_json_file_is_reported_and_others_go_on(workdir: Path) -> None:
    broken = workdir / "output_json" / "broken_suggestions.json"
    broken.write_text('{\n  "schema": "qaforge.suggestions/1",\n  "chunks": [,]\n}\n',
                      encoding="utf-8")
    summary = refine_workdir(workdir, judge=standard_model(), settings=rubric())
    assert not summary.ok
    assert len(summary.files_failed) == 1
    error = summary.files_failed[0]
    assert "broken_suggestions.json:3:" in error and "invalid JSON" in error
    assert summary.dataset_rows == 4  # the good files were processed as before
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["summary"]["files_failed"] == [error]


def test_empty_workdir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no \*_suggestions\.json"):
        refine_workdir(tmp_path, judge=FakeBackend(), settings=rubric())


def test_outputs_are_unicode_and_stable(tmp_path: Path) -> None:
    text = ("Der Kölner Dom ist eine römisch-katholische Kathedrale in Köln. Er wurde 1880 "
            "vollendet und ist 157 Meter hoch.")
    write_doc(tmp_path, "dom.pdf", [chunk(text, [
        pair("d-1", "Wann wurde der Kölner Dom vollendet?", "Er wurde 1880 vollendet."),
        pair("d-2", "Wie hoch ist der Kölner Dom?", "Er ist 157 Meter hoch.")])])
    refine_workdir(tmp_path, judge=FakeBackend(scripted()), settings=rubric())
    first = (tmp_path / "cleaned_finetune.jsonl").read_bytes()
    assert "Kölner".encode() in first
    (tmp_path / ".qaforge" / "cache.sqlite").unlink()
    refine_workdir(tmp_path, judge=FakeBackend(scripted()), settings=rubric())
    assert (tmp_path / "cleaned_finetune.jsonl").read_bytes() == first


def test_string_style_suggestions_end_to_end(tmp_path: Path) -> None:
    text = ("**Question 1:** Who designed the Eiffel Tower?\n"
            "**Answer 1:** The engineering company of Gustave Eiffel designed it.\n"
            "**Question 2:** According to the passage, how tall is it?\n"
            "**Answer 2:** The tower is 330 metres tall.\n")
    write_doc(tmp_path, "eiffel.pdf", [chunk(EIFFEL, text),
                                       chunk(NILE, "Q: How long is the Nile?\n"
                                                   "A: It is about 6,650 kilometres long.")])
    model = FakeBackend(scripted(corrections={
        "According to the passage, how tall is it?": ("How tall is the Eiffel Tower?", "")}))
    summary = refine_workdir(tmp_path, judge=model, settings=rubric())
    assert summary.pairs_in == 3
    evaluation = json.loads((tmp_path / "evaluation.json").read_text(encoding="utf-8"))
    assert [(e["origin"], e["status"]) for e in evaluation["entries"]] == [("text", "edited")] * 3
    # a person wrote these, so the flagged one is kept as written, not rewritten
    assert [e["final_decision"] for e in evaluation["entries"]] == ["kept"] * 3
    assert not any(not is_judge(r) for r in model.history)
    assert [r["messages"][0]["content"] for r in dataset(tmp_path)] == [
        "Who designed the Eiffel Tower?", "According to the passage, how tall is it?",
        "How long is the Nile?"]


FACTS = [
    ("Where is the Eiffel Tower?", "It stands on the Champ de Mars in Paris."),
    ("Who designed the Eiffel Tower?", "The engineering company of Gustave Eiffel."),
    ("When was the Eiffel Tower completed?", "It was completed in 1889."),
    ("For which event was the Eiffel Tower built?", "It was built for the World's Fair."),
    ("How tall is the Eiffel Tower?", "The tower is 330 metres tall."),
    ("Until when was the Eiffel Tower the tallest structure?", "It was the tallest man-made "
     "structure in the world until 1930."),
    ("What material is the Eiffel Tower made of?", "It is a wrought-iron lattice tower."),
    ("In which direction does the Nile flow?", "The Nile flows north."),
    ("How long is the Nile?", "It is about 6,650 kilometres long."),
    ("Where do the White Nile and the Blue Nile meet?", "They meet at Khartoum in Sudan."),
]


def write_facts(root: Path) -> Path:
    return write_doc(root, "facts.pdf", [
        chunk(EIFFEL, [pair(f"f-{i}", q, a) for i, (q, a) in enumerate(FACTS[:7])]),
        chunk(NILE, [pair(f"f-{i}", q, a) for i, (q, a) in enumerate(FACTS[7:], start=7)])])


def test_after_a_person_edits_five_pairs_only_those_five_are_judged(tmp_path: Path) -> None:
    path = write_facts(tmp_path)
    first = FakeBackend(scripted())
    refine_workdir(tmp_path, judge=first, settings=rubric())
    assert len(first.history) == len(FACTS)

    doc = json.loads(path.read_text(encoding="utf-8"))
    pairs = [p for c in doc["chunks"] for p in c["suggestions"]]
    edited = {}
    for p in pairs[1::2]:  # five pairs
        p["answer"] = p["answer"].rstrip(".") + ", as the passage says."
        p["status"] = "edited"
        edited[p["question"]] = p["answer"]
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")

    second = FakeBackend(scripted())
    summary = refine_workdir(tmp_path, judge=second, settings=rubric())
    assert len(edited) == 5
    assert sorted(prompt_pair(r) for r in second.history) == sorted(edited.items())
    assert summary.cache_hits == len(FACTS) - 5
    assert summary.dataset_rows == len(FACTS)


def test_a_crash_mid_judging_resumes_where_it_stopped(tmp_path: Path) -> None:
    write_facts(tmp_path)

    class Crash(RuntimeError):
        pass

    def crash_after_four(stage: str, done: int, total: int) -> None:
        if stage == "judge" and done >= 4:
            raise Crash

    crashed = FakeBackend(scripted(), max_concurrency=1)
    with pytest.raises(Crash):
        refine_workdir(tmp_path, judge=crashed, settings=rubric(),
                       progress=crash_after_four)
    assert not (tmp_path / "cleaned_finetune.jsonl").exists()
    done_before = {prompt_pair(r)[0] for r in crashed.history}

    resumed = FakeBackend(scripted())
    summary = refine_workdir(tmp_path, judge=resumed, settings=rubric())
    asked_again = {prompt_pair(r)[0] for r in resumed.history}
    assert summary.cache_hits == 4
    assert len(asked_again) == len(FACTS) - 4
    assert len(done_before - asked_again) == 4
    assert summary.dataset_rows == len(FACTS)
