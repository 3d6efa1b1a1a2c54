"""Hand edits: suggestions files a person broke or bent in an editor, then ``generate`` run
again, ``refine`` and the review app over them.

Every problem is reported with file, line and field; the valid files of the same run are
processed; no file is rewritten in a way that loses what the person wrote. Unit-level
cases live in ``tests/test_suggestions.py`` (validation, duplicate ids, refusal to rewrite),
``tests/refine/test_load.py`` and ``tests/review/test_review_store.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from reliability_helpers import RequestLog, cli_env, load_clean, pairs_of, run_cli, words_pdf

import pdfgen
from qaforge.records import Suggestion
from qaforge.review.ops import OpRequest
from qaforge.review.store import ReviewError, ReviewStore
from qaforge.suggestions import load_suggestions, suggestions_dir

ARGS = ["--backend", "fake", "--chunk-tokens", "64", "--pairs", "2", "--no-skip-boilerplate"]
NAMES = ["broken", "wrongtype", "extras", "dupes", "dupchunk", "noid", "clean"]


def path_of(workdir: Path, name: str) -> Path:
    return suggestions_dir(workdir) / f"{name}_suggestions.json"


def edit_json(path: Path, change: Any) -> None:
    """What a person's editor does: parse, change, write back (indented, not atomically)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def reopen(chunk: dict[str, Any]) -> None:
    """Send a chunk back to the model (as if it had never been generated)."""
    chunk.update(state="pending", suggestions=[], raw=None, error=None)


@pytest.fixture
def edited(tmp_path: Path) -> Path:
    """A work dir whose files a person edited in every way that can go wrong."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    for index, name in enumerate(NAMES):
        words_pdf(pdfs, f"{name}.pdf", seed=index)
    workdir = tmp_path / "work"
    done = run_cli(["generate", str(pdfs), "-o", str(workdir), *ARGS], cwd=tmp_path)
    assert done.returncode == 0, done.stdout

    broken = path_of(workdir, "broken")
    broken.write_text(broken.read_text(encoding="utf-8").replace('"state": "generated"\n    }',
                                                                 '"state": "generated"\n    ',
                                                                 1), encoding="utf-8")

    def wrong_type(doc: dict[str, Any]) -> None:
        doc["chunks"][0]["suggestions"][0]["question"] = 42
        reopen(doc["chunks"][1])

    def extras(doc: dict[str, Any]) -> None:
        doc["reviewer"] = "Ana"
        doc["chunks"][0]["note"] = "check page 2"
        doc["chunks"][0]["suggestions"][0]["tags"] = ["good", "ünïcode"]
        reopen(doc["chunks"][1])
        doc["chunks"][1]["suggestions"] = [{"question": "What did Ana add by hand?",
                                            "answer": "This pair, without an id.",
                                            "status": "edited"}]

    def dupes(doc: dict[str, Any]) -> None:
        first, second = doc["chunks"][0]["suggestions"][0], doc["chunks"][1]["suggestions"][0]
        second.update(id=first["id"], question="A copy-pasted id, with my own question?",
                      status="edited")
        reopen(doc["chunks"][2])

    def dup_chunk(doc: dict[str, Any]) -> None:
        doc["chunks"].append(dict(doc["chunks"][0], text="Pasted twice."))
        reopen(doc["chunks"][1])

    def no_id(doc: dict[str, Any]) -> None:
        del doc["chunks"][0]["id"]
        reopen(doc["chunks"][1])

    def clean(doc: dict[str, Any]) -> None:
        reopen(doc["chunks"][0])

    for name, change in [("wrongtype", wrong_type), ("extras", extras), ("dupes", dupes),
                         ("dupchunk", dup_chunk), ("noid", no_id), ("clean", clean)]:
        edit_json(path_of(workdir, name), change)
    return workdir


def located(output: str, path: Path, field: str) -> bool:
    """Some line names the file, a line number and the field."""
    pattern = re.escape(str(path)) + r":\d+ \[" + re.escape(field) + r"\]"
    return re.search(pattern, output) is not None


@pytest.mark.slow
def test_generate_rerun_reports_and_keeps_every_hand_edit(edited: Path, tmp_path: Path) -> None:
    workdir = edited
    pdfs = tmp_path / "pdfs"
    before = {name: path_of(workdir, name).read_bytes() for name in NAMES}
    log = RequestLog(tmp_path / "requests.jsonl")
    env = cli_env(QAFORGE_FAKE_LOG=str(log.path))
    done = run_cli(["generate", str(pdfs), "-o", str(workdir), *ARGS], cwd=tmp_path, env=env)
    output = done.stdout
    assert done.returncode == 1, output
    assert "Traceback" not in output

    # not JSON any more: file, line and column; left exactly as the person left it
    assert re.search(re.escape(str(path_of(workdir, "broken"))) + r":\d+:\d+: invalid JSON",
                     output), output
    # entries that do not validate: located, and the file is not rewritten
    assert located(output, path_of(workdir, "wrongtype"), "chunks[0].suggestions[0].question")
    last = len(json.loads(before["dupchunk"])["chunks"]) - 1
    assert located(output, path_of(workdir, "dupchunk"), f"chunks[{last}].id")
    assert located(output, path_of(workdir, "noid"), "chunks[0].id")
    for name in ("broken", "wrongtype", "dupchunk", "noid"):
        assert path_of(workdir, name).read_bytes() == before[name], name
        assert "not written" in output or name == "broken"

    # valid files with odd edits are processed, and keep everything the person wrote
    extras = json.loads(path_of(workdir, "extras").read_text(encoding="utf-8"))
    assert extras["reviewer"] == "Ana" and extras["chunks"][0]["note"] == "check page 2"
    assert extras["chunks"][0]["suggestions"][0]["tags"] == ["good", "ünïcode"]
    hand = extras["chunks"][1]["suggestions"][0]
    assert (hand["question"], hand["answer"], hand["status"]) == (
        "What did Ana add by hand?", "This pair, without an id.", "edited")
    assert hand["id"] and len(extras["chunks"][1]["suggestions"]) > 1  # the model's follow
    assert located(output, path_of(workdir, "extras"), "chunks[1].suggestions[0]")
    dupes = load_clean(path_of(workdir, "dupes"))
    ids = [p.id for c in dupes.chunks for p in pairs_of(c)]
    assert len(ids) == len(set(ids))
    assert pairs_of(dupes.chunks[1])[0].question == (
        "A copy-pasted id, with my own question?")
    assert dupes.chunks[2].state == "generated"
    assert load_clean(path_of(workdir, "clean")).chunks[0].state == "generated"

    # again: the results that could not be written are in the journal, not asked for again
    sent = log.refresh()
    again = run_cli(["generate", str(pdfs), "-o", str(workdir), *ARGS], cwd=tmp_path, env=env)
    assert again.returncode == 1
    assert log.refresh() == sent, [e["tag"] for e in log.since(sent)]

    # once the person fixes a file, the journaled result lands without a model call
    def fix(doc: dict[str, Any]) -> None:
        doc["chunks"][0]["suggestions"][0]["question"] = "Forty-two, as a question?"

    edit_json(path_of(workdir, "wrongtype"), fix)
    third = run_cli(["generate", str(pdfs), "-o", str(workdir), *ARGS], cwd=tmp_path, env=env)
    assert log.refresh() == sent, [e["tag"] for e in log.since(sent)]
    fixed = load_clean(path_of(workdir, "wrongtype"))
    assert pairs_of(fixed.chunks[0])[0].question == "Forty-two, as a question?"
    assert fixed.chunks[1].state == "generated", third.stdout


def test_refine_reads_hand_edited_files_without_writing_them(edited: Path,
                                                             tmp_path: Path) -> None:
    before = {name: path_of(edited, name).read_bytes() for name in NAMES}
    done = run_cli(["refine", str(edited), "--judge-backend", "fake"], cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stdout
    assert re.search(re.escape(str(path_of(edited, "broken"))) + r":\d+:\d+: invalid JSON",
                     done.stdout)
    assert {name: path_of(edited, name).read_bytes() for name in NAMES} == before
    evaluation = json.loads((edited / "evaluation.json").read_text(encoding="utf-8"))
    malformed = [e for e in evaluation["entries"] if e["final_decision"] == "malformed"]
    reasons = " ".join(e["reason"] for e in malformed)
    assert "chunks[0].suggestions[0].question" in reasons
    valid = {e["document"] for e in evaluation["entries"] if e["final_decision"] != "malformed"}
    assert {"extras.pdf", "dupes.pdf", "clean.pdf", "wrongtype.pdf"} <= valid
    rows = (edited / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    assert all(json.loads(row)["messages"] for row in rows)


def test_review_app_on_hand_edited_files_keeps_the_persons_text(edited: Path) -> None:
    store = ReviewStore(edited)
    listing = {doc["id"]: doc for doc in store.summaries()}
    broken = listing["broken_suggestions.json"]["error"]
    assert broken["line"] and broken["column"] and "invalid JSON" in broken["message"]
    for name in ("wrongtype", "dupchunk", "noid"):
        summary = listing[f"{name}_suggestions.json"]
        assert summary["read_only"] and summary["problems"], name
        before = path_of(edited, name).read_bytes()
        doc = store.document(f"{name}_suggestions.json")
        chunk = doc["chunk_list"][-1]
        with pytest.raises(ReviewError) as refused:
            store.apply(f"{name}_suggestions.json", OpRequest.model_validate({
                "revision": doc["revision"], "op": {"op": "add", "chunk": chunk["id"],
                                                    "question": "New?", "answer": "Yes."}}))
        assert refused.value.status_code == 409
        assert path_of(edited, name).read_bytes() == before

    # a file with a duplicated pair id and one with unknown fields stay editable
    for name in ("dupes", "extras"):
        doc = store.document(f"{name}_suggestions.json")
        chunk = doc["chunk_list"][0]
        pair = chunk["pairs"][0]
        store.apply(f"{name}_suggestions.json", OpRequest.model_validate({
            "revision": doc["revision"],
            "op": {"op": "update", "chunk": chunk["id"], "pair": pair["id"],
                   "status": "accepted"}}))
    extras = json.loads(path_of(edited, "extras").read_text(encoding="utf-8"))
    assert extras["reviewer"] == "Ana" and extras["chunks"][0]["note"] == "check page 2"
    assert extras["chunks"][0]["suggestions"][0]["tags"] == ["good", "ünïcode"]
    assert extras["chunks"][0]["suggestions"][0]["status"] == "accepted"
    assert extras["chunks"][1]["suggestions"][0]["question"] == "What did Ana add by hand?"
    dupes = load_suggestions(path_of(edited, "dupes"))
    assert not dupes.problems  # the copy got its own id when the file was written
    assert pairs_of(dupes.data.chunks[1])[0].question == (
        "A copy-pasted id, with my own question?")


@pytest.mark.slow
def test_retry_failed_keeps_pairs_a_person_wrote_into_a_failed_chunk(tmp_path: Path) -> None:
    """A chunk the model failed on, where a person wrote a pair by hand (in the review app
    or an editor): ``--retry-failed`` adds the model's pairs, it never drops the person's."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.many_pages_pdf(pdfs, pages=2, lines_per_page=8, name="doc.pdf")
    workdir = tmp_path / "work"
    args = ["generate", str(pdfs), "-o", str(workdir), *ARGS]
    assert run_cli(args, cwd=tmp_path).returncode == 0
    mine = {"id": "person-1", "question": "Which pair did the person write?",
            "answer": "This one, after the model failed.", "status": "edited"}

    def failed_then_written(doc: dict[str, Any]) -> None:
        doc["chunks"][0].update(state="failed", raw="I cannot help with that.",
                                error="unparseable model output", suggestions=[mine])

    edit_json(path_of(workdir, "doc"), failed_then_written)
    done = run_cli([*args, "--retry-failed"], cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    chunk = load_clean(path_of(workdir, "doc")).chunks[0]
    assert chunk.state == "generated" and isinstance(chunk.suggestions, list)
    assert chunk.suggestions[0] == Suggestion.model_validate(mine)
    assert len(chunk.suggestions) > 1


def test_rewrites_keep_a_files_permissions(tmp_path: Path) -> None:
    """A person's ``chmod`` survives qaforge rewriting the file; new files get the usual
    permissions (the umask), not the temp file's private 0600."""
    import os
    import stat

    from qaforge.fileio import atomic_write_json

    umask = os.umask(0o022)
    os.umask(umask)
    fresh = tmp_path / "cleaned_finetune.jsonl"
    atomic_write_json(fresh, {"rows": 0})
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    fresh.chmod(0o640)
    atomic_write_json(fresh, {"rows": 1})
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o640


def test_a_changed_pdf_keeps_every_chunk_a_person_touched(tmp_path: Path) -> None:
    """Issue 14, item 3: a pair added by hand (no id, no status: what an editor gives), a
    draft whose answer was edited (status left ``draft``) and a note on a chunk all survive
    the PDF changing, kept beside the new chunks, flagged, and counted in the output; the
    chunks nobody touched go."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "doc.pdf", seed=1)
    workdir = tmp_path / "work"
    args = ["generate", str(pdfs), "-o", str(workdir), *ARGS]
    assert run_cli(args, cwd=tmp_path).returncode == 0
    before = json.loads(path_of(workdir, "doc").read_text(encoding="utf-8"))["chunks"]
    assert len(before) > 4

    def touch(doc: dict[str, Any]) -> None:
        chunks = doc["chunks"]
        chunks[0]["suggestions"].append({"question": "What did I add by hand?",
                                         "answer": "This pair."})
        chunks[1]["suggestions"][0]["answer"] = "My better answer."
        chunks[2]["note"] = "check page 2"

    edit_json(path_of(workdir, "doc"), touch)
    words_pdf(pdfs, "doc.pdf", seed=2)  # new text: no chunk id survives
    done = run_cli(args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "kept 3 reviewed chunk(s)" in done.stdout, done.stdout

    after = load_clean(path_of(workdir, "doc")).chunks
    stale = {c.id: c for c in after if c.model_extra and "stale" in c.model_extra}
    assert set(stale) == {c["id"] for c in before[:3]}
    assert {c.id for c in after}.isdisjoint(c["id"] for c in before[3:])
    assert all(c.state == "generated" for c in after)
    added = [p for p in pairs_of(stale[before[0]["id"]]) if p.question == "What did I add by hand?"]
    assert len(added) == 1 and added[0].answer == "This pair."
    assert pairs_of(stale[before[1]["id"]])[0].answer == "My better answer."
    assert (stale[before[2]["id"]].model_extra or {})["note"] == "check page 2"
    reasons = [str((c.model_extra or {})["stale"]) for c in stale.values()]
    assert all(r.startswith("source PDF changed") for r in reasons)
    assert any("'note'" in r for r in reasons) and any("by hand" in r for r in reasons)
