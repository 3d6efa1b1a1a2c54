"""The chunk budget: how many tokens a chunk may hold, and counting them once per text."""

from __future__ import annotations

from collections.abc import Callable

MIN_BUDGET = 128
MAX_BUDGET = 1536

TokenCounter = Callable[[str], int]


def default_chunk_budget(context_length: int, prompt_tokens: int, answer_tokens: int) -> int:
    """Chunk budget that leaves room for the prompt template and the answer.

    ``context_length - prompt_tokens - answer_tokens``, clamped to
    ``MIN_BUDGET..MAX_BUDGET`` (128..1536): below 128 tokens a chunk holds too little to ask
    about, above 1536 small models lose track and drafts get generic.
    """
    room = context_length - prompt_tokens - answer_tokens
    return max(MIN_BUDGET, min(MAX_BUDGET, room))


class CachedCounter:
    """Memoises ``count_tokens`` (it may be an HTTP call to the engine)."""

    def __init__(self, count_tokens: TokenCounter) -> None:
        self._count = count_tokens
        self._cache: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        cached = self._cache.get(text)
        if cached is None:
            cached = self._count(text)
            self._cache[text] = cached
        return cached
