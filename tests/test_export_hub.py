"""``qaforge export --push-to-hub`` (issue 19 item 6), against a stand-in for the Hub API on
127.0.0.1 (``HF_ENDPOINT``); never against the real Hub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from export_helpers import refined
from hub_standin import HubStandIn

pytest.importorskip("huggingface_hub")


def export_cli(args: list[str], endpoint: str, token: str, cwd: Path
               ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_ENDPOINT=endpoint, HF_TOKEN=token, HF_HOME=str(cwd / "hf-home"),
               HF_HUB_DISABLE_TELEMETRY="1")
    return subprocess.run([sys.executable, "-c", "from qaforge.cli import main; main()",
                           "export", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def test_push_creates_a_private_repo_and_uploads_the_folder(tmp_path: Path) -> None:
    work = refined(tmp_path / "work", documents=2)
    with HubStandIn() as hub:
        done = export_cli([str(work), "--split", "0.8", "--license", "cc-by-4.0",
                           "--push-to-hub", "me/rivers-qa", "--json"], hub.url, "hf_secret",
                          tmp_path)
    assert done.returncode == 0, done.stderr
    assert hub.repos["me/rivers-qa"]["visibility"] == "private"
    assert hub.repos["me/rivers-qa"]["type"] == "dataset"
    out = work / "export"
    assert hub.files["me/rivers-qa"] == {p.name: p.read_bytes() for p in out.iterdir()}
    assert {"train.jsonl", "validation.jsonl", "README.md"} <= set(hub.files["me/rivers-qa"])
    assert all(auth == "Bearer hf_secret" for method, path, auth in hub.requests
               if method == "POST")
    assert "license: \"cc-by-4.0\"" in hub.validated[0]
    summary = json.loads(done.stdout)
    assert summary["hub"]["private"] is True and summary["hub"]["repo_id"] == "me/rivers-qa"
    assert "pushed to" in done.stderr and "(private)" in done.stderr


def test_public_on_request_and_a_refused_token_is_one_line(tmp_path: Path) -> None:
    work = refined(tmp_path / "work")
    with HubStandIn() as hub:
        done = export_cli([str(work), "--push-to-hub", "me/open", "--public"], hub.url,
                          "hf_ok", tmp_path)
        assert done.returncode == 0, done.stderr
        assert hub.repos["me/open"]["visibility"] == "public"
    with HubStandIn(refuse_token="hf_bad") as hub:
        done = export_cli([str(work), "--push-to-hub", "me/closed"], hub.url, "hf_bad",
                          tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "push to me/closed failed" in errors[0]
    assert "Traceback" not in done.stderr
    assert (work / "export" / "train.jsonl").is_file()  # the export itself stays
