"""``qaforge run``: stage 1 then stage 3 in one process, with one engine start."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from qaforge.cli.common import (
    config_option,
    friendly_errors,
    judge_options,
    judge_overrides,
    llm_options,
    llm_overrides,
    one_writer,
    output_options,
    runner_options,
    runner_overrides,
    settings_from,
)
from qaforge.cli.generate import (
    generate_json,
    generate_options,
    generate_overrides,
    generate_with,
    print_generate_summary,
    require_pdfs,
    start_client,
)
from qaforge.cli.output import emit_json, mode, say
from qaforge.cli.refine import (
    print_refine_summary,
    refine_json,
    refine_options,
    refine_overrides,
    refine_with,
    start_judge,
)
from qaforge.config import Settings
from qaforge.llm import LLMClient

EXAMPLES = """\b
Examples:
  qaforge run docs/ -o work/                       # generate, then refine, bundled demo model
  qaforge run docs/ -o work/ --review              # stop after generate to review first
  qaforge run docs/ -o work/ -m ~/models/qwen2.5-7b-instruct-q4_k_m.gguf
  qaforge run docs/ -o work/ --judge-model ~/models/qwen2.5-14b-instruct-q4_k_m.gguf
  qaforge run docs/ -o work/ --runner ray --backend openai --model Qwen/Qwen2.5-7B-Instruct
      --base-url http://gpu1:8000/v1 --base-url http://gpu2:8000/v1   (all on one line)

Human review is optional between the stages: with --review the run stops after generate
and says how to review and continue. Re-running resumes both stages.
"""


def run_settings(params: dict[str, Any]) -> Settings:
    workdir: Path = params["workdir"]
    return settings_from(params, {
        "llm": llm_overrides(params),
        "judge": judge_overrides(params),
        "runner": runner_overrides(params),
        "generate": generate_overrides(params),
        "refine": refine_overrides(params),
    }, search_dirs=(workdir,))


@click.command("run", epilog=EXAMPLES)
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@generate_options
@click.option("--review", "stop_for_review", is_flag=True,
              help="Stop after generate so a person can review before refine.")
@refine_options
@llm_options
@judge_options
@runner_options
@config_option
@output_options
@friendly_errors
def command(inputs: tuple[Path, ...], stop_for_review: bool, **params: Any) -> None:
    """Stages 1 and 3: PDFs to a judged fine-tuning dataset in one command.

    Writes WORKDIR/output_json/*_suggestions.json, then WORKDIR/cleaned_finetune.jsonl and
    WORKDIR/evaluation.json. The engine starts once and serves both stages unless the
    judge is a different model.
    """
    settings = run_settings(params)
    require_pdfs(inputs)
    with one_writer(params["workdir"]):
        run_stages(settings, inputs, params["workdir"], stop_for_review)


def run_stages(settings: Settings, inputs: tuple[Path, ...], workdir: Path,
               stop_for_review: bool) -> None:
    """Generate, then (unless ``stop_for_review``) refine, sharing the engine if it can."""
    clients: list[LLMClient] = []
    try:
        generator = start_client(settings)
        clients.append(generator)
        summary = generate_with(settings, inputs, workdir, generator)
        print_generate_summary(summary, workdir)
        if stop_for_review:
            if mode.json:
                emit_json({"ok": summary.ok, "generate": generate_json(summary, workdir)})
            say(f"review the pairs with `qaforge review {workdir}` (or edit the JSON files by "
                f"hand), then continue with `qaforge refine {workdir}`.")
            sys.exit(0 if summary.ok else 1)
        if settings.judge_is_generator:
            judge = generator
        else:
            generator.close()  # free the cores (and memory) before the judge starts
            judge = start_judge(settings)
            clients.append(judge)
        refined = refine_with(settings, workdir, judge)
        print_refine_summary(refined, workdir)
    finally:
        for client in clients:
            client.close()
    if mode.json:
        refine_part = refine_json(refined)
        emit_json({"ok": summary.ok and refine_part["ok"],
                   "generate": generate_json(summary, workdir), "refine": refine_part})
    if not summary.ok or not refined.ok or refined.model_errors:
        sys.exit(1)
