"""``qaforge eval`` of a LoRA adapter folder with the transformers backend: the adapter
is merged into the base model it names, and its answers are the adapted model's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from quiz_helpers import item, quiz_script, write_workdir

from qaforge.llm.base import BackendUnavailable
from qaforge.llm.fake import FakeBackend
from qaforge.llm.hf import adapter_base
from qaforge.quiz import QuizSettings, build_quiz

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]


def test_adapter_folder_names_its_base(tmp_path: Path) -> None:
    assert adapter_base(str(tmp_path)) is None and adapter_base("") is None
    (tmp_path / "adapter_config.json").write_text(json.dumps(
        {"base_model_name_or_path": "/models/base.gguf", "peft_type": "LORA"}))
    assert adapter_base(str(tmp_path)) == "/models/base.gguf"
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(BackendUnavailable, match="names no base_model_name_or_path"):
        adapter_base(str(tmp_path))


@pytest.mark.transformers
@pytest.mark.slow
def test_eval_compares_a_base_model_with_its_lora_adapter(tmp_path: Path,
                                                          bundled_model: Path) -> None:
    pytest.importorskip("torch", reason="needs the [transformers] extra (torch)")
    peft = pytest.importorskip("peft", reason="a LoRA adapter needs peft")
    import torch

    from qaforge.llm.hf import TransformersBackend

    base = TransformersBackend(str(bundled_model), threads=1, batch_size=1)
    torch.manual_seed(0)
    config = peft.LoraConfig(r=4, lora_alpha=64, target_modules=["q_proj", "v_proj"],
                             init_lora_weights=False)
    adapted = peft.get_peft_model(base._model, config)
    adapted.save_pretrained(str(tmp_path / "adapter"))
    base.close()
    settings = tmp_path / "adapter" / "adapter_config.json"
    written = json.loads(settings.read_text(encoding="utf-8"))
    settings.write_text(json.dumps({**written, "base_model_name_or_path": str(bundled_model)}))

    work = write_workdir(tmp_path / "work")
    build_quiz(work, FakeBackend(quiz_script({"Eiffel": [item(
        "short", "In which year was the Eiffel Tower completed?", "1889",
        "completed in 1889 for the World's Fair.")]})), QuizSettings(control=1))
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [*CLI, "eval", "work", "-m", f"base=transformers:{bundled_model}",
         "-m", f"tuned=transformers:{tmp_path / 'adapter'}", "--threads", "1",
         "--judge-backend", "fake", "--closed-book-only"],
        cwd=tmp_path, env=env, text=True, capture_output=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    assert "tuned - base" in done.stdout
    result = json.loads((work / "eval.json").read_text(encoding="utf-8"))
    models = {m["label"]: m for m in result["models"]}
    assert models["tuned"]["model"].endswith(f"+{tmp_path / 'adapter'}")
    answers = [{label: r["closed"]["answer"] for label, r in entry["results"].items()}
               for entry in result["items"]]
    assert all(a["base"] and a["tuned"] for a in answers)
    assert any(a["base"] != a["tuned"] for a in answers)  # the adapter changed the model
