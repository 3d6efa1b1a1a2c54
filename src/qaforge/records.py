"""Record types shared by every stage.

One type per concept, all JSON-safe (``model_dump(mode="json")`` gives plain dicts), so the
same records travel through the local runner, a Ray cluster, and the files on disk.

The suggestions file (``output_json/<pdf>_suggestions.json``) is :class:`SuggestionsFile`.
Its models allow unknown fields so that anything a person adds by hand survives a rewrite.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_serializer
from pydantic import SerializerFunctionWrapHandler as Wrap

SUGGESTIONS_SCHEMA = "qaforge.suggestions/1"

ElementKind = Literal["heading", "paragraph", "list_item", "table", "caption", "code"]
PairStatus = Literal["draft", "accepted", "edited", "rejected"]
ChunkState = Literal["pending", "generated", "failed"]
REVIEWED_STATUSES: frozenset[str] = frozenset({"accepted", "edited", "rejected"})


def content_id(prefix: str, *parts: str, length: int = 16) -> str:
    """Stable id from content: ``prefix-`` plus the first ``length`` hex digits of a sha256."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"{prefix}-{digest[:length]}"


class Element(BaseModel):
    """One structural piece of a document, in reading order. Formats without pages count
    sections instead (``page`` is the 1-based section: EPUB chapter, or top-level heading
    of DOCX, HTML, Markdown and text), and give the source ``line`` where they know it."""

    model_config = ConfigDict(extra="forbid")

    kind: ElementKind
    text: str
    page: int = Field(ge=1, description="1-based page number (section number without pages)")
    level: int | None = Field(default=None, description="heading level, 1 = top")
    line: int | None = Field(default=None, description="1-based source line (Markdown, text)")


class PageIssue(BaseModel):
    """A page whose text layer is missing or garbage (a candidate for OCR)."""

    page: int
    reason: str


class Document(BaseModel):
    """A PDF after extraction: elements in reading order plus what went wrong per page."""

    file: str = Field(description="file name, e.g. manual.pdf")
    path: str = Field(description="path the PDF was read from")
    sha256: str
    pages: int
    elements: list[Element] = Field(default_factory=list)
    page_issues: list[PageIssue] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class Suggestion(BaseModel):
    """One question/answer pair as a person sees it in the suggestions file."""

    model_config = ConfigDict(extra="allow")

    id: str
    question: str
    answer: str
    status: PairStatus = "draft"
    #: the question form (:mod:`qaforge.forms`); ``turns``: a multi_turn pair's whole
    #: conversation ({role, content} messages), whose first exchange is question/answer
    form: str = "qa"
    turns: list[dict[str, str]] | None = None
    #: ``--reasoning keep``: what the model thought while drafting this pair's reply (the
    #: same text for every pair of that reply); never part of the answer
    reasoning: str | None = None

    @model_serializer(mode="wrap")
    def _plain_qa(self, handler: Wrap) -> dict[str, Any]:
        # files of plain Q&A (and without kept reasoning) stay as they were before
        data: dict[str, Any] = handler(self)
        if data.get("form") == "qa":
            del data["form"]
        for optional in ("turns", "reasoning"):
            if data.get(optional) is None:
                data.pop(optional, None)
        return data

    @staticmethod
    def make_id(chunk_id: str, question: str, index: int) -> str:
        return content_id("q", chunk_id, str(index), question)


def model_pair_id(chunk_id: str, index: int, question: str, answer: str) -> str:
    """Id of the ``index``-th pair the model drafted for a chunk. It covers the answer too,
    so a draft whose text a person changed no longer matches it (see ``workspace.touched``)."""
    return content_id("q", chunk_id, str(index), question, answer)


class Chunk(BaseModel):
    """A piece of a document sized for one LLM call, with the model's suggestions.

    ``suggestions`` may also be a single string in the seed's ``**Question 1:** ...``
    style when a person wrote it that way; stage 3 parses it.
    """

    model_config = ConfigDict(extra="allow")

    id: str
    pages: list[int] = Field(description="[first, last] 1-based page numbers")
    headings: list[str] = Field(default_factory=list)
    text: str
    suggestions: list[Suggestion] | str = Field(default_factory=list)
    raw: str | None = None
    error: str | None = None
    state: ChunkState = "pending"
    skipped: str | bool | None = Field(
        default=None, description="why the chunk was not sent to the model (nothing to learn:"
        " 'table of contents', 'index', ...); a person sets false (or deletes it) to send it")

    @model_serializer(mode="wrap")
    def _no_empty_skip(self, handler: Wrap) -> dict[str, Any]:
        # chunks that were sent keep the shape files had before skipping existed
        data: dict[str, Any] = handler(self)
        if data.get("skipped") is None:
            data.pop("skipped", None)
        return data

    @staticmethod
    def make_id(text: str, headings: list[str]) -> str:
        return content_id("c", " > ".join(headings), text)

    @property
    def reviewed(self) -> bool:
        """True when a person touched any pair (or replaced the list with text)."""
        if isinstance(self.suggestions, str):
            return True
        return any(s.status in REVIEWED_STATUSES for s in self.suggestions)


class Source(BaseModel):
    """The PDF a suggestions file was made from. ``file`` is its name (for display);
    ``path`` is where it was found, relative to the input folder (POSIX form), and decides
    which PDF may fill the file (``None`` in files from versions that did not record it).
    ``language`` is the ISO 639-1 code of the language most of its text is written in
    (``None`` when unknown); pairs are written in it unless ``--language`` says otherwise."""

    model_config = ConfigDict(extra="allow")

    file: str
    sha256: str
    pages: int
    path: str | None = None
    language: str | None = None


class GeneratorInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    backend: str
    model: str
    prompt: str
    params: dict[str, Any] = Field(default_factory=dict)


class SuggestionsFile(BaseModel):
    """The whole ``<pdf>_suggestions.json`` file."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    schema_: str = Field(default=SUGGESTIONS_SCHEMA, alias="schema")
    source: Source
    generator: GeneratorInfo
    chunks: list[Chunk] = Field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def chunk(self, chunk_id: str) -> Chunk | None:
        return next((c for c in self.chunks if c.id == chunk_id), None)


def suggestions_filename(pdf_file: str) -> str:
    """``manual.pdf`` -> ``manual_suggestions.json`` (the seed's naming)."""
    stem = pdf_file[:-4] if pdf_file.lower().endswith(".pdf") else pdf_file
    return f"{stem}_suggestions.json"
