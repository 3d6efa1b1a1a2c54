"""Stage 3, refine: suggestions files in, ``cleaned_finetune.jsonl`` + ``evaluation.json`` out.

    from qaforge.refine import refine_workdir
    summary = refine_workdir(Path("work"), judge=client, settings=settings.refine)

The steps, each a function (or a class holding an LLM client) over a list of
:class:`PairRecord`, in the order :func:`refine_workdir` runs them: load, :func:`check_questions`
and :func:`ground` file by file; :func:`deduplicate` (global: it compares across documents);
:class:`Judge` (by default the checks of :mod:`qaforge.refine.verify`), :func:`decide` and
:class:`Corrector` a group of records at a time; :func:`deduplicate_rewrites` (global); then
the dataset and ``evaluation.json``. Between the steps the records wait in a temporary
SQLite store (:mod:`qaforge.refine.record_store`), so memory holds one group, not the
corpus. :func:`load_workdir` and :func:`write_outputs` do the same for a list in memory.
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
