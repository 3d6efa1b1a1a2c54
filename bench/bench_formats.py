"""Non-PDF formats: files/s of qaforge's readers per format on the real samples, what the
libraries they use cost to install, and (``--candidates``) the libraries they were chosen
against, timed on the same files.

    python tests/data_fetch.py                     # the samples, into .sample-docs/
    python bench/bench_formats.py                  # qaforge's readers + install sizes
    # candidates: each installed on its own, then timed on the same files
    pip install --no-compile --target /tmp/cand/lxml lxml    # likewise the others
    python bench/bench_formats.py --candidates /tmp/cand

Times are in-process (no worker) and the best of ``--rounds`` per file; the first read of
each format (imports) is not counted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
FORMATS = {".docx": "DOCX", ".epub": "EPUB", ".html": "HTML", ".md": "Markdown",
           ".txt": "text"}
#: the distributions each format's reader needs beyond qaforge's other dependencies
DISTRIBUTIONS = {"HTML": ["selectolax"], "DOCX": ["mammoth", "cobble", "selectolax"],
                 "EPUB": ["selectolax"], "Markdown": ["markdown-it-py", "mdurl"],
                 "text": ["charset-normalizer"]}


def best_of(rounds: int, call: Callable[[], Any]) -> tuple[float, Any]:
    call()  # imports and caches are not the reader's speed
    best, out = float("inf"), None
    for _ in range(rounds):
        started = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - started)
    return best, out


def installed_mb(distribution: str) -> float:
    files = importlib.metadata.distribution(distribution).files or []
    return sum(f.size or 0 for f in files if "__pycache__" not in str(f)) / 1e6


def readers(samples: Path, rounds: int) -> None:
    from qaforge.ingest import read_document

    for suffix, label in FORMATS.items():
        files = sorted(samples.glob(f"*{suffix}"))
        seconds, size, elements = 0.0, 0, 0
        for path in files:
            spent, doc = best_of(rounds, lambda path=path: read_document(path))
            seconds, size, elements = seconds + spent, size + path.stat().st_size, \
                elements + len(doc.elements)
        libs = DISTRIBUTIONS[label]
        cost = sum(installed_mb(name) for name in libs)
        print(f"{label:9} {len(files)} files {size / 1e3:7.0f} KB  {len(files) / seconds:7.1f} "
              f"files/s  {size / 1e6 / seconds:6.2f} MB/s  {elements:5} elements  install "
              f"{cost:5.1f} MB ({' + '.join(libs)})")


CANDIDATES = {  # name -> (format suffix, --target folder, code returning the outline)
    "selectolax": (".html", "selectolax", "from selectolax.lexbor import LexborHTMLParser\n"
                   "def run(p):\n    t = LexborHTMLParser(p.read_bytes())\n"
                   "    return [n.tag for n in t.css('h1,h2,h3,h4,h5,h6,p,li,pre,table')]"),
    "lxml": (".html", "lxml", "import lxml.html\ndef run(p):\n"
             "    t = lxml.html.fromstring(p.read_bytes())\n"
             "    return [n.tag for n in t.iter('h1','h2','h3','h4','h5','h6','p','li','pre',"
             "'table')]"),
    "bs4": (".html", "beautifulsoup4", "from bs4 import BeautifulSoup\ndef run(p):\n"
            "    s = BeautifulSoup(p.read_bytes(), 'html.parser')\n"
            "    return [n.name for n in s.find_all(['h1','h2','h3','h4','h5','h6','p','li',"
            "'pre','table'])]"),
    "trafilatura": (".html", "trafilatura", "import trafilatura\ndef run(p):\n"
                    "    out = trafilatura.extract(p.read_text(), output_format='markdown',"
                    " include_tables=True, include_formatting=True) or ''\n"
                    "    return [l for l in out.splitlines() if l.startswith('#')]"),
    "markdownify": (".html", "markdownify", "from markdownify import markdownify\n"
                    "def run(p):\n    out = markdownify(p.read_text(), heading_style='ATX')\n"
                    "    return [l for l in out.splitlines() if l.startswith('#')]"),
    "mammoth": (".docx", "mammoth", "import mammoth, re\ndef run(p):\n"
                "    with p.open('rb') as f: html = mammoth.convert_to_html(f).value\n"
                "    return re.findall(r'<(h[1-6]|li|table)', html)"),
    "python-docx": (".docx", "python-docx", "import docx\ndef run(p):\n"
                    "    return [getattr(getattr(b, 'style', None), 'name', 'table') "
                    "for b in docx.Document(str(p)).iter_inner_content()]"),
    "docx2python": (".docx", "docx2python", "from docx2python import docx2python\n"
                    "def run(p):\n    with docx2python(str(p), html=True) as d:\n"
                    "        return [l for l in d.text.splitlines() if '<h' in l]"),
    "markdown-it-py": (".md", "markdown-it-py", "from markdown_it import MarkdownIt\n"
                       "md = MarkdownIt('commonmark').enable('table')\ndef run(p):\n"
                       "    return [t.type for t in md.parse(p.read_text()) if "
                       "t.type.endswith('_open')]"),
    "mistune": (".md", "mistune", "import mistune\n"
                "md = mistune.create_markdown(renderer=None, plugins=['table'])\n"
                "def run(p):\n    return [t['type'] for t in md(p.read_text())]"),
    "ebooklib": (".epub", "ebooklib", "from ebooklib import epub\ndef run(p):\n"
                 "    b = epub.read_epub(str(p))\n"
                 "    return [b.get_item_with_id(i).get_content() for i, _ in b.spine]"),
}


def candidate_child(name: str, samples: str, rounds: int) -> None:
    """Runs in a child process whose sys.path has only this candidate's install."""
    suffix, _, code = CANDIDATES[name]
    namespace: dict[str, Any] = {}
    exec(compile(code, name, "exec"), namespace)  # the fixed snippets above, nothing else
    for path in sorted(Path(samples).glob(f"*{suffix}")):
        try:
            spent, out = best_of(rounds, lambda path=path: namespace["run"](path))
        except Exception as exc:  # a refusal is a result
            print(f"  {name:14} {path.name:36} FAILED {type(exc).__name__}: {str(exc)[:70]}")
            continue
        print(f"  {name:14} {path.name:36} {spent * 1e3:8.2f} ms  {len(out):5} blocks/headings")


def candidates(folder: Path, samples: Path, rounds: int) -> None:
    for name, (_, target, _) in CANDIDATES.items():
        where = folder / target
        if not where.is_dir():
            print(f"  {name:14} not installed under {where}")
            continue
        size = sum(p.stat().st_size for p in where.rglob("*") if p.is_file()) / 1e6
        print(f"{name}: install {size:.1f} MB (with its dependencies)")
        env = {**os.environ, "PYTHONPATH": str(where)}
        subprocess.run([sys.executable, __file__, "--child", name, "--samples", str(samples),
                        "--rounds", str(rounds)], env=env, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=Path, default=REPO / ".sample-docs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--candidates", type=Path, help="folder of --target installs")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        candidate_child(args.child, str(args.samples), args.rounds)
        return
    if not args.samples.is_dir():
        sys.exit(f"no samples at {args.samples}: run python tests/data_fetch.py first")
    if args.candidates:
        candidates(args.candidates, args.samples, args.rounds)
    else:
        readers(args.samples, args.rounds)


if __name__ == "__main__":
    main()
