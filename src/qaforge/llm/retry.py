"""One retry for a request whose reply could not be used: the rule both model stages
(drafting pairs, judging and correcting them) follow."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from qaforge.llm.base import ChatRequest, Completion, LLMClient, LLMError

T = TypeVar("T")
#: ``read(index, result, first)`` -> ``(outcome, retry request or None)``; ``first`` is the
#: first try's outcome when ``result`` answers the retry, else None
ReadFn = Callable[[int, Completion | LLMError, T | None], tuple[T, ChatRequest | None]]


def stream_with_retry(client: LLMClient, requests: Sequence[ChatRequest],
                      read: ReadFn[T]) -> Iterator[tuple[int, T]]:
    """Run ``requests`` and yield ``(index, outcome)`` as each outcome is final.

    ``read`` turns a result into an outcome, and on the first try may ask for a retry by
    returning its request. Retries are sent together after the first round (so the slots
    stay busy meanwhile); a retry's outcome is final.
    """
    retry: dict[int, tuple[ChatRequest, T]] = {}
    for index, result in client.stream(requests):
        outcome, again = read(index, result, None)
        if again is None:
            yield index, outcome
        else:
            retry[index] = (again, outcome)
    order = list(retry)
    for position, result in client.stream([retry[i][0] for i in order]):
        index = order[position]
        outcome, _ = read(index, result, retry[index][1])
        yield index, outcome
