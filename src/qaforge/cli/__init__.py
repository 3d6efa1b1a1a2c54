"""The ``qaforge`` command. Each sub-command lives in its own module of this package."""

from __future__ import annotations

import click

from qaforge import __version__
from qaforge.cli.common import stop_on_sigterm

EPILOG = """\b
Typical session:
  qaforge models pull                 # fetch the bundled demo model once
  qaforge generate docs/ -o work/     # PDFs -> work/output_json/*_suggestions.json
  qaforge review work/                # curate the pairs in your browser
  qaforge refine work/                # -> cleaned_finetune.jsonl + evaluation.json
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"],
                                               "max_content_width": 100})
@click.version_option(__version__, prog_name="qaforge")
def cli() -> None:
    """Turn a folder of PDFs into a reviewed, judged fine-tuning dataset."""


def _register() -> None:
    from qaforge.cli import eval as eval_cli
    from qaforge.cli import export, generate, models, quiz, refine, review, run

    cli.add_command(generate.command)
    cli.add_command(run.command)
    cli.add_command(review.command)
    cli.add_command(refine.refine_command)
    cli.add_command(export.command)
    cli.add_command(models.command)
    cli.add_command(quiz.command)
    cli.add_command(eval_cli.command)


_register()


def main() -> None:
    stop_on_sigterm()
    cli(prog_name="qaforge")
