"""What the CLI prints and where: untrusted names are data (no markup, no control codes),
no ANSI code at all under ``NO_COLOR`` or into a pipe, data on stdout and messages on
stderr, ``--json`` summaries, ``-q``."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

import pdfgen
from qaforge.cli import cli

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
ODD = "[red]x[bold]\x1b[31mevil\x1b[0m"  # rich markup and a raw ANSI colour in a file name
SGR = re.compile(rb"\x1b\[[0-9;]*m")


def plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE")}
    return {**env, "COLUMNS": "200", **extra}


def qaforge(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, env=plain_env(**env), capture_output=True,
                          timeout=120, check=False)


@pytest.fixture
def odd_pdfs(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    pdfgen.plain_pdf(folder, pages=1, name=f"{ODD}good.pdf")
    (folder / f"{ODD}broken.pdf").write_bytes(b"%PDF-1.4\n% truncated\n")
    return folder


@pytest.mark.parametrize("no_color", ["", "1"])
def test_names_are_printed_as_data_and_a_pipe_gets_no_ansi(tmp_path: Path, odd_pdfs: Path,
                                                           no_color: str) -> None:
    extra = {"NO_COLOR": no_color} if no_color else {}
    done = qaforge("generate", str(odd_pdfs), "-o", "work", "--backend", "fake", cwd=tmp_path,
                   **extra)
    assert done.returncode == 1, done.stderr  # the broken file fails, the good one goes on
    assert b"\x1b" not in done.stdout + done.stderr
    err = done.stderr.decode()
    shown = "[red]x[bold]\\x1b[31mevil\\x1b[0m"
    assert f"failed: {shown}broken.pdf" in err and f"{shown}good.pdf" in err

    work = tmp_path / "[red]x[" / "red]\x1b[31mW"  # [red]x[/red] and ESC in a folder path
    work.mkdir(parents=True)
    missing = qaforge("refine", str(work), cwd=tmp_path, **extra)
    assert missing.returncode == 2 and b"\x1b" not in missing.stdout + missing.stderr
    [line] = missing.stderr.decode().splitlines()
    assert line.startswith("error: ") and "[red]x[/red]\\x1b[31mW" in line
    assert line.endswith("first")  # nothing after the message (no stray reset code)


def run_on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, bytes]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; its exit code and output."""
    master, slave = pty.openpty()
    process = subprocess.Popen([*CLI, *args], cwd=cwd, env=env, stdout=slave, stderr=slave,
                               stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    code = process.wait(120)
    reader.join(10)
    os.close(master)
    return code, b"".join(chunks)


def test_a_terminal_gets_colour_but_never_a_name_s_escape_codes(tmp_path: Path,
                                                                 odd_pdfs: Path) -> None:
    args = ["generate", str(odd_pdfs), "-o", "work", "--backend", "fake"]
    code, output = run_on_a_terminal(args, tmp_path, plain_env(TERM="xterm-256color"))
    assert code == 1, output
    assert b"\x1b[31mevil" not in output and b"[red]x[bold]" in output
    assert SGR.search(output)  # colour is on for a terminal...

    code, output = run_on_a_terminal(args, tmp_path,
                                     plain_env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 1, output
    assert not SGR.search(output), output  # ...and off with NO_COLOR


def test_data_on_stdout_messages_on_stderr_and_json(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=2)
    done = qaforge("run", str(pdfs), "-o", "work", "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out, err = done.stdout.decode(), done.stderr.decode()
    assert "chunks done / total" in out and "dataset rows" in out  # both summaries
    assert "generator: fake" in err and "to do" in err and "to do" not in out

    done = qaforge("run", str(pdfs), "-o", "work", "--backend", "fake", "--json", "-q",
                   cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] is True and summary["generate"]["chunks_total"] >= 1
    assert summary["refine"]["dataset_rows"] > 0 and summary["refine"]["pairs_in"] > 0
    assert done.stderr.decode().splitlines() == [  # -q: only where chunk text goes
        "generator: fake · fake-model → sends chunk text to this process (no network)"]

    listing = qaforge("models", cwd=tmp_path)
    assert b"Recommended models" in listing.stdout and listing.stderr == b""
    models = json.loads(qaforge("models", "--json", cwd=tmp_path).stdout)
    assert models["bundled"]["name"] and models["recommended"]


def test_json_summaries_of_generate_refine_and_export(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=2)
    work = str(tmp_path / "work")
    runner = CliRunner()
    generated = runner.invoke(cli, ["generate", str(pdfs), "-o", work, "--backend", "fake",
                                    "--json"])
    assert generated.exit_code == 0, generated.output
    assert json.loads(generated.stdout)["files"][0]["status"] == "new"
    refined = runner.invoke(cli, ["refine", work, "--backend", "fake", "--json"])
    assert refined.exit_code == 0, refined.output
    assert json.loads(refined.stdout)["dataset_rows"] > 0
    exported = runner.invoke(cli, ["export", work, "--json"])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["train"] > 0


def test_verbose_says_which_config_was_read(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1)
    work = tmp_path / "work"
    work.mkdir()
    (work / "qaforge.toml").write_text("[generate]\npairs_per_chunk = 2\n", encoding="utf-8")
    args = ["generate", str(pdfs), "-o", str(work), "--backend", "fake"]
    quiet = CliRunner().invoke(cli, args)
    assert quiet.exit_code == 0 and "config:" not in quiet.stderr
    loud = CliRunner().invoke(cli, [*args, "-v"])
    assert loud.exit_code == 0, loud.output
    assert f"config: {work / 'qaforge.toml'} (from the work dir: tuning only)" in loud.stderr
    assert "generator details: {'backend': 'fake'" in loud.stderr
