"""Refine's record store reads its records back in file order or from the last back, a
page at a time, and groups them without splitting a chunk."""

from __future__ import annotations

from qaforge.refine.pair_record import PairRecord
from qaforge.refine.record_store import RecordStore


def records(chunks: int, per_chunk: int) -> list[PairRecord]:
    return [PairRecord(source_file="a.pdf", document="a", chunk_id=f"c{c}",
                       pair_id=f"c{c}-{i}", chunk_text=f"Chunk {c} says {c}.",
                       question=f"What does chunk {c} say ({i})?", answer=f"It says {c}.")
            for c in range(chunks) for i in range(per_chunk)]


def test_records_come_back_from_the_last_across_pages() -> None:
    with RecordStore() as store:  # more than two pages of 500
        store.add(records(401, 3))
        forward = [pos for pos, _ in store.records()]
        backward = [pos for pos, _ in store.records(last_first=True)]
        assert forward == list(range(1203)) and backward == forward[::-1]
        odd = [pos for pos, _ in store.records("pos % 2 = 1", last_first=True)]
        assert odd == list(range(1201, 0, -2))


def test_groups_from_the_last_end_where_a_chunk_ends() -> None:
    with RecordStore() as store:
        store.add(records(10, 3))
        groups = list(store.groups(4, last_first=True))
        assert [len(g) for g in groups] == [6, 6, 6, 6, 6]  # 4 or more, whole chunks
        assert groups[0][0][1].chunk_id == "c9" and groups[-1][-1][0] == 0
        for group in groups:
            assert len({record.chunk_id for _, record in group}) == 2
