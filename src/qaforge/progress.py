"""Progress for long work: a rich progress bar on a terminal, plain log lines otherwise.

Runners talk to a :class:`Reporter`; stages never do. ``Reporter.for_console()`` picks the
right kind; :class:`SilentReporter` is for library use and tests. Labels, statuses and log
lines often quote file names, so they are printed as plain, cleaned text (never markup, no
control characters: :func:`qaforge.terminal.clean`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from qaforge.terminal import clean, plain

#: ``progress(stage, done, total)``: how library stages (refine's steps) report progress
ProgressFn = Callable[[str, int, int], None]


class Reporter:
    """Base reporter: counts only. Subclasses show something."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0
        self.label = ""

    @staticmethod
    def for_console(console: Console) -> Reporter:
        return RichReporter(console) if console.is_terminal else LineReporter(console)

    def phase(self, label: str, total: int) -> None:
        self.label, self.total, self.done = label, total, 0

    def advance(self, n: int = 1, status: str = "") -> None:
        self.done += n

    def log(self, message: str) -> None:
        """A line the user should see (warnings, per-file errors)."""

    def close(self) -> None:
        """Finish the current bar."""

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SilentReporter(Reporter):
    """Collects log lines in :attr:`lines`; shows nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


class LineReporter(Reporter):
    """One plain line per item, for logs and CI (no terminal control codes)."""

    def __init__(self, console: Console, every_seconds: float = 0.0) -> None:
        super().__init__()
        self.console = console
        self.every = every_seconds
        self._last = 0.0

    def phase(self, label: str, total: int) -> None:
        super().phase(label, total)
        self.console.print(plain(f"{label}: {total} to do"), highlight=False)

    def advance(self, n: int = 1, status: str = "") -> None:
        super().advance(n)
        now = time.monotonic()
        if now - self._last >= self.every or self.done == self.total:
            self._last = now
            tail = f" {status}" if status else ""
            self.console.print(plain(f"{self.label} [{self.done}/{self.total}]{tail}"),
                               highlight=False, soft_wrap=True)

    def log(self, message: str) -> None:
        self.console.print(plain(message), highlight=False, soft_wrap=True)


class RichReporter(Reporter):
    """A live progress bar with a status field (e.g. pairs and tokens/s)."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def phase(self, label: str, total: int) -> None:
        self.close()
        super().phase(label, total)
        self._progress = Progress(
            TextColumn("{task.description}", style="bold", markup=False), BarColumn(),
            MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
            TextColumn("{task.fields[status]}", markup=False), console=self.console,
            transient=False)
        self._progress.start()
        self._task = self._progress.add_task(clean(label), total=total, status="")

    def advance(self, n: int = 1, status: str = "") -> None:
        super().advance(n)
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=n, status=clean(status))

    def log(self, message: str) -> None:
        target = self._progress.console if self._progress else self.console
        target.print(plain(message), highlight=False, soft_wrap=True)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
