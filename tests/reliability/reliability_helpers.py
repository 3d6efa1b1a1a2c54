"""Shared tools of the reliability suite: the real CLI in a subprocess, the fake backend's
request log, and checks that a work dir is whole (every file parses, nothing half-written).

The CLI runs as ``python -c "from qaforge.cli import main; main()" ...`` with ``--backend
fake``; ``QAFORGE_FAKE_DELAY`` slows each reply and ``QAFORGE_FAKE_LOG`` appends one JSON
line per model request (see :mod:`qaforge.llm.fake`), so a test can count model calls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qaforge.fileio import parse_json_bytes
from qaforge.journal import ChunkJournal
from qaforge.records import Chunk, Suggestion, SuggestionsFile
from qaforge.suggestions import iter_suggestion_files, load_suggestions
from qaforge.workspace import STATE_DIR

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
JOURNAL = Path(STATE_DIR) / "generate.journal.jsonl"


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: wide plain output, fake-backend knobs unset
    unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAFORGE_FAKE_")}
    return {**env, "COLUMNS": "250", "PYTHONUNBUFFERED": "1", "NO_COLOR": "1", **extra}


def run_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run ``qaforge ARGS`` to the end; stdout and stderr together in ``stdout``."""
    return subprocess.run([*CLI, *args], cwd=cwd, env=env or cli_env(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout,
                          check=False)


def start_cli(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None,
              output: Path | None = None) -> subprocess.Popen[bytes]:
    """Start ``qaforge ARGS`` in its own session; its output goes to ``output`` (a file, so
    a full pipe never blocks the child) or nowhere."""
    sink = open(output, "ab") if output is not None else subprocess.DEVNULL  # noqa: SIM115
    try:
        return subprocess.Popen([*CLI, *args], cwd=cwd, env=env or cli_env(),
                                stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    finally:
        if output is not None:
            sink.close()  # type: ignore[union-attr]


def kill_hard(process: subprocess.Popen[bytes]) -> bool:
    """``kill -9`` the process (if still running) and reap it; True when it was killed."""
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    return True


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


class RequestLog:
    """Reads the fake backend's request log incrementally (one JSON line per request)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._tail = b""
        self.entries: list[dict[str, Any]] = []

    def refresh(self) -> int:
        """Read what was appended since the last call; returns the number of requests."""
        if self.path.exists():
            with open(self.path, "rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
            self._offset += len(data)
            lines = (self._tail + data).split(b"\n")
            self._tail = lines.pop()  # a line still being written (or torn by a kill)
            for line in lines:
                self.entries.append(json.loads(line))
        return len(self.entries)

    def since(self, start: int) -> list[dict[str, Any]]:
        self.refresh()
        return self.entries[start:]


def load_clean(path: Path) -> SuggestionsFile:
    """A suggestions file that must parse and validate without a single problem."""
    loaded = load_suggestions(path)
    assert not loaded.problems, [str(p) for p in loaded.problems[:3]]
    return loaded.data


def suggestions_by_name(workdir: Path) -> dict[str, SuggestionsFile]:
    """Every suggestions file of the work dir, each checked whole (see :func:`load_clean`)."""
    return {path.name: load_clean(path) for path in iter_suggestion_files(workdir)}


def journal_entries(workdir: Path) -> dict[str, set[str]]:
    """Chunk ids per file in the generate journal (as the next run will replay it)."""
    path = workdir / JOURNAL
    return {name: set(chunks) for name, chunks in ChunkJournal(path).replay().items()}


def settled_chunks(workdir: Path) -> set[str]:
    """Chunk ids whose model work is done: written into a file, or journaled."""
    done = {chunk.id for data in suggestions_by_name(workdir).values()
            for chunk in data.chunks if chunk.state != "pending"}
    for ids in journal_entries(workdir).values():
        done |= ids
    return done


def assert_json_file_whole(path: Path) -> None:
    """A JSON (or JSON Lines) output file is absent or complete: never half-written."""
    if not path.exists():
        return
    raw = path.read_bytes()
    if path.suffix == ".jsonl":
        assert raw == b"" or raw.endswith(b"\n"), f"{path}: ends mid-line"
        for number, line in enumerate(raw.splitlines(), 1):
            assert isinstance(json.loads(line), dict), f"{path}:{number}"
    else:
        parse_json_bytes(raw, path)


@dataclass
class PersonEdits:
    """What a simulated person did to suggestions files, to check it survives every run."""

    pairs: dict[tuple[str, str, str], tuple[str, str, str]] = field(default_factory=dict)
    texts: dict[tuple[str, str], str] = field(default_factory=dict)

    def record_pair(self, file_name: str, chunk_id: str, pair: Any) -> None:
        self.pairs[(file_name, chunk_id, pair.id)] = (pair.question, pair.answer, pair.status)

    def assert_kept(self, workdir: Path) -> None:
        files = suggestions_by_name(workdir)
        for (name, chunk_id, pair_id), expected in self.pairs.items():
            chunk = files[name].chunk(chunk_id)
            assert chunk is not None, (name, chunk_id)
            assert isinstance(chunk.suggestions, list), (name, chunk_id)
            found = [(p.question, p.answer, p.status) for p in chunk.suggestions
                     if p.id == pair_id]
            assert found == [expected], (name, chunk_id, pair_id, found)
        for (name, chunk_id), text in self.texts.items():
            chunk = files[name].chunk(chunk_id)
            assert chunk is not None and chunk.suggestions == text, (name, chunk_id)


def pseudo_words(rng: Any, count: int) -> list[str]:
    """Distinct made-up words, so generated pairs are neither duplicates nor near ones."""
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(consonants) + rng.choice(vowels)
                          for _ in range(rng.randint(2, 4))))
    return sorted(words)


def diverse_workdir(workdir: Path, rng: Any, *, documents: int = 3, chunks: int = 8,
                    pairs: int = 3) -> None:
    """Suggestions files with distinct, grounded pairs (as a good generator would write
    them) and a person's review in some of them: accepted, edited and rejected pairs."""
    from qaforge.records import GeneratorInfo, Source
    from qaforge.suggestions import suggestions_dir, write_suggestions

    vocabulary = pseudo_words(rng, 4000)
    statuses = ["draft"] * 6 + ["accepted", "edited", "rejected"]
    for number in range(documents):
        built = []
        for index in range(chunks):
            sentences, made = [], []
            for pair_index in range(pairs):
                w = rng.sample(vocabulary, 8)
                sentences.append(f"The {w[0]} {w[1]} of {w[2]} turns {w[3]} into {w[4]} "
                                 f"{w[5]} when {w[6]} meets {w[7]}.")
                made.append((f"What does the {w[0]} {w[1]} of {w[2]} turn {w[3]} into?",
                             sentences[-1], rng.choice(statuses), pair_index))
            text = " ".join(sentences)
            headings = [f"{number + 1} Part", f"{number + 1}.{index + 1} Section"]
            chunk_id = Chunk.make_id(text, headings)
            suggestions = [Suggestion(id=Suggestion.make_id(chunk_id, q, i), question=q,
                                      answer=a if status != "edited" else f"In short: {a}",
                                      status=status) for q, a, status, i in made]
            built.append(Chunk(id=chunk_id, pages=[index + 1, index + 1], headings=headings,
                               text=text, suggestions=suggestions, state="generated"))
        data = SuggestionsFile(
            source=Source(file=f"doc{number}.pdf", sha256=f"{number:064d}", pages=chunks),
            generator=GeneratorInfo(backend="fake", model="fake-model", prompt="qa/v1"),
            chunks=built)
        write_suggestions(suggestions_dir(workdir) / f"doc{number}_suggestions.json", data)


def kill_after_requests(process: subprocess.Popen[bytes], log: RequestLog, target: int,
                        pause: float, timeout: float = 120) -> bool:
    """Let ``process`` run until ``log`` counts ``target`` requests (or it ends), wait
    ``pause`` seconds more, then ``kill -9`` it; True when it was killed."""
    try:
        reached = wait_until(lambda: log.refresh() >= target or process.poll() is not None,
                             timeout=timeout)
        assert reached, f"no progress to {target} requests in {timeout}s"
        time.sleep(pause)
    finally:
        killed = kill_hard(process)
    return killed


def words_pdf(folder: Path, name: str, seed: int, pages: int = 2, sentences: int = 14) -> Path:
    """A PDF of made-up sentences unlike any other file's (so no chunk is shared and no pair
    is a duplicate across files)."""
    import random

    from fpdf import FPDF

    rng = random.Random(seed)
    vocabulary = pseudo_words(rng, 600)
    pdf = FPDF(format="A4")
    pdf.set_font("helvetica", size=11)
    for _ in range(pages):
        pdf.add_page()
        text = " ".join(
            " ".join(rng.sample(vocabulary, rng.randint(6, 12))).capitalize() + "."
            for _ in range(sentences))
        pdf.multi_cell(0, 6, text)
    path = folder / name
    pdf.output(str(path))
    return path


def listening_ports(pid: int) -> set[int]:
    """TCP ports a live process listens on (Linux ``/proc``)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports: set[int] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def session_processes(session: int) -> list[int]:
    """Live processes of a session (a child started with ``start_new_session``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def pairs_of(chunk: Chunk) -> list[Suggestion]:
    """A chunk's pairs, which must be a list (not a person's seed-style text)."""
    assert isinstance(chunk.suggestions, list), chunk.id
    return chunk.suggestions
