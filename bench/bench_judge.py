"""Benchmark: judge throughput in refine against the engine's own peak, in one run.

A work dir is built from qaforge's chunks of a real PDF (default: R-intro.pdf, 20 chunks
from #12) with three drafted pairs per chunk (the fake backend's grounded echo pairs, so no
model time goes into making them). Then:

(refine) ``refine_workdir`` with the embedded engine as judge, as ``qaforge refine`` runs it
         (4 parallel slots, constrained JSON, prompt cache); correction off by default so
         the run measures the judge. Figure: judge calls per minute of the judge step.
(peak)   the judge requests refine sent, replayed in the same order straight to an
         ``xllamacpp`` server's ``/v1/chat/completions`` (same settings), N concurrent plain
         httpx requests, no qaforge code in between.
(peak/grouped) the same requests, but each worker sends all pairs of one chunk back to back,
         so the long shared prefix (instructions + passage) is reused from the slot's cache.

Prints one line per figure and the ratio refine/peak (target >= 90%). Exits 0.

    python bench/bench_judge.py [--chunks 20] [--threads 0] [--correct]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchlib
from bench_generate import prepare_chunks, seed_workdir


@dataclass
class JudgeResult:
    name: str
    calls: int
    seconds: float
    completion_tokens: int
    prompt_tokens: int
    prompt_processed: int
    failed: int
    others: float

    @property
    def per_min(self) -> float:
        return self.calls / self.seconds * 60 if self.seconds else 0.0

    def line(self) -> str:
        calls = max(self.calls, 1)
        return (f"{self.name:13} {self.calls:4d} judge calls in {self.seconds:6.1f} s: "
                f"{self.per_min:6.1f} pairs/min, "
                f"{self.completion_tokens / max(self.seconds, 1e-9):5.1f} generated tok/s, "
                f"{self.prompt_processed / calls:5.0f} prompt tok evaluated/call "
                f"(of {self.prompt_tokens / calls:.0f}), "
                f"unusable replies {self.failed}/{self.calls}; "
                f"others {self.others:.0%}")


def drafted_workdir(workdir: Path, pdf: Path, chunks: list[Any]) -> int:
    """Suggestions for ``chunks`` drafted by the fake backend; returns the pair count."""
    from qaforge.config import GenerateSettings
    from qaforge.llm.fake import FakeBackend
    from qaforge.runners.local import run_generate

    seed_workdir(workdir, pdf, chunks)
    summary = run_generate([pdf], workdir, client=FakeBackend(), settings=GenerateSettings())
    return summary.pairs


def run_refine(model: Path, workdir: Path, *, threads: int, concurrency: int,
               correct: bool) -> tuple[JudgeResult, list[Any], dict[str, float]]:
    """``refine_workdir`` with the embedded engine; returns the figure, the judge round's
    requests (for the replay) and refine's own per-step seconds."""
    from qaforge.config import LLMSettings, RefineSettings
    from qaforge.llm.engine import from_settings
    from qaforge.refine import refine_workdir

    engine = from_settings(LLMSettings(model=str(model), threads=threads,
                                       concurrency=concurrency))
    tap = benchlib.CompletionTap(engine)
    try:
        with benchlib.LoadMonitor() as monitor:
            summary = refine_workdir(workdir, judge=engine,
                                     settings=RefineSettings(correct=correct))
    finally:
        engine.close()
    calls = len(tap.requests[0]) if tap.requests else 0
    seconds = summary.seconds.get("judge", 0.0)
    result = JudgeResult("refine", summary.judge_calls, seconds,
                         sum(tap.completion_tokens[:calls]), sum(tap.prompt_tokens[:calls]),
                         sum(tap.prompt_processed[:calls]), summary.model_errors,
                         monitor.others)
    return result, tap.requests[0] if tap.requests else [], summary.seconds


def variant_requests(workdir: Path, template: Path) -> list[Any]:
    """The judge requests refine would send for ``workdir`` with another judge template
    (same records, checks and evidence; only the prompt text differs)."""
    from qaforge.llm.fake import FakeBackend
    from qaforge.prompts import parse_template
    from qaforge.refine.checks import check_questions
    from qaforge.refine.dedup import deduplicate
    from qaforge.refine.grounding import ground
    from qaforge.refine.judge import Candidate, Judge
    from qaforge.refine.load import load_workdir

    records = load_workdir(workdir).records
    check_questions(records)
    ground(records)
    deduplicate(records)
    judge = Judge(FakeBackend(context_length=2048))  # only to render requests
    judge.template = parse_template(template.stem, template.read_text(encoding="utf-8"))
    return [judge.request(Candidate(r, r.question, r.answer, r.grounding, r.issues))
            for r in records if r.active]


def run_peak(model: Path, requests: list[Any], *, threads: int, concurrency: int,
             grouped: bool, label: str = "") -> JudgeResult:
    """Replay the judge requests against a raw xllamacpp server."""
    from qaforge.config import LLMSettings
    from qaforge.refine.calls import validate_reply
    from qaforge.refine.judge import JudgeReply

    bodies = [benchlib.chat_body(r.messages, r.schema, r.schema_name, r.max_tokens, r.seed)
              for r in requests]
    server = benchlib.start_raw_server(model, parallel=concurrency,
                                       context=LLMSettings().context, threads=threads)
    try:
        url = benchlib.server_url(server)
        with benchlib.LoadMonitor() as monitor:
            if grouped:
                groups: dict[str, list[dict[str, Any]]] = {}
                for body in bodies:
                    key = body["messages"][-1]["content"].split("\nQuestion:")[0]
                    groups.setdefault(key, []).append(body)
                run = benchlib.post_grouped(url, list(groups.values()), concurrency)
            else:
                run = benchlib.post_all(url, bodies, concurrency)
    finally:
        del server
        gc.collect()
    failed = 0
    for result in run.results:
        try:
            validate_reply(result.text, JudgeReply)
        except ValueError:
            failed += 1
    name = f"peak/{concurrency}" + label + ("/grouped" if grouped else "")
    return JudgeResult(name, len(run.results), run.seconds, run.completion_tokens,
                       sum(r.prompt_tokens for r in run.results),
                       sum(r.prompt_processed for r in run.results), failed, monitor.others)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pdf", type=Path, default=benchlib.DEFAULT_CORPUS / "R-intro.pdf")
    parser.add_argument("--model", default="", help="GGUF file (default: the bundled model)")
    parser.add_argument("--first", type=int, default=12)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0, help="0: auto (1 on a busy machine)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--correct", action="store_true",
                        help="also run refine's correction step (reported, not in the ratio)")
    parser.add_argument("--no-grouped", action="store_true", help="skip the grouped replay")
    parser.add_argument("--variant-prompt", type=Path, default=None,
                        help="also replay the judge requests rendered with this template "
                             "(e.g. src/qaforge/prompts/judge_v1.txt, the old default), "
                             "in order and grouped")
    args = parser.parse_args()

    model = benchlib.find_model(args.model)
    if model is None or not args.pdf.is_file():
        print(f"nothing to measure: model {model} / pdf {args.pdf} not found")
        return 0
    threads, machine = benchlib.pick_threads(args.threads)
    print(machine)
    chunks = prepare_chunks(args.pdf, model, threads, args.first, args.chunks)
    with tempfile.TemporaryDirectory(prefix="qaforge-bench-judge-") as tmp:
        workdir = Path(tmp)
        pairs = drafted_workdir(workdir, args.pdf, chunks)
        print(f"work dir: {len(chunks)} chunks of {args.pdf.name} (from #{args.first}), "
              f"{pairs} drafted pairs; model {model.name}")
        started = time.perf_counter()
        refined, requests, seconds = run_refine(model, workdir, threads=threads,
                                                concurrency=args.concurrency,
                                                correct=args.correct)
        wall = time.perf_counter() - started
        variant = (variant_requests(workdir, args.variant_prompt)
                   if args.variant_prompt is not None else [])
    print(refined.line())
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in seconds.items()
                      if k not in ("total", "judge_pairs_per_min"))
    print(f"refine steps: {steps}; whole refine_workdir {wall:.1f} s")
    # refine sends a chunk's calls back to back (ChatRequest.affinity): the grouped replay is
    # the like-for-like peak; the replay in plain order shows what the grouping buys
    peaks = [run_peak(model, requests, threads=threads, concurrency=args.concurrency,
                      grouped=grouped) for grouped in ((False,) if args.no_grouped
                                                        else (False, True))]
    for peak in peaks:
        print(peak.line())
    peak = peaks[-1]
    print(benchlib.ratio_line(f"refine/{peak.name} pairs/min",
                              refined.per_min / max(peak.per_min, 1e-9), 0.9, unit="%"))
    if len(peaks) == 2:
        print(f"peak grouped/in order pairs/min = "
              f"{peaks[1].per_min / max(peaks[0].per_min, 1e-9):.2f}x "
              "(what sending a chunk's pairs back to back gives)")
    if variant:
        name = f"/{args.variant_prompt.stem}" if args.variant_prompt else ""
        for grouping in (False, True):
            other = run_peak(model, variant, threads=threads, concurrency=args.concurrency,
                             grouped=grouping, label=name)
            print(other.line())
            print(f"{other.name} / {peak.name} pairs/min = "
                  f"{other.per_min / max(peak.per_min, 1e-9):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
