"""The record every refine step reads and writes: one question/answer pair in refinement.

Records are JSON-safe pydantic models (``model_dump(mode="json")`` gives plain dicts), so
the same steps run in-process or as ``map_batches`` over a Ray dataset.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Label = Literal["Clear", "Unclear", "Needs Improvement"]
LABELS: tuple[Label, ...] = ("Clear", "Unclear", "Needs Improvement")

#: what became of a pair: in the dataset (kept, corrected) or why not
Decision = Literal["pending", "kept", "corrected", "skipped", "duplicate", "rejected",
                   "malformed"]
IN_DATASET: frozenset[str] = frozenset({"kept", "corrected"})

#: where a pair came from: the suggestions list, or a person's free text parsed by refine
Origin = Literal["list", "text"]


class Issue(BaseModel):
    """A deterministic check that failed; ``target`` says which half needs fixing.

    ``severity``: a ``fix`` sends the pair to correction; a ``note`` only informs (the judge
    sees it, ``evaluation.json`` records it).
    """

    code: str
    message: str
    target: Literal["question", "answer"] = "question"
    severity: Literal["fix", "note"] = "fix"


def fixes(issues: list[Issue]) -> list[Issue]:
    """The issues that send a pair to correction (not the notes)."""
    return [issue for issue in issues if issue.severity == "fix"]


class Grounding(BaseModel):
    """How much of the answer can be found in the chunk (no model involved).

    ``span`` is the length-weighted fuzzy match of the answer's sentences against their best
    matching stretch of the chunk; ``words`` is the share of the answer's content words that
    occur in the chunk; ``score`` is their mean.
    """

    score: float = Field(ge=0.0, le=1.0)
    span: float = Field(ge=0.0, le=1.0)
    words: float = Field(ge=0.0, le=1.0)
    evidence: str = Field(default="", description="the chunk's best-matching stretch")
    sentences: list[tuple[int, int]] = Field(
        default_factory=list, description="the chunk sentences that support the answer: "
        "[start, end) character offsets into the chunk text (refine/evidence.py)")


class Verdict(BaseModel):
    """The judge's answer for one pair (or why there is none)."""

    label: Label | None = None
    model_label: Label | None = Field(default=None, description="the label as the model gave it")
    clarity: int | None = None
    coherence: int | None = None
    relevance: int | None = None
    groundedness: int | None = None
    reason: str = ""
    error: str | None = Field(default=None, description="why there is no usable verdict")
    raw: str | None = Field(default=None, description="the unusable reply, verbatim")
    model: str = ""
    prompt: str = ""
    cached: bool = False
    advisory: bool = Field(default=False,
                           description="recorded only; did not decide (demo judge)")
    checks: dict[str, Any] | None = Field(
        default=None, description="the judge's checks and their figures (refine/verify.py)")
    fix: Literal["question", "answer"] | None = Field(
        default=None, description="which half the checks found wrong")

    @property
    def scores(self) -> dict[str, int | None]:
        return {"clarity": self.clarity, "coherence": self.coherence,
                "relevance": self.relevance, "groundedness": self.groundedness}


class Correction(BaseModel):
    """A rewrite proposed for a flagged pair, and how the judge saw it."""

    question: str = ""
    answer: str = ""
    target: Literal["question", "both"] = "question"
    error: str | None = None
    verdict: Verdict | None = None
    grounding: Grounding | None = None
    issues: list[Issue] = Field(default_factory=list)
    cached: bool = False


class PairRecord(BaseModel):
    """One pair on its way through refine, with everything learned about it."""

    source_file: str = Field(description="suggestions file, relative to the work dir")
    document: str = Field(description="the PDF the pair came from")
    chunk_id: str
    pages: list[int] = Field(default_factory=list)
    headings: list[str] = Field(default_factory=list)
    chunk_text: str = ""
    #: the packaged prompt that drafted the chunk's pairs (its file's ``generator.prompt``),
    #: whose reading of the chunk the judge's prompt repeats (:meth:`PromptTemplate.reading`)
    drafted_with: str = ""
    pair_id: str
    status: str = "draft"
    origin: Origin = "list"
    location: str = Field(default="", description="where in the file: chunks[2].suggestions[0]")
    question: str = ""
    answer: str = ""
    #: the question form (:mod:`qaforge.forms`) and a multi_turn pair's conversation
    form: str = "qa"
    turns: list[dict[str, str]] = Field(default_factory=list)
    #: the generating model's reasoning kept with the pair (``--reasoning keep``)
    reasoning: str = ""
    grounding: Grounding | None = None
    issues: list[Issue] = Field(default_factory=list)
    duplicate_of: str | None = None
    verdict: Verdict | None = None
    flags: list[str] = Field(default_factory=list, description="why the pair needs correcting")
    correction: Correction | None = None
    decision: Decision = "pending"
    reason: str = ""

    @property
    def chunk_key(self) -> str:
        """The source chunk, unique across the work dir."""
        return f"{self.source_file}#{self.chunk_id}"

    @property
    def reviewed(self) -> bool:
        """A person accepted or edited it (or wrote it as free text): never rewritten."""
        return self.status in ("accepted", "edited")

    @property
    def active(self) -> bool:
        """Still in the running (not yet rejected, malformed or a duplicate)."""
        return self.decision == "pending"

    @property
    def final_question(self) -> str:
        if self.decision == "corrected" and self.correction is not None:
            return self.correction.question
        return self.question

    @property
    def final_answer(self) -> str:
        if self.decision == "corrected" and self.correction is not None:
            return self.correction.answer
        return self.answer

    @property
    def final_reasoning(self) -> str:
        """The kept reasoning, while it still led to the pair as it stands: a pair that
        refine corrected or a person edited has none (it no longer matches the answer)."""
        if self.decision == "corrected" or self.status == "edited":
            return ""
        return self.reasoning
