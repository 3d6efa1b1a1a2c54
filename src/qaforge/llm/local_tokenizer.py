"""A model's own tokenizer found on this machine, for servers that do not count tokens.

A server without ``/tokenize`` (Ollama, OpenAI, most hosted APIs) leaves chunk sizing to an
estimate (:func:`qaforge.languages.estimate_tokens`, conservative, so chunks come out up to
~1.7x smaller than they could be). When the model's ``tokenizer.json`` is already here, it
counts exactly: a local model folder, or a Hugging Face hub id whose tokenizer is in the
local hub cache. Nothing is downloaded; ``tokenizers`` is used when installed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TokenCounter = Callable[[str], int]


@functools.lru_cache(maxsize=16)
def local_token_counter(model: str) -> TokenCounter | None:
    """Count tokens with ``model``'s own tokenizer when it is on this machine, else ``None``."""
    path = _tokenizer_file(model)
    if path is None:
        return None
    try:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
    except Exception as exc:  # not installed, or a file it cannot read: estimate instead
        log.debug("no local tokenizer for %s: %s", model, exc)
        return None

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids) if text else 0

    return count


def _tokenizer_file(model: str) -> Path | None:
    if not model or "\x00" in model:
        return None
    folder = Path(model).expanduser()
    try:
        if (folder / "tokenizer.json").is_file():
            return folder / "tokenizer.json"
    except OSError:
        return None
    if model.count("/") != 1 or model.startswith(("/", ".", "~")):
        return None  # not a hub id ("org/name")
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(model, "tokenizer.json")
    except Exception:  # not installed, or not a valid repo id
        return None
    return Path(found) if isinstance(found, str) else None
