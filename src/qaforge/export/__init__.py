"""``qaforge export``: the refined dataset in the format a trainer reads, with a dataset card.

Reads ``WORKDIR/cleaned_finetune.jsonl`` (and ``evaluation.json`` and the suggestions files
for the card) and writes one folder, all at once: ``train.jsonl`` (+ ``validation.jsonl``
with a split), ``README.md`` (a Hub dataset card) and the trainer configs that fit the format
(``dataset_info.json`` for LLaMA-Factory, ``axolotl.yaml`` for Axolotl). Formats:

* ``messages``: ``{"messages": [{"role": ..., "content": ...}]}`` (chat templates, OpenAI
  fine-tuning, LLaMA-Factory, Axolotl ``type: chat_template``);
* ``prompt-completion``: ``{"prompt": [...], "completion": [...]}``, TRL's conversational
  prompt-completion format: ``SFTTrainer`` puts the loss on the answer only (with
  ``messages`` it trains on the question too for the common chat templates);
* ``alpaca``: ``{"instruction", "input", "output"}`` (+ ``system``), for LLaMA-Factory and
  Axolotl ``type: alpaca``;
* ``sharegpt``: ``{"conversations": [{"from": "human"|"gpt", "value": ...}]}`` (+ ``system``)
  for LLaMA-Factory (Axolotl's docs call ShareGPT deprecated: use ``messages`` there).

Every row keeps its provenance (``id``, ``source_file``, ``document``, ``pages``,
``chunk_id``, ``label``, ``decision``) as extra columns. A split keeps each document (or
chunk, with one document) on one side. :func:`push_to_hub` uploads the folder.

    >>> from qaforge.export import export_dataset, push_to_hub      # doctest: +SKIP
    >>> result = export_dataset(Path("work"), fmt="prompt-completion", split=0.9,
    ...                         license="cc-by-4.0")
    >>> push_to_hub(result.output, "me/my-dataset")                # private by default
"""

from qaforge.errors import ExportError
from qaforge.export.card import CARD_MARKER, CardInfo, dataset_card
from qaforge.export.formats import (
    CONVERTERS,
    FORMATS,
    Conversation,
    ExportFormat,
    conversation_of,
    read_dataset,
)
from qaforge.export.hub import PushResult, push_to_hub
from qaforge.export.pipeline import TRAIN_NAME, VALIDATION_NAME, ExportResult, export_dataset
from qaforge.export.split import SPLIT_BY, SplitBy, split_rows

__all__ = ["CARD_MARKER", "CONVERTERS", "FORMATS", "SPLIT_BY", "TRAIN_NAME", "VALIDATION_NAME",
           "CardInfo", "Conversation", "ExportError", "ExportFormat", "ExportResult",
           "PushResult", "SplitBy", "conversation_of", "dataset_card", "export_dataset",
           "push_to_hub", "read_dataset", "split_rows"]
