"""Expected failures end in one ``error:`` line naming the file and the cause, exit code 2
(1 for a partial run), no traceback and nothing half-written: a file where the work dir
should be, a full disk, a read-only file system, a broken reply cache, paths that look like
rich markup, and two runs racing on one work dir."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import pdfgen
from qaforge.cli import cli

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def qaforge(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NO_COLOR": "1", "COLUMNS": "250", **env}
    return subprocess.run([*CLI, *args], cwd=cwd, env=full, text=True, capture_output=True,
                          timeout=120, check=False)


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error:")]


@pytest.fixture
def pdfs(tmp_path: Path) -> Path:
    folder = tmp_path / "pdfs"
    folder.mkdir()
    for i in range(3):
        pdfgen.plain_pdf(folder, pages=2, name=f"manual{i}.pdf")
    return folder


@pytest.fixture
def generated(tmp_path: Path, pdfs: Path) -> Path:
    workdir = tmp_path / "work"
    result = CliRunner().invoke(cli, ["generate", str(pdfs), "-o", str(workdir),
                                      "--backend", "fake"])
    assert result.exit_code == 0, result.output
    return workdir


def leftovers(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.tmp")]


def test_output_under_a_file_is_one_line(tmp_path: Path, pdfs: Path) -> None:
    (tmp_path / "afile").write_text("mine", encoding="utf-8")
    done = qaforge("generate", str(pdfs), "-o", "afile/sub", "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [line] = error_lines(done.stderr)
    assert "afile/sub" in line and "Not a directory" in line
    assert (tmp_path / "afile").read_text(encoding="utf-8") == "mine"


def failing_fsync_for(suffix: str, code: int) -> object:
    """``os.fsync`` that fails like a full disk for temp files of names ending in ``suffix``
    (a full disk fails the write or the fsync, which name no file)."""
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        name = os.readlink(f"/proc/self/fd/{fd}")
        if name.endswith(".tmp") and suffix in name:
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    return fsync


@pytest.mark.parametrize("code, cause", [(errno.ENOSPC, "No space left on device"),
                                         (errno.EROFS, "Read-only file system")])
def test_refine_on_a_full_or_read_only_disk_is_one_line(generated: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        code: int, cause: str) -> None:
    monkeypatch.setattr(os, "fsync", failing_fsync_for("cleaned_finetune.jsonl", code))
    result = CliRunner().invoke(cli, ["refine", str(generated), "--backend", "fake"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = error_lines(result.output)
    assert "cleaned_finetune.jsonl" in line and cause in line
    assert not (generated / "cleaned_finetune.jsonl").exists() and not leftovers(generated)


def test_generate_on_a_full_disk_keeps_the_work_in_the_journal(
        tmp_path: Path, pdfs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "work"
    monkeypatch.setattr(os, "fsync", failing_fsync_for("_suggestions.json", errno.ENOSPC))
    result = CliRunner().invoke(cli, ["generate", str(pdfs), "-o", str(workdir),
                                      "--backend", "fake"])
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "No space left on device" in result.output and "_suggestions.json" in result.output
    assert not leftovers(workdir)
    monkeypatch.undo()
    again = CliRunner().invoke(cli, ["generate", str(pdfs), "-o", str(workdir),
                                     "--backend", "fake"])
    assert again.exit_code == 0, again.output
    assert len(list((workdir / "output_json").glob("*_suggestions.json"))) == 3


def test_a_broken_reply_cache_is_one_line(generated: Path) -> None:
    cache = generated / ".qaforge" / "cache.sqlite"
    cache.mkdir(parents=True)  # a folder where the database file should be
    done = qaforge("refine", str(generated), "--backend", "fake", cwd=generated.parent)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [line] = error_lines(done.stderr)
    assert "cache.sqlite" in line and "unable to open database file" in line


def test_paths_that_look_like_markup_are_printed_as_they_are(tmp_path: Path,
                                                             pdfs: Path) -> None:
    odd = tmp_path / "odd[" / "]x[red]"
    done = qaforge("refine", str(odd), "--backend", "fake", cwd=tmp_path)  # no such folder
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    odd.mkdir(parents=True)
    done = qaforge("refine", str(odd), "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    [line] = error_lines(done.stderr)
    assert "odd[/]x[red]" in line

    done = qaforge("generate", str(pdfs), "-o", str(odd), "--backend", "fake", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"next: qaforge review {odd}" in done.stderr


def test_two_generate_runs_on_one_work_dir(tmp_path: Path, pdfs: Path) -> None:
    workdir = tmp_path / "work"
    env = {**os.environ, "NO_COLOR": "1", "QAFORGE_FAKE_DELAY": "0.05"}
    args = [*CLI, "generate", str(pdfs), "-o", str(workdir), "--backend", "fake"]
    runs = [subprocess.Popen(args, cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    codes = sorted(run.returncode for run in runs)
    assert codes == [0, 2], outputs
    loser = outputs[[run.returncode for run in runs].index(2)][1]
    assert "Traceback" not in loser
    [line] = error_lines(loser)
    assert "another `qaforge generate` or `qaforge run` is writing this work dir" in line
    again = qaforge("generate", str(pdfs), "-o", str(workdir), "--backend", "fake",
                    cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "chunks unparseable" in again.stdout


def test_export_on_a_full_disk_is_one_line_and_keeps_the_old_export(
        generated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["refine", str(generated), "--backend", "fake"]).exit_code == 0
    assert runner.invoke(cli, ["export", str(generated)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in (generated / "export").iterdir()}
    monkeypatch.setattr(os, "fsync", failing_fsync_for("train.jsonl", errno.ENOSPC))
    result = runner.invoke(cli, ["export", str(generated), "--format", "alpaca"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    [line] = error_lines(result.output)
    assert "train.jsonl" in line and "No space left on device" in line
    assert {p.name: p.read_bytes() for p in (generated / "export").iterdir()} == before
