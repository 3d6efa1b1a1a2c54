"""Prompt templates shipped as package data, overridable by a user's own file.

A template is a text file with a ``---system---`` section and a ``---user---`` section;
``{name}`` placeholders are filled with :meth:`str.format`-style substitution (only known
names are replaced, so braces in a user's text or in JSON examples stay as they are).
Names are versioned (``qa/v1`` is ``qa_v1.txt``): the version is recorded in every output
and is part of the cache keys, so changing a prompt re-runs exactly what it affects.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

#: the packaged Q&A prompt ``generate`` uses unless told otherwise (chosen by measurement;
#: no test depends on its wording)
DEFAULT_QA_PROMPT = "qa/v1"
_SECTION = re.compile(r"^---(system|user)---\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    system: str
    user: str

    def render(self, **values: object) -> list[dict[str, str]]:
        """Chat messages with the placeholders filled in."""
        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(
                lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0),
                template)

        messages = [{"role": "user", "content": fill(self.user).strip()}]
        system = fill(self.system).strip()
        return [{"role": "system", "content": system}, *messages] if system else messages

    def reading(self, **values: object) -> list[dict[str, str]]:
        """The messages :meth:`render` gives, cut right after the passage (``{text}`` and a
        ``</passage>`` closing it): the prefix every later call about the chunk can share.

        A prompt that begins like the one that drafted a chunk lets the engine serve the
        chunk from its prompt cache instead of reading it again (a judge call on 2 cores
        spent 11-16 s of its 13-17 s reading the chunk: docs/benchmarks.md 3.4). The
        template's own text is cut, so the prefix is character for character the
        rendering's.
        """
        start = self.user.find("{text}")
        if start < 0:
            raise ValueError(f"prompt {self.name}: has no {{text}} placeholder")
        end = start + len("{text}")
        closing = re.match(r"\s*</passage>", self.user[end:])
        if closing:
            end += closing.end()
        return PromptTemplate(self.name, self.system, self.user[:end]).render(**values)


def passage_values(document: str, pages: Sequence[int], headings: Sequence[str],
                   text: str) -> dict[str, str]:
    """How a chunk fills a drafting prompt's placeholders, the same in every stage (so a
    later prompt's :meth:`PromptTemplate.reading` matches the drafting one's)."""
    return {"document": document, "text": text,
            "pages": f"{pages[0]}-{pages[-1]}" if pages else "?",
            "headings": " > ".join(headings) or "(none)"}


def parse_template(name: str, text: str) -> PromptTemplate:
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], parts[2::2], strict=False))
    if "user" not in sections:
        raise ValueError(f"prompt {name}: needs a '---user---' section")
    return PromptTemplate(name, sections.get("system", ""), sections["user"])


def load_prompt(name: str, override: str | Path | None = None) -> PromptTemplate:
    """Load ``name`` (e.g. ``"qa/v1"``) from the package, or from ``override`` when given."""
    if override:
        path = Path(override)
        return parse_template(f"{name}+{path.name}", path.read_text(encoding="utf-8"))
    resource = files(__package__).joinpath(name.replace("/", "_") + ".txt")
    if not resource.is_file():
        raise ValueError(f"unknown prompt {name!r}")
    return parse_template(name, resource.read_text(encoding="utf-8"))
