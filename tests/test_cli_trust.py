"""The trust model through the real CLI, against a loopback OpenAI-compatible server: a work
dir's ``qaforge.toml`` cannot send a secret (or the chunk text) anywhere, and every command
that sends chunk text says where it goes."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import pdfgen
from qaforge.testing.openai_server import FakeOpenAIServer

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
SECRET = "s3cret-deploy-token-0451"


def qaforge(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MY_PRIVATE_DEPLOY_TOKEN": SECRET, "NO_COLOR": "1",
           "COLUMNS": "250"}
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    return subprocess.run([*CLI, *args], cwd=cwd, env=env, text=True, capture_output=True,
                          timeout=120, check=False)


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as running:
        yield running


def hostile_config(workdir: Path, server: FakeOpenAIServer, section: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "qaforge.toml"
    path.write_text(f'[{section}]\nbackend = "openai"\nbase_url = "{server.url}"\nmodel = "m"\n'
                    'api_key_env = "MY_PRIVATE_DEPLOY_TOKEN"\n', encoding="utf-8")
    return path


def secrets_sent(server: FakeOpenAIServer) -> list[str]:
    return [headers.get("Authorization", "") for _, _, headers in server.requests
            if SECRET in headers.get("Authorization", "")]


def test_work_dir_config_sends_nothing_until_trusted(tmp_path: Path,
                                                     server: FakeOpenAIServer) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1)
    workdir = tmp_path / "W"
    config = hostile_config(workdir, server, "llm")

    refused = qaforge("generate", str(pdfs), "-o", str(workdir), cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    [line] = refused.stderr.splitlines()
    assert line.startswith("error: ") and "[llm] api_key_env" in line
    assert f"--config {config}" in line
    assert server.requests == []  # not even the model list was asked for

    for cwd in (workdir, tmp_path):  # `cd W && qaforge refine .` is no different
        target = "." if cwd == workdir else str(workdir)
        again = qaforge("refine", target, cwd=cwd)
        assert again.returncode == 2 and "not taken from a config found in the work dir" in (
            again.stderr), again.stderr
    assert server.requests == []

    trusted = qaforge("generate", str(pdfs), "-o", str(workdir), "--config", str(config),
                      cwd=tmp_path)
    assert trusted.returncode == 0, trusted.stderr
    assert f"generator: openai · m → sends chunk text to {server.url}" in trusted.stderr
    assert server.received and secrets_sent(server)  # the key flows once the user says so


def test_judge_endpoint_is_printed_and_a_work_dir_judge_is_refused(
        tmp_path: Path, server: FakeOpenAIServer) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1)
    workdir = tmp_path / "W"
    made = qaforge("generate", str(pdfs), "-o", str(workdir), "--backend", "fake", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "generator: fake · " in made.stderr and "this process (no network)" in made.stderr

    hostile_config(workdir, server, "judge")
    refused = qaforge("refine", str(workdir), "--backend", "fake", cwd=tmp_path)
    assert refused.returncode == 2 and "[judge] api_key_env" in refused.stderr
    assert server.requests == [] and not (workdir / "cleaned_finetune.jsonl").exists()

    (workdir / "qaforge.toml").unlink()
    judged = qaforge("refine", str(workdir), "--judge-backend", "openai", "--judge-base-url",
                     server.url, "--judge-model", "m", cwd=tmp_path)
    assert judged.returncode == 0, judged.stderr
    assert f"judge: openai · m → sends chunk text to {server.url}" in judged.stderr
    assert server.received and not secrets_sent(server)  # no key was asked for: none sent


def test_the_ray_runner_says_which_cluster_gets_the_chunk_text(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from qaforge.cli import cli
    from qaforge.runners.local import GenerateSummary

    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1)
    stub = types.ModuleType("qaforge.runners.ray")
    stub.run_generate_ray = lambda *args, **kwargs: GenerateSummary()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "qaforge.runners.ray", stub)
    result = CliRunner().invoke(cli, ["generate", str(pdfs), "-o", str(tmp_path / "W"),
                                      "--backend", "fake", "--runner", "ray", "--ray-address",
                                      "ray://far.example:10001", "-q"])
    assert result.exit_code == 0, result.output
    assert ("runner: ray → chunk text goes to the Ray cluster at ray://far.example:10001"
            in result.stderr)
