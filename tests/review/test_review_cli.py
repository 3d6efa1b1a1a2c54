"""``qaforge review`` as a person runs it: a real process serving on loopback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from qaforge.cli.review import command
from qaforge.review.security import allowed_hosts, is_loopback

URL = re.compile(r"http://127\.0\.0\.1:(\d+)/\?token=([\w\-]+)")


def start_review(*args: str) -> subprocess.Popen[str]:
    code = "from qaforge.cli.review import command; command(prog_name='qaforge review')"
    env = {**os.environ, "COLUMNS": "300"}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)


def wait_for_url(process: subprocess.Popen[str], timeout: float = 30) -> tuple[str, list[str]]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        lines.append(line)
        if URL.search(line):
            return URL.search(line).group(0), lines  # type: ignore[union-attr]
    raise AssertionError(f"no URL printed: {''.join(lines)}")


@pytest.fixture
def review_process(workdir: Path, manual: Path) -> Iterator[subprocess.Popen[str]]:
    process = start_review(str(workdir), "--port", "0")
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)


def test_serves_the_work_dir_until_interrupted(review_process: subprocess.Popen[str]) -> None:
    url, _ = wait_for_url(review_process)
    port, token = URL.search(url).groups()  # type: ignore[union-attr]
    with httpx.Client(follow_redirects=True) as http:
        page = http.get(url)
        assert page.status_code == 200 and token in page.text
        docs = http.get(f"http://127.0.0.1:{port}/api/docs", headers={"X-QAForge-Token": token})
        assert [d["source"] for d in docs.json()["documents"]] == ["manual.pdf"]
    review_process.send_signal(signal.SIGINT)
    output, _ = review_process.communicate(timeout=20)
    assert review_process.returncode in (0, 130)
    assert "stopped; every change is already saved" in output
    assert "Traceback" not in output


def test_busy_port_moves_to_the_next_free_one(workdir: Path, manual: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        process = start_review(str(workdir), "--port", str(taken))
        try:
            url, lines = wait_for_url(process)
            assert f"port {taken} is in use" in "".join(lines)
            assert f":{taken}/" not in url
        finally:
            process.kill()
            process.wait(10)


def test_missing_output_folder_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "output_json: no such folder" in result.output
    assert "Traceback" not in result.output


def test_help_shows_examples() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "qaforge review work/ --open" in result.output and "--host" in result.output


def test_host_rules() -> None:
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "::1", "localhost"]
    assert allowed_hosts("0.0.0.0") == ["*"]
    assert allowed_hosts("review.lan") == ["review.lan"]
    assert is_loopback("localhost") and is_loopback("127.0.0.2") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
