"""Servers without /tokenize count with the model's own tokenizer when its tokenizer.json is
on this machine (a model folder, or the Hugging Face hub cache), never downloading one; else
the conservative per-script estimate (issue 18 part 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qaforge.languages import estimate_tokens
from qaforge.llm.fake import FakeBackend

tokenizers = pytest.importorskip("tokenizers")

TEXT = "보험금 지급 기준 보험금 지급"


def write_tokenizer(folder: Path) -> None:
    """A word-level tokenizer that knows three Korean words: each word is one token."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {"[UNK]": 0, "보험금": 1, "지급": 2, "기준": 3}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(folder / "tokenizer.json"))


def test_a_model_folder_with_its_tokenizer_counts_exactly(tmp_path: Path) -> None:
    write_tokenizer(tmp_path / "my-model")
    assert FakeBackend(model=str(tmp_path / "my-model")).count_tokens(TEXT) == 5
    assert FakeBackend(model=str(tmp_path / "my-model")).count_tokens("") == 0


def test_a_hub_id_in_the_local_cache_counts_with_its_tokenizer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = pytest.importorskip("huggingface_hub.constants")
    repo = tmp_path / "hub" / "models--acme--tiny-ko"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd", encoding="utf-8")
    write_tokenizer(repo / "snapshots" / "0123abcd")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert FakeBackend(model="acme/tiny-ko").count_tokens(TEXT) == 5


def test_without_a_local_tokenizer_the_estimate_is_used(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    hub = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(hub, "HF_HUB_CACHE", str(tmp_path / "empty"))
    for model in ("acme/not-cached", "fake-model", "qwen2.5:7b", str(tmp_path / "nothing")):
        assert FakeBackend(model=model).count_tokens(TEXT) == estimate_tokens(TEXT)
