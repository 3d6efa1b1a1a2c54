"""A train/validation split that keeps every source on one side.

Rows drafted from the same passage share wording, so a validation row whose chunk also fed
training rows measures recall, not generalisation. Whole groups (documents, or chunks when
there is one document) go to one side; both sides get rows, and the same seed gives the
same split.
"""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence
from typing import Literal, TypeVar

from qaforge.errors import ExportError

SplitBy = Literal["auto", "document", "chunk", "row"]
SPLIT_BY: tuple[SplitBy, ...] = ("auto", "document", "chunk", "row")
T = TypeVar("T")


def split_rows(rows: Sequence[T], train_fraction: float, seed: int = 0,
               groups: Sequence[Hashable] | None = None, unit: str = "row"
               ) -> tuple[list[T], list[T]]:
    """Split ``rows`` so that no group has rows on both sides (each row is its own group
    when ``groups`` is None). Whole groups, in seeded order, go to validation while they fit
    in ``1 - train_fraction`` of the rows (the smallest group when none fits); both sides
    get at least one group. Row order is kept on each side."""
    if not 0.0 < train_fraction < 1.0:
        raise ExportError(f"--split must be between 0 and 1 (exclusive), got {train_fraction}")
    keys: Sequence[Hashable] = list(range(len(rows))) if groups is None else groups
    members: dict[Hashable, list[int]] = {}
    for index, key in enumerate(keys):
        members.setdefault(key, []).append(index)
    if len(members) < 2:
        found = f"{len(rows)} row{'s' if len(rows) != 1 else ''}"
        raise ExportError(f"cannot split {found} from a single {unit}: one side would be "
                          "empty; export without --split, or pass --split-by row to accept "
                          "rows from the same source on both sides")
    order = sorted(members, key=repr)
    random.Random(seed).shuffle(order)
    target = len(rows) - min(max(round(len(rows) * train_fraction), 1), len(rows) - 1)
    validation: set[int] = set()
    for key in order:
        if len(validation) + len(members[key]) <= target:
            validation.update(members[key])
    if not validation:  # every group is larger than the target: take the smallest one
        smallest = min(order, key=lambda key: len(members[key]))
        validation.update(members[smallest])
    return ([row for i, row in enumerate(rows) if i not in validation],
            [row for i, row in enumerate(rows) if i in validation])


def resolve_split_by(split_by: SplitBy, groups: Sequence[tuple[str, str]]) -> SplitBy:
    """``auto``: by document when there are several, else by chunk. Rows without a source
    (from an older ``qaforge refine``) can only be split by row, and only when asked."""
    if split_by == "row":
        return "row"
    if any(not document or not chunk for document, chunk in groups):
        raise ExportError("the rows do not say which document and chunk they came from "
                          "(written by an older `qaforge refine`): run `qaforge refine` "
                          "again, or pass --split-by row")
    if split_by == "auto":
        return "document" if len({document for document, _ in groups}) > 1 else "chunk"
    return split_by


def group_keys(split_by: SplitBy, groups: Sequence[tuple[str, str]]
               ) -> list[Hashable] | None:
    """The key each row is grouped by (None: every row on its own)."""
    if split_by == "document":
        return [document for document, _ in groups]
    if split_by == "chunk":
        return list(groups)
    return None
