"""Options and helpers shared by the sub-commands (each command lives in its own module)."""

from __future__ import annotations

import contextlib
import errno
import functools
import signal
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from qaforge.cli.output import (
    console,
    detail,
    fail,
    output_options,
    say,
)
from qaforge.config import ConfigError, Settings, load_settings, locate_config

F = TypeVar("F", bound=Callable[..., Any])

BACKENDS = click.Choice(["llamacpp", "openai", "transformers", "fake"])

__all__ = ["BACKENDS", "console", "fail", "friendly_errors", "output_options", "say",
           "settings_from"]


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
        click.option("--reasoning", type=click.Choice(["strip", "keep"]), default=None,
                     help="Reasoning models: strip their thinking (default) or keep it in "
                          "the dataset as a separate field, never inside the answer."),
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
        "reasoning": params.get("reasoning"),
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
        path, trusted = locate_config(params.get("config_path"), *search_dirs)
        settings = load_settings(params.get("config_path"), sections, search_dirs)
    except ConfigError as exc:
        fail(str(exc))
    if path is not None:
        detail(f"config: {path} ({'trusted' if trusted else 'from the work dir: tuning only'})")
    return settings


@contextlib.contextmanager
def one_writer(workdir: Path) -> Iterator[None]:
    """Hold the work dir's generate lock: a second ``generate`` or ``run`` on the same work
    dir stops at once with one line instead of racing the first one's writes."""
    from filelock import FileLock, Timeout

    from qaforge.workspace import state_dir

    lock = FileLock(state_dir(workdir) / "generate.lock", timeout=0)
    try:
        lock.acquire()
    except Timeout:
        fail(f"{workdir}: another `qaforge generate` or `qaforge run` is writing this work "
             "dir; wait for it to finish, then run the same command again")
    try:
        yield
    finally:
        lock.release()


def require_suggestions(workdir: Path) -> None:
    """Exit with one line when WORKDIR has no suggestions file yet (before a model starts)."""
    from qaforge.suggestions import iter_suggestion_files, suggestions_dir

    if next(iter_suggestion_files(workdir), None) is None:
        fail(f"{suggestions_dir(workdir)}: no *_suggestions.json files; run `qaforge generate "
             f"PDFS -o {workdir}` first")


class Terminated(KeyboardInterrupt):
    """SIGTERM (a scheduler preempting the job, ``kill``): unwinds like Ctrl-C, so the
    same clean-up runs and finished work is saved."""


def stop_on_sigterm() -> None:
    """Turn SIGTERM into :class:`Terminated` in the main thread."""

    def handler(signum: int, frame: object) -> None:
        raise Terminated

    signal.signal(signal.SIGTERM, handler)


def os_error_message(exc: OSError, workdir: Path | None = None) -> str:
    """One line naming the file and the cause of an ``OSError`` (disk full, read-only file
    system, a file where a folder should be, permission denied)."""
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    if not names and exc.strerror is None:  # raised with a message of its own
        return str(exc) or type(exc).__name__
    cause = exc.strerror or str(exc) or type(exc).__name__
    hint = {errno.ENOSPC: "free some space and run the same command again; finished work "
                          "is kept",
            errno.EROFS: "write to another folder (-o)",
            errno.ENOTDIR: "a file stands where a folder is needed",
            errno.EEXIST: "a file stands where a folder is needed"}.get(exc.errno or 0)
    where = " -> ".join(names) if names else (str(workdir) if workdir else "")
    return ": ".join(part for part in (where, cause, hint) if part)


def database_error_message(exc: sqlite3.Error, workdir: Path | None) -> str:
    """One line for a failure of the reply cache (the only database qaforge keeps)."""
    from qaforge.refine.cache import CACHE_PATH

    where = workdir / CACHE_PATH if workdir is not None else Path(CACHE_PATH)
    return f"{where}: {exc}"


def friendly_errors(func: F) -> F:
    """Turn the errors a user can fix into one line and exit code 2 (no traceback):
    qaforge's own errors, and the operating system's (disk full, read-only file system, a
    file where a folder should be) and the reply cache's, named with the file."""
    from qaforge.errors import QaforgeError

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        workdir = kwargs.get("workdir")
        try:
            return func(*args, **kwargs)
        except QaforgeError as exc:
            fail(str(exc))
        except OSError as exc:
            fail(os_error_message(exc, workdir))
        except sqlite3.Error as exc:
            fail(database_error_message(exc, workdir))
        except KeyboardInterrupt as exc:
            terminated = isinstance(exc, Terminated)
            say("finished work is saved; run the same command again to resume.",
                "terminated:" if terminated else "interrupted:", "yellow", always=True)
            sys.exit(143 if terminated else 130)

    return wrapper  # type: ignore[return-value]
