"""Loss on answers only (issue 19 item 1), measured with the real TRL ``SFTTrainer`` and the
bundled model's own tokenizer and chat template (read from its GGUF by transformers).

With ``messages`` rows TRL trains on every token of the conversation (the question too), and
``assistant_only_loss=True`` refuses the common chat templates; the ``prompt-completion``
export puts the loss on the answer (and the end-of-turn token) only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from export_helpers import PAIRS, refined
from qaforge.export import export_dataset

pytestmark = [pytest.mark.slow, pytest.mark.transformers]


def sft_labels(folder: Path, tokenizer: Any, **config: Any) -> list[tuple[list[int], list[int]]]:
    """(input ids, trained ids) of every row, as TRL's SFTTrainer prepares and collates it."""
    datasets = pytest.importorskip("datasets")
    trl = pytest.importorskip("trl")
    from transformers import LlamaConfig, LlamaForCausalLM

    # the weights do not matter: nothing is trained, only the dataset is prepared
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16,
                                         intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=2))
    dataset = datasets.load_dataset("json", data_files=str(folder / "train.jsonl"),
                                    split="train")
    args = trl.SFTConfig(output_dir=str(folder / "sft"), report_to=[], use_cpu=True,
                         bf16=False, **config)
    trainer = trl.SFTTrainer(model=model, processing_class=tokenizer, train_dataset=dataset,
                             args=args)
    out = []
    for row in trainer.train_dataset:
        batch = trainer.data_collator([row])
        ids, labels = batch["input_ids"][0].tolist(), batch["labels"][0].tolist()
        out.append((ids, [i for i, label in zip(ids, labels, strict=True) if label != -100]))
    return out


def test_prompt_completion_trains_on_the_answers_only(tmp_path: Path,
                                                      bundled_model: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("gguf")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bundled_model.parent),
                                              gguf_file=bundled_model.name)
    work = refined(tmp_path / "work", system_prompt="You know rivers.")
    export_dataset(work, fmt="messages", output=tmp_path / "messages")
    export_dataset(work, fmt="prompt-completion", output=tmp_path / "pc")

    whole = sft_labels(tmp_path / "messages", tokenizer)
    assert all(ids == trained for ids, trained in whole)  # the question is trained on too
    with pytest.raises(ValueError, match="not training-compatible"):
        sft_labels(tmp_path / "messages", tokenizer, assistant_only_loss=True)

    answers_only = sft_labels(tmp_path / "pc", tokenizer)
    rows = [r for r in (tmp_path / "pc" / "train.jsonl").read_text("utf-8").splitlines()]
    assert len(answers_only) == len(rows) == 5
    for (ids, trained), (question, answer) in zip(answers_only, PAIRS, strict=True):
        assert ids[len(ids) - len(trained):] == trained  # one stretch at the end
        assert tokenizer.decode(trained) == answer + tokenizer.eos_token + "\n"
        assert question not in tokenizer.decode(trained)
        assert "You know rivers." in tokenizer.decode(ids)
    total = sum(len(ids) for ids, _ in answers_only)
    trained_total = sum(len(trained) for _, trained in answers_only)
    print(f"trained tokens: messages {sum(len(t) for _, t in whole)} of "
          f"{sum(len(i) for i, _ in whole)}, prompt-completion {trained_total} of {total}")
    assert trained_total / total < 0.4
