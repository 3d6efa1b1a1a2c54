"""Page edits on a hand-written file: every byte outside the edited pair stays as written
(odd numbers, unknown keys, spacing, key order), and a file with entries the page cannot
hold exactly is read-only, with the reason in the API and never rewritten."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from review_helpers import review_api

from qaforge.review.ops import OpRequest
from qaforge.review.store import ReviewError, ReviewStore

DOC = "odd_suggestions.json"
Q1 = ('{"id": "q-1", "question": "How much water?", "answer": "40 litres.", '
      '"status": "draft", "score": 1e999, "big": 123456789012345678901234567890}')
Q2 = ('{"id": "q-2", "question": "Edit me?", "answer": "Yes.",\n'
      '\t\t "status": "draft", "score": -Infinity, "note": "caf\\u00e9 \\ud83d\\ude00"}')
Q3 = '{"id": "q-3", "question": "Third?", "answer": "Three.", "status": "draft", "w": NaN}'
ODD = f"""{{
    "schema": "qaforge.suggestions/1",
    "reviewer":   "Ana",
    "source": {{"file": "odd.pdf", "sha256": "00", "pages": 2, "checked": 1.50}},
    "generator": {{"backend": "fake", "model": "m", "prompt": "qa/v1",
                  "params": {{"temperature": 1e-1, "seed": 0.0}}}},
    "chunks": [
        {{
            "id": "c-1", "pages": [1, 1.0], "text": "The pump moves 40 litres per minute.",
            "state": "generated", "weight": NaN,
            "suggestions": [
                {Q1},
                {Q2},
                {Q3}
            ]
        }},
        {{"id": "c-2", "pages": [2, 2], "text": "Second chunk.", "state": "generated",
          "suggestions": [], "ratio": 1.0E+2}}
    ],
    "trailing": [1.10, 2.000, -0]
}}
"""


def same_json(a: Any, b: Any) -> bool:
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.fixture
def odd(workdir: Path) -> Path:
    path = workdir / "output_json" / DOC
    path.write_bytes(ODD.encode())
    return path


@pytest.fixture
def http(workdir: Path, odd: Path) -> Iterator[httpx.Client]:
    with review_api(workdir) as client:
        yield client


def send(http: httpx.Client, op: dict[str, Any]) -> httpx.Response:
    revision = http.get(f"/api/docs/{DOC}").json()["revision"]
    return http.post(f"/api/docs/{DOC}/ops", json={"revision": revision, "op": op})


def outside_unchanged(before: str, after: str, start: int, end: int) -> None:
    """Every byte before ``start`` and after ``end`` of ``before`` is still there."""
    assert after[:start] == before[:start]
    assert after.endswith(before[end:])


def test_status_and_text_edits_change_only_the_edited_pair(http: httpx.Client,
                                                            odd: Path) -> None:
    start = ODD.index(Q2)
    reply = send(http, {"op": "update", "chunk": "c-1", "pair": "q-2", "status": "accepted"})
    assert reply.status_code == 200, reply.text
    after = odd.read_text()
    outside_unchanged(ODD, after, start, start + len(Q2))
    assert '"status": "accepted", "score": -Infinity' in after
    reply = send(http, {"op": "update", "chunk": "c-1", "pair": "q-2",
                        "question": "Edited \u202e by hand?"})
    assert reply.status_code == 200, reply.text
    after = odd.read_text()
    outside_unchanged(ODD, after, start, start + len(Q2))
    pair = json.loads(after)["chunks"][0]["suggestions"][1]
    assert pair["question"] == "Edited \u202e by hand?" and pair["status"] == "edited"
    assert pair["score"] == float("-inf") and pair["note"] == "café \U0001f600"


def test_add_and_delete_touch_only_their_list(http: httpx.Client, odd: Path) -> None:
    empty = ODD.index('"suggestions": [], "ratio"') + len('"suggestions": ')
    reply = send(http, {"op": "add", "chunk": "c-2", "question": "New?", "answer": "Yes."})
    assert reply.status_code == 200, reply.text
    after = odd.read_text()
    outside_unchanged(ODD, after, empty, empty + 2)
    assert json.loads(after)["chunks"][1]["suggestions"][0]["question"] == "New?"

    odd.write_text(ODD)
    start = ODD.index(Q2) + len(Q2)  # the separator before q-3 goes with it
    reply = send(http, {"op": "delete", "chunk": "c-1", "pair": "q-3"})
    assert reply.status_code == 200, reply.text
    after = odd.read_text()
    outside_unchanged(ODD, after, start, ODD.index(Q3) + len(Q3))
    assert [p["id"] for p in json.loads(after)["chunks"][0]["suggestions"]] == ["q-1", "q-2"]


def test_undo_through_the_page_puts_odd_values_back(http: httpx.Client, odd: Path) -> None:
    """The page's JSON cannot hold NaN, Infinity or a 30-digit integer; they travel wrapped
    and come back as they were when a delete is undone."""
    shown = http.get(f"/api/docs/{DOC}")
    assert shown.status_code == 200, shown.text
    before = [{k: v for k, v in pair.items() if k != "support"}
              for pair in shown.json()["chunk_list"][0]["pairs"]]
    assert before[0]["score"] == {"$json": "Infinity"}
    assert send(http, {"op": "delete", "chunk": "c-1", "pair": "q-1"}).status_code == 200
    reply = send(http, {"op": "restore", "chunk": "c-1", "suggestions": before})
    assert reply.status_code == 200, reply.text
    after = odd.read_text()
    assert same_json(json.loads(after), json.loads(ODD))
    assert Q2 in after and Q3 in after  # the pairs that stayed keep their bytes
    assert after.startswith(ODD[:ODD.index(Q1)])
    assert after.endswith(ODD[ODD.index(Q3) + len(Q3):])


@pytest.mark.parametrize(("change", "field"), [
    (lambda doc: doc["chunks"].insert(1, "a chunk a person typed as a string"), "chunks[1]"),
    (lambda doc: doc.update(source={"file": "odd.pdf"}), "source"),
    (lambda doc: doc["chunks"][1].update(suggestions=7), "chunks[1].suggestions"),
    (lambda doc: doc["chunks"][0]["suggestions"].append({"id": "q-9", "question": 42}),
     "chunks[0].suggestions[3]"),
    (lambda doc: doc["chunks"].append(dict(doc["chunks"][1])), "chunks[2].id"),
])
def test_entries_the_page_cannot_hold_make_the_file_read_only(
        workdir: Path, odd: Path, change: Any, field: str) -> None:
    doc = json.loads(ODD)
    change(doc)
    odd.write_text(json.dumps(doc, indent=1))
    before = odd.read_bytes()
    store = ReviewStore(workdir)
    summary = next(d for d in store.summaries() if d["id"] == DOC)
    assert summary["read_only"] and summary["read_only_reason"].startswith(field), summary
    assert store.document(DOC)["read_only_reason"] == summary["read_only_reason"]
    with pytest.raises(ReviewError) as refused:
        store.apply(DOC, OpRequest.model_validate({"revision": summary["revision"], "op": {
            "op": "update", "chunk": "c-1", "pair": "q-1", "status": "accepted"}}))
    assert (refused.value.status_code, refused.value.kind) == (409, "read_only")
    assert odd.read_bytes() == before
