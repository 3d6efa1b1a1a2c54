"""Benchmark: ``qaforge run`` end to end with the bundled model, wall time split by stage.

Runs the real command (``qaforge run FILES -o WORK --threads T``) in a child process and
timestamps its progress lines as they arrive, which splits the wall time into start
(imports, engine), extract + chunk, generate and refine; refine's own step timers (in
``evaluation.json``) split refine into judge, correct and the rest.

The whole text set of ``../shared/pdfs`` (18 files, 541 pages, ~1,000 chunks) takes hours
with the demo model on 2 cores, so by default a documented subset runs (5 small files of
different kinds, 11 pages, ~22 chunks) and the full set is extrapolated: extraction and
chunking of the full set are measured (in-process, with the model's tokenizer), and the
model stages are scaled from the subset's seconds per chunk and per judged pair.
``--all`` runs the full set instead.

Then the user-facing figures: good pairs per minute (dataset rows: pairs that pass the
deterministic checks and the judge, or were corrected until they did) and facts covered
per minute (informative sentences the dataset's evidence touches) over the run's wall
time, tokens generated per good pair (generation and refine), and refine's time against
generate's. The seed's pipeline runs on the same chunks in the same run (``e2e_seed.py``;
``--no-seed`` skips it) and its pairs are sorted by the same ``qaforge refine``, so the
ratio of good pairs per minute is measured, not assumed.

    python bench/bench_e2e.py [--all] [--threads 0] [--workdir DIR] [--runner ray] [--no-seed]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
from bench_generate import seed_available
from e2e_seed import Yield, generated_tokens, refine_seed_pairs, sent_chunks_workdir

SUBSET = ("2305.03393v1-pg9.pdf", "amt_handbook_sample.pdf", "code_and_formula.pdf",
          "scotus-transcript-p1.pdf", "ieee-conf-2013.pdf")
CLI = "import sys; from qaforge.cli import main; sys.argv[0] = 'qaforge'; main()"
# progress lines that start a phase (LineReporter prints "<label>: N to do"); refine's
# "load" line comes once its files are loaded, so refine's start is that minus its load time
MARKERS = {name: re.compile(rf"^{name}: \d+ to do") for name in ("extract", "generate", "load")}


def run_cli(files: list[Path], workdir: Path, threads: int, model: Path, runner: str = "local"
            ) -> tuple[dict[str, float], float, float, int, str]:
    """``qaforge run`` in a child; returns (stage start times, wall, peak RSS MB, exit, log).

    The peak RSS is the ``qaforge`` process's own (with ``--runner ray``, Ray's workers
    and daemons are not counted)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "120"}
    argv = [sys.executable, "-c", CLI, "run", *map(str, files), "-o", str(workdir),
            "--threads", str(threads), "--model", str(model), "--runner", runner]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    marks: dict[str, float] = {"start": 0.0}
    log: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        log.append(line)
        for name, pattern in MARKERS.items():
            if name not in marks and pattern.match(line):
                marks[name] = time.perf_counter() - started
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return marks, wall, usage.ru_maxrss / 1024, proc.returncode, "".join(log)


def stage_seconds(marks: dict[str, float], wall: float,
                  timings: dict[str, float]) -> dict[str, float]:
    """Wall seconds per stage from the progress-line times and refine's own timers.

    The Ray runner pipelines extract, chunk and generate and announces only "generate", so
    its extract+chunk time is inside "generate" and its start includes the Ray start-up."""
    generate = marks.get("generate", marks.get("extract", 0.0))
    extract = marks.get("extract", generate)
    refine = marks.get("load", wall) - timings.get("load", 0.0)
    judge, correct = timings.get("judge", 0.0), timings.get("correct", 0.0)
    return {"start (imports, engine)": extract, "extract+chunk": generate - extract,
            "generate": refine - generate, "refine": wall - refine, "refine: judge": judge,
            "refine: correct + re-judge": correct,
            "refine: rest": max(0.0, wall - refine - judge - correct)}


def prepare_full_set(files: list[Path], model: Path, threads: int) -> tuple[int, int, float]:
    """Pages, chunks and seconds to extract and chunk ``files`` the way ``run_generate``
    does (model's tokenizer through the engine, default budget)."""
    from qaforge.chunking import chunk_document, default_chunk_budget
    from qaforge.config import GenerateSettings
    from qaforge.extract import ExtractionError, extract_pdf
    from qaforge.generate import GenerateQA
    from qaforge.llm.engine import EmbeddedEngine

    settings = GenerateSettings()
    pages = chunks = 0
    with EmbeddedEngine(model, concurrency=1, threads=threads) as engine:
        gen = GenerateQA(engine, pairs_per_chunk=settings.pairs_per_chunk)
        budget = default_chunk_budget(engine.context_length or 2048,
                                      gen.prompt_overhead_tokens, gen.max_tokens)
        started = time.perf_counter()
        for path in files:
            try:
                document = extract_pdf(path)
            except ExtractionError:
                continue
            pages += document.pages
            chunks += len(chunk_document(document, max_tokens=budget,
                                         count_tokens=engine.count_tokens,
                                         min_tokens=settings.min_chunk_tokens))
        seconds = time.perf_counter() - started
    return pages, chunks, seconds


def print_run_line(args: argparse.Namespace, files: list[Path], log: str, chunks: int,
                   pairs: int, decisions: dict[str, int], wall: float,
                   stages: dict[str, float], calls: dict[str, int], rss: float, code: int,
                   monitor: benchlib.LoadMonitor) -> None:
    split = ", ".join(f"{name} {value:.1f} s" for name, value in stages.items())
    label = ("full text set" if args.all else "subset") + f", runner {args.runner}"
    pages_seen = re.search(r"pages\s*[│|]\s*(\d+)", log)
    print(f"qaforge run, {label}: {len(files)} files, {pages_seen.group(1) if pages_seen else '?'}"
          f" pages, {chunks} chunks, {pairs} pairs ({decisions.get('duplicate', '?')} duplicates, "
          f"{decisions.get('kept', '?')} kept, {decisions.get('corrected', '?')} corrected): "
          f"wall {wall:.1f} s; {split}; model calls judge {calls.get('judge', '?')} / correct "
          f"{calls.get('correct', '?')} / re-judge {calls.get('re_judge', '?')}; peak RSS "
          f"{rss:.0f} MB; exit {code}; {monitor.describe()}")


def compare_seed(workdir: Path, seed_work: Path, model: Path, threads: int, ours: Yield
                 ) -> None:
    """The seed's pipeline on the chunks of ``workdir``, its pairs through the same refine;
    prints its figures and qaforge's ratios."""
    if not seed_available():
        print("seed: skipped (needs the transformers extra: pip install 'qaforge[transformers]')")
        return
    run = sent_chunks_workdir(workdir, seed_work, model, threads)
    summary, failure = refine_seed_pairs(seed_work, model, threads, CLI)
    if not summary:
        print(f"seed: its pairs could not be refined; last output:\n{failure}")
        return
    seed = Yield.of("seed", summary, run.minutes, None)
    print(f"{seed.line()} (generation {run.seconds:.1f} s + model load {run.load_seconds:.1f} s"
          f" on {run.chunks} chunks, {run.pairs} pairs parsed; refined with --no-correct)")
    if seed.good_per_min > 0:
        print(benchlib.ratio_line("good pairs/min qaforge / seed",
                                  ours.good_per_min / seed.good_per_min, 5.0))
    else:
        print("good pairs/min qaforge / seed: the seed made no good pair (ratio unbounded)")
    if seed.covered_per_min > 0:
        print(f"facts covered/min qaforge / seed = "
              f"{ours.covered_per_min / seed.covered_per_min:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=benchlib.DEFAULT_CORPUS)
    parser.add_argument("--all", action="store_true", help="run the whole text set")
    parser.add_argument("--files", default=",".join(SUBSET), help="subset, comma-separated")
    parser.add_argument("--model", default="", help="GGUF file (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=0, help="0: auto (1 on a busy machine)")
    parser.add_argument("--runner", choices=("local", "ray"), default="local",
                        help="qaforge's runner (ray: extract+chunk are inside generate)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the run's work dir here (default: a temporary one)")
    parser.add_argument("--no-estimate", action="store_true",
                        help="skip measuring extraction of the full set for the estimate")
    parser.add_argument("--no-seed", action="store_true",
                        help="skip the seed's pipeline on the same chunks (good pairs/min ratio)")
    args = parser.parse_args()

    everything = benchlib.text_files(args.corpus)
    model = benchlib.find_model(args.model)
    if not everything or model is None:
        print(f"nothing to measure: corpus {args.corpus} or the bundled model not found")
        return 0
    wanted = {n.strip() for n in args.files.split(",") if n.strip()}
    files = everything if args.all else [p for p in everything if p.name in wanted]
    threads, machine = benchlib.pick_threads(args.threads)
    print(machine)
    with tempfile.TemporaryDirectory(prefix="qaforge-bench-e2e-") as tmp:
        workdir = args.workdir or Path(tmp) / "work"
        with benchlib.LoadMonitor() as monitor:
            marks, wall, rss, code, log = run_cli(files, workdir, threads, model, args.runner)
        if code != 0:
            print(f"qaforge run exited {code}; last output:\n{log[-3000:]}")
        evaluation = workdir / "evaluation.json"
        summary = json.loads(evaluation.read_text())["summary"] if evaluation.exists() else {}
        coverage = summary.get("coverage", {})
        chunks = sum(c.get("chunks", 0) for c in coverage.values())
        pairs = summary.get("pairs_in", 0)
        calls = summary.get("model_calls", {})
        decisions = summary.get("decisions", {})
        stages = stage_seconds(marks, wall, summary.get("timings", {}))
        print_run_line(args, files, log, chunks, pairs, decisions, wall, stages, calls, rss,
                       code, monitor)
        ours = Yield.of("qaforge", summary, wall / 60, generated_tokens(log))
        print(ours.line())
        if stages["generate"] > 0:
            ratio = stages["refine"] / stages["generate"]
            print(f"refine / generate time = {ratio:.2f}x (target <= 0.5x): "
                  f"{'met' if ratio <= 0.5 else 'MISSED'}")
        if not args.no_seed and code == 0:
            compare_seed(workdir, Path(tmp) / "seed", model, threads, ours)
    if args.all or args.no_estimate or not chunks:
        return 0

    generate_per_chunk = stages["generate"] / chunks
    refine_per_chunk = stages["refine"] / chunks
    full_pages, full_chunks, prepare = prepare_full_set(everything, model, threads)
    estimate = (stages["start (imports, engine)"] + prepare + generate_per_chunk * full_chunks
                + refine_per_chunk * full_chunks)
    print(f"full text set, estimated: {len(everything)} files, {full_pages} pages, "
          f"{full_chunks} chunks: extract+chunk {prepare:.1f} s (measured), generate "
          f"~{generate_per_chunk * full_chunks / 60:.0f} min ({generate_per_chunk:.1f} s/chunk), "
          f"refine ~{refine_per_chunk * full_chunks / 60:.0f} min ({refine_per_chunk:.1f} s/chunk)"
          f"; total ~{estimate / 60:.0f} min (extrapolated from the subset at threads={threads})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
