"""Language benchmark: are the drafted pairs in the document's language, and real questions?

For an English, a German and a Korean document of the shared corpus, a page range (2 pages
by default) is cut into a temporary PDF and the real ``qaforge generate`` drafts pairs for
it in a child process (``python -m qaforge generate DIR -o WORK``), one document at a time.
Every drafted pair is then put through two checks without a model:

- language: qaforge's own detector (``qaforge.languages.detect_language``) on question and
  answer together, against the language the pairs were asked in (``--language`` when given
  to generate, else the document's, both recorded in its suggestions file);
- form: refine's question checks (``qaforge.refine.checks.question_issues``); a pair passes
  when it has none of the issues ``not_a_question``, ``too_short``, ``not_standalone``,
  ``empty_question``, ``empty_answer``.

Prints a markdown table, one row per document: language, pages, chunks sent to the model,
pairs, pairs per chunk, the two shares, seconds (the child's whole run, engine start
included) and how much CPU other processes took meanwhile; then what the failures were.
Seconds are a speed figure only when ``others`` was low (a busy row is marked ``*``).
Korean text is many tokens per character, so its 2 pages are ~13 chunks for the bundled
model (over 6 minutes on 2 busy cores): ``--max-seconds`` bounds each document.

    python bench/bench_languages.py                                   # bundled model
    python bench/bench_languages.py --model ~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf
    python bench/bench_languages.py --pages 4 --workdir /tmp/langs    # keep the files
    python bench/bench_languages.py --max-seconds 150   # stop each generate, score its drafts
    python bench/bench_languages.py --docs ko:korean-insurance-report-4p.pdf:1 -- --pairs 5

Everything after ``--`` goes to ``qaforge generate`` as it is (``-- --backend fake``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import benchlib

#: language:file:first page (1-based, a page with running text) of the default documents
DOCS = ("en:elsevier-jhydrol-2005.pdf:2,de:GeoTopo-komprimiert.pdf:6,"
        "ko:korean-insurance-report-4p.pdf:1")
#: the form issues that make a pair fail the check (refine/checks.py)
FORM_FAILURES = frozenset({"not_a_question", "too_short", "not_standalone",
                           "empty_question", "empty_answer"})
#: other processes' share of the machine above which seconds are no speed figure
BUSY = 0.25


@dataclass
class Doc:
    language: str
    file: str
    first_page: int


@dataclass
class Result:
    doc: Doc
    pages: str = ""
    language: str | None = None  # the one the pairs were asked in (recorded by generate)
    chunks: int = 0  # drafted (sent to the model and answered, or failed)
    pending: int = 0  # not drafted when the time limit stopped generate
    skipped: int = 0
    pairs: int = 0
    in_language: int = 0
    form_ok: int = 0
    other_languages: Counter[str] = field(default_factory=Counter)
    form_codes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    others: float = 0.0
    exit_code: int = 0
    stopped: bool = False  # by --max-seconds; what was drafted by then is scored

    def share(self, count: int) -> str:
        return f"{count / self.pairs:.0%}" if self.pairs else "-"

    def row(self) -> str:
        busy = "*" if self.others > BUSY else ""
        if self.exit_code and not self.stopped:
            return (f"| {self.doc.file} | {self.doc.language} | {self.pages} | "
                    f"generate exited {self.exit_code} | | | | | {self.seconds:.0f}{busy} | "
                    f"{self.others:.0%} |")
        return (f"| {self.doc.file} | {self.language or '?'} | {self.pages} | {self.chunks} | "
                f"{self.pairs} | {self.pairs / max(self.chunks, 1):.2f} | "
                f"{self.share(self.in_language)} | {self.share(self.form_ok)} | "
                f"{self.seconds:.0f}{busy} | {self.others:.0%} |")


def parse_docs(spec: str) -> list[Doc]:
    """``en:a.pdf:2,de:b.pdf:6`` -> documents (the first page defaults to 1)."""
    docs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        language, file, *first = item.split(":")
        docs.append(Doc(language, file, int(first[0]) if first else 1))
    return docs


def cut_pages(source: Path, first: int, count: int, dest: Path) -> str:
    """Write pages ``first``.. (``count`` of them; 0: to the end) of ``source`` to
    ``dest``; returns the range written, ``"10-11"``."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(str(source))
    try:
        total = len(pdf)
        first = min(max(first, 1), total)
        last = total if count <= 0 else min(total, first + count - 1)
        out = pdfium.PdfDocument.new()
        out.import_pages(pdf, list(range(first - 1, last)))
        out.save(str(dest))
        out.close()
    finally:
        pdf.close()
    return f"{first}-{last}" if last > first else str(first)


def score(result: Result, suggestions: Path) -> None:
    """Count ``suggestions``' chunks and pairs, and check every pair's language and form."""
    from qaforge.languages import detect_language
    from qaforge.refine.checks import question_issues

    data: dict[str, Any] = json.loads(suggestions.read_text(encoding="utf-8"))
    params = (data.get("generator") or {}).get("params") or {}
    result.language = params.get("language") or (data.get("source") or {}).get("language")
    for chunk in data.get("chunks", []):
        if chunk.get("skipped"):
            result.skipped += 1
            continue
        if chunk.get("state", "pending") == "pending":
            result.pending += 1
            continue
        result.chunks += 1
        pairs = chunk.get("suggestions")
        for pair in pairs if isinstance(pairs, list) else []:  # a string: a person's note
            question, answer = str(pair.get("question", "")), str(pair.get("answer", ""))
            result.pairs += 1
            detected = detect_language(f"{question} {answer}")
            if detected is not None and detected == result.language:
                result.in_language += 1
            else:
                result.other_languages[detected or "unknown"] += 1
            issues = question_issues(question, answer, str(chunk.get("text", "")),
                                     str(pair.get("form") or "qa"), pair.get("turns"))
            failed = sorted({i.code for i in issues} & FORM_FAILURES)
            result.form_ok += not failed
            result.form_codes.update(failed)


def run_doc(doc: Doc, corpus: Path, pages: int, work: Path, generate_args: list[str],
            max_seconds: float = 0) -> Result:
    """Cut ``doc``'s pages, run ``qaforge generate`` on them and score the pairs; after
    ``max_seconds`` (0: no limit) generate is stopped (SIGTERM: it saves the chunks it
    finished) and those are scored."""
    result = Result(doc)
    inputs, output = work / f"in-{doc.language}", work / f"out-{doc.language}"
    inputs.mkdir(parents=True, exist_ok=True)
    result.pages = cut_pages(corpus / doc.file, doc.first_page, pages, inputs / doc.file)
    argv = [sys.executable, "-m", "qaforge", "generate", str(inputs), "-o", str(output),
            "--quiet", *generate_args]
    with benchlib.LoadMonitor() as load, subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        try:
            log, _ = proc.communicate(timeout=max_seconds or None)
        except subprocess.TimeoutExpired:
            result.stopped = True
            proc.terminate()
            try:
                log, _ = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:  # saving took too long: no more waiting
                proc.kill()
                log, _ = proc.communicate()
    result.seconds, result.others, result.exit_code = load.wall, load.others, proc.returncode
    if proc.returncode and not result.stopped:
        print(f"{doc.file}: generate exited {proc.returncode}:\n{log[-4000:]}", file=sys.stderr)
        return result
    from qaforge.records import suggestions_filename

    score(result, output / "output_json" / suggestions_filename(doc.file))
    return result


HEADER = ("| document | language | pages | chunks | pairs | pairs/chunk | in language "
          "| form check | seconds | others |\n|---|---|---|---|---|---|---|---|---|---|")


def notes(results: list[Result]) -> list[str]:
    """What the table's figures leave out: load, time limits, why pairs failed."""
    lines = [""]
    if any(r.others > BUSY for r in results):
        lines.append(f"`*`: other processes took over {BUSY:.0%} of the machine: "
                     "no speed figure")
    for r in results:
        if r.exit_code and not r.stopped:
            continue
        if r.stopped:
            lines.append(f"{r.doc.file}: stopped at the time limit after {r.chunks} of "
                         f"{r.chunks + r.pending} chunks; the drafted ones are scored")
        other = ", ".join(f"{code} {n}" for code, n in r.other_languages.most_common())
        codes = ", ".join(f"{code} {n}" for code, n in r.form_codes.most_common())
        lines.append(f"{r.doc.file}: asked in {r.language or 'unknown'} (expected "
                     f"{r.doc.language}); pairs in other languages: {other or 'none'}; "
                     f"form failures: {codes or 'none'}; skipped chunks: {r.skipped}")
    return lines


def main() -> int:
    parser = benchlib.child_parser(__doc__ or "", "generate")
    parser.add_argument("--docs", default=DOCS,
                        help="language:file:first page, comma-separated (default: %(default)s)")
    parser.add_argument("--pages", type=int, default=2,
                        help="pages per document from its first page (0: to the end)")
    parser.add_argument("--max-seconds", type=float, default=0,
                        help="stop generate on a document after this long and score the "
                             "chunks drafted by then (default 0: no limit)")
    own, extra = benchlib.split_child_args(sys.argv[1:])
    args = parser.parse_args(own)

    docs = parse_docs(args.docs)
    missing = [d.file for d in docs if not (args.corpus / d.file).is_file()]
    if missing:
        print(f"nothing to measure: {', '.join(missing)} not in {args.corpus}")
        return 0
    child = benchlib.child_model_args(args.model, args.threads, extra)
    if child is None:
        return 0
    generate_args, shown = child
    print(f"# {shown}; {len(docs)} documents, {args.pages or 'all'} pages each", flush=True)

    with tempfile.TemporaryDirectory(prefix="qaforge-bench-languages-") as tmp:
        work = args.workdir or Path(tmp)
        print(HEADER, flush=True)
        results = []
        for doc in docs:  # each row as soon as it is known: a long run shows progress
            results.append(run_doc(doc, args.corpus, args.pages, work, generate_args,
                                   args.max_seconds))
            print(results[-1].row(), flush=True)
    print("\n".join(notes(results)))
    return 1 if any(r.exit_code and not r.stopped for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
