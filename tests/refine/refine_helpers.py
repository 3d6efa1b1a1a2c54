"""Builders for refine tests: suggestions files on disk and a scripted judge/corrector."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qaforge.config import RefineSettings
from qaforge.fileio import atomic_write_json
from qaforge.llm.base import ChatRequest
from qaforge.records import Chunk
from sample_texts import EIFFEL, NILE  # noqa: F401 (the tests import them from here)


def pair(pid: str, question: str, answer: str, status: str = "draft") -> dict[str, Any]:
    return {"id": pid, "question": question, "answer": answer, "status": status}


def chunk(text: str, suggestions: list[dict[str, Any]] | str, *, state: str = "generated",
          headings: list[str] | None = None, pages: list[int] | None = None) -> dict[str, Any]:
    heads = headings if headings is not None else ["1 Facts"]
    return {"id": Chunk.make_id(text, heads), "pages": pages or [1, 1], "headings": heads,
            "text": text, "suggestions": suggestions, "raw": None, "error": None,
            "state": state}


def suggestions_doc(pdf: str, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schema": "qaforge.suggestions/1",
            "source": {"file": pdf, "sha256": "0" * 64, "pages": 3},
            "generator": {"backend": "fake", "model": "gen-model", "prompt": "qa/v1",
                          "params": {}},
            "chunks": chunks}


def write_doc(workdir: Path, pdf: str, chunks: list[dict[str, Any]]) -> Path:
    path = workdir / "output_json" / f"{pdf.removesuffix('.pdf')}_suggestions.json"
    atomic_write_json(path, suggestions_doc(pdf, chunks))
    return path


def prompt_pair(request: ChatRequest) -> tuple[str, str]:
    """The question and answer a judge or correction request is about (its ``pair``, so
    no test depends on a prompt's wording)."""
    return request.pair or ("", "")


def is_judge(request: ChatRequest) -> bool:
    return "label" in (request.schema or {}).get("properties", {})


def verdict_json(label: str, score: int | None = None, reason: str = "scripted") -> str:
    default = {"Clear": 5, "Unclear": 2, "Needs Improvement": 2}[label]
    s = score if score is not None else default
    return json.dumps({"clarity": s, "coherence": s, "relevance": s, "groundedness": s,
                       "label": label, "reason": reason})


def scripted(labels: dict[str, str] | None = None,
             corrections: dict[str, tuple[str, str]] | None = None,
             raw: dict[str, str] | None = None) -> Callable[[ChatRequest], str]:
    """A fake model: judge verdicts by question (default Clear), corrections by question.

    ``raw`` maps a question to a verbatim reply (to script unparseable output).
    """
    labels, corrections, raw = labels or {}, corrections or {}, raw or {}

    def reply(request: ChatRequest) -> str:
        question, answer = prompt_pair(request)
        if question in raw:
            return raw[question]
        if is_judge(request):
            return verdict_json(labels.get(question, "Clear"))
        new_q, new_a = corrections.get(question, (question, answer))
        return json.dumps({"question": new_q, "answer": new_a})

    return reply


def gguf_chat_tokenizer(gguf_path: Path) -> Any:
    """The model's own tokenizer and chat template, read from its GGUF file, offline.

    ``transformers`` can only read a GGUF tokenizer with torch installed; without it we
    build the same byte-level BPE with ``tokenizers`` from the GGUF's vocabulary, merges,
    special tokens and chat template, and wrap it in ``PreTrainedTokenizerFast``.
    """
    import gguf
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    reader = gguf.GGUFReader(str(gguf_path))

    def field(name: str) -> Any:
        return reader.fields[name].contents()

    if field("tokenizer.ggml.model") != "gpt2":
        raise ValueError(f"{gguf_path}: only byte-level BPE (gpt2) tokenizers are supported")
    tokens = field("tokenizer.ggml.tokens")
    merges = [tuple(m.split(" ", 1)) for m in field("tokenizer.ggml.merges")]
    tokenizer = Tokenizer(models.BPE(vocab={t: i for i, t in enumerate(tokens)}, merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    control = [t for t, kind in zip(tokens, field("tokenizer.ggml.token_type"), strict=True)
               if kind == 3]
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in control])
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, chat_template=field("tokenizer.chat_template"),
        bos_token=tokens[field("tokenizer.ggml.bos_token_id")],
        eos_token=tokens[field("tokenizer.ggml.eos_token_id")])


def rubric(**settings: Any) -> RefineSettings:
    """Refine settings for tests that script the rubric judge's verdicts (:func:`scripted`)."""
    return RefineSettings(judge_method="rubric", **settings)
