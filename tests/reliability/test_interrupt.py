"""Ctrl-C: SIGINT to the real ``qaforge generate`` (with the embedded llama.cpp engine, one
CPU thread) and to ``qaforge review``. The process stops promptly with one line and exit code
130, the engine and the server ports are released, finished work is saved, and the next run
starts cleanly and picks up where this one stopped.

The engine alone is tested the same way in ``tests/llm/test_engine.py``; the review
server's shutdown message in ``tests/review/test_review_cli.py``.
"""

from __future__ import annotations

import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from reliability_helpers import (
    CLI,
    RequestLog,
    cli_env,
    listening_ports,
    load_clean,
    run_cli,
    session_processes,
    settled_chunks,
    suggestions_by_name,
    wait_until,
    words_pdf,
)

from qaforge.suggestions import suggestions_dir

STOP_SECONDS = 15


def start(args: list[str], cwd: Path, env: dict[str, str] | None = None
          ) -> subprocess.Popen[str]:
    return subprocess.Popen([*CLI, *args], cwd=cwd, env=env or cli_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 180
               ) -> tuple[re.Match[str], list[str]]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        found = re.search(pattern, line)
        if found:
            return found, lines
    raise AssertionError(f"{pattern!r} never printed:\n{''.join(lines)}")


def interrupt(process: subprocess.Popen[str], signum: int = signal.SIGINT
              ) -> tuple[str, float]:
    """Ctrl-C (or ``signum``); returns the rest of the output and how long stopping took."""
    started = time.monotonic()
    process.send_signal(signum)
    try:
        rest, _ = process.communicate(timeout=STOP_SECONDS * 4)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return rest, time.monotonic() - started


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


@pytest.mark.model
@pytest.mark.slow
def test_ctrl_c_stops_the_engine_and_the_next_run_resumes(bundled_model: Path,
                                                          tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "doc.pdf", seed=5, pages=1, sentences=20)
    workdir = tmp_path / "work"
    args = ["generate", str(pdfs), "-o", str(workdir), "--model", str(bundled_model),
            "--threads", "1", "--concurrency", "2", "--pairs", "1", "--chunk-tokens", "96"]
    process = start(args, tmp_path)
    found, _ = read_until(process, r"^generate: (\d+) to do")
    total = int(found.group(1))
    assert total >= 3, "the test PDF should make a few chunks"
    time.sleep(2.0)  # both slots generating
    engine_ports = listening_ports(process.pid)
    assert engine_ports, "the embedded engine should be listening on loopback"
    rest, took = interrupt(process)
    assert process.returncode == 130, rest
    assert took < STOP_SECONDS, f"took {took:.1f}s to stop after Ctrl-C"
    assert "interrupted: finished work is saved" in rest and "Traceback" not in rest
    assert all(refuses(port) for port in engine_ports)
    assert session_processes(process.pid) == []  # nothing left running behind it
    done_before = len(settled_chunks(workdir))  # and every file parses
    assert done_before < total

    again = run_cli(args, cwd=tmp_path, timeout=600)
    assert again.returncode == 0, again.stdout
    assert re.search(rf"^generate: {total - done_before} to do", again.stdout, re.M), again.stdout
    data = load_clean(suggestions_dir(workdir) / "doc_suggestions.json")
    assert len(data.chunks) == total and all(c.state != "pending" for c in data.chunks)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated"),  # kill, or a scheduler preempting the job
])
def test_ctrl_c_during_generation_saves_finished_chunks(tmp_path: Path, signum: int,
                                                        code: int, said: str) -> None:
    """The same with the fake backend, at a random moment: what finished is kept, the rest
    is asked for on the next run and nothing twice. SIGTERM stops the same way."""
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    words_pdf(pdfs, "doc.pdf", seed=8, pages=3)
    workdir = tmp_path / "work"
    log = RequestLog(tmp_path / "requests.jsonl")
    env = cli_env(QAFORGE_FAKE_DELAY="0.1", QAFORGE_FAKE_LOG=str(log.path))
    args = ["generate", str(pdfs), "-o", str(workdir), "--backend", "fake",
            "--chunk-tokens", "48", "--concurrency", "2", "--no-skip-boilerplate"]
    process = start(args, tmp_path, env)
    found, _ = read_until(process, r"^generate: (\d+) to do", timeout=60)
    total = int(found.group(1))
    target = random.Random(3).randint(2, total - 4)
    assert wait_until(lambda: log.refresh() >= target, timeout=60)
    rest, took = interrupt(process, signum)
    assert process.returncode == code and took < STOP_SECONDS, rest
    assert f"{said}: finished work is saved" in rest and "Traceback" not in rest
    settled = settled_chunks(workdir)
    written = {c.id for d in suggestions_by_name(workdir).values() for c in d.chunks
               if c.state == "generated"}
    assert settled == written  # landed in the file on the way out, not only journaled
    assert target - 2 <= len(settled) < total  # at most the 2 requests in flight are lost

    start_count = log.refresh()
    again = run_cli(args, cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stdout
    asked = [entry["tag"] for entry in log.since(start_count)]
    assert sorted(asked) == sorted({c.id for d in suggestions_by_name(workdir).values()
                                    for c in d.chunks} - settled)


@pytest.mark.slow
def test_ctrl_c_frees_the_review_port_for_the_next_run(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    (workdir / "output_json").mkdir(parents=True)
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for _ in range(2):
        process = start(["review", str(workdir), "--port", str(port)], tmp_path)
        found, lines = read_until(process, r"http://127\.0\.0\.1:(\d+)/\?token=", timeout=60)
        assert int(found.group(1)) == port, "".join(lines)  # not moved to another port
        assert not refuses(port)
        rest, took = interrupt(process)
        assert process.returncode in (0, 130) and took < STOP_SECONDS, rest
        assert "Traceback" not in rest
        assert refuses(port)
        assert session_processes(process.pid) == []
