"""Options and helpers shared by the sub-commands (each command lives in its own module)."""

from __future__ import annotations

import functools
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console

from qaforge.config import ConfigError, Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])

#: human-facing output goes to stderr so stdout stays clean for piping
console = Console(stderr=True, highlight=False)

BACKENDS = click.Choice(["llamacpp", "openai", "transformers", "fake"])


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line, then exit non-zero."""
    console.print(f"[bold red]error:[/] {click.style(message, fg=None)}", markup=True,
                  highlight=False, soft_wrap=True)
    sys.exit(code)


def config_option(func: F) -> F:
    return click.option(
        "--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
        help="qaforge.toml to read (default: ./qaforge.toml, then WORKDIR/qaforge.toml).",
    )(func)


def llm_options(func: F) -> F:
    """Generator flags: --backend, --model, --base-url, --api-key, --concurrency, --threads."""
    options = [
        click.option("--backend", type=BACKENDS, default=None,
                     help="LLM backend (default llamacpp: the embedded engine)."),
        click.option("--model", "-m", default=None,
                     help="GGUF path (llamacpp), hub id or dir (transformers), or server model "
                          "name (openai). Default: the bundled demo model."),
        click.option("--base-url", "base_urls", multiple=True,
                     help="OpenAI-compatible server URL (repeat for several servers)."),
        click.option("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)."),
        click.option("--concurrency", type=click.IntRange(1, 512), default=None,
                     help="Requests in flight (default 4: llama.cpp parallel slots)."),
        click.option("--threads", type=click.IntRange(0, 1024), default=None,
                     help="CPU threads for the embedded engine "
                          "(default: the cores not busy at start)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def judge_options(func: F) -> F:
    """Judge flags; anything not given falls back to the generator's."""
    options = [
        click.option("--judge-backend", type=BACKENDS, default=None,
                     help="Backend of the judge (default: same as --backend)."),
        click.option("--judge-model", default=None,
                     help="Judge model (default: same as --model). A larger model judges "
                          "better: see `qaforge models`."),
        click.option("--judge-base-url", "judge_base_urls", multiple=True,
                     help="OpenAI-compatible server URL for the judge (repeatable)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def runner_options(func: F) -> F:
    """--runner local|ray and --ray-address."""
    options = [
        click.option("--runner", type=click.Choice(["local", "ray"]), default=None,
                     help="Run in this process (default) or on a Ray cluster "
                          "(pip install 'qaforge[ray]'; see docs/cluster.md)."),
        click.option("--ray-address", default=None,
                     help="Ray cluster to join (default: $RAY_ADDRESS, else start a local one)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def runner_overrides(params: dict[str, Any]) -> dict[str, Any]:
    return {"runner": params.get("runner"), "ray_address": params.get("ray_address")}


def llm_overrides(params: dict[str, Any]) -> dict[str, Any]:
    """The ``[llm]`` section implied by :func:`llm_options` flags (None = not given)."""
    urls = list(params.get("base_urls") or ())
    return {
        "backend": params.get("backend"),
        "model": params.get("model"),
        "base_url": urls[0] if urls else None,
        "base_urls": urls or None,
        "api_key": params.get("api_key"),
        "concurrency": params.get("concurrency"),
        "threads": params.get("threads"),
    }


def judge_overrides(params: dict[str, Any]) -> dict[str, Any]:
    urls = list(params.get("judge_base_urls") or ())
    out = {"backend": params.get("judge_backend"), "model": params.get("judge_model"),
           "base_url": urls[0] if urls else None, "base_urls": urls or None}
    return {k: v for k, v in out.items() if v is not None}


def settings_from(params: dict[str, Any], sections: dict[str, dict[str, Any]],
                  search_dirs: tuple[Path, ...] = ()) -> Settings:
    """Load settings (file < flags) or exit with the reason."""
    try:
        return load_settings(params.get("config_path"), sections, search_dirs)
    except ConfigError as exc:
        fail(str(exc))
        raise  # unreachable, for type checkers


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler preempting the job, ``kill``): unwinds like Ctrl-C, so the
    same clean-up runs and finished work is saved."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread."""

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def friendly_errors(func: F) -> F:
    """Turn the errors a user can fix into one line and exit code 2 (no traceback)."""
    from qaforge.errors import QaforgeError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (QaforgeError, FileNotFoundError) as exc:
            fail(str(exc))
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            console.print(f"[yellow]{'terminated' if terminated else 'interrupted'}[/]: "
                          "finished work is saved; run the same command again to resume.")
            sys.exit(143 if terminated else 130)

    return wrapper  # type: ignore[return-value]
