"""``qaforge export``: the refined dataset in the format a trainer reads, with a dataset card."""

from qaforge.export.card import (
    CARD_MARKER,
    CONVERTERS,
    FORMATS,
    TRAIN_NAME,
    VALIDATION_NAME,
    Conversation,
    ExportError,
    ExportFormat,
    ExportResult,
    conversation_of,
    dataset_card,
    export_dataset,
    read_dataset,
    split_rows,
)

__all__ = ["CARD_MARKER", "CONVERTERS", "FORMATS", "TRAIN_NAME", "VALIDATION_NAME",
           "Conversation", "ExportError", "ExportFormat", "ExportResult", "conversation_of",
           "dataset_card", "export_dataset", "read_dataset", "split_rows"]
