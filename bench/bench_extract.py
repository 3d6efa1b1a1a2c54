"""Benchmark: ``extract_pdf`` against raw pypdfium2 text and pypdf, in one run.

Runs over the 18 text-layer files of the shared corpus (``../shared/pdfs`` next to the
repository; MANIFEST.md lists the six scanned, encrypted and broken files left out) and
prints one summary line per figure: pages/s of each extractor, the ratios the project
targets (extract_pdf >= 50% of raw pypdfium2, >= 5x pypdf), and peak RSS of each one
measured in a fresh child process. Exits 0; takes well under a minute on 2 cores.

    python bench/bench_extract.py [--corpus DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

NOT_TEXT = {
    "huckfinn-scanned-multipage.pdf", "pdfminer-175-scanned.pdf",
    "doclaynet-pg3-encrypted-userpw.pdf", "layoutparser-copy-protected.pdf",
    "zen_of_python_corrupted.pdf", "R-data_truncated.pdf",
}
DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "../shared/pdfs"


def text_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.glob("*.pdf") if p.name not in NOT_TEXT)


def run_raw(files: list[Path]) -> int:
    import pypdfium2 as pdfium

    pages = 0
    for path in files:
        pdf = pdfium.PdfDocument(str(path))
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            textpage.get_text_bounded()
            textpage.close()
            page.close()
            pages += 1
        pdf.close()
    return pages


def run_extract(files: list[Path]) -> int:
    from qaforge.extract import extract_pdf

    return sum(extract_pdf(path).pages for path in files)


def run_pypdf(files: list[Path]) -> int:
    import pypdf

    pages = 0
    for path in files:
        for page in pypdf.PdfReader(str(path)).pages:
            page.extract_text()
            pages += 1
    return pages


RUNNERS = {"extract_pdf": run_extract, "pypdfium2-raw": run_raw, "pypdf": run_pypdf}


def child(name: str, corpus: Path, rounds: int) -> None:
    """Run one extractor in this (fresh) process and print its numbers as JSON."""
    files = text_files(corpus)
    runner = RUNNERS[name]
    runner(files[:1])  # warm imports so they do not count as extraction time
    best = float("inf")
    pages = 0
    for _ in range(rounds):
        started = time.perf_counter()
        pages = runner(files)
        best = min(best, time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"name": name, "pages": pages, "seconds": best, "peak_mb": peak_mb}))


def measure(name: str, corpus: Path, rounds: int) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--child", name, "--corpus", str(corpus),
                           "--rounds", str(rounds)], capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=5, help="best of N timed rounds")
    parser.add_argument("--child", choices=sorted(RUNNERS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.corpus, args.rounds)
        return 0
    files = text_files(args.corpus)
    if not files:
        print(f"no corpus at {args.corpus.resolve()}; nothing to measure")
        return 0
    # rounds alternate between the two fast extractors so that load from other processes
    # on the machine hits both alike; each round is a fresh process (peak RSS per tool)
    results: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for name in ("pypdfium2-raw", "extract_pdf"):
            result = measure(name, args.corpus, 1)
            best = results.get(name)
            if best is None or result["seconds"] < best["seconds"]:
                results[name] = result
    results["pypdf"] = measure("pypdf", args.corpus, 1)
    print(f"corpus: {len(files)} text-layer files, {int(results['extract_pdf']['pages'])} pages")
    for name, r in results.items():
        rate = r["pages"] / r["seconds"]
        print(f"{name:14} {rate:8.1f} pages/s   peak RSS {r['peak_mb']:6.1f} MB")
    rates = {name: r["pages"] / r["seconds"] for name, r in results.items()}
    print(f"extract_pdf / pypdfium2-raw = {rates['extract_pdf'] / rates['pypdfium2-raw']:.2f} "
          f"(target >= 0.50)")
    print(f"extract_pdf / pypdf         = {rates['extract_pdf'] / rates['pypdf']:.1f}x "
          f"(target >= 5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
