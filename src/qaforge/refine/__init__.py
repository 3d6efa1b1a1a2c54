"""Stage 3, refine: suggestions files in, ``cleaned_finetune.jsonl`` + ``evaluation.json`` out.

    from qaforge.refine import refine_workdir
    summary = refine_workdir(Path("work"), judge=client, settings=settings.refine)

The steps, each a function (or a class holding an LLM client) over a list of
:class:`PairRecord`, in the order :func:`refine_workdir` runs them: :func:`load_workdir`,
:func:`check_questions`, :func:`ground`, :func:`deduplicate` (global: it compares across
documents), :class:`Judge`, :func:`decide`, :class:`Corrector`,
:func:`deduplicate_rewrites` (global), then :func:`write_outputs`.
"""

from __future__ import annotations

from qaforge.refine.checks import check_questions
from qaforge.refine.correct import Corrector, decide
from qaforge.refine.dedup import deduplicate, deduplicate_rewrites
from qaforge.refine.grounding import ground
from qaforge.refine.judge import Judge
from qaforge.refine.load import load_workdir
from qaforge.refine.pair_record import PairRecord
from qaforge.refine.pipeline import refine_workdir
from qaforge.refine.report import DATASET_NAME, EVALUATION_NAME, RefineSummary, write_outputs

__all__ = [
    "DATASET_NAME",
    "EVALUATION_NAME",
    "Corrector",
    "Judge",
    "PairRecord",
    "RefineSummary",
    "check_questions",
    "decide",
    "deduplicate",
    "deduplicate_rewrites",
    "ground",
    "load_workdir",
    "refine_workdir",
    "write_outputs",
]
