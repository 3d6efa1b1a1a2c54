"""``qaforge eval WORKDIR --model ...``: ask models the quiz and grade their answers."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from qaforge.cli.common import (
    BACKENDS,
    config_option,
    friendly_errors,
    judge_options,
    judge_overrides,
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
from qaforge.config import LLMSettings
from qaforge.errors import ConfigError
from qaforge.llm import LLMClient, available_backends, make_client
from qaforge.quiz.evaluate import MODES, Mode
from qaforge.quiz.pipeline import ClientFactory, evaluate_workdir
from qaforge.quiz.report import comparison_rows
from qaforge.terminal import plain

EPILOG = """\b
--model takes [LABEL=][BACKEND:]MODEL[@URL]; repeat it to compare models:
  qaforge eval work/ -m base=llamacpp:base.gguf -m tuned=llamacpp:tuned.gguf
  qaforge eval work/ -m transformers:out/merged-lora-model
  qaforge eval work/ -m tuned=openai:my-ft@http://127.0.0.1:8000/v1 \\
      --judge-backend openai --judge-base-url http://127.0.0.1:8001/v1 --judge-model judge

\b
Asks every quiz question closed-book (the question alone) and open-book (with its
passage, the upper bound); control questions closed-book. Grades each answer with a token
F1 and the judge (reference answer in view). Writes WORKDIR/eval.json; prints the
comparison. Exit code 1 when model or judge calls failed (eval.json is still written).
"""


def parse_model_spec(spec: str, default: LLMSettings) -> tuple[str, LLMSettings]:
    """``[LABEL=][BACKEND:]MODEL[@URL]`` -> (label, settings over ``default``)."""
    label, rest = "", spec.strip()
    head, sep, tail = rest.partition("=")
    if sep and head and not any(c in head for c in "/:@\\"):
        label, rest = head, tail
    backend: str = default.backend
    head, sep, tail = rest.partition(":")
    if sep and head in available_backends():
        backend, rest = head, tail
    url = ""
    for marker in ("@http://", "@https://"):
        if marker in rest:
            rest, url = rest.split(marker, 1)
            url = marker[1:] + url
    if not rest and backend != "openai":
        raise ConfigError(f"--model {spec!r}: no model named")
    update: dict[str, Any] = {"backend": backend, "model": rest}
    if url:
        update.update(base_url=url, base_urls=[url])
    settings = LLMSettings.model_validate({**default.model_dump(), **update})
    return label or rest or backend, settings


def _started(role: str, settings: LLMSettings) -> LLMClient:
    client = make_client(settings)
    announce_client(role, client)
    return client


def _table(document: dict[str, Any]) -> Table:
    header, rows = comparison_rows(document)
    table = Table(title="eval: accuracy (judge) and token F1", title_justify="left")
    for name in header:
        table.add_column(plain(name))
    for row in rows:
        table.add_row(*[plain(cell) for cell in row])
    return table


@click.command("eval", epilog=EPILOG)
@click.argument("workdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--model", "-m", "models", multiple=True,
              help="Model to evaluate, [LABEL=][BACKEND:]MODEL[@URL] (repeatable; default: "
                   "the [llm] model).")
@click.option("--backend", type=BACKENDS, default=None,
              help="Backend of a --model without one (default: [llm] backend, llamacpp).")
@click.option("--concurrency", type=click.IntRange(1, 512), default=None,
              help="Requests in flight per model.")
@click.option("--threads", type=click.IntRange(0, 1024), default=None,
              help="CPU threads for the embedded engine (default: the cores not busy).")
@click.option("--limit", type=click.IntRange(0), default=0,
              help="Ask only the first N document items (default 0: all).")
@click.option("--control", type=click.IntRange(0), default=None,
              help="Ask only the first N control questions (default: all; 0 = none).")
@click.option("--closed-book-only", is_flag=True,
              help="Skip the open-book questions.")
@judge_options
@config_option
@output_options
@friendly_errors
def command(workdir: Path, **params: Any) -> None:
    """Evaluate models on WORKDIR's quiz (see `qaforge quiz`): closed-book, open-book,
    control; per document and per form."""
    settings = settings_from(params, {
        "llm": {"backend": params.get("backend"), "concurrency": params.get("concurrency"),
                "threads": params.get("threads")},
        "judge": judge_overrides(params)}, search_dirs=(workdir,))
    specs = [parse_model_spec(s, settings.llm) for s in params["models"]] or \
        [(settings.llm.model or "model", settings.llm)]
    labels = [label for label, _ in specs]
    if len(set(labels)) != len(labels):
        raise ConfigError("two --model options have the same label; name them LABEL=MODEL")
    models: list[tuple[str, ClientFactory]] = [
        (label, partial(_started, f"model {label}", spec)) for label, spec in specs]
    judge = partial(_started, "judge", settings.judge_llm())
    modes: tuple[Mode, ...] = ("closed",) if params["closed_book_only"] else MODES
    reporter = progress_reporter()
    try:
        run = evaluate_workdir(workdir, models, judge, limit=params["limit"],
                               control=params["control"], modes=modes,
                               progress=StageProgress(reporter))
    finally:
        reporter.close()
    for line in run.warnings:
        warn(line)
    changed = {k: v for k, v in run.review.items() if v}
    if changed:
        say(", ".join(f"{v} {k}" for k, v in changed.items()), "review:")
    show(_table(run.document))
    errors = sum(1 for item in run.document["items"] for modes_ in item["results"].values()
                 for result in modes_.values() if result["error"])
    if run.document["judge"].get("demo"):
        warn("the judge is the bundled demo model: its grades are not to be trusted; "
             "use --judge-model with a larger model.")
    disagree = sum(m["summary"][key]["judge_disagrees"] for m in run.document["models"]
                   for key in ("closed", "open", "control"))
    if disagree:
        warn(f"{disagree} grade(s) contradict the token F1 (a right grade for an answer "
             "without a word of the reference, or the reverse): see \"disagrees\" in "
             "eval.json; a larger judge helps.")
    if run.judge_failures or errors:
        say(f"{errors} answer(s) and {run.judge_failures} grade(s) failed; see eval.json",
            "failed:", "red", always=True)
    say(f"eval: {run.path}")
    if mode.json:
        emit_json({"ok": not (run.judge_failures or errors), "eval": str(run.path),
                   "models": [{"label": m["label"], "summary": {
                       k: m["summary"][k] for k in ("closed", "open", "control")}}
                       for m in run.document["models"]]})
    if run.judge_failures or errors:
        sys.exit(1)
