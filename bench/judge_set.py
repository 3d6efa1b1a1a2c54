"""The labelled pair set that measures the judge: collect, perturb, check.

    python bench/judge_set.py collect WORKDIR [WORKDIR ...] --out bench/data/judge_pairs.jsonl
    python bench/judge_set.py perturb --pairs bench/data/judge_pairs.jsonl \
        --labels bench/data/judge_labels.jsonl --out bench/data/judge_perturbed.jsonl
    python bench/judge_set.py stats
    python bench/judge_set.py merge A.jsonl B.jsonl --out bench/data/judge_labels_r2.jsonl

``collect`` reads the drafted pairs of real work dirs (made with ``qaforge generate`` on
files of ``../shared/pdfs``) into one JSONL file: a stable ``id`` per pair, its document,
chunk id, pages, the chunk text, question and answer. Graders label that file by hand
following ``docs/labelling-guideline.md`` into ``judge_labels.jsonl``.

``perturb`` makes the second half of the set from pairs labelled ``Clear``: each
perturbation breaks one thing and carries the defect and label it implies (see
:data:`PERTURBATIONS`). It is deterministic (no model, no randomness beyond ``--seed``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data"


def pair_id(source: str, chunk_id: str, question: str, answer: str) -> str:
    digest = hashlib.sha256("\x1f".join((source, chunk_id, question, answer)).encode())
    return "p-" + digest.hexdigest()[:12]


def collect(workdirs: Iterable[Path]) -> list[dict[str, Any]]:
    """Every drafted pair with a question and an answer, in file and chunk order."""
    rows: list[dict[str, Any]] = []
    for workdir in workdirs:
        for path in sorted((workdir / "output_json").glob("*_suggestions.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            source = data["source"]["file"]
            for chunk in data["chunks"]:
                for pair in chunk.get("suggestions") or []:
                    if not isinstance(pair, dict):
                        continue
                    question, answer = pair.get("question", ""), pair.get("answer", "")
                    if not question.strip() or not answer.strip():
                        continue
                    rows.append({
                        "id": pair_id(source, chunk["id"], question, answer),
                        "source": source, "chunk_id": chunk["id"],
                        "pages": chunk.get("pages", []), "chunk": chunk["text"],
                        "question": question, "answer": answer,
                        "model": data.get("generator", {}).get("model", ""),
                    })
    return rows


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def _other_answer(row: dict[str, Any], rows: list[dict[str, Any]],
                  rng: random.Random) -> str | None:
    same_chunk = [r for r in rows if r["chunk_id"] == row["chunk_id"] and r["id"] != row["id"]
                  and r["answer"].strip().lower() != row["answer"].strip().lower()]
    return rng.choice(same_chunk)["answer"] if same_chunk else None


def _change_number(row: dict[str, Any], *_: Any) -> str | None:
    numbers = re.findall(r"\b\d+(?:\.\d+)?\b", row["answer"])
    if not numbers:
        return None
    target = numbers[0]
    changed = str(int(float(target)) * 2 + 3) if "." not in target else f"{float(target) * 2:.2f}"
    return row["answer"].replace(target, changed, 1)


def _truncate(row: dict[str, Any], *_: Any) -> str | None:
    words = row["answer"].split()
    if len(words) < 8:
        return None
    return " ".join(words[: max(4, len(words) // 2)])


def _dangling(row: dict[str, Any], *_: Any) -> str | None:
    first = _sentences(row["answer"])[0].rstrip(".")
    return f"{first}, as listed in the table below."


PassageDependent = re.compile(r"^(What|How|Why|Which|Who|When|Where)\s+(is|are|does|do|did|was|"
                              r"were|can)\s+(?:the|a|an)?\s*([\w-]+(?:\s+[\w-]+){0,3})")


def _passage_question(row: dict[str, Any], *_: Any) -> str | None:
    match = PassageDependent.match(row["question"])
    if not match:
        return None
    return f"According to the passage, {row['question'][0].lower()}{row['question'][1:]}"


#: name -> (which field it changes, the function, defect, label it implies)
PERTURBATIONS: dict[str, tuple[str, Callable[..., str | None], str, str]] = {
    "other_answer": ("answer", _other_answer, "answers_other_question", "Unclear"),
    "changed_number": ("answer", _change_number, "unsupported", "Unclear"),
    "truncated": ("answer", _truncate, "truncated", "Needs Improvement"),
    "dangling": ("answer", _dangling, "dangling_reference", "Needs Improvement"),
    "passage_question": ("question", _passage_question, "passage_dependent_question",
                         "Needs Improvement"),
}


def perturb(rows: list[dict[str, Any]], labels: dict[str, dict[str, Any]],
            seed: int = 0) -> list[dict[str, Any]]:
    """One perturbed copy per ``Clear`` pair and perturbation that applies to it."""
    rng = random.Random(seed)
    out = []
    for row in rows:
        if labels.get(row["id"], {}).get("label") != "Clear":
            continue
        for name, (field, make, defect, label) in PERTURBATIONS.items():
            value = make(row, rows, rng) if name == "other_answer" else make(row)
            if value is None or value == row[field]:
                continue
            new = {**row, field: value, "perturbation": name, "of": row["id"]}
            new["id"] = pair_id(row["source"], row["chunk_id"], new["question"], new["answer"])
            new["label"], new["defects"] = label, [defect]
            out.append(new)
    return out


#: the order in which labels are strict: when two graders differ, the stricter one wins
STRICTNESS = {"Clear": 0, "Needs Improvement": 1, "Unclear": 2}


def merge(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two graders' labels of the same pairs as one: the stricter label, the defects of
    both (when they agree on the label; else the stricter grader's), both notes."""
    other = {row["id"]: row for row in second}
    merged = []
    for a in first:
        b = other[a["id"]]
        strict = max((a, b), key=lambda r: STRICTNESS[r["label"]])
        defects = (sorted(set(a["defects"]) | set(b["defects"])) if a["label"] == b["label"]
                   else list(strict["defects"]))
        notes = " / ".join(n for n in (a.get("note", ""), b.get("note", "")) if n)
        merged.append({"id": a["id"], "label": strict["label"], "defects": defects,
                       "graders": {"A": a["label"], "B": b["label"]}, "note": notes})
    return merged


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("workdirs", nargs="+", type=Path)
    c.add_argument("--out", type=Path, default=DATA / "judge_pairs.jsonl")
    p = sub.add_parser("perturb")
    p.add_argument("--pairs", type=Path, default=DATA / "judge_pairs.jsonl")
    p.add_argument("--labels", type=Path, default=DATA / "judge_labels.jsonl")
    p.add_argument("--out", type=Path, default=DATA / "judge_perturbed.jsonl")
    p.add_argument("--seed", type=int, default=0)
    m = sub.add_parser("merge", help="two graders' label files into one")
    m.add_argument("first", type=Path)
    m.add_argument("second", type=Path)
    m.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("stats")
    s.add_argument("--labels", type=Path, default=DATA / "judge_labels.jsonl")
    s.add_argument("--perturbed", type=Path, default=DATA / "judge_perturbed.jsonl")
    args = parser.parse_args()
    if args.command == "collect":
        rows = collect(args.workdirs)
        write_jsonl(args.out, rows)
        print(f"{len(rows)} pairs from {len({r['source'] for r in rows})} documents -> {args.out}")
    elif args.command == "merge":
        merged = merge(read_jsonl(args.first), read_jsonl(args.second))
        write_jsonl(args.out, merged)
        same = sum(r["graders"]["A"] == r["graders"]["B"] for r in merged)
        keep = sum((r["graders"]["A"] == "Clear") == (r["graders"]["B"] == "Clear")
                   for r in merged)
        print(f"{len(merged)} pairs: same label {same}, same keep decision {keep}; "
              f"{dict(Counter(r['label'] for r in merged))} -> {args.out}")
    elif args.command == "perturb":
        labels = {r["id"]: r for r in read_jsonl(args.labels)}
        rows = perturb(read_jsonl(args.pairs), labels, args.seed)
        write_jsonl(args.out, rows)
        print(f"{len(rows)} perturbed pairs: {dict(Counter(r['perturbation'] for r in rows))}")
    else:
        labels = read_jsonl(args.labels)
        print(f"hand-labelled: {len(labels)} {dict(Counter(r['label'] for r in labels))}")
        print("defects:", dict(Counter(d for r in labels for d in r.get('defects', []))))
        if args.perturbed.exists():
            perturbed = read_jsonl(args.perturbed)
            print(f"perturbed: {len(perturbed)} "
                  f"{dict(Counter(r['perturbation'] for r in perturbed))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
