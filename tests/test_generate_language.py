"""Pairs in the document's language (issue 18 part 1): the prompt names the chunk's
language (``--language`` overrides), the suggestions file records the document's, the
dataset card says it, and chunks fit the model's context without a tokenizer."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qaforge.chunking import chunk_document, default_chunk_budget
from qaforge.extract import extract_pdf
from qaforge.generate import ChunkJob, GenerateQA, answer_token_budget
from qaforge.languages import detect_language
from qaforge.llm.fake import FakeBackend
from qaforge.prompts import load_prompt
from qaforge.records import Chunk

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
GERMAN = ("Ein topologischer Raum heißt kompakt, wenn jede offene Überdeckung eine endliche "
          "Teilüberdeckung besitzt. Abgeschlossene Teilmengen kompakter Räume sind kompakt.")
KOREAN = ("코로나-19는 감염병예방법상 제1급 감염병에 해당하므로 생명보험 표준약관의 재해분류표에 "
          "따라 재해보험금 지급 대상이 될 수 있다.")
ENGLISH = ("A topological space is compact when every open cover has a finite subcover. "
           "Closed subsets of compact spaces are compact.")


def prompt_of(gen: GenerateQA, text: str, document_language: str | None = None) -> str:
    chunk = Chunk(id="c1", pages=[1, 1], text=text)
    request = gen.request(ChunkJob("doc.pdf", chunk, document_language))
    return "\n".join(m["content"] for m in request.messages)


@pytest.mark.parametrize("prompt", ["qa/v1", "qa/v2"])
def test_the_prompt_names_the_chunks_language(prompt: str) -> None:
    gen = GenerateQA(FakeBackend(), prompt=load_prompt(prompt))
    assert "Write the questions and answers in German." in prompt_of(gen, GERMAN)
    assert "in Korean." in prompt_of(gen, KOREAN)
    assert "in English." in prompt_of(gen, ENGLISH)
    # a chunk too short to tell takes its document's language, else says which to use
    assert "in Korean." in prompt_of(gen, "표 1", "ko")
    assert "in the language of the passage." in prompt_of(gen, "Tab. 1")


def test_language_setting_overrides_the_chunks_own() -> None:
    gen = GenerateQA(FakeBackend(), prompt=load_prompt("qa/v1"), language="de")
    assert "in German." in prompt_of(gen, KOREAN, "ko")


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAFORGE_FAKE_")}
    return subprocess.run([*CLI, *args], cwd=cwd, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, check=False,
                          env={**env, "COLUMNS": "250", "NO_COLOR": "1"})


def card_languages(card: str) -> list[str]:
    head = card.split("---")[1]
    lines = head.split("\nlanguage:\n")[1].splitlines() if "\nlanguage:\n" in head else []
    items = []
    for line in lines:
        if not line.startswith("- "):
            break
        items.append(json.loads(line[2:]))
    return items


@pytest.mark.slow  # two real runs (generate + refine) and exports through the CLI
def test_run_records_the_documents_language_and_the_card_says_it(shared_pdfs: Path,
                                                                 tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copyfile(shared_pdfs / "korean-insurance-report-4p.pdf", docs / "report.pdf")
    work = tmp_path / "work"
    done = run_cli("run", str(docs), "-o", str(work), "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    data = json.loads((work / "output_json" / "report_suggestions.json").read_text("utf-8"))
    assert data["source"]["language"] == "ko"
    pairs = [s for c in data["chunks"] for s in c["suggestions"]]
    assert pairs and all(detect_language(p["question"] + " " + p["answer"]) == "ko"
                         for p in pairs)
    done = run_cli("export", str(work), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert card_languages((work / "export" / "README.md").read_text("utf-8")) == ["ko"]

    # --language: the generator record says which, and the card follows it
    other = tmp_path / "work-de"
    done = run_cli("run", str(docs), "-o", str(other), "--backend", "fake", "--language",
                   "German", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    data = json.loads((other / "output_json" / "report_suggestions.json").read_text("utf-8"))
    assert data["source"]["language"] == "ko" and data["generator"]["params"]["language"] == "de"
    assert run_cli("export", str(other), cwd=tmp_path).returncode == 0
    assert card_languages((other / "export" / "README.md").read_text("utf-8")) == ["de"]


def test_an_unknown_language_is_one_error_line(tmp_path: Path) -> None:
    done = run_cli("generate", str(tmp_path), "-o", str(tmp_path / "w"), "--backend", "fake",
                   "--language", "Klingon", cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stdout.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "unknown language 'Klingon'" in errors[0], done.stdout


@functools.cache
def gguf_tokenizer(model: Path) -> Any:
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    return transformers.AutoTokenizer.from_pretrained(str(model.parent), gguf_file=model.name)


@pytest.mark.model
@pytest.mark.slow  # loads the bundled model's tokenizer
@pytest.mark.parametrize("name", ["korean-insurance-report-4p.pdf", "GeoTopo-komprimiert.pdf",
                                  "R-intro.pdf"])
def test_chunks_sized_without_a_tokenizer_fit_the_models_context(
        shared_pdfs: Path, bundled_model: Path, name: str) -> None:
    """A server without /tokenize: chunks are sized by the per-script estimate; counted with
    the model's own tokenizer (SmolLM2's, from its GGUF) none is over the budget (chars/4
    said 7.9x too few for Korean, so chunks overflowed the context)."""
    tokenizer = gguf_tokenizer(bundled_model)
    no_tokenizer = FakeBackend()  # LLMClient's fallback: no /tokenize, no local tokenizer
    gen = GenerateQA(no_tokenizer, prompt=load_prompt("qa/v2"))
    budget = default_chunk_budget(2048, gen.prompt_overhead_tokens, answer_token_budget(3))
    doc = extract_pdf(shared_pdfs / name)
    chunks = chunk_document(doc, max_tokens=budget,
                            count_tokens=no_tokenizer.count_tokens)[:60]
    real = [len(tokenizer(c.text, add_special_tokens=False)["input_ids"]) for c in chunks]
    assert max(real) <= budget, (budget, max(real))
