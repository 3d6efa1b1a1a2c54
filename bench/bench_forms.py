"""Forms benchmark: usable pairs per chunk for every question form (issue 18 part 4).

The same page cuts of corpus documents go through the real ``qaforge run`` (generate, then
refine with the same model as judge) once per form (``--forms FORM``), each run in a child
process, one after the other. From every run's ``evaluation.json`` the script counts, per
form:

- chunks the model drafted for (skipped boilerplate chunks not counted) and pairs drafted;
- pairs that pass refine's deterministic checks (no issue at all: form, grounding, size);
- pairs kept in ``cleaned_finetune.jsonl`` (kept as they were or corrected), and kept pairs
  per chunk: the "usable pairs per chunk" of the issue;
- the judge's labels (Clear / Needs Improvement / Unclear) over the pairs it judged;
- the run's wall seconds (engine start included) and the other processes' CPU share.

A label is only as good as the judge: with the bundled demo model the labels are advisory
(it cannot judge); with Qwen2.5-Coder-1.5B they are right about half the time
(docs/benchmarks.md section 3.2). Kept pairs per chunk is therefore an upper bound on what
a person would keep, comparable between forms because every form meets the same judge.

    python bench/bench_forms.py                                     # bundled model
    python bench/bench_forms.py --model ~/.cache/qaforge/models/qwen2.5-coder-1.5b-*.gguf
    python bench/bench_forms.py --forms qa,yes_no --docs R-intro.pdf:11:2 --workdir /tmp/f
    python bench/bench_forms.py -- --backend fake                   # the script, no model

Everything after ``--`` goes to ``qaforge run`` as it is.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import benchlib
from bench_languages import BUSY, cut_pages

#: file:first page:pages of the default documents (running text, no tables of contents)
DOCS = "R-intro.pdf:11:2,reportlab-userguide.pdf:21:1"
FORMS = ("qa", "reasoning", "summary", "multi_turn", "yes_no", "fill_in")
LABELS = ("Clear", "Needs Improvement", "Unclear")


@dataclass
class Result:
    form: str
    chunks: int = 0
    pairs: int = 0
    checks_ok: int = 0
    kept: int = 0
    labels: Counter[str] = field(default_factory=Counter)
    issues: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    others: float = 0.0
    exit_code: int = 0

    def row(self) -> str:
        busy = "*" if self.others > BUSY else ""
        if self.exit_code:
            return f"| {self.form} | run exited {self.exit_code} | | | | | | {self.seconds:.0f} |"
        judged = sum(self.labels.values())
        labels = " / ".join(f"{self.labels[name]}" for name in LABELS)
        share = f"{self.kept / self.pairs:.0%}" if self.pairs else "-"
        return (f"| {self.form} | {self.chunks} | {self.pairs} | {self.checks_ok} | "
                f"{self.kept} ({share}) | **{self.kept / max(self.chunks, 1):.2f}** | "
                f"{labels} of {judged} | {self.seconds:.0f}{busy} | {self.others:.0%} |")


HEADER = ("| form | chunks | pairs | pass the checks | kept | kept per chunk | judge C / NI / U "
          "| seconds | others |\n|---|---|---|---|---|---|---|---|---|")


def score(result: Result, workdir: Path) -> None:
    """Count ``workdir``'s drafted chunks, and its pairs' checks, labels and decisions."""
    from qaforge.fileio import read_json
    from qaforge.refine.evaluation_file import read_entries

    for path in sorted((workdir / "output_json").glob("*_suggestions.json")):
        for chunk in read_json(path).get("chunks", []):
            if not chunk.get("skipped") and chunk.get("state", "pending") != "pending":
                result.chunks += 1
    for entry in read_entries(workdir / "evaluation.json"):
        result.pairs += 1
        codes = [str(issue.get("code")) for issue in entry.get("checks") or []]
        result.checks_ok += not codes
        result.issues.update(codes)
        result.kept += bool(entry.get("in_dataset"))
        verdict = entry.get("verdict") or {}
        if verdict.get("label") in LABELS:
            result.labels[verdict["label"]] += 1


def run_form(form: str, inputs: Path, work: Path, run_args: list[str]) -> Result:
    """``qaforge run`` on ``inputs`` with ``--forms form``; its figures."""
    result = Result(form)
    workdir = work / form
    argv = [sys.executable, "-m", "qaforge", "run", str(inputs), "-o", str(workdir),
            "--forms", form, "--quiet", *run_args]
    with benchlib.LoadMonitor() as load:
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
    result.seconds, result.others, result.exit_code = load.wall, load.others, done.returncode
    if done.returncode:
        print(f"{form}: qaforge run exited {done.returncode}:\n{done.stderr[-4000:]}",
              file=sys.stderr)
        return result
    score(result, workdir)
    return result


def main() -> int:
    parser = benchlib.child_parser(__doc__ or "", "run")
    parser.add_argument("--docs", default=DOCS,
                        help="file:first page:pages, comma-separated (default: %(default)s)")
    parser.add_argument("--forms", default=",".join(FORMS))
    parser.add_argument("--pairs", type=int, default=3, help="pairs per chunk (default 3)")
    own, extra = benchlib.split_child_args(sys.argv[1:])
    args = parser.parse_args(own)

    docs = [item.split(":") for item in filter(None, map(str.strip, args.docs.split(",")))]
    missing = [d[0] for d in docs if not (args.corpus / d[0]).is_file()]
    if missing:
        print(f"nothing to measure: {', '.join(missing)} not in {args.corpus}")
        return 0
    forms = [f.strip() for f in args.forms.split(",") if f.strip()]
    child = benchlib.child_model_args(args.model, args.threads, ["--pairs", str(args.pairs),
                                                                  *extra])
    if child is None:
        return 0
    run_args, shown = child
    with tempfile.TemporaryDirectory(prefix="qaforge-bench-forms-") as tmp:
        work = args.workdir or Path(tmp)
        inputs = work / "input"
        inputs.mkdir(parents=True, exist_ok=True)
        cuts = []
        for file, *rest in docs:
            first, count = (int(rest[0]) if rest else 1), (int(rest[1]) if len(rest) > 1 else 1)
            cuts.append(f"{file} p. {cut_pages(args.corpus / file, first, count, inputs / file)}")
        print(f"# {shown}; {'; '.join(cuts)}; {args.pairs} pairs per chunk; "
              "refine's judge: the same model", flush=True)
        print(HEADER, flush=True)
        results = []
        for form in forms:  # each row as soon as it is known
            results.append(run_form(form, inputs, work, run_args))
            print(results[-1].row(), flush=True)
    print()
    for r in results:
        if not r.exit_code:
            issues = ", ".join(f"{code} {n}" for code, n in r.issues.most_common(5))
            print(f"{r.form}: most common check issues: {issues or 'none'}")
    if any(r.others > BUSY for r in results):
        print(f"`*`: other processes took over {BUSY:.0%} of the machine: no speed figure")
    return 1 if any(r.exit_code for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
