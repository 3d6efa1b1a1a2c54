"""Pieces packed into chunks: greedy in reading order under the section and heading rules,
small chunks merged into a neighbour, and every chunk's final text measured."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from qaforge.chunking.budget import CachedCounter


@dataclass(slots=True)
class Piece:
    """A piece of one element's text that fits the budget on its own."""

    text: str
    tokens: int
    page: int
    glue: str  # what joins it to the piece before it inside a chunk
    glue_tokens: int
    section: int  # index of the top-level section it belongs to
    path: tuple[str, ...]  # heading path in force
    after_heading: bool = False  # a heading stands between it and the previous piece
    # First part of a table or code block too long for one chunk: it starts a fresh chunk so
    # the header row or the opening lines stay with what follows them.
    opens_split_block: bool = False


@dataclass(slots=True)
class Group:
    """Consecutive pieces that go out as one chunk."""

    pieces: list[Piece] = field(default_factory=list)
    tokens: int = 0  # estimate: pieces plus glue; the final text is measured

    def joined_estimate(self, other: Group) -> int:
        return self.tokens + other.pieces[0].glue_tokens + other.tokens

    def extend(self, other: Group) -> None:
        self.tokens = self.joined_estimate(other)
        self.pieces.extend(other.pieces)

    def add(self, piece: Piece) -> None:
        self.tokens = (
            piece.tokens if not self.pieces else self.tokens + piece.glue_tokens + piece.tokens
        )
        self.pieces.append(piece)

    @property
    def first_section(self) -> int:
        return self.pieces[0].section

    @property
    def last_section(self) -> int:
        return self.pieces[-1].section

    def text(self) -> str:
        parts = [self.pieces[0].text]
        for piece in self.pieces[1:]:
            parts.append(piece.glue)
            parts.append(piece.text)
        return "".join(parts)


def pack(
    pieces: Sequence[Piece],
    max_tokens: int,
    min_tokens: int,
    tiny: Callable[[int], bool],
) -> list[Group]:
    """Greedy packing in reading order under the section and heading rules."""
    groups: list[Group] = []
    current = Group()
    for piece in pieces:
        if current.pieces:
            if piece.section != current.last_section:
                boundary = not (tiny(current.last_section) and tiny(piece.section))
            else:
                fresh_start = piece.after_heading or piece.opens_split_block
                boundary = fresh_start and current.tokens >= min_tokens
            overflow = current.tokens + piece.glue_tokens + piece.tokens > max_tokens
            if boundary or overflow:
                groups.append(current)
                current = Group()
        current.add(piece)
    if current.pieces:
        groups.append(current)
    return groups


def merge_small(
    groups: Sequence[Group],
    max_tokens: int,
    min_tokens: int,
    tiny: Callable[[int], bool],
) -> list[Group]:
    """Merge each chunk under ``min_tokens`` into its previous (else next) neighbour when
    both lie in the same top-level section (or two tiny ones) and the result fits."""

    def compatible(first: Group, second: Group) -> bool:
        if first.last_section == second.first_section:
            return True
        return tiny(first.last_section) and tiny(second.first_section)

    def fits(first: Group, second: Group) -> bool:
        return first.joined_estimate(second) <= max_tokens

    merged: list[Group] = []
    waiting: Group | None = None  # a small group to prepend to the next one
    for group in groups:
        if waiting is not None:
            if compatible(waiting, group) and fits(waiting, group):
                waiting.extend(group)
                group = waiting
            else:
                merged.append(waiting)
            waiting = None
        if group.tokens < min_tokens:
            if merged and compatible(merged[-1], group) and fits(merged[-1], group):
                merged[-1].extend(group)
                continue
            waiting = group
            continue
        merged.append(group)
    if waiting is not None:
        merged.append(waiting)
    return merged


def enforce_budget(
    groups: Sequence[Group], max_tokens: int, counter: CachedCounter
) -> list[tuple[Group, str]]:
    """Measure every chunk's final text; move trailing pieces to a new chunk while over.

    The packing works on estimates (sum of piece counts); tokenizers are nearly but not
    exactly additive, so this is where the budget becomes a guarantee.
    """
    done: list[tuple[Group, str]] = []
    queue = list(reversed(groups))
    while queue:
        group = queue.pop()
        text = group.text()
        spilled: list[Piece] = []
        while len(group.pieces) > 1 and counter(text) > max_tokens:
            spilled.append(group.pieces.pop())
            text = group.text()
        if spilled:
            rest = Group()
            for piece in reversed(spilled):
                rest.add(piece)
            queue.append(rest)
        done.append((group, text))
    return done
