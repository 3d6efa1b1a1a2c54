"""Judge quality: how often refine's gate agrees with hand labels.

Reads the labelled sets in ``bench/data`` (``judge_pairs.jsonl`` drafted by a real model on
files of ``../shared/pdfs``, ``judge_labels.jsonl`` labelled by hand following
``docs/labelling-guideline.md``, ``judge_perturbed.jsonl`` made from ``Clear`` pairs by
``bench/judge_set.py perturb``; the same three with ``_r2``: a second round on other
documents, labelled after the judge's checks and thresholds were chosen on the first, so
it measures them on pairs they were not fitted to), writes them as suggestions files into
work dirs (one for each set of hand-labelled pairs and one per perturbation, so that a
perturbed copy is never deduplicated against its original), runs the real ``qaforge
refine --no-correct`` on each with the given model, and prints, against the labels:

* label accuracy: the judge's label equals the hand label (three-way);
* keep precision (hand ``Clear`` among the pairs refine kept) and keep recall (kept among
  the hand ``Clear`` pairs); what the user trains on is what refine keeps;
* per defect class: the share of pairs with that defect that refine did not keep;
* judge time per pair (refine's wall time over the pairs it judged).

    python bench/judge_quality.py --model ~/.cache/qaforge/models/qwen2.5-coder-1.5b*.gguf
    python bench/judge_quality.py            # the bundled demo model
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import benchlib
from judge_set import DATA, read_jsonl

LABELS = ("Clear", "Needs Improvement", "Unclear")


def gold_labels(path: Path) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in read_jsonl(path)}


def write_workdir(workdir: Path, rows: list[dict[str, Any]]) -> None:
    """Suggestions files for ``rows``: one file per document, one chunk per chunk id, every
    pair a draft whose id is the labelled set's id (evaluation.json's ``pair_id``)."""
    by_doc: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        chunk = by_doc[row["source"]].setdefault(row["chunk_id"], {
            "id": row["chunk_id"], "pages": row.get("pages") or [1], "headings": [],
            "text": row["chunk"], "suggestions": [], "raw": None, "error": None})
        chunk["suggestions"].append({"id": row["id"], "question": row["question"],
                                     "answer": row["answer"], "status": "draft"})
    out = workdir / "output_json"
    out.mkdir(parents=True, exist_ok=True)
    for doc, chunks in by_doc.items():
        data = {"schema": "qaforge.suggestions/1",
                "source": {"file": doc, "sha256": "0" * 64, "pages": 1},
                "generator": {"backend": "labelled-set", "model": "", "prompt": "", "params": {}},
                "chunks": list(chunks.values())}
        name = Path(doc).stem + "_suggestions.json"
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def run_refine(workdir: Path, model: str, extra: list[str]) -> tuple[float, dict[str, Any]]:
    command = [sys.executable, "-m", "qaforge", "refine", str(workdir), "--no-correct", *extra]
    if model:
        command += ["--model", model]
    start = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL,
                   env={**os.environ, "NO_COLOR": "1"})
    seconds = time.perf_counter() - start
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    return seconds, {e["pair_id"]: e for e in evaluation["entries"]}


def score(rows: list[dict[str, Any]], gold: dict[str, dict[str, Any]],
          entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The figures for one set of rows (see the module docstring)."""
    judged = right = kept = kept_clear = clear = duplicates = 0
    confusion: Counter[tuple[str, str]] = Counter()
    caught: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        entry, label = entries.get(row["id"]), gold[row["id"]]["label"]
        if entry is None or entry["final_decision"] == "duplicate":
            duplicates += 1
            continue
        verdict = (entry.get("verdict") or {}).get("label")
        if verdict:
            judged += 1
            right += verdict == label
            confusion[(label, verdict)] += 1
        is_kept = entry["final_decision"] == "kept"
        kept += is_kept
        clear += label == "Clear"
        kept_clear += is_kept and label == "Clear"
        for defect in gold[row["id"]].get("defects") or []:
            caught[defect][0] += not is_kept
            caught[defect][1] += 1
    return {"pairs": len(rows) - duplicates, "duplicates": duplicates, "judged": judged,
            "accuracy": right / judged if judged else 0.0, "kept": kept,
            "keep_precision": kept_clear / kept if kept else 0.0,
            "keep_recall": kept_clear / clear if clear else 0.0,
            "caught": {d: (c, n) for d, (c, n) in sorted(caught.items())},
            "confusion": confusion}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="", help="judge model (GGUF); default: bundled")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the work dirs here (default: a temporary folder)")
    parser.add_argument("--sets", default="",
                        help="only the sets whose names start with one of these (comma list, "
                             "e.g. held-out or held-out,hand-labelled:perturbed)")
    parser.add_argument("refine_args", nargs="*", help="extra flags for qaforge refine")
    args = parser.parse_args()
    sets: dict[str, list[dict[str, Any]]] = {}
    gold: dict[str, dict[str, Any]] = {}
    for suffix, name in (("", "hand-labelled"), ("_r2", "held-out")):
        if not (args.data / f"judge_labels{suffix}.jsonl").exists():
            continue
        pairs = read_jsonl(args.data / f"judge_pairs{suffix}.jsonl")
        labels = gold_labels(args.data / f"judge_labels{suffix}.jsonl")
        gold.update(labels)
        sets[name] = [p for p in pairs if p["id"] in labels]
        perturbed_file = args.data / f"judge_perturbed{suffix}.jsonl"
        for row in read_jsonl(perturbed_file) if perturbed_file.exists() else []:
            gold[row["id"]] = row
            sets.setdefault(f"{name}:perturbed:{row['perturbation']}", []).append(row)
    if args.sets:
        wanted = tuple(args.sets.split(","))
        sets = {name: rows for name, rows in sets.items() if name.startswith(wanted)}
    perturbed = [r for name, rows in sets.items() if ":perturbed:" in name for r in rows]
    model = str(benchlib.find_model(args.model) or "")
    print(f"# judge model: {Path(model).name or 'bundled'}; "
          f"{len(sets.get('hand-labelled', []))} hand-labelled pairs (the judge was designed on "
          f"these), {len(sets.get('held-out', []))} held out (labelled after), "
          f"{len(perturbed)} perturbed")
    with tempfile.TemporaryDirectory() as tmp:
        root = args.workdir or Path(tmp)
        everything: list[dict[str, Any]] = []
        all_entries: dict[str, dict[str, Any]] = {}
        total_seconds = 0.0
        for name, rows in sets.items():
            workdir = root / name.replace(":", "-")
            write_workdir(workdir, rows)
            with benchlib.LoadMonitor() as monitor:
                seconds, entries = run_refine(workdir, model, args.refine_args)
            total_seconds += seconds
            everything += rows
            all_entries.update(entries)
            s = score(rows, gold, entries)
            print(f"{name}: {s['pairs']} pairs ({s['duplicates']} duplicates left out), "
                  f"label right {s['accuracy']:.0%} of {s['judged']} judged, kept {s['kept']}, "
                  f"keep precision {s['keep_precision']:.0%}, recall {s['keep_recall']:.0%}; "
                  f"{seconds / max(1, s['judged']):.1f} s/pair; others {monitor.others:.0%}")
        rounds = {"designed on (hand-labelled + perturbed)": "hand-labelled",
                  "HELD OUT (labelled after the design; + perturbed)": "held-out", "ALL": ""}
        for title, prefix in rounds.items():
            rows = [r for name, rs in sets.items() if name.startswith(prefix) for r in rs]
            if not rows:
                continue
            s = score(rows, gold, all_entries)
            print(f"{title}: label right {s['accuracy']:.1%} of {s['judged']}, kept "
                  f"{s['kept']}, keep precision {s['keep_precision']:.1%}, keep recall "
                  f"{s['keep_recall']:.1%}")
        s = score(everything, gold, all_entries)
        print(f"  {total_seconds / max(1, s['judged']):.1f} s/pair over all sets")
        for defect, (c, n) in s["caught"].items():
            print(f"  {defect}: {c}/{n} not kept")
        print("  confusion (hand -> judge):",
              ", ".join(f"{h} -> {j}: {n}" for (h, j), n in sorted(s["confusion"].items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
