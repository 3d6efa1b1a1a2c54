"""Q&A prompt quality check: how many drafted pairs are usable, per template.

Drafts pairs for the same PDFs with each template (one engine, same settings, greedy) and
puts every pair through a few mechanical tests for what a small model gets wrong: a question
that is a stub instead of a question ("The passage"), one copied from the prompt itself, a
question without "?", a "[insert ...]" left to fill in, an answer that repeats the question
or is a word or two. Prints, per template, the chunks, the pairs, the usable ones and why
the others failed, and chunks/min; then usable pairs per chunk against the first template,
measured in the same run.

    python bench/qa_quality.py                                   # qa/v1 vs qa/v2, 3 papers
    python bench/qa_quality.py --templates qa/v1,my_prompt.txt
    python bench/qa_quality.py --score WORKDIR [WORKDIR ...]     # sort existing output only

The tests cannot tell a right answer from a wrong one (refine's judge does that); they
count the pairs that no judge should have to see.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import benchlib

PAPERS = "naacl06-shinyama.pdf,ieee-conf-2013.pdf,tableformer-acl-paper.pdf"
_WORDS = re.compile(r"[^\W_]+")
_FILL_IN = re.compile(r"\[[^\]]*\b(insert|question|answer|subject)\b", re.IGNORECASE)


def words(text: str) -> list[str]:
    return _WORDS.findall(text.lower())


def faults(question: str, answer: str, prompt_words: str = "") -> list[str]:
    """Why a drafted pair is unusable as it stands (empty: it passes). ``prompt_words``:
    the template's text as ``" ".join(words(text))``, to catch questions copied from it."""
    q, a = words(question), words(answer)
    found = []
    if len(q) < 4:
        found.append("stub question")
    elif prompt_words and " ".join(q) in prompt_words:
        found.append("copied from the prompt")
    if _FILL_IN.search(question) or _FILL_IN.search(answer):
        found.append("fill-in placeholder")
    if not question.rstrip().endswith("?"):
        found.append("no question mark")
    if len(a) < 3:
        found.append("answer of 1-2 words")
    elif " ".join(a) in " ".join(q):
        found.append("answer repeats the question")
    return found


@dataclass
class Score:
    chunks: int = 0
    pairs: int = 0
    usable: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def usable_per_chunk(self) -> float:
        return self.usable / max(self.chunks, 1)

    def line(self, label: str) -> str:
        share = self.usable / max(self.pairs, 1)
        why = ", ".join(f"{name} {n}" for name, n in self.reasons.most_common())
        speed = f"; {self.chunks / self.seconds * 60:.1f} chunks/min" if self.seconds else ""
        return (f"{label}: {self.chunks} chunks, {self.pairs} pairs, usable {self.usable} "
                f"({share:.0%}, {self.usable_per_chunk:.2f} per chunk); "
                f"failed: {why or 'none'}{speed}")


def score_workdir(workdir: Path, prompt_text: str = "") -> Score:
    score = Score()
    prompt_words = " ".join(words(prompt_text))
    for path in sorted((workdir / "output_json").glob("*_suggestions.json")):
        for chunk in json.loads(path.read_text(encoding="utf-8"))["chunks"]:
            score.chunks += 1
            pairs = chunk.get("suggestions")
            for pair in pairs if isinstance(pairs, list) else []:
                score.pairs += 1
                found = faults(str(pair.get("question", "")), str(pair.get("answer", "")),
                               prompt_words)
                score.usable += not found
                score.reasons.update(found)
    return score


def template_settings(spec: str) -> tuple[dict[str, str], str]:
    """GenerateSettings fields and the template's text, for a name (qa/v2) or a file."""
    from qaforge.prompts import load_prompt

    if Path(spec).is_file():
        return {"prompt_file": spec}, Path(spec).read_text(encoding="utf-8")
    prompt = load_prompt(spec)
    return {"prompt": spec}, prompt.system + prompt.user


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--templates", default="qa/v1,qa/v2",
                        help="names or files, comma-separated; the first is the baseline")
    parser.add_argument("--corpus", type=Path, default=benchlib.DEFAULT_CORPUS)
    parser.add_argument("--files", default=PAPERS, help="PDFs of the corpus, comma-separated")
    parser.add_argument("--model", default="", help="GGUF file (default: the bundled model)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--score", type=Path, nargs="+", default=[],
                        help="only sort the pairs already in these work dirs")
    args = parser.parse_args()
    if args.score:
        for workdir in args.score:
            print(score_workdir(workdir).line(str(workdir)))
        return 0

    from qaforge.config import GenerateSettings
    from qaforge.llm.engine import EmbeddedEngine
    from qaforge.runners.local import run_generate

    model = benchlib.find_model(args.model)
    pdfs = [args.corpus / name.strip() for name in args.files.split(",") if name.strip()]
    if model is None or not all(p.exists() for p in pdfs):
        print(f"nothing to measure: the bundled model or {args.files} in {args.corpus} missing")
        return 0
    threads, machine = benchlib.pick_threads(args.threads)
    print(f"# {machine}; model {model.name}; {len(pdfs)} files")
    scores: list[tuple[str, Score]] = []
    with EmbeddedEngine(model, concurrency=4, threads=threads) as engine:
        for spec in args.templates.split(","):
            fields, text = template_settings(spec.strip())
            with tempfile.TemporaryDirectory(prefix="qaforge-qa-quality-") as tmp:
                start = time.perf_counter()
                run_generate(pdfs, Path(tmp), client=engine,
                             settings=GenerateSettings(**fields))  # type: ignore[arg-type]
                seconds = time.perf_counter() - start
                score = score_workdir(Path(tmp), text)
            score.seconds = seconds
            scores.append((spec, score))
            print(score.line(spec), flush=True)
    (base_name, base), *others = scores
    for name, score in others:
        ratio = score.usable_per_chunk / max(base.usable_per_chunk, 1e-9)
        print(f"{name} / {base_name}: usable pairs per chunk {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
