"""Benchmark: Q&A generation on the same chunks of a real PDF, four ways, in one run.

(a) seed     the seed's way: a transformers text-generation pipeline called once per chunk,
             serially, free-text prompt in the seed's ``**Question 1:**`` style, greedy,
             ``max_new_tokens`` 500 (as in Phi-3-mini's model card, which the seed follows);
             the bundled GGUF loaded by transformers (``gguf_file=``).
(b) serial   qaforge's runner (``run_generate``) with the embedded engine given one slot:
             one request at a time, constrained JSON, prompt cache on.
(c) qaforge  qaforge's default path: ``run_generate`` with the embedded engine as
             ``--backend llamacpp`` starts it (4 parallel slots, constrained JSON, prompt cache).
(peak)       the engine's own peak: the very requests of (c) sent straight to an
             ``xllamacpp`` server's ``/v1/chat/completions`` (same settings) with N concurrent
             plain-httpx requests; no qaforge code in between.

The chunk set is split into ``--rounds`` slices (default 2) and every mode runs on each
slice in turn, so load from other processes hits all modes alike; totals are reported.
Chunks are qaforge's own (extraction plus chunking with the model's tokenizer) of one PDF
of the shared corpus (default: R-intro.pdf, chunks 12..51, past its table of contents).
Prints one line per figure and the ratios the project targets: (c) >= 5x (a) in chunks/min,
(c) >= 90% of the peak's generated tokens/s. Exits 0.

    python bench/bench_generate.py [--chunks 40] [--seed-chunks 8] [--threads 0]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib

SEED_SYSTEM = "You are a helpful assistant that organizes text into question and answer pairs."
SEED_USER = ("Create {n} question and answer pairs from the following text. Use this format:\n"
             "**Question 1:** ...\n**Answer 1:** ...\n\nText:\n{text}")
SEED_MAX_NEW_TOKENS = 500  # the Phi-3-mini model card's pipeline example, which the seed follows


@dataclass
class ModeResult:
    """What one way of generating did on the chunk set."""

    name: str
    chunks: int
    seconds: float
    completion_tokens: int
    prompt_tokens: int  # prompt tokens of all requests (as the server counts them)
    prompt_processed: int  # of those, the ones evaluated (the rest came from a prompt cache)
    failed_first: int  # replies that did not parse on the first try
    failed_final: int  # chunks left without pairs after qaforge's retry
    load_seconds: float = 0.0
    others: float = 0.0  # CPU share other processes took meanwhile
    cpu_seconds: float = 0.0  # CPU time of this process (engine or torch included) meanwhile
    note: str = ""
    prompt_ms: float = 0.0  # the engine's own timers, summed over requests
    predicted_ms: float = 0.0

    def merge(self, other: ModeResult) -> ModeResult:
        """Totals over two rounds of the same mode."""
        seconds = self.seconds + other.seconds
        others = (self.others * self.seconds + other.others * other.seconds) / max(seconds, 1e-9)
        return ModeResult(self.name, self.chunks + other.chunks, seconds,
                          self.completion_tokens + other.completion_tokens,
                          self.prompt_tokens + other.prompt_tokens,
                          self.prompt_processed + other.prompt_processed,
                          self.failed_first + other.failed_first,
                          self.failed_final + other.failed_final,
                          self.load_seconds + other.load_seconds, others,
                          self.cpu_seconds + other.cpu_seconds, self.note,
                          self.prompt_ms + other.prompt_ms, self.predicted_ms + other.predicted_ms)

    @property
    def chunks_per_min(self) -> float:
        return self.chunks / self.seconds * 60 if self.seconds else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        per_chunk = self.prompt_processed / max(self.chunks, 1)
        total_per_chunk = self.prompt_tokens / max(self.chunks, 1)
        return (f"{self.name:8} {self.chunks:3d} chunks in {self.seconds:6.1f} s: "
                f"{self.chunks_per_min:6.2f} chunks/min, {self.tokens_per_s:6.1f} generated tok/s, "
                f"{per_chunk:5.0f} prompt tok evaluated/chunk (of {total_per_chunk:.0f}), "
                f"parse failures {self.failed_first}/{self.chunks} first try, "
                f"{self.failed_final}/{self.chunks} final; {self.cpu_per_chunk:.1f} CPU s/chunk; "
                f"load {self.load_seconds:.1f} s; others {self.others:.0%}{self.note}"
                + (f"; engine slot time {self.prompt_share:.0%} prompt / "
                   f"{1 - self.prompt_share:.0%} generation" if self.predicted_ms else ""))

    @property
    def prompt_share(self) -> float:
        return self.prompt_ms / max(self.prompt_ms + self.predicted_ms, 1e-9)

    @property
    def cpu_per_chunk(self) -> float:
        return self.cpu_seconds / max(self.chunks, 1)


# ------------------------------------------------------------------ the chunk set

def prepare_chunks(pdf: Path, model: Path, threads: int, first: int, count: int) -> list[Any]:
    """qaforge's chunks of ``pdf`` for this model (as ``run_generate`` makes them)."""
    from qaforge.chunking import chunk_document, default_chunk_budget
    from qaforge.config import GenerateSettings
    from qaforge.extract import extract_pdf
    from qaforge.generate import GenerateQA
    from qaforge.llm.engine import EmbeddedEngine

    settings = GenerateSettings()
    document = extract_pdf(pdf)
    with EmbeddedEngine(model, concurrency=1, threads=threads) as engine:
        gen = GenerateQA(engine, pairs_per_chunk=settings.pairs_per_chunk)
        budget = default_chunk_budget(engine.context_length or 2048,
                                      gen.prompt_overhead_tokens, gen.max_tokens)
        chunks = chunk_document(document, max_tokens=budget, count_tokens=engine.count_tokens,
                                min_tokens=settings.min_chunk_tokens)
    return list(chunks[first:first + count])


def seed_workdir(workdir: Path, pdf: Path, chunks: list[Any]) -> None:
    """A work dir whose suggestions file holds exactly ``chunks``, all pending, for ``pdf``
    (so ``run_generate`` skips extraction and generates just these)."""
    from qaforge.fileio import sha256_file
    from qaforge.records import GeneratorInfo, Source, SuggestionsFile, suggestions_filename
    from qaforge.suggestions import write_suggestions
    from qaforge.workspace import output_path

    pages = max(c.pages[-1] for c in chunks)
    data = SuggestionsFile(
        source=Source(file=pdf.name, sha256=sha256_file(pdf), pages=pages),
        generator=GeneratorInfo(backend="bench", model="-", prompt="qa/v1"),
        chunks=[c.model_copy(deep=True) for c in chunks])
    write_suggestions(output_path(workdir, suggestions_filename(pdf.name)), data,
                      expected_revision=None)


# ------------------------------------------------------------------ (b) and (c)

def run_qaforge(name: str, model: Path, pdf: Path, chunks: list[Any], *, threads: int,
                concurrency: int, prompt_file: str = "") -> ModeResult:
    """``run_generate`` over the chunk set with the embedded engine."""
    from qaforge.config import GenerateSettings, LLMSettings
    from qaforge.generate import read_reply
    from qaforge.llm.base import Completion
    from qaforge.llm.engine import from_settings
    from qaforge.runners.local import run_generate

    with tempfile.TemporaryDirectory(prefix="qaforge-bench-") as tmp:
        workdir = Path(tmp)
        seed_workdir(workdir, pdf, chunks)
        started = time.perf_counter()
        engine = from_settings(LLMSettings(model=str(model), threads=threads,
                                           concurrency=concurrency))
        load = time.perf_counter() - started
        tap = benchlib.CompletionTap(engine)
        try:
            with benchlib.LoadMonitor() as monitor:
                summary = run_generate([pdf], workdir, client=engine,
                                       settings=GenerateSettings(prompt_file=prompt_file))
        finally:
            engine.close()
    first_failed = sum(1 for r in tap.first_round
                       if not isinstance(r, Completion) or read_reply(r.text).error)
    return ModeResult(name, len(chunks), monitor.wall, summary.completion_tokens,
                      sum(tap.prompt_tokens), sum(tap.prompt_processed), first_failed,
                      summary.chunks_failed, load, monitor.others, monitor.cpu_seconds,
                      prompt_ms=tap.prompt_ms, predicted_ms=tap.predicted_ms)


def runner_overhead(pdf: Path, chunks: list[Any], repeat: int = 5) -> float:
    """CPU seconds per chunk that qaforge's own code (runner, prompt rendering, parsing,
    journal, file writes) costs around the model: ``run_generate`` with the fake backend,
    which answers at once, over the same chunks (best of ``repeat``)."""
    from qaforge.config import GenerateSettings
    from qaforge.llm.fake import FakeBackend
    from qaforge.runners.local import run_generate

    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="qaforge-bench-") as tmp:
            seed_workdir(Path(tmp), pdf, chunks)
            started = time.process_time()
            run_generate([pdf], Path(tmp), client=FakeBackend(), settings=GenerateSettings())
            best = min(best, time.process_time() - started)
    return best / max(len(chunks), 1)


# ------------------------------------------------------------------ (peak)

def run_peak(model: Path, pdf: Path, chunks: list[Any], *, threads: int,
             concurrency: int, prompt_file: str = "") -> ModeResult:
    """The requests of (c), straight to a raw xllamacpp server, ``concurrency`` in flight."""
    from qaforge.config import LLMSettings
    from qaforge.generate import ChunkJob, GenerateQA, read_reply
    from qaforge.llm.fake import FakeBackend
    from qaforge.prompts import load_prompt

    settings = LLMSettings()
    # only to render the very requests qaforge sends
    gen = GenerateQA(FakeBackend(), prompt=load_prompt("qa/v1", prompt_file or None))
    bodies = []
    for chunk in chunks:
        request = gen.request(ChunkJob(pdf.name, chunk))
        bodies.append(benchlib.chat_body(request.messages, request.schema, request.schema_name,
                                         request.max_tokens, request.seed))
    started = time.perf_counter()
    server = benchlib.start_raw_server(model, parallel=concurrency, context=settings.context,
                                       threads=threads)
    load = time.perf_counter() - started
    try:
        with benchlib.LoadMonitor() as monitor:
            run = benchlib.post_all(benchlib.server_url(server), bodies, concurrency)
    finally:
        del server
        gc.collect()
    failed = sum(1 for r in run.results if read_reply(r.text).error)
    return ModeResult(f"peak/{concurrency}", len(chunks), run.seconds, run.completion_tokens,
                      sum(r.prompt_tokens for r in run.results),
                      sum(r.prompt_processed for r in run.results), failed, failed, load,
                      monitor.others, monitor.cpu_seconds, note=" (no retry)",
                      prompt_ms=sum(r.prompt_ms for r in run.results),
                      predicted_ms=sum(r.predicted_ms for r in run.results))


# ------------------------------------------------------------------ (a)

_SEED_PIPELINES: dict[tuple[Path, int], tuple[Any, Any, float]] = {}


def seed_pipeline(model: Path, threads: int) -> tuple[Any, Any, float]:
    """(pipeline, tokenizer, load seconds) for ``model``; loaded once per run."""
    key = (model, threads)
    if key not in _SEED_PIPELINES:
        import torch
        import transformers

        transformers.utils.logging.set_verbosity_error()
        torch.set_num_threads(threads)
        started = time.perf_counter()
        from qaforge.llm.hf import split_model_spec

        source, gguf = split_model_spec(str(model))  # a GGUF file, or a model folder / id
        extra = {"gguf_file": gguf} if gguf else {}
        with contextlib.redirect_stderr(io.StringIO()):  # the GGUF loader's progress bars
            tokenizer = transformers.AutoTokenizer.from_pretrained(source, **extra)
            lm = transformers.AutoModelForCausalLM.from_pretrained(source, **extra)
        pipe = transformers.pipeline("text-generation", model=lm, tokenizer=tokenizer)
        _SEED_PIPELINES[key] = (pipe, tokenizer, time.perf_counter() - started)
        return _SEED_PIPELINES[key]
    pipe, tokenizer, _ = _SEED_PIPELINES[key]
    return pipe, tokenizer, 0.0


def release_seed_pipelines() -> None:
    """Drop the loaded seed models (before another model starts in this run)."""
    _SEED_PIPELINES.clear()
    gc.collect()


def seed_messages(text: str, pairs: int) -> list[dict[str, str]]:
    """The seed's chat for one chunk: its system line and free-text request."""
    return [{"role": "system", "content": SEED_SYSTEM},
            {"role": "user", "content": SEED_USER.format(n=pairs, text=text)}]


def seed_reply(pipe: Any, tokenizer: Any, messages: list[dict[str, str]],
               max_new_tokens: int) -> str:
    """The seed's call for one chunk: greedy, free text."""
    out = pipe(messages, max_new_tokens=max_new_tokens, do_sample=False,
               pad_token_id=tokenizer.eos_token_id)
    return str(out[0]["generated_text"][-1]["content"])


def run_seed(model: Path, chunks: list[Any], *, threads: int, pairs: int,
             max_new_tokens: int) -> ModeResult:
    """The seed's loop: a transformers pipeline, one chunk at a time, free text."""
    from qaforge.qa_parsing import parse_pairs

    pipe, tokenizer, load = seed_pipeline(model, threads)
    completion = prompt = failed = 0
    with benchlib.LoadMonitor() as monitor:
        for chunk in chunks:
            messages = seed_messages(chunk.text, pairs)
            reply = seed_reply(pipe, tokenizer, messages, max_new_tokens)
            rendered = tokenizer.apply_chat_template(messages, tokenize=False,
                                                     add_generation_prompt=True)
            prompt += len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
            completion += len(tokenizer(reply, add_special_tokens=False)["input_ids"])
            failed += 0 if parse_pairs(reply).pairs else 1
    return ModeResult("seed", len(chunks), monitor.wall, completion, prompt, prompt, failed,
                      failed, load, monitor.others, monitor.cpu_seconds,
                      note=" (free text, no retry)")


# ------------------------------------------------------------------ main

def seed_available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("torch", "transformers"))


def slice_of(items: list[Any], index: int, parts: int) -> list[Any]:
    """The ``index``-th of ``parts`` contiguous, near-equal slices of ``items``."""
    size, extra = divmod(len(items), parts)
    start = index * size + min(index, extra)
    return items[start:start + size + (1 if index < extra else 0)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=benchlib.DEFAULT_CORPUS / "R-intro.pdf")
    parser.add_argument("--model", default="", help="GGUF file (default: the bundled model)")
    parser.add_argument("--first", type=int, default=12, help="index of the first chunk used")
    parser.add_argument("--chunks", type=int, default=40, help="chunks for (b), (c), peak")
    parser.add_argument("--seed-chunks", type=int, default=8,
                        help="chunks for (a), spread evenly over the set (it is slow)")
    parser.add_argument("--threads", type=int, default=0, help="0: auto (1 on a busy machine)")
    parser.add_argument("--concurrency", type=int, default=4, help="slots for (c) and peak")
    parser.add_argument("--modes", default="c,peak,b,a", help="which to run, in this order")
    parser.add_argument("--seed-max-new-tokens", type=int, default=SEED_MAX_NEW_TOKENS)
    parser.add_argument("--prompt-file", default="",
                        help="a Q&A prompt template for (b), (c) and peak instead of qa/v1")
    parser.add_argument("--rounds", type=int, default=2,
                        help="split the chunks into this many slices and run every mode on "
                             "each slice in turn, so load from other processes hits all alike")
    args = parser.parse_args()

    model = benchlib.find_model(args.model)
    if model is None or not args.pdf.is_file():
        print(f"nothing to measure: model {model} / pdf {args.pdf} not found")
        return 0
    threads, machine = benchlib.pick_threads(args.threads)
    print(machine)
    chunks = prepare_chunks(args.pdf, model, threads, args.first, args.chunks)
    tokens = sum(len(c.text) for c in chunks) // max(len(chunks), 1)
    print(f"chunk set: {len(chunks)} chunks of {args.pdf.name} (from #{args.first}), "
          f"{tokens} characters each on average; model {model.name}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in ("a", "b", "c", "peak")]
    if unknown:
        print(f"unknown modes {unknown}; known: a, b, c, peak")
        modes = [m for m in modes if m not in unknown]
    if "a" in modes and not seed_available():
        print("seed     skipped: the transformers extra (torch, transformers) is not installed")
        modes.remove("a")
    rounds = max(1, min(args.rounds, len(chunks)))
    # the seed's sample is spread evenly over the set, so its chunks are like the others
    picks = min(args.seed_chunks, len(chunks))
    seed_sample = [chunks[i * len(chunks) // picks] for i in range(picks)] if picks else []
    results: dict[str, ModeResult] = {}
    for round_index in range(rounds):
        part = slice_of(chunks, round_index, rounds)
        seed_part = [c for c in seed_sample if c in part]
        for mode in modes:
            if mode == "c":
                result = run_qaforge("qaforge", model, args.pdf, part, threads=threads,
                                     concurrency=args.concurrency, prompt_file=args.prompt_file)
            elif mode == "b":
                result = run_qaforge("serial", model, args.pdf, part, threads=threads,
                                     concurrency=1, prompt_file=args.prompt_file)
            elif mode == "peak":
                result = run_peak(model, args.pdf, part, threads=threads,
                                  concurrency=args.concurrency, prompt_file=args.prompt_file)
            elif not seed_part:
                continue
            else:
                result = run_seed(model, seed_part, threads=threads, pairs=3,
                                  max_new_tokens=args.seed_max_new_tokens)
            print(f"round {round_index + 1}/{rounds}: {result.line()}", file=sys.stderr,
                  flush=True)
            results[mode] = results[mode].merge(result) if mode in results else result
    for mode in modes:
        if mode in results:
            print(results[mode].line(), flush=True)
    if "c" in results:
        overhead = runner_overhead(args.pdf, chunks)
        print(f"qaforge's own code around the model: {overhead * 1000:.1f} ms CPU per chunk "
              f"(run_generate with the instant fake backend) = "
              f"{overhead / max(results['c'].cpu_per_chunk, 1e-9):.2%} of (c)'s CPU per chunk")

    if "c" in results and "a" in results:
        ratio = results["c"].chunks_per_min / max(results["a"].chunks_per_min, 1e-9)
        print(benchlib.ratio_line("(c)/(a) chunks/min", ratio, 5.0))
        cpu = results["a"].cpu_per_chunk / max(results["c"].cpu_per_chunk, 1e-9)
        print(f"(c)/(a) chunks per CPU-second = {cpu:.2f}x (the same comparison, insensitive to "
              "other processes' load)")
    if "c" in results and "b" in results:
        ratio = results["c"].chunks_per_min / max(results["b"].chunks_per_min, 1e-9)
        print(f"(c)/(b) chunks/min = {ratio:.2f}x (parallel slots vs one request at a time)")
    if "c" in results and "peak" in results:
        ratio = results["c"].tokens_per_s / max(results["peak"].tokens_per_s, 1e-9)
        print(benchlib.ratio_line("(c)/peak generated tok/s", ratio, 0.9, unit="%"))
        c, peak = results["c"], results["peak"]
        cpu = (c.completion_tokens / max(c.cpu_seconds, 1e-9)) / max(
            peak.completion_tokens / max(peak.cpu_seconds, 1e-9), 1e-9)
        print(f"(c)/peak generated tokens per CPU-second = {cpu:.0%} (load-insensitive check)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
