"""Chunks skipped as having nothing to learn (issue 15 item 4) on the review page: shown
with their reason, counted apart from chunks still waiting for the model, and a person can
still add pairs to one."""

from __future__ import annotations

import json
from pathlib import Path

from review_helpers import WriteDoc

from qaforge.review.ops import OpRequest
from qaforge.review.store import ReviewStore

TOC = "1 Introduction . . . . . . . . 2\n\n2 Vectors . . . . . . . . 8\n\n3 Lists . . . . . . 20"


def test_skipped_chunk_is_shown_with_its_reason_and_counted(workdir: Path,
                                                            write_doc: WriteDoc) -> None:
    path = write_doc("book", [
        {"headings": ["Contents"], "pages": [1, 1], "text": TOC, "pairs": [], "state": "pending"},
        {"headings": ["Vectors"], "pages": [2, 2], "text": "A vector holds numbers.",
         "pairs": [], "state": "pending"}])
    data = json.loads(path.read_text("utf-8"))
    data["chunks"][0]["skipped"] = "table of contents"
    path.write_text(json.dumps(data), "utf-8")

    store = ReviewStore(workdir)
    (summary,) = store.summaries()
    assert (summary["skipped_chunks"], summary["pending_chunks"]) == (1, 1)
    contents, vectors = store.document(path.name)["chunk_list"]
    assert (contents["kind"], contents["skipped"]) == ("pending", "table of contents")
    assert vectors["skipped"] is None

    # a person may still write a pair for it; then it is a chunk with pairs
    revision = store.document(path.name)["revision"]
    store.apply(path.name, OpRequest.model_validate({"revision": revision, "op": {
        "op": "add", "chunk": contents["id"], "question": "Which page starts Lists?",
        "answer": "Page 20."}}))
    (summary,) = store.summaries()
    assert (summary["skipped_chunks"], summary["pairs"]) == (0, 1)
