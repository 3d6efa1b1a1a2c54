"""``qaforge generate``: stage 1, PDFs to suggestions files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from qaforge.cli.common import (
    config_option,
    fail,
    friendly_errors,
    llm_options,
    llm_overrides,
    one_writer,
    output_options,
    runner_options,
    runner_overrides,
    settings_from,
)
from qaforge.cli.output import (
    announce_client,
    announce_runner,
    emit_json,
    mode,
    progress_reporter,
    say,
    show,
)
from qaforge.config import Settings
from qaforge.ingest import FORMATS_TEXT, is_document
from qaforge.llm import LLMClient, make_client
from qaforge.runners.local import GenerateSummary, run_generate

EXAMPLES = """\b
Examples:
  qaforge generate docs/ -o work/                  # every PDF under docs/, bundled demo model
  qaforge generate manual.pdf -o work/ --pairs 5
  qaforge generate docs/ -o work/ -m ~/models/qwen2.5-7b-instruct-q4_k_m.gguf
  qaforge generate docs/ -o work/ --backend openai --base-url http://127.0.0.1:8000/v1 \\
      --model Qwen/Qwen2.5-7B-Instruct
  qaforge generate locked.pdf -o work/ --password 1234

Re-running the same command resumes: finished chunks are not sent to the model again and
nothing a person reviewed is overwritten.
"""


def generate_options(func: Any) -> Any:
    options = [
        click.option("--output", "-o", "workdir", required=True,
                     type=click.Path(file_okay=False, path_type=Path),
                     help="Work directory (suggestions go to WORKDIR/output_json/)."),
        click.option("--pairs", type=click.IntRange(1, 20), default=None,
                     help="Question/answer pairs per chunk (default 3)."),
        click.option("--chunk-tokens", type=click.IntRange(32, 32768), default=None,
                     help="Token budget per chunk (default: fitted to the model's context)."),
        click.option("--password", default=None, help="Password for encrypted PDFs."),
        click.option("--ocr/--no-ocr", default=None,
                     help="OCR pages without a text layer (needs Debian's tesseract-ocr)."),
        click.option("--retry-failed", is_flag=True, default=None,
                     help="Also re-send chunks whose model output could not be parsed."),
        click.option("--coverage", type=click.FloatRange(0.0, 1.0), default=None,
                     metavar="SHARE",
                     help="Ask again about the sentences no pair covers yet, until this share "
                          "of each chunk's informative sentences is covered (e.g. 0.8; up to "
                          "[generate] coverage_rounds extra requests per chunk; default off)."),
        click.option("--skip-boilerplate/--no-skip-boilerplate", default=None,
                     help="Do not send chunks with nothing to learn (table of contents, index,"
                          " bibliography, front matter, blank pages, tables of numbers alone;"
                          " default on); each is marked skipped with the reason."),
        click.option("--forms", default=None, metavar="FORMS",
                     help="Question forms to mix, equal shares: a comma list of qa, "
                          "reasoning, summary, multi_turn, yes_no, fill_in (default qa; "
                          "[generate.forms] in the config file sets other shares)."),
        click.option("--language", default=None, metavar="LANG",
                     help="Write the pairs in LANG (a code such as de, or German) instead of "
                          "each document's own language."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def generate_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """``[generate]`` settings from the flags of :func:`generate_options` (``generate`` and
    ``run`` both take them, so both read them here)."""
    return {"pairs_per_chunk": params.get("pairs"), "chunk_tokens": params.get("chunk_tokens"),
            "password": params.get("password"), "ocr": params.get("ocr"),
            "retry_failed": params.get("retry_failed"),
            "skip_boilerplate": params.get("skip_boilerplate"),
            "coverage": params.get("coverage"),
            "language": params.get("language"), "forms": params.get("forms")}


def generate_settings(params: dict[str, Any]) -> Settings:
    workdir: Path = params["workdir"]
    return settings_from(params, {
        "llm": llm_overrides(params),
        "runner": runner_overrides(params),
        "generate": generate_overrides(params),
    }, search_dirs=(workdir,))


def start_client(settings: Settings) -> LLMClient:
    """Build the generator's client and say which model runs (loudly for the demo model)."""
    client = make_client(settings.llm)
    announce_client("generator", client)
    if client.is_demo_model:
        from qaforge.llm.engine import DEMO_MODEL_NOTICE

        say(DEMO_MODEL_NOTICE, "note:", "yellow")
    return client


def _holds_pdf(item: Path) -> bool:
    return item.is_file() or (item.is_dir() and any(
        is_document(p) and p.is_file() for p in item.rglob("*")))


def require_pdfs(inputs: tuple[Path, ...]) -> None:
    """Exit with one line naming every input when none of them is or holds a PDF file
    (before any model starts); otherwise the runner reports each bad input itself."""
    if any(_holds_pdf(item) for item in inputs):
        return
    fail("; ".join(f"{item}: no documents in this folder ({FORMATS_TEXT})" if item.is_dir()
                   else f"{item}: no such file or folder" for item in inputs))


def generate_with(settings: Settings, inputs: tuple[Path, ...], workdir: Path,
                  client: LLMClient) -> GenerateSummary:
    """Stage 1 on the runner the settings name, with the already started ``client``."""
    reporter = progress_reporter()
    announce_runner(settings.runner.runner, settings.runner.ray_address)
    if settings.runner.runner == "ray":
        from qaforge.runners.ray import run_generate_ray

        return run_generate_ray(inputs, workdir, llm=settings.llm, settings=settings.generate,
                                ray_address=settings.runner.ray_address, reporter=reporter,
                                client=client)
    return run_generate(inputs, workdir, client=client, settings=settings.generate,
                        reporter=reporter)


def generate_json(summary: GenerateSummary, workdir: Path) -> dict[str, Any]:
    """The ``--json`` summary of a generate run."""
    return {
        "ok": summary.ok,
        "suggestions_dir": str(workdir / "output_json"),
        "files": [{"pdf": str(f.pdf), "suggestions": str(f.path), "status": f.status,
                   "pages": f.pages, "chunks": f.chunks, "message": f.message,
                   "warnings": list(f.warnings)} for f in summary.files],
        "problems": summary.problems,
        "pages": summary.pages,
        "chunks_total": summary.chunks_total, "chunks_done": summary.chunks_done,
        "chunks_unparseable": summary.chunks_failed, "pairs": summary.pairs,
        "chunks_skipped": dict(summary.skipped),
        "prompt_tokens": summary.prompt_tokens,
        "completion_tokens": summary.completion_tokens,
        "extract_seconds": round(summary.extract_seconds, 3),
        "generate_seconds": round(summary.generate_seconds, 3),
        "unwritten": summary.unwritten,
    }


def skipped_text(skipped: dict[str, int]) -> str:
    """``"12: 7 table of contents, 5 index"``: skipped chunks by reason, most first."""
    reasons = sorted(skipped.items(), key=lambda item: (-item[1], item[0]))
    return f"{sum(skipped.values())}: " + ", ".join(f"{n} {reason}" for reason, n in reasons)


def print_generate_summary(summary: GenerateSummary, workdir: Path) -> None:
    """The summary table on stdout (nothing with ``--json``), failures on stderr."""
    table = Table(title="generate", show_header=False, title_justify="left")
    ok = sum(1 for f in summary.files if f.status != "failed")
    table.add_row("files ok / failed", f"{ok} / {len(summary.failed_files)}")
    table.add_row("pages", str(summary.pages))
    table.add_row("chunks done / total", f"{summary.chunks_done} / {summary.chunks_total}")
    table.add_row("pairs drafted (this run)", str(summary.pairs))
    table.add_row("chunks unparseable", str(summary.chunks_failed))
    if summary.skipped:
        table.add_row("chunks skipped (nothing to learn)", skipped_text(summary.skipped))
    table.add_row("extract time", f"{summary.extract_seconds:.1f} s")
    seconds = summary.generate_seconds
    rate = summary.completion_tokens / seconds if seconds > 0 else 0.0
    table.add_row("generate time", f"{seconds:.1f} s ({summary.completion_tokens:,} tokens "
                  f"generated, {rate:.0f} generated tok/s)")
    show(table)
    for failed in summary.failed_files:
        say(failed.message, "failed:", "red", always=True)
    for name, reason in summary.unwritten.items():
        say(f"{name}: {reason} (kept in the journal; the next run writes it)",
            "not written:", "red", always=True)
    say(f"suggestions: {workdir / 'output_json'}  ·  next: qaforge review {workdir}")


@click.command("generate", epilog=EXAMPLES)
@click.argument("inputs", nargs=-1, required=True,
                type=click.Path(exists=False, path_type=Path))
@generate_options
@llm_options
@runner_options
@config_option
@output_options
@friendly_errors
def command(inputs: tuple[Path, ...], **params: Any) -> None:
    """Stage 1: extract and chunk documents, and draft Q&A pairs for every chunk.

    INPUTS are files or folders (searched recursively) of PDF, DOCX, EPUB, HTML, Markdown
    or text documents. Writes WORKDIR/output_json/<pdf>_suggestions.json for every PDF
    (<name.ext>_suggestions.json for the other formats).
    """
    settings = generate_settings(params)
    workdir: Path = params["workdir"]
    require_pdfs(inputs)
    with one_writer(workdir), start_client(settings) as client:
        summary = generate_with(settings, inputs, workdir, client)
    print_generate_summary(summary, workdir)
    if mode.json:
        emit_json(generate_json(summary, workdir))
    if not summary.ok:
        sys.exit(1)
