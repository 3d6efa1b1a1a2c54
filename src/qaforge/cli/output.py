"""Where the CLI's output goes: data (summaries, listings, ``--json``) on stdout, messages and
progress on stderr, errors always; ``-q`` silences the messages, ``-v`` adds detail.

Everything printed that came from outside (paths, file names, error text, model output)
goes through :mod:`qaforge.terminal`, so it is never read as markup nor reaches the terminal
as a control sequence.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import click
from rich.console import RenderableType

from qaforge.progress import Reporter, SilentReporter
from qaforge.terminal import make_console, plain, styled

F = TypeVar("F", bound=Callable[..., Any])

#: messages and progress (stderr); ``-q`` makes it quiet
console = make_console(stderr=True)
#: errors (stderr); never quiet
errors = make_console(stderr=True)
#: data: summary tables and listings (stdout)
out = make_console(stderr=False)


@dataclass(slots=True)
class OutputMode:
    """The current command's ``--json`` / ``-q`` / ``-v``."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False


mode = OutputMode()


def set_mode(*, json_output: bool = False, quiet: bool = False, verbose: bool = False) -> None:
    """Apply the output flags (also resets them between commands run in one process)."""
    mode.json, mode.quiet, mode.verbose = json_output, quiet, verbose and not quiet
    console.quiet = quiet


def output_options(func: F) -> F:
    """``--json``, ``-q/--quiet`` and ``-v/--verbose``, applied before the command runs."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, json_output: bool, quiet: bool, verbose: bool,
                **kwargs: Any) -> Any:
        set_mode(json_output=json_output, quiet=quiet, verbose=verbose)
        return func(*args, **kwargs)

    options = [
        click.option("--json", "json_output", is_flag=True,
                     help="Print a machine-readable summary (JSON) on stdout instead of "
                          "the table."),
        click.option("--quiet", "-q", is_flag=True,
                     help="No progress or notes on stderr; errors and the summary only."),
        click.option("--verbose", "-v", is_flag=True,
                     help="More detail on stderr (config file read, backend details)."),
    ]
    decorated: Any = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated


def progress_reporter() -> Reporter:
    """A progress bar on a terminal, plain lines otherwise, nothing with ``-q``."""
    return SilentReporter() if mode.quiet else Reporter.for_console(console)


def fail(message: object, code: int = 2) -> NoReturn:
    """One clear ``error:`` line on stderr (the message is data: cleaned, never markup),
    then exit non-zero."""
    errors.print(styled("error:", "bold red", message), soft_wrap=True)
    sys.exit(code)


def say(message: object, label: str = "", style: str = "", *, always: bool = False) -> None:
    """A message on stderr, silenced by ``-q`` unless ``always``: ``label`` styled,
    ``message`` as data."""
    text = styled(label, style, message) if label else plain(message)
    (errors if always else console).print(text, soft_wrap=True)


def warn(message: object) -> None:
    """A ``warning:`` line on stderr (silenced by ``-q``)."""
    say(message, "warning:", "yellow")


def detail(message: object) -> None:
    """A line shown only with ``-v``."""
    if mode.verbose:
        say(message)


def show(renderable: RenderableType) -> None:
    """A summary table (or other data) on stdout, unless ``--json`` replaces it."""
    if not mode.json:
        out.print(renderable)


def emit_json(data: Any) -> None:
    """``data`` as JSON on stdout (``--json``)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def endpoint_of(client: Any) -> str:
    """Where a client sends chunk text: its server URLs, or this process."""
    urls = list(getattr(client, "base_urls", None) or ())
    if not urls:
        return "this process (no network)"
    where = ", ".join(urls)
    return f"{where} (embedded engine)" if client.backend == "llamacpp" else where


def announce_client(role: str, client: Any) -> None:
    """``role: backend · model → endpoint`` on stderr: every command that sends chunk text
    says where it goes (even with ``-q``, since it is about where data is sent)."""
    errors.print(plain(f"{role}: {client.backend} · {client.model} → sends chunk text to "
                       f"{endpoint_of(client)}"), soft_wrap=True)
    detail(f"{role} details: {client.describe()}")


def announce_runner(runner: str, ray_address: str) -> None:
    """With the Ray runner, chunk text also goes to the cluster's workers: say which."""
    if runner != "ray":
        return
    target = ray_address or os.environ.get("RAY_ADDRESS", "")
    where = f"the Ray cluster at {target}" if target else "a local Ray cluster on this machine"
    errors.print(plain(f"runner: ray → chunk text goes to {where}"), soft_wrap=True)
