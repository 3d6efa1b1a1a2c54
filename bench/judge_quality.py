"""Judge quality check: do two judge templates tell right answers from wrong ones?

Pairs are drafted by the judge model itself for 20 chunks of ``R-intro.pdf`` (the "right"
answers); each question is also paired with the answer to *another* question about the same
chunk (the "wrong" answers: on topic, fluent, grounded in the passage, but not an answer to
the question). Both templates judge all of them with the same engine; the script prints, per
template, how often the judge's label is right (right -> Clear, wrong -> not Clear), the mean
lowest score of right and wrong pairs, unusable replies and pairs/min.

    python bench/judge_quality.py --model ~/.cache/qaforge/models/qwen2.5-coder-1.5b*.gguf
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from bench_generate import prepare_chunks, seed_workdir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="judge (and drafting) model, a GGUF file")
    parser.add_argument("--pdf", default=str(benchlib.DEFAULT_CORPUS / "R-intro.pdf"))
    parser.add_argument("--first", type=int, default=12)
    parser.add_argument("--chunks", type=int, default=20)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--templates", default="judge/v1,judge/v2")
    args = parser.parse_args()

    from qaforge.config import GenerateSettings
    from qaforge.llm.engine import EmbeddedEngine
    from qaforge.refine.grounding import ground
    from qaforge.refine.judge import Candidate, Judge
    from qaforge.refine.load import load_workdir
    from qaforge.runners.local import run_generate

    model = benchlib.find_model(args.model)
    if model is None:
        print("no model found: pass --model FILE")
        return 0
    threads, why = benchlib.pick_threads(args.threads)
    print(f"# model {model.name}, threads={threads} ({why})")
    pdf = Path(args.pdf)
    chunks = prepare_chunks(pdf, model, threads, args.first, args.chunks)
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedEngine(model, concurrency=4, threads=threads) as engine:
        workdir = Path(tmp)
        seed_workdir(workdir, pdf, chunks)
        start = time.perf_counter()
        run_generate([pdf], workdir, client=engine, settings=GenerateSettings())
        print(f"drafted pairs for {len(chunks)} chunks in {time.perf_counter() - start:.0f} s")
        records = ground(load_workdir(workdir).records)
        by_chunk: dict[str, list] = {}
        for record in records:
            by_chunk.setdefault(record.chunk_key, []).append(record)
        cases: list[tuple[bool, Candidate]] = []
        for group in by_chunk.values():
            for i, record in enumerate(group):
                cases.append((True, Candidate(record, record.question, record.answer,
                                              record.grounding)))
                if len(group) > 1:
                    other = group[(i + 1) % len(group)]
                    cases.append((False, Candidate(record, record.question, other.answer,
                                                   other.grounding)))
        right = sum(1 for ok, _ in cases if ok)
        print(f"{right} right and {len(cases) - right} wrong pairs")
        for template in args.templates.split(","):
            judge = Judge(engine, prompt=template)
            with benchlib.LoadMonitor() as monitor:
                start = time.perf_counter()
                verdicts = judge.judge([c for _, c in cases])
                seconds = time.perf_counter() - start
            correct = unusable = 0
            low = {True: [], False: []}
            for (ok, _), verdict in zip(cases, verdicts, strict=True):
                if verdict.error:
                    unusable += 1
                    continue
                correct += (verdict.label == "Clear") == ok
                low[ok].append(min(verdict.clarity or 0, verdict.coherence or 0,
                                   verdict.relevance or 0, verdict.groundedness or 0))
            mean = {k: sum(v) / max(1, len(v)) for k, v in low.items()}
            print(f"{template}: label right {correct}/{len(cases) - unusable} "
                  f"({correct / max(1, len(cases) - unusable):.0%}), lowest score right "
                  f"{mean[True]:.2f} vs wrong {mean[False]:.2f}, unusable {unusable}, "
                  f"{len(cases) / seconds * 60:.1f} pairs/min; others {monitor.others:.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
