"""The on-disk MinHash band index: what a lookup returns as the index fills."""

from __future__ import annotations

from qaforge.refine.near_index import BANDS, WEAK_LIMIT, NearIndex


def query_keys() -> list[int]:
    return [1_000 + band for band in range(BANDS)]


def add_sharing(index: NearIndex, item: int, shared: int) -> None:
    """Add ``item`` with ``shared`` of the query's band keys and its own keys elsewhere."""
    keys = query_keys()[:shared] + [item * BANDS + band + 10**6 for band in range(shared, BANDS)]
    index.add(item, keys, f"text {item}", 7)


def test_a_small_index_returns_every_item_sharing_a_band() -> None:
    with NearIndex() as index:
        for item in range(10):
            add_sharing(index, item, 1)
        add_sharing(index, 10, 0)
        assert [row[0] for row in index.candidates(query_keys())] == list(range(10))
        assert index.candidates(query_keys())[3] == (3, "text 3", 7)


def test_a_full_index_bounds_the_chance_candidates_but_keeps_the_strong_ones() -> None:
    with NearIndex() as index:
        for item in range(WEAK_LIMIT + 200):
            add_sharing(index, item, 1)
        strong = [WEAK_LIMIT + 200, WEAK_LIMIT + 300]
        add_sharing(index, strong[0], 2)
        add_sharing(index, strong[1], BANDS)
        found = [row[0] for row in index.candidates(query_keys())]
        shared = dict(index.shared(query_keys()))
    assert found == list(range(WEAK_LIMIT)) + strong
    assert len(shared) == WEAK_LIMIT + 202 and shared[strong[0]] == 2
    assert shared[strong[1]] == BANDS and shared[0] == 1


def test_many_strong_candidates_are_all_returned() -> None:
    with NearIndex() as index:
        for item in range(1_200):  # past one batch of bound parameters
            add_sharing(index, item, 3)
        assert len(index.candidates(query_keys())) == 1_200


def test_the_cap_is_the_index_own() -> None:
    with NearIndex(weak_limit=3) as index:
        for item in range(10):
            add_sharing(index, item, 1)
        assert [row[0] for row in index.candidates(query_keys())] == [0, 1, 2]
