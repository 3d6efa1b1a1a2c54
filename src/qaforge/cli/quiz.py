"""``qaforge quiz WORKDIR``: a held-out quiz from the work dir's documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.table import Table

from qaforge.cli.common import (
    config_option,
    friendly_errors,
    llm_options,
    llm_overrides,
    output_options,
    settings_from,
)
from qaforge.cli.output import (
    announce_client,
    emit_json,
    mode,
    progress_reporter,
    say,
    show,
    warn,
)
from qaforge.cli.refine import StageProgress
from qaforge.llm import make_client
from qaforge.quiz.make import QuizSettings
from qaforge.quiz.pipeline import QuizRun, build_quiz
from qaforge.terminal import plain

EPILOG = """\b
Examples:
  qaforge quiz work/                          # 2 items per chunk + 30 control questions
  qaforge quiz work/ --max-chunks 40 --model ~/models/qwen2.5-7b-instruct-q4_k_m.gguf
  qaforge review work/quiz                    # curate the quiz like any pairs
  qaforge eval work/ --model base=base.gguf --model tuned=tuned.gguf

\b
Writes WORKDIR/quiz.jsonl, WORKDIR/quiz/report.json (what was dropped and why, and the
near-duplicate check) and a review copy in WORKDIR/quiz/output_json/. refine and export
never read them. An existing quiz is kept: --replace moves it aside first.
"""


def _print(run: QuizRun) -> None:
    result, near = run.result, run.near_duplicates
    table = Table(title="quiz", show_header=False, title_justify="left")
    rows = [("chunks asked", str(result.chunks)),
            ("quiz items kept", str(len(result.items))),
            ("control questions", str(run.control)),
            ("dropped", str(len(result.dropped))),
            ("training questions compared", str(near["training_questions"])),
            ("closest training question (max / mean)",
             "-" if near["max_similarity_kept"] is None else
             f"{near['max_similarity_kept']:.0%} / {near['mean_similarity_kept']:.0%}"),
            ("dropped as near-duplicates", str(near["dropped"])),
            ("chunks failed", str(len(result.failed_chunks)))]
    for name, value in rows:
        table.add_row(name, plain(value))
    show(table)
    for line in result.warnings:
        warn(line)
    for line in result.failed_chunks[:3]:
        say(line, "failed:", "red", always=True)
    if run.set_aside is not None:
        say(f"the previous quiz is kept in {run.set_aside}")
    say(f"quiz: {run.quiz_path}  ·  report: {run.report_path}  ·  review: qaforge review "
        f"{run.quiz_path.parent / 'quiz'}")


@click.command("quiz", epilog=EPILOG)
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--per-chunk", type=click.IntRange(1, 10), default=2, show_default=True,
              help="Quiz items asked per chunk.")
@click.option("--max-chunks", type=click.IntRange(0), default=0,
              help="Quiz at most this many chunks, spread over all (default 0: every chunk).")
@click.option("--near-duplicate", type=click.FloatRange(0.0, 1.0), default=0.8,
              show_default=True,
              help="Drop an item whose question is this similar to a training question.")
@click.option("--min-evidence", type=click.FloatRange(0.0, 1.0), default=0.9,
              show_default=True,
              help="How exactly an item's evidence quote must be found in its chunk.")
@click.option("--control", type=click.IntRange(0), default=None,
              help="General-knowledge control questions to add (default: all 30; 0 = none).")
@click.option("--replace", is_flag=True,
              help="Move an existing quiz aside and write a new one.")
@llm_options
@config_option
@output_options
@friendly_errors
def command(workdir: Path, **params: Any) -> None:
    """Write a held-out quiz from WORKDIR's documents, for `qaforge eval`.

    Asks the model for exam items (short answer, yes/no, fill-in-the-blank) with a prompt
    of their own, keeps those whose evidence is found in the chunk and whose question is
    not a near-duplicate of any training question, and adds general-knowledge control
    questions.
    """
    settings = settings_from(params, {"llm": llm_overrides(params)}, search_dirs=(workdir,))
    quiz = QuizSettings(per_chunk=params["per_chunk"], max_chunks=params["max_chunks"],
                        near_duplicate=params["near_duplicate"],
                        min_evidence=params["min_evidence"], control=params["control"])
    reporter = progress_reporter()
    try:
        with make_client(settings.llm) as client:
            announce_client("quiz writer", client)
            if client.is_demo_model:
                warn("the bundled demo model writes few quiz items that pass the checks; "
                     "use --model with a larger model (see `qaforge models`).")
            run = build_quiz(workdir, client, quiz, replace=params["replace"],
                             progress=StageProgress(reporter))
    finally:
        reporter.close()
    _print(run)
    if mode.json:
        emit_json({"ok": not run.result.failed_chunks, "quiz": str(run.quiz_path),
                   "report": str(run.report_path), "items": len(run.result.items),
                   "control": run.control, "dropped": len(run.result.dropped),
                   "near_duplicate_check": run.near_duplicates})
