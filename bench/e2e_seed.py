"""The seed's pipeline on the chunks a ``qaforge run`` generated for, for ``bench_e2e.py``.

The seed's way (``bench_generate.py`` (a): a transformers text-generation pipeline, one
chunk at a time, its free-text ``**Question 1:**`` prompt, greedy, 500 new tokens) runs on
exactly the chunks qaforge sent to its model, and the pairs its parser finds are written
into a work dir of their own as suggestions files. ``qaforge refine`` with the same judge
model then sorts them with the same checks and judge as qaforge's own pairs, so "good
pairs" (rows that pass both) and the sentences they cover are counted alike for both.

Only the seed's generation is timed: its own check stage is not run, which favours the
seed in a per-minute comparison. Its pairs are refined with ``--no-correct``, so the seed
is credited only with pairs it wrote itself, not ones qaforge's corrector rewrote.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_generate import (
    SEED_MAX_NEW_TOKENS,
    release_seed_pipelines,
    seed_messages,
    seed_pipeline,
    seed_reply,
)


@dataclass
class SeedRun:
    """What the seed's generation did: chunks, parsed pairs, seconds (model load apart)."""

    chunks: int
    pairs: int
    seconds: float
    load_seconds: float

    @property
    def minutes(self) -> float:
        """Generation plus loading the model, as qaforge's wall includes its engine start."""
        return (self.seconds + self.load_seconds) / 60


def sent_chunks_workdir(workdir: Path, seed_work: Path, model: Path, threads: int,
                        pairs: int = 3, max_new_tokens: int = SEED_MAX_NEW_TOKENS) -> SeedRun:
    """Run the seed on every chunk of ``workdir`` that qaforge sent to its model (generated
    or failed) and write its parsed pairs into ``seed_work``'s suggestions files (same
    chunks, same sources)."""
    from qaforge.qa_parsing import parse_pairs
    from qaforge.records import Suggestion, model_pair_id
    from qaforge.suggestions import iter_suggestion_files, load_suggestions, write_suggestions
    from qaforge.workspace import output_path

    pipe, tokenizer, load = seed_pipeline(model, threads)
    chunks = found = 0
    seconds = 0.0
    for path in iter_suggestion_files(workdir):
        data = load_suggestions(path).data.model_copy(deep=True)
        for chunk in data.chunks:
            if chunk.state == "pending":  # skipped as nothing to learn, or never sent
                chunk.suggestions = []
                continue
            started = time.perf_counter()
            reply = seed_reply(pipe, tokenizer, seed_messages(chunk.text, pairs),
                               max_new_tokens)
            seconds += time.perf_counter() - started
            parsed = parse_pairs(reply).pairs
            chunk.suggestions = [
                Suggestion(id=model_pair_id(chunk.id, i, q, a), question=q, answer=a)
                for i, (q, a) in enumerate(parsed)]
            chunk.raw, chunk.error, chunk.state = reply, None, "generated"
            chunks += 1
            found += len(parsed)
        data.generator.backend, data.generator.prompt = "seed (transformers)", "seed"
        write_suggestions(output_path(seed_work, path.name), data, expected_revision=None)
    release_seed_pipelines()  # the refine that sorts these pairs starts its own engine
    return SeedRun(chunks, found, seconds, load)


# ------------------------------------------------------------------ good pairs per minute

@dataclass
class Yield:
    """What a pipeline's run gave per minute, counted from its ``evaluation.json``."""

    label: str
    minutes: float
    good: int  # dataset rows: pairs that passed the checks and the judge (or were corrected)
    kept: int  # of those, the ones kept as drafted
    covered: int  # informative sentences the dataset's evidence touches
    informative: int
    tokens: int | None  # tokens generated (generation and refine), when known

    @classmethod
    def of(cls, label: str, summary: dict[str, Any], minutes: float,
           generate_tokens: int | None) -> Yield:
        decisions = summary.get("decisions", {})
        coverage = summary.get("sentence_coverage", {})
        refine_tokens = summary.get("model_calls", {}).get("completion_tokens")
        tokens = None if generate_tokens is None or refine_tokens is None \
            else generate_tokens + refine_tokens
        return cls(label, minutes, int(summary.get("dataset_rows", 0)),
                   int(decisions.get("kept", 0)), int(coverage.get("covered_sentences", 0)),
                   int(coverage.get("informative_sentences", 0)), tokens)

    @property
    def good_per_min(self) -> float:
        return self.good / self.minutes if self.minutes > 0 else 0.0

    @property
    def covered_per_min(self) -> float:
        return self.covered / self.minutes if self.minutes > 0 else 0.0

    def line(self) -> str:
        per_pair = "-" if self.tokens is None or not self.good else f"{self.tokens / self.good:.0f}"
        return (f"{self.label}: {self.good} good pairs ({self.kept} kept as drafted) in "
                f"{self.minutes:.1f} min = {self.good_per_min:.2f} good pairs/min; "
                f"{self.covered} of {self.informative} informative sentences covered = "
                f"{self.covered_per_min:.2f}/min; tokens generated per good pair {per_pair}")


GENERATED_TOKENS = re.compile(r"generate time\s*[│|]\s*[\d.]+ s \(([\d,]+) tokens generated")


def generated_tokens(log: str) -> int | None:
    """The tokens ``qaforge run``'s generate stage reports in its summary table."""
    found = GENERATED_TOKENS.search(log)
    return int(found.group(1).replace(",", "")) if found else None


def refine_seed_pairs(seed_work: Path, model: Path, threads: int, cli: str
                      ) -> tuple[dict[str, Any], str]:
    """``qaforge refine`` of the seed's pairs with the same model, no correction; returns
    (the summary of its evaluation.json, or {} on failure; the last of its output)."""
    argv = [sys.executable, "-c", cli, "refine", str(seed_work), "--model", str(model),
            "--threads", str(threads), "--no-correct"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    evaluation = seed_work / "evaluation.json"
    if done.returncode != 0 or not evaluation.exists():
        return {}, (done.stdout + done.stderr)[-2000:]
    return json.loads(evaluation.read_text(encoding="utf-8"))["summary"], ""
