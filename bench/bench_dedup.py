"""Near-duplicate search at scale: candidates per lookup, and what the one-band cap changes.

On ``scale_refine.py``'s synthetic pairs (the text ``bench_scale.py --pairs`` refines):

1. the MinHash index (``refine/near_index.py``) filled pair by pair, printing every
   ``--every`` pairs how many candidates a lookup returned with and without the cap on
   items sharing a single band (without it, chance matches grow with the index), and the
   milliseconds a lookup took reading its bands;
2. ``deduplicate`` over the same pairs with the cap and without it: the duplicates found
   (count and whether the lists are identical) and each one's seconds.

    python bench/bench_dedup.py [--pairs 60000] [--every 20000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time

from scale_refine import _pairs, vocabulary

UNCAPPED = 10**9


def synthetic(count: int) -> list[tuple[str, str]]:
    words, rng = vocabulary(), random.Random(11)
    earlier: list[tuple[str, str]] = []
    out: list[tuple[str, str]] = []
    while len(out) < count:
        made = _pairs(rng, words, len(out), earlier)
        earlier = (earlier + made)[-200:]
        out += made
    return out[:count]


def candidate_growth(pairs: list[tuple[str, str]], every: int) -> None:
    from qaforge.refine.checks import normalise
    from qaforge.refine.dedup import COMPARE_CHARS
    from qaforge.refine.near_index import WEAK_LIMIT, NearIndex

    with NearIndex() as index:
        capped = uncapped = 0
        shared_s = 0.0
        for item, (question, answer) in enumerate(pairs, 1):
            text = normalise(f"{question} {answer}")[:COMPARE_CHARS]
            keys = index.keys(text)
            started = time.perf_counter()
            shared = [n for _, n in index.shared(keys)]
            shared_s += time.perf_counter() - started
            one_band = sum(1 for n in shared if n == 1)
            uncapped += len(shared)
            capped += len(shared) - one_band + min(one_band, WEAK_LIMIT)
            index.add(item, keys, text, len(text))
            if item % every == 0:
                print(f"pairs {item - every + 1}-{item}: candidates per lookup "
                      f"{uncapped / every:.1f} uncapped, {capped / every:.1f} capped "
                      f"(at most {WEAK_LIMIT} sharing one band); a lookup reads its bands "
                      f"in {shared_s / every * 1000:.3f} ms", flush=True)
                capped = uncapped = 0
                shared_s = 0.0


def dedup_with(pairs: list[tuple[str, str]], weak_limit: int) -> tuple[int, str, float]:
    from qaforge.refine.dedup import deduplicate
    from qaforge.refine.pair_record import PairRecord

    records = [PairRecord(source_file="output_json/a.json", document="a.pdf",
                          chunk_id=f"c{i // 4}", pair_id=f"p{i}", question=q, answer=a)
               for i, (q, a) in enumerate(pairs)]
    started = time.perf_counter()
    out = deduplicate(records, exact_limit=0, weak_limit=weak_limit)
    seconds = time.perf_counter() - started
    found = sorted((r.pair_id, r.duplicate_of or "") for r in out if r.decision == "duplicate")
    return len(found), hashlib.sha1(repr(found).encode()).hexdigest()[:12], seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=60_000)
    parser.add_argument("--every", type=int, default=20_000)
    args = parser.parse_args()
    pairs = synthetic(args.pairs)
    candidate_growth(pairs, min(args.every, args.pairs))
    from qaforge.refine.near_index import WEAK_LIMIT

    results = {}
    for name, limit in (("capped", WEAK_LIMIT), ("uncapped", UNCAPPED)):
        results[name] = dedup_with(pairs, limit)
        count, digest, seconds = results[name]
        print(f"dedup {args.pairs} pairs, {name}: {count} duplicates (list {digest}) in "
              f"{seconds:.1f} s", flush=True)
    same = results["capped"][:2] == results["uncapped"][:2]
    print(f"capped and uncapped find the same duplicates: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
