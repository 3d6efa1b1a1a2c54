"""Benchmark: stage 1 at scale with the fake backend (no model), and resume after a kill.

1. Builds a manual-like PDF of N pages with fpdf2 (running header and page numbers, a
   chapter heading every 10 pages, distinct prose paragraphs) into a temporary folder.
2. Runs ``qaforge generate PDF -o WORK --backend fake`` in a child process for each page
   count (default 100 and 1,000) and reports wall time and the child's peak RSS. Target:
   RSS flat in the number of pages and under 300 MB (no model is loaded).
3. Resume: runs stage 1 on the largest PDF in a child process whose fake backend answers
   slowly, SIGKILLs it once half the chunks have been reported journaled, then re-runs it
   and reports the re-run's time to its first model request and its wall time, and checks
   that no finished chunk was sent again and none was lost.

4. With ``--pairs 10000,100000,1000000``: refine instead (see ``scale_refine.py``):
   synthetic suggestions files of that many unique pairs, ``qaforge refine --backend fake``
   in a child process, wall time, peak RSS and output sizes per count. Target: peak RSS
   under 500 MB at a million pairs, time linear.

Prints one line per figure. Exits 0.

    python bench/bench_scale.py [--pages 100,1000] [--delay 0.02]
    python bench/bench_scale.py --pairs 10000,100000,1000000 [--runner ray]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import scale_refine

TOPICS = ("pump", "valve", "filter", "tank", "sensor", "motor", "pipe", "gauge", "relay", "fan")
CLI = "import sys; from qaforge.cli import main; sys.argv[0] = 'qaforge'; main()"


# ------------------------------------------------------------------ the PDF

def build_pdf(path: Path, pages: int, edition: int = 0) -> Path:
    """A ``pages``-page manual: header, footer with page number, chapters, prose.
    Different ``edition`` numbers give different text (so chunks differ between files)."""
    from fpdf import FPDF

    class Manual(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 8, "ACME Water Systems - Service Manual", align="C")
            self.ln(10)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "I", 8)
            self.cell(0, 8, f"Page {self.page_no()}", align="C")

    pdf = Manual(format="A4")
    pdf.set_auto_page_break(auto=False)
    for page in range(pages):
        pdf.add_page()
        if page % 10 == 0:
            pdf.set_font("Helvetica", "B", 16)
            pdf.multi_cell(0, 9, f"Chapter {page // 10 + 1}: The {TOPICS[(page // 10) % 10]} "
                                 f"assembly, part {page // 100 + 1}")
            pdf.ln(2)
        pdf.set_font("Helvetica", "", 10)
        for para in range(4):
            topic = TOPICS[(page + para) % len(TOPICS)]
            sentences = " ".join(
                f"Step {page}.{para}.{i}: check that the {topic} number "
                f"{edition * 100_000 + page * 7 + i} "
                f"holds {(page * 13 + para * 5 + i) % 97} litres before the next service."
                for i in range(5))
            pdf.multi_cell(0, 5, sentences)
            pdf.ln(2)
    pdf.output(str(path))
    return path


# ------------------------------------------------------------------ child processes

def run_child(argv: list[str]) -> tuple[float, float, int, str]:
    """Run ``argv``; return (wall seconds, child's peak RSS MB, exit code, output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode, out


def generate_cli(pdf: Path, workdir: Path) -> tuple[float, float, int, str]:
    """``qaforge generate PDF-or-folder -o WORKDIR --backend fake`` in a child process."""
    return run_child([sys.executable, "-c", CLI, "generate", str(pdf), "-o", str(workdir),
                      "--backend", "fake"])


def child_generate(pdf: Path, workdir: Path, delay: float) -> int:
    """(child) stage 1 with a slow fake backend, one stdout line per finished chunk, then a
    JSON line with what this run sent."""
    from qaforge.config import GenerateSettings
    from qaforge.llm.base import ChatRequest
    from qaforge.llm.fake import FakeBackend, echo_pairs
    from qaforge.progress import Reporter
    from qaforge.runners.local import run_generate

    started = time.perf_counter()
    first: list[float] = []

    def reply(request: ChatRequest) -> str:
        if not first:
            first.append(time.perf_counter() - started)
        return echo_pairs(request)

    class Lines(Reporter):
        def phase(self, label: str, total: int) -> None:
            super().phase(label, total)
            print(f"phase {label} {total}", flush=True)

        def advance(self, n: int = 1, status: str = "") -> None:
            super().advance(n, status)
            if self.label == "generate":
                print(f"done {self.done} {self.total}", flush=True)

    client = FakeBackend(reply, delay=delay, max_concurrency=4)
    summary = run_generate([pdf], workdir, client=client, settings=GenerateSettings(),
                           reporter=Lines())
    print(json.dumps({"requests": len(client.history), "first_request": first[0] if first else None,
                      "chunks_total": summary.chunks_total, "chunks_done": summary.chunks_done,
                      "seconds": time.perf_counter() - started}), flush=True)
    return 0


def on_disk(workdir: Path) -> dict[str, list[str]]:
    """Chunk id -> suggestion ids of every finished chunk, from the files plus the journal
    (what a re-run starts from)."""
    from qaforge.journal import ChunkJournal
    from qaforge.suggestions import iter_suggestion_files, load_suggestions
    from qaforge.workspace import state_dir

    done: dict[str, list[str]] = {}
    for path in iter_suggestion_files(workdir):
        for chunk in load_suggestions(path).data.chunks:
            if chunk.state == "generated" and not isinstance(chunk.suggestions, str):
                done[chunk.id] = [s.id for s in chunk.suggestions]
    journal = ChunkJournal(state_dir(workdir) / "generate.journal.jsonl").replay()
    for chunks in journal.values():
        for chunk in chunks.values():
            if chunk.state == "generated" and not isinstance(chunk.suggestions, str):
                done.setdefault(chunk.id, [s.id for s in chunk.suggestions])
    return done


def resume_check(pdf: Path, workdir: Path, delay: float) -> list[str]:
    """Kill a slow stage-1 run at half its chunks, re-run it, and check the outcome."""
    argv = [sys.executable, __file__, "--child-generate", str(pdf), str(workdir),
            "--delay", str(delay)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    reported = 0
    total = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        parts = line.split()
        if parts[:1] == ["done"]:
            reported, total = int(parts[1]), int(parts[2])
            if reported * 2 >= total:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait()
    before = on_disk(workdir)
    lines = [f"resume: killed the first run (SIGKILL) after {reported}/{total} chunks were "
             f"reported; {len(before)} finished chunks found in the files and journal"]

    wall, rss, code, out = run_child(argv)
    rerun = json.loads(out.strip().splitlines()[-1])
    after = on_disk(workdir)
    redone = rerun["requests"] - (total - len(before))
    lost = [cid for cid in before if after.get(cid) != before[cid]]
    missing = total - len(after)
    first = rerun["first_request"]
    verdict = "OK" if not redone and not lost and not missing else "PROBLEM"
    lines.append(f"resume: re-run sent {rerun['requests']} requests for the "
                 f"{total - len(before)} chunks left; redone {redone}, lost/changed {len(lost)}, "
                 f"still missing {missing}: {verdict}")
    lines.append(f"resume: re-run first model request after {first:.2f} s (replaying journal, "
                 f"reloading files, skipping extraction); whole re-run {wall:.1f} s "
                 f"(its {rerun['requests']} fake calls at {delay} s, 4 in flight); "
                 f"peak RSS {rss:.0f} MB; exit {code}" if first is not None else
                 f"resume: re-run sent nothing; wall {wall:.1f} s")
    return lines


# ------------------------------------------------------------------ main

def corpus_line(root: Path, pages: int, files: int, single: tuple[float, float] | None) -> None:
    """One generate over ``files`` different ``pages``-page PDFs: wall and peak RSS."""
    folder = root / f"corpus_{files}x{pages}"
    folder.mkdir()
    for edition in range(files):
        build_pdf(folder / f"manual_{edition}.pdf", pages, edition=edition + 1)
    with benchlib.LoadMonitor() as monitor:
        wall, rss, code, _ = generate_cli(folder, root / f"work_corpus_{files}")
    chunks = count_chunks(root / f"work_corpus_{files}")
    versus = f" ({rss / single[1]:.2f}x one {pages}-page file)" if single else ""
    print(f"generate --backend fake {files} files x {pages} pages: {wall:6.1f} s wall, "
          f"{chunks} chunks, peak RSS {rss:6.1f} MB{versus}; exit {code}; {monitor.describe()}")


def count_chunks(workdir: Path) -> int:
    from qaforge.suggestions import iter_suggestion_files, load_suggestions

    return sum(len(load_suggestions(p).data.chunks) for p in iter_suggestion_files(workdir))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", default="100,1000", help="page counts, comma-separated")
    parser.add_argument("--delay", type=float, default=0.02,
                        help="seconds per fake model call in the resume test")
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--corpus-files", type=int, default=0,
                        help="also run one generate over this many different PDFs of the "
                             "largest page count (peak RSS against corpus size)")
    parser.add_argument("--pairs", default="",
                        help="refine at scale instead: pair counts, comma-separated")
    parser.add_argument("--runner", default="local", choices=("local", "ray"),
                        help="the refine runner for --pairs")
    parser.add_argument("--child-generate", nargs=2, metavar=("PDF", "WORKDIR"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_generate:
        return child_generate(Path(args.child_generate[0]), Path(args.child_generate[1]),
                              args.delay)
    if args.pairs:
        with tempfile.TemporaryDirectory(prefix="qaforge-scale-") as tmp:
            for pairs in sorted(int(p) for p in args.pairs.split(",") if p.strip()):
                print(scale_refine.refine_line(Path(tmp), pairs, run_child, CLI, args.runner),
                      flush=True)
        return 0

    counts = sorted(int(p) for p in args.pages.split(",") if p.strip())
    print(benchlib.pick_threads(1)[1].rsplit(";", 1)[0])
    results: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="qaforge-scale-") as tmp:
        root = Path(tmp)
        pdfs: dict[int, Path] = {}
        for pages in counts:
            started = time.perf_counter()
            pdfs[pages] = build_pdf(root / f"manual_{pages}.pdf", pages)
            print(f"built {pages}-page PDF with fpdf2 in {time.perf_counter() - started:.1f} s "
                  f"({pdfs[pages].stat().st_size / 1e6:.1f} MB)")
        for pages in counts:
            workdir = root / f"work_{pages}"
            with benchlib.LoadMonitor() as monitor:
                wall, rss, code, out = generate_cli(pdfs[pages], workdir)
            if code != 0:
                print(f"generate {pages} pages: exit {code}\n{out[-2000:]}")
                continue
            chunks = count_chunks(workdir)
            results[pages] = (wall, rss)
            print(f"generate --backend fake {pages:5d} pages: {wall:6.1f} s wall "
                  f"({pages / wall:6.1f} pages/s, {chunks} chunks), peak RSS {rss:6.1f} MB; "
                  f"{monitor.describe()}")
        if len(results) >= 2:
            small, large = min(results), max(results)
            growth = results[large][1] / results[small][1]
            slope = (results[large][1] - results[small][1]) * 1024 / (large - small)
            print(f"peak RSS {large} vs {small} pages = {growth:.2f}x for "
                  f"{large / small:.0f}x the pages, {slope:.0f} KB per extra page (target: flat, "
                  f"here within 25%, and under 300 MB): "
                  f"{'met' if growth < 1.25 and results[large][1] < 300 else 'MISSED'}")
        if args.corpus_files > 0 and counts:
            corpus_line(root, max(counts), args.corpus_files, results.get(max(counts)))
        if not args.no_resume and counts:
            for line in resume_check(pdfs[max(counts)], root / "work_resume", args.delay):
                print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
