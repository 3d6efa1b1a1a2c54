"""``qaforge refine`` (stage 3); ``qaforge export`` lives in :mod:`qaforge.cli.export`."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, get_args

import click
from rich.panel import Panel
from rich.table import Table

from qaforge.cli.common import (
    config_option,
    friendly_errors,
    judge_options,
    judge_overrides,
    llm_options,
    llm_overrides,
    output_options,
    require_suggestions,
    runner_options,
    runner_overrides,
    settings_from,
)
from qaforge.cli.export import export_command  # noqa: F401  (moved there; kept importable)
from qaforge.cli.output import (
    announce_client,
    announce_runner,
    console,
    emit_json,
    mode,
    progress_reporter,
    say,
    show,
)
from qaforge.config import JudgeMethod, Settings
from qaforge.llm import LLMClient, make_client
from qaforge.progress import Reporter
from qaforge.refine import RefineSummary, refine_workdir
from qaforge.refine.report import DEMO_JUDGE_WARNING

REFINE_EXAMPLES = """\b
Examples:
  qaforge refine work/                                  # judge with the default model
  qaforge refine work/ --judge-model ~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf
  qaforge refine work/ --judge-backend openai --judge-base-url http://127.0.0.1:8000/v1 \\
      --judge-model Qwen/Qwen2.5-7B-Instruct
  qaforge refine work/ --no-correct                     # judge only; flagged drafts are skipped
  qaforge refine work/ --system-prompt "You answer questions about our manuals."

Writes WORKDIR/cleaned_finetune.jsonl and WORKDIR/evaluation.json; never changes the
suggestions files. Re-running resumes: verdicts are cached in WORKDIR/.qaforge/, so only
pairs that changed are judged again. Exit code 1 when a suggestions file could not be read
or model calls failed (everything else is still written).
"""

class StageProgress:
    """Adapts ``refine_workdir``'s ``progress(stage, done, total)`` to a :class:`Reporter`."""

    def __init__(self, reporter: Reporter) -> None:
        self.reporter = reporter
        self.stage = ""
        self.done = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.reporter.phase(stage, total)
            self.stage, self.done = stage, 0
        if done > self.done:
            self.reporter.advance(done - self.done)
            self.done = done


def refine_options(func: Any) -> Any:
    """The stage-3 flags shared by ``refine`` and ``run``."""
    options = [
        click.option("--correct-reviewed", is_flag=True, default=None,
                     help="Also let the model rewrite flagged pairs a person accepted or "
                          "edited."),
        click.option("--correct/--no-correct", "correct", default=None,
                     help="Rewrite flagged drafts with the model (default) or skip them."),
        click.option("--system-prompt", default=None,
                     help="System message to put first in every dataset row."),
        click.option("--judge-method", type=click.Choice(get_args(JudgeMethod)),
                     default=None,
                     help="How the judge decides: checks (default: it answers each question "
                          "from the passage and the answers are compared), cite (it names "
                          "the sentences that answer each question; the answer must rest on "
                          "them), strict (both; Clear only when both are) or rubric (it "
                          "scores each pair 1-5)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def refine_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """The ``[refine]`` section implied by :func:`refine_options` flags (None = not given)."""
    return {"correct_reviewed": params.get("correct_reviewed"),
            "correct": params.get("correct"), "system_prompt": params.get("system_prompt"),
            "judge_method": params.get("judge_method")}


def refine_settings(params: dict[str, Any], workdir: Path) -> Settings:
    return settings_from(params, {
        "llm": llm_overrides(params),
        "judge": judge_overrides(params),
        "runner": runner_overrides(params),
        "refine": refine_overrides(params),
    }, search_dirs=(workdir,))


def start_judge(settings: Settings) -> LLMClient:
    client = make_client(settings.judge_llm())
    announce_client("judge", client)
    if client.is_demo_model and not mode.quiet:
        console.print(Panel(DEMO_JUDGE_WARNING, title="demo judge", border_style="yellow"))
    return client


def refine_with(settings: Settings, workdir: Path, judge: LLMClient) -> RefineSummary:
    """Stage 3 on the runner the settings name, with the already started judge client."""
    reporter = progress_reporter()
    announce_runner(settings.runner.runner, settings.runner.ray_address)
    try:
        if settings.runner.runner == "ray":
            from qaforge.runners.ray_refine import refine_workdir_ray

            return refine_workdir_ray(workdir, judge=settings.judge_llm(),
                                      settings=settings.refine,
                                      ray_address=settings.runner.ray_address,
                                      progress=StageProgress(reporter), judge_client=judge)
        return refine_workdir(workdir, judge=judge, settings=settings.refine,
                              progress=StageProgress(reporter))
    finally:
        reporter.close()


def refine_json(summary: RefineSummary) -> dict[str, Any]:
    """The ``--json`` summary of a refine run."""
    return {"ok": summary.ok and not summary.model_errors, **dataclasses.asdict(summary)}


def print_refine_summary(summary: RefineSummary, workdir: Path) -> None:
    """The summary table on stdout (nothing with ``--json``), problems on stderr."""
    table = Table(title="refine", show_header=False, title_justify="left")
    for name, value in summary.rows():
        table.add_row(name, value)
    show(table)
    for error in summary.files_failed:
        say(error, "not read:", "red", always=True)
    if summary.warnings:
        say(f"in suggestions files (see evaluation.json); first: {summary.warnings[0]}",
            f"{len(summary.warnings)} warning(s)", "yellow")
    if summary.model_errors:
        say("those pairs were skipped. Run the same command again to retry them.",
            f"{summary.model_errors} model call(s) failed;", "red", always=True)
    if summary.correction_stopped:
        say("too few of the run's first rewrites passed (refine.correct_trial, "
            "refine.correct_trial_pass), so the rest were skipped; a stronger model "
            "(--judge-model) may save them.",
            f"{summary.correction_stopped} flagged pair(s) not corrected:", "yellow")
    if summary.dataset_rows == 0:
        say("evaluation.json says why for each one.", "no pair made it into the dataset:",
            "yellow")
    if summary.demo_judge:
        say("the labels above came from the bundled demo model and did not decide anything; "
            "see evaluation.json.", "demo judge:", "yellow")
    say(f"dataset: {summary.dataset_path}  ·  report: {summary.evaluation_path}  ·  "
        f"next: qaforge export {workdir}")


@click.command("refine", epilog=REFINE_EXAMPLES)
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@judge_options
@refine_options
@llm_options
@runner_options
@config_option
@output_options
@friendly_errors
def refine_command(workdir: Path, **params: Any) -> None:
    """Stage 3: judge, correct and filter the pairs into a fine-tuning dataset.

    Reads every WORKDIR/output_json/*_suggestions.json as it is on disk (rejected pairs
    are dropped, a person's free-text pairs are parsed), removes duplicates, checks each
    answer against its passage and each question's form, has a judge label every pair
    Clear / Unclear / Needs Improvement, rewrites flagged drafts, and writes
    WORKDIR/cleaned_finetune.jsonl and WORKDIR/evaluation.json.
    """
    settings = refine_settings(params, workdir)
    require_suggestions(workdir)
    with start_judge(settings) as judge:
        summary = refine_with(settings, workdir, judge)
    print_refine_summary(summary, workdir)
    if mode.json:
        emit_json(refine_json(summary))
    if not summary.ok or summary.model_errors:
        sys.exit(1)
