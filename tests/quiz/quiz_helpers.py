"""Work dirs for the quiz tests: real suggestions files with training pairs, and a
scripted quiz writer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qaforge.fileio import atomic_write_json
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import echo_pairs
from qaforge.records import Chunk
from sample_texts import EIFFEL, NILE

TRAINING = {
    "eiffel": [("Who designed the Eiffel Tower?", "The company of Gustave Eiffel."),
               ("How tall is the Eiffel Tower?", "The tower is 330 metres tall.")],
    "nile": [("Into which sea does the Nile flow?", "It flows into the Mediterranean Sea.")],
}
#: a question that is only in the dataset (a corrected rewrite), not in the suggestions
DATASET_ONLY = "Where do the White Nile and the Blue Nile meet?"


def chunk_id(text: str) -> str:
    return Chunk.make_id(text, ["1 Facts"])


def write_workdir(root: Path) -> Path:
    """``root/output_json`` with two documents and ``root/cleaned_finetune.jsonl``."""
    for name, text in (("eiffel", EIFFEL), ("nile", NILE)):
        pairs = [{"id": f"{name}-{i}", "question": q, "answer": a, "status": "draft"}
                 for i, (q, a) in enumerate(TRAINING[name])]
        atomic_write_json(root / "output_json" / f"{name}_suggestions.json", {
            "schema": "qaforge.suggestions/1",
            "source": {"file": f"{name}.pdf", "sha256": "0" * 64, "pages": 1,
                       "path": f"{name}.pdf"},
            "generator": {"backend": "fake", "model": "gen", "prompt": "qa/v1", "params": {}},
            "chunks": [{"id": chunk_id(text), "pages": [1, 1], "headings": ["1 Facts"],
                        "text": text, "suggestions": pairs, "state": "generated"}]})
    row = {"messages": [{"role": "user", "content": DATASET_ONLY},
                        {"role": "assistant", "content": "At Khartoum in Sudan."}]}
    (root / "cleaned_finetune.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    return root


def item(form: str, question: str, answer: str, evidence: str) -> dict[str, str]:
    return {"form": form, "question": question, "answer": answer, "evidence": evidence}


def quiz_script(by_document: dict[str, list[dict[str, str]]]
                ) -> Callable[[ChatRequest], str]:
    """A fake model whose quiz replies are scripted per document (by a word of its text);
    grade and answer requests get the fake backend's own replies."""

    def reply(request: ChatRequest) -> str:
        props: dict[str, Any] = (request.schema or {}).get("properties", {})
        if "items" not in props:
            return echo_pairs(request)
        prompt = request.messages[-1]["content"]
        for word, items in by_document.items():
            if word in prompt:
                return json.dumps({"items": items})
        return json.dumps({"items": []})

    return reply
