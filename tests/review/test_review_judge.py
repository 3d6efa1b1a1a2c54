"""What refine found, on the review page: verdicts, checks, flags, decisions, evidence and the
"flagged" filter, from an evaluation.json written by the real ``qaforge refine`` (fake judge),
whole or sharded; and a hostile evaluation.json is capped or ignored, never a 500."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from review_helpers import FLAWED_PAIRS, WriteDoc, refined_chunks, review_api, run_refine

from qaforge.refine.verify import CLEAR_REASON
from qaforge.review import judged as judged_module

DOC = "manual_suggestions.json"


@pytest.fixture
def evaluation(workdir: Path, write_doc: WriteDoc) -> dict[str, Any]:
    write_doc("manual", refined_chunks())
    return run_refine(workdir)


@pytest.fixture
def api(workdir: Path, evaluation: dict[str, Any]) -> Iterator[httpx.Client]:
    with review_api(workdir) as http:
        yield http


def first_chunk(api: httpx.Client) -> dict[str, Any]:
    response = api.get(f"/api/docs/{DOC}")
    assert response.status_code == 200, response.text
    chunk: dict[str, Any] = response.json()["chunk_list"][0]
    return chunk


def pair_ids(chunk: dict[str, Any]) -> dict[str, str]:
    return {pair["question"]: pair["id"] for pair in chunk["pairs"]}


def write_evaluation(workdir: Path, value: Any) -> None:
    path = workdir / "evaluation.json"
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 10**9  # a new mtime even on a coarse clock
    os.utime(path, ns=(stamp, stamp))


def test_each_pair_shows_what_refine_found(api: httpx.Client) -> None:
    chunk = first_chunk(api)
    ids = pair_ids(chunk)
    judge = chunk["judge"]
    clean = judge[ids["What powers the Model 7 pump?"]]
    assert clean["label"] == "Clear" and clean["decision"] == "kept"
    assert clean["reason"] == CLEAR_REASON  # the default judge method: checks
    # the fake judge answers the check with the pair's own answer
    assert clean["judge_answer"] == "A 12 volt battery powers it."
    assert not clean["flagged"] and not clean["stale"] and not clean["flags"]

    cut = judge[ids[FLAWED_PAIRS[1][0]]]
    assert {c["code"] for c in cut["checks"]} >= {"truncated", "dangling_reference"}
    assert any("cut off mid-sentence" in c["message"] for c in cut["checks"])
    assert any("cut off mid-sentence" in flag for flag in cut["flags"])
    assert cut["decision"] == "skipped" and "flagged:" in cut["decision_reason"]
    assert cut["flagged"] and not cut["stale"]
    # the checks flagged it; the judge looked at it before refine tried to rewrite it
    assert not cut["by_checks"] and not clean["by_checks"]
    ungrounded = judge[ids[FLAWED_PAIRS[0][0]]]
    assert any("found in the passage" in flag for flag in ungrounded["flags"])

    documents = api.get("/api/docs").json()
    assert documents["documents"][0]["flagged"] == 2
    assert documents["evaluation"] == {"entries": 7, "note": None}


def test_a_label_the_checks_gave_says_so(workdir: Path, write_doc: WriteDoc) -> None:
    write_doc("manual", refined_chunks())
    run_refine(workdir, "--no-correct")  # so no model looks at what the checks flag
    with review_api(workdir) as http:
        judge = first_chunk(http)["judge"]
        ids = pair_ids(first_chunk(http))
    cut = judge[ids[FLAWED_PAIRS[1][0]]]
    assert cut["by_checks"] and cut["label"] == "Needs Improvement" and cut["flagged"]
    assert "the model judge was not asked" in cut["reason"]
    assert not judge[ids["What powers the Model 7 pump?"]]["by_checks"]


def test_flagged_filter_walks_only_flagged_pairs(api: httpx.Client) -> None:
    ids = pair_ids(first_chunk(api))
    items = api.get("/api/queue", params={"flagged": "true"}).json()["items"]
    assert [(item["index"], item["pairs"]) for item in items] == [
        (0, [ids[FLAWED_PAIRS[0][0]], ids[FLAWED_PAIRS[1][0]]])]
    assert api.get("/api/queue", params={"flagged": "true", "status": "accepted"}).json()[
        "items"] == []
    assert len(api.get("/api/queue").json()["items"]) == 3  # off: every chunk, as before


def test_an_edited_pair_shows_its_verdict_as_stale(api: httpx.Client) -> None:
    doc = api.get(f"/api/docs/{DOC}").json()
    chunk = doc["chunk_list"][0]
    pid = pair_ids(chunk)[FLAWED_PAIRS[1][0]]

    def op(revision: str, **change: Any) -> dict[str, Any]:
        response = api.post(f"/api/docs/{DOC}/ops", json={
            "revision": revision, "op": {"op": "update", "chunk": chunk["id"], "pair": pid,
                                         **change}})
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    accepted = op(doc["revision"], status="accepted")  # a status is no change of text
    assert accepted["chunk"]["judge"][pid]["stale"] is False
    edited = op(accepted["revision"], question="How heavy is the Model 7 pump?",
                answer="It weighs 3.2 kilograms.")
    assert edited["chunk"]["judge"][pid]["stale"] is True
    assert edited["chunk"]["judge"][pid]["flagged"] is True  # what refine said still shows
    assert edited["summary"]["flagged"] == 2


@pytest.mark.parametrize("where", ["grounding.sentences", "evidence"])
def test_judge_evidence_replaces_the_grounding_highlight(
        api: httpx.Client, workdir: Path, evaluation: dict[str, Any], where: str) -> None:
    before = first_chunk(api)
    text = before["text"]
    pid = pair_ids(before)["What powers the Model 7 pump?"]
    sentence = "It runs on a 12 volt battery and weighs 3.2 kilograms."
    start = text.index(sentence)
    entry = next(e for e in evaluation["entries"] if e["pair_id"] == pid)
    if where == "evidence":  # an explicit field wins over the grounding's sentences
        entry["evidence"] = [{"start": start, "end": start + len(sentence), "text": sentence}]
        entry["grounding"]["sentences"] = [[0, 3]]
    else:
        entry["grounding"]["sentences"] = [[start, start + len(sentence)]]
    write_evaluation(workdir, evaluation)
    chunk = first_chunk(api)
    pair = next(p for p in chunk["pairs"] if p["id"] == pid)
    assert pair["support"] == [[start, start + len(sentence)]]
    assert chunk["judge"][pid]["evidence_shown"] is True

    # spans that do not fit the chunk (past its end, or quoting other text) are not shown
    entry["evidence"] = [[start, len(text) + 5], {"start": 0, "end": 5, "text": "other"}]
    entry["grounding"]["sentences"] = [[start, start + len(sentence)]]
    write_evaluation(workdir, evaluation)
    chunk = first_chunk(api)
    assert next(p for p in chunk["pairs"] if p["id"] == pid)["support"] == next(
        p for p in before["pairs"] if p["id"] == pid)["support"]
    assert chunk["judge"][pid]["evidence_shown"] is False


def shard(workdir: Path, evaluation: dict[str, Any], sizes: tuple[int, ...]) -> None:
    """Rewrite the evaluation as refine does past its size: an index naming JSON Lines
    shards (``entry_shards``: path relative to the index, and the entries it holds)."""
    entries = evaluation.pop("entries")
    (workdir / "evaluation").mkdir(exist_ok=True)
    evaluation["entries_total"], evaluation["entry_shards"] = len(entries), []
    for number, size in enumerate(sizes):
        name = f"evaluation/entries-20261129T120000-0123abcd-{number:05d}.jsonl"
        part, entries = entries[:size], entries[size:]
        (workdir / name).write_text("".join(json.dumps(e) + "\n" for e in part) + "\n",
                                    encoding="utf-8")
        evaluation["entry_shards"].append({"path": name, "entries": len(part)})
    write_evaluation(workdir, evaluation)


def test_sharded_evaluation_is_read(api: httpx.Client, workdir: Path,
                                    evaluation: dict[str, Any]) -> None:
    expected = first_chunk(api)["judge"]
    other = {**evaluation["entries"][0], "verdict": {"label": "Needs Improvement"}}
    shard(workdir, evaluation, (3, 4))
    with (workdir / evaluation["entry_shards"][0]["path"]).open("a", encoding="utf-8") as f:
        f.write("{not json\n")  # one bad line costs only its entry
    # a killed run's shard that no index names is not read (it would come first)
    stray = workdir / "evaluation" / "entries-20261129T110000-ffffffff-00000.jsonl"
    stray.write_text(json.dumps(other) + "\n", encoding="utf-8")
    assert first_chunk(api)["judge"] == expected
    assert api.get("/api/docs").json()["evaluation"] == {"entries": 7, "note": None}


def test_shards_outside_the_work_dir_are_not_read(api: httpx.Client, workdir: Path,
                                                  evaluation: dict[str, Any]) -> None:
    outside = workdir.parent / "elsewhere.jsonl"
    outside.write_text("".join(json.dumps(e) + "\n" for e in evaluation.pop("entries")),
                       encoding="utf-8")
    evaluation["entry_shards"] = [{"path": "../elsewhere.jsonl", "entries": 7}]
    write_evaluation(workdir, evaluation)
    assert first_chunk(api)["judge"] == {}
    assert "outside the work dir" in api.get("/api/docs").json()["evaluation"]["note"]


HOSTILE = "<script>window.__xss=1</script><img src=x onerror=alert(1)>"


def test_hostile_entries_are_capped_or_skipped(api: httpx.Client, workdir: Path,
                                               evaluation: dict[str, Any]) -> None:
    entries = evaluation["entries"]
    first = entries[0]
    first["verdict"] = {"label": "Clear<b>", "reason": HOSTILE + "x" * 100_000,
                        "advisory": "yes"}
    first["checks"] = [{"code": HOSTILE, "message": HOSTILE, "severity": "<fix>"}] * 500
    first["flags"] = [HOSTILE, 7, None, {"a": 1}]
    first["corrected_messages"] = [{"role": "user", "content": HOSTILE},
                                   {"role": "assistant", "content": 12}]
    first["evidence"] = [[5, 2], ["a", "b"], [10**30, 10**31], "x", {"start": -1, "end": 3}]
    first["final_decision"] = "<kept>"
    entries[1]["verdict"] = ["not", "a", "dict"]
    entries[1]["checks"] = "truncated"
    entries[1]["flags"] = {"why": "a dict"}
    entries[1]["original_messages"] = "What?"
    entries[2]["pair_id"] = 12  # no key: skipped
    entries.extend([None, 3, "x", [1, 2], {"source_file": "x" * 10_000, "chunk_id": "c",
                                            "pair_id": "p"}])
    write_evaluation(workdir, evaluation)
    chunk = first_chunk(api)
    judge = chunk["judge"][first["pair_id"]]
    assert judge["label"] is None and judge["advisory"] is False
    assert judge["reason"].startswith(HOSTILE) and len(judge["reason"]) <= 2_001
    assert len(judge["checks"]) == 20 and judge["checks"][0]["severity"] == "note"
    assert judge["flags"] == [HOSTILE] and judge["rewrite"] is None
    assert judge["decision"] == "" and judge["stale"] is False
    shaky = chunk["judge"][entries[1]["pair_id"]]
    assert (shaky["label"], shaky["checks"], shaky["flags"], shaky["stale"]) == (
        None, [], [], True)
    assert entries[2]["pair_id"] not in chunk["judge"]
    assert api.get("/api/queue", params={"flagged": "1"}).status_code == 200


@pytest.mark.parametrize("content", [
    "{not json", "[1, 2, 3]", '{"entries": {"a": 1}}',
    '{"entries": ' + "[" * 5_000 + "]" * 5_000 + "}",
    '{"entries": [{"pair_id": ' + "9" * 5_000 + "}]}",
], ids=["broken", "list", "entries-dict", "deep", "huge-int"])
def test_an_unreadable_evaluation_is_ignored_with_a_note(
        api: httpx.Client, workdir: Path, content: str) -> None:
    write_evaluation(workdir, content)
    assert first_chunk(api)["judge"] == {}
    status = api.get("/api/docs").json()
    assert status["evaluation"]["entries"] == 0
    assert api.get("/api/queue", params={"flagged": "true"}).json()["items"] == []


def test_an_evaluation_over_the_size_cap_is_not_read(
        api: httpx.Client, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(judged_module, "MAX_BYTES", 1_000)
    write_evaluation(workdir, (workdir / "evaluation.json").read_text("utf-8") + " ")
    assert first_chunk(api)["judge"] == {}
    assert "over the review page's cap" in api.get("/api/docs").json()["evaluation"]["note"]


def test_a_symlinked_evaluation_outside_the_work_dir_is_not_read(
        api: httpx.Client, workdir: Path) -> None:
    outside = workdir.parent / "evaluation.json"
    (workdir / "evaluation.json").rename(outside)
    (workdir / "evaluation.json").symlink_to(outside)
    assert first_chunk(api)["judge"] == {}
    assert "outside the work dir" in api.get("/api/docs").json()["evaluation"]["note"]


def test_the_sentences_the_judge_cited_are_shown_for_cite_and_strict() -> None:
    cited = {"cited": [2], "cited_text": "It runs on a 12 volt battery.", "support": 1.0}
    for checks in (cited, {"model_answer": "A battery.", "containment": 1.0, "cite": cited}):
        entry = {"verdict": {"label": "Clear", "reason": "ok", "checks": checks},
                 "final_decision": "kept"}
        view = judged_module.Judged.from_entry(entry).view("Q?", "A.")
        assert view["judge_cited"] == "It runs on a 12 volt battery."
    entry = {"verdict": {"label": "Clear", "checks": {"cite": "<b>not a dict</b>"}}}
    assert judged_module.Judged.from_entry(entry).judge_cited == ""
