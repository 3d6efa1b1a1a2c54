"""Reasoning ("thinking") in model replies, separated from the answer at the backend boundary.

Reasoning models write a draft of their answer before the answer itself: inline, as
``<think>...</think>`` (also ``<thinking>``/``<reasoning>``) at the start of the reply, or
with only the closing tag when the chat template already opened the block; or in a separate
``reasoning_content`` / ``reasoning`` field that some servers (vLLM, llama.cpp, Ollama)
return. A draft inside the reasoning must never be read as the answer, so every
:class:`~qaforge.llm.base.Completion` is split by :func:`split_reasoning` when it is made:
``text`` holds the answer only and ``reasoning`` the thinking. A reply that ran out of
tokens (or stopped) before its reasoning closed has no answer at all: its ``text`` is empty
and it is flagged, so the caller records a failure and keeps the reply verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPEN = re.compile(r"\s*<(think|thinking|reasoning)>", re.IGNORECASE)
_CLOSE_ONLY = re.compile(r"</think>", re.IGNORECASE)  # the template opened the block
_OPEN_ANYWHERE = re.compile(r"<think>", re.IGNORECASE)
#: the parse failure recorded for a reply cut off inside its reasoning
CUT_OFF = ("ran out of tokens while reasoning, before any answer; give the model room to "
           "think with [llm] reasoning_tokens")
STOPPED = "the reply ended inside its reasoning, before any answer"


@dataclass(frozen=True, slots=True)
class Split:
    """A reply taken apart: the answer, the reasoning, and whether the reasoning closed."""

    text: str
    reasoning: str = ""
    unfinished: bool = False


def split_reasoning(text: str, reasoning: str = "", finish_reason: str | None = None) -> Split:
    """Separate the leading reasoning blocks of ``text`` from the answer after them.

    ``reasoning`` is what the server already separated (``reasoning_content``); a reply whose
    reasoning never closed, or that has reasoning and no answer after it while it hit the
    token limit, comes back with empty ``text`` and ``unfinished`` set.
    """
    parts = [reasoning.strip()] if reasoning and reasoning.strip() else []
    rest = text
    while match := _OPEN.match(rest):
        tag = match.group(1)
        close = re.search(rf"</{tag}>", rest[match.end():], re.IGNORECASE)
        if close is None:
            parts.append(rest[match.end():].strip())
            return Split("", _joined(parts), True)
        parts.append(rest[match.end():match.end() + close.start()].strip())
        rest = rest[match.end() + close.end():]
    close_only = None if parts else _CLOSE_ONLY.search(rest)
    if close_only is not None and not _OPEN_ANYWHERE.search(rest, 0, close_only.start()):
        parts.append(rest[:close_only.start()].strip())
        rest = rest[close_only.end():]
    answer = rest.strip() if parts else rest
    cut_off = bool(parts) and not answer.strip() and finish_reason == "length"
    return Split(answer, _joined(parts), cut_off)


def reopen(prompt: str, reply: str) -> str:
    """``reply`` as the model continued it: after ``<think>`` when the chat template opened
    the block at the end of ``prompt`` (so a reply cut off while thinking is seen as such)."""
    opened = prompt.lower().rfind("<think>")
    if opened >= 0 and prompt.lower().rfind("</think>") < opened and \
            not prompt[opened + len("<think>"):].strip():
        return "<think>" + reply
    return reply


def _joined(parts: list[str]) -> str:
    return "\n\n".join(part for part in parts if part)


def verbatim(text: str, server_reasoning: str, unfinished: bool) -> str:
    """The reply as the model wrote it (for a failure's ``raw``): ``text`` as it came, after
    the reasoning the server returned apart, put back in its ``<think>`` block."""
    if not server_reasoning:
        return text
    closed = "" if unfinished and not text.strip() else "</think>\n"
    return f"<think>\n{server_reasoning}\n{closed}{text}"


def failure(unfinished: bool, finish_reason: str | None) -> str | None:
    """Why a reply has no answer because of its reasoning, or ``None`` when it has one."""
    if not unfinished:
        return None
    return CUT_OFF if finish_reason == "length" else STOPPED


def with_budget(max_tokens: int, reasoning_tokens: int) -> int:
    """``max_tokens`` for the wire: the answer's budget plus room to think first."""
    return max_tokens + max(0, reasoning_tokens)


def usable_context(context_length: int | None, reasoning_tokens: int) -> int | None:
    """The context a stage may fill with prompt and answer: the model's, less the thinking
    room, so prompt + answer + reasoning still fit."""
    if context_length is None or reasoning_tokens <= 0:
        return context_length
    return max(256, context_length - reasoning_tokens)
