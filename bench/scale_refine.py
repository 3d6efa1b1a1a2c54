"""Refine at scale (``bench_scale.py --pairs``): synthetic suggestions files, real CLI.

Writes suggestions-format files straight into a work dir (no PDFs, no generate): chunks of
prose made of pseudo-words drawn from a seeded vocabulary, so every pair's text is its own
and the near-duplicate search does real work; one pair in 25 repeats an earlier question
(an exact duplicate) and one in 25 is an earlier pair with two words changed (a near
duplicate). Then runs ``qaforge refine WORK --backend fake --json`` in a child process and
reports wall time, the child's peak RSS and the size of what it wrote; then the same for
``qaforge export WORK --split 0.9``.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import benchlib

PAIRS_PER_CHUNK = 4
PAIRS_PER_FILE = 2_000
_SYLLABLES = ("ka", "lo", "mi", "ren", "sut", "va", "dor", "pel", "qui", "zan", "tor", "bex",
              "ny", "gra", "fol", "hem", "ju", "wis", "cal", "ost")


def vocabulary(size: int = 6_000, seed: int = 7) -> list[str]:
    """``size`` distinct pseudo-words of two to four syllables."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def _sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n))


def _pairs(rng: random.Random, words: list[str], start: int,
           earlier: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for k in range(PAIRS_PER_CHUNK):
        index = start + k
        if earlier and index % 25 == 7:  # exact duplicate question
            question, answer = rng.choice(earlier)
            out.append((question, answer + " again"))
            continue
        if earlier and index % 25 == 19:  # near duplicate: two words changed
            question, answer = rng.choice(earlier)
            tail = answer.split()
            tail[-1], tail[0] = rng.choice(words), rng.choice(words)
            out.append((question.replace("?", " now?"), " ".join(tail)))
            continue
        subject = f"{rng.choice(words)} {rng.choice(words)} {index}"
        question = f"What does the {subject} do when the {_sentence(rng, words, 3)}?"
        answer = f"The {subject} {_sentence(rng, words, rng.randint(12, 24))}."
        out.append((question, answer))
    return out


def write_workdir(workdir: Path, pairs: int, seed: int = 11) -> int:
    """Suggestions files holding ``pairs`` pairs in all; returns the number of files."""
    words = vocabulary()
    rng = random.Random(seed)
    folder = workdir / "output_json"
    folder.mkdir(parents=True, exist_ok=True)
    files = 0
    made = 0
    while made < pairs:
        chunks: list[dict[str, Any]] = []
        earlier: list[tuple[str, str]] = []
        in_file = min(PAIRS_PER_FILE, pairs - made)
        for c in range(0, in_file, PAIRS_PER_CHUNK):
            pairs_here = _pairs(rng, words, made + c, earlier)[:in_file - c]
            earlier = (earlier + pairs_here)[-200:]
            text = " ".join(answer for _, answer in pairs_here) + " " + _sentence(rng, words, 40)
            chunks.append({
                "id": f"c{files}-{c}", "pages": [c // 8 + 1, c // 8 + 1],
                "headings": [f"Part {c // 400 + 1}"], "text": text, "raw": None,
                "error": None, "state": "generated",
                "suggestions": [{"id": f"p{files}-{c + j}", "question": q, "answer": a,
                                 "status": "draft"} for j, (q, a) in enumerate(pairs_here)]})
        doc = {"schema": "qaforge.suggestions/1",
               "source": {"file": f"manual_{files}.pdf", "sha256": "0" * 64,
                          "pages": in_file // 8 + 1},
               "generator": {"backend": "fake", "model": "gen-model", "prompt": "qa/v2",
                             "params": {}},
               "chunks": chunks}
        (folder / f"manual_{files}_suggestions.json").write_text(
            json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        files += 1
        made += in_file
    return files


def output_bytes(workdir: Path) -> dict[str, int]:
    """Sizes of the dataset, ``evaluation.json`` and its shards (if any)."""
    sizes = {"dataset": 0, "evaluation": 0, "shards": 0}
    dataset, evaluation = workdir / "cleaned_finetune.jsonl", workdir / "evaluation.json"
    sizes["dataset"] = dataset.stat().st_size if dataset.is_file() else 0
    sizes["evaluation"] = evaluation.stat().st_size if evaluation.is_file() else 0
    shards = workdir / "evaluation"
    if shards.is_dir():
        sizes["shards"] = sum(p.stat().st_size for p in shards.glob("*.jsonl"))
    return sizes


def stage_text(summary: dict[str, Any]) -> str:
    """``load 1.0 s, checks 2.0 s, ...``: refine's own step timers from its summary."""
    seconds = summary.get("seconds", {})
    return ", ".join(f"{name} {seconds[name]:.1f} s" for name in
                     ("load", "checks", "dedup", "judge", "correct", "write") if name in seconds)


def refine_line(root: Path, pairs: int, run_child: Any, cli: str, runner: str = "local"
                ) -> str:
    """Build a work dir of ``pairs`` pairs, refine it in a child process, one result line."""
    workdir = root / f"refine_{pairs}"
    files = write_workdir(workdir, pairs)
    argv = [sys.executable, "-c", cli, "refine", str(workdir), "--backend", "fake", "--json",
            "-q", "--runner", runner]
    with benchlib.LoadMonitor() as monitor:
        wall, rss, code, out = run_child(argv)
    if code != 0:
        return f"refine {pairs} pairs: exit {code}\n{out[-2000:]}"
    summary = json.loads(out[out.index("{"):])
    sizes = output_bytes(workdir)
    decisions = summary.get("decisions", {})
    line = (f"refine --backend fake --runner {runner} {pairs:8d} pairs ({files} files): "
            f"{wall:7.1f} s wall, peak RSS {rss:7.1f} MB, dataset {sizes['dataset'] / 1e6:.1f} "
            f"MB, evaluation.json {sizes['evaluation'] / 1e6:.1f} MB, shards "
            f"{sizes['shards'] / 1e6:.1f} MB; kept {decisions.get('kept', 0)}, duplicate "
            f"{decisions.get('duplicate', 0)}; stages {stage_text(summary)}; "
            f"{monitor.describe()}")
    wall, rss, code, out = run_child([sys.executable, "-c", cli, "export", str(workdir),
                                      "--split", "0.9", "--json"])
    exported = (f"exit {code}: {out[-300:]}" if code != 0 else
                f"{wall:7.1f} s wall, peak RSS {rss:7.1f} MB")
    return f"{line}\nexport --split 0.9 of the same {decisions.get('kept', 0)} rows: {exported}"
