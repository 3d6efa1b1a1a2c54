"""What the parser returns, and the wording of its problem reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Pair = tuple[str, str]


@dataclass(slots=True)
class ParsedPairs:
    """What :func:`parse_pairs` found."""

    pairs: list[Pair] = field(default_factory=list)
    """``(question, answer)``, stripped; pairs missing either part are dropped."""
    method: str = "none"
    """``json``, ``json-fenced``, ``json-embedded``, ``markdown``, ``qa-lines``, ``numbered``
    or ``none``."""
    error: str | None = None
    """Why nothing, or not everything, could be parsed; ``None`` when all went well."""


def plural(count: int, noun: str) -> str:
    if count == 1:
        return noun
    return noun[:-1] + "ies" if noun.endswith("y") else noun + "s"


def summarise(problems: Sequence[str]) -> str | None:
    if not problems:
        return None
    shown = "; ".join(problems[:3])
    more = len(problems) - 3
    return f"{shown}; and {more} more" if more > 0 else shown
