"""Reading ``cleaned_finetune.jsonl`` and writing each row in the shape a trainer reads.

Every exported row keeps its provenance (``id``, ``source_file``, ``document``, ``pages``,
``chunk_id``, ``label``, ``decision``) as columns beside the conversation: trainers read
only their own columns, and the row joins ``evaluation.json`` on ``(source_file, id)``.

Reasoning kept with ``--reasoning keep`` is never part of an answer: in the chat formats
(``messages``, ``prompt-completion``) it is the assistant message's ``reasoning_content``,
the name reasoning models' chat templates read (Qwen3's renders it as the turn's
``<think>`` block) and their servers return; in ``alpaca`` and ``sharegpt`` it is a
``reasoning_content`` column beside the row, for the final answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from qaforge.errors import ExportError, JsonFileError

ExportFormat = Literal["messages", "prompt-completion", "alpaca", "sharegpt"]
FORMATS: tuple[ExportFormat, ...] = ("messages", "prompt-completion", "alpaca", "sharegpt")
#: provenance columns written by ``qaforge refine``, carried into every exported row
PROVENANCE = ("id", "source_file", "document", "pages", "chunk_id", "label", "decision")
#: an assistant message's reasoning, beside its ``content`` (see the module docstring)
REASONING = "reasoning_content"


@dataclass(slots=True)
class Conversation:
    """One dataset row as an optional system prompt and (user, assistant) turns."""

    system: str = ""
    turns: list[tuple[str, str]] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: turn index -> the reasoning behind that turn's answer (only turns that have one)
    reasoning: dict[int, str] = field(default_factory=dict)

    @property
    def group(self) -> tuple[str, str]:
        """(document, chunk id) for a split that keeps each source on one side."""
        document = self.provenance.get("source_file") or self.provenance.get("document")
        return str(document or ""), str(self.provenance.get("chunk_id") or "")


def read_dataset(path: Path) -> list[Conversation]:
    """Rows of a ``cleaned_finetune.jsonl``; a bad line raises naming file and line."""
    return list(iter_dataset(path))


def iter_dataset(path: Path) -> Iterator[Conversation]:
    """:func:`read_dataset` one row at a time (a large dataset is never held whole)."""
    if not path.is_file():
        raise ExportError(f"{path}: not found (run `qaforge refine` first)")
    with open(path, encoding="utf-8", newline="") as lines:
        # the lines str.splitlines() gives, as before: a file may hold \r or \u2028
        for number, line in enumerate(_split_lines(lines), start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise JsonFileError(path, f"invalid JSON: {exc.msg}", number,
                                    exc.colno) from exc
            try:
                yield conversation_of(data)
            except ExportError as exc:
                raise JsonFileError(path, str(exc), number, 1) from exc


def _split_lines(handle: TextIO) -> Iterator[str]:
    """What ``handle.read().splitlines()`` gives, read one line at a time."""
    for physical in handle:
        if physical.endswith(("\n", "\r")):
            body = physical.removesuffix("\n").removesuffix("\r")
            yield from (body + "\n").splitlines()
        else:
            yield from physical.splitlines()


def conversation_of(row: Any) -> Conversation:
    """Check a ``{"messages": [...]}`` row: optional system, then user/assistant turns."""
    messages = row.get("messages") if isinstance(row, dict) else None
    if not isinstance(messages, list) or not messages:
        raise ExportError('expected {"messages": [...]}')
    if not all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages):
        raise ExportError("every message needs a string 'content'")
    conversation = Conversation(provenance={k: row[k] for k in PROVENANCE if k in row})
    if messages[0].get("role") == "system":
        conversation.system = messages[0]["content"]
        messages = messages[1:]
    roles = [m.get("role") for m in messages]
    if not messages or len(messages) % 2 or roles != ["user", "assistant"] * (len(roles) // 2):
        raise ExportError(f"roles must alternate user/assistant, found {roles}")
    conversation.turns = [(messages[i]["content"], messages[i + 1]["content"])
                          for i in range(0, len(messages), 2)]
    for turn, answer in enumerate(messages[1::2]):
        thought = answer.get(REASONING)
        if thought is not None and not isinstance(thought, str):
            raise ExportError(f"'{REASONING}' must be a string")
        if thought:
            conversation.reasoning[turn] = thought
    return conversation


def _chat(conv: Conversation) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": conv.system}] if conv.system else []
    for turn, (user, assistant) in enumerate(conv.turns):
        answer = {"role": "assistant", "content": assistant}
        if turn in conv.reasoning:
            answer[REASONING] = conv.reasoning[turn]
        messages += [{"role": "user", "content": user}, answer]
    return messages


def _final_reasoning(conv: Conversation, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` with the final answer's reasoning as a column, when it has one."""
    thought = conv.reasoning.get(len(conv.turns) - 1)
    return {**row, REASONING: thought} if thought else row


def to_messages(conv: Conversation) -> dict[str, Any]:
    return {"messages": _chat(conv)}


def to_prompt_completion(conv: Conversation) -> dict[str, Any]:
    """TRL's conversational prompt/completion: the loss falls on the completion only."""
    messages = _chat(conv)
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def to_alpaca(conv: Conversation) -> dict[str, Any]:
    instruction, output = conv.turns[-1]
    row: dict[str, Any] = {"instruction": instruction, "input": "", "output": output}
    if conv.system:
        row["system"] = conv.system
    if len(conv.turns) > 1:
        row["history"] = [list(turn) for turn in conv.turns[:-1]]
    return _final_reasoning(conv, row)


def to_sharegpt(conv: Conversation) -> dict[str, Any]:
    turns = []
    for user, assistant in conv.turns:
        turns += [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]
    row: dict[str, Any] = {"conversations": turns}
    if conv.system:
        row["system"] = conv.system
    return _final_reasoning(conv, row)


CONVERTERS = {"messages": to_messages, "prompt-completion": to_prompt_completion,
              "alpaca": to_alpaca, "sharegpt": to_sharegpt}


def export_row(conv: Conversation, fmt: ExportFormat) -> dict[str, Any]:
    """The row in ``fmt`` followed by its provenance columns."""
    return {**CONVERTERS[fmt](conv), **conv.provenance}


def jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
