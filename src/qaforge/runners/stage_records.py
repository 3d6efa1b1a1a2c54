"""The records the cluster stages pass along: one type per ``kind``.

Stage 1 (:mod:`qaforge.runners.stages`):

* :class:`PdfTask` (``pdf``): a PDF to extract, the input of
  :func:`~qaforge.runners.stages.extract_records`; ``settled`` lists the chunk ids its file
  already has done;
* :class:`Extracted` (``extracted``): the same with its :class:`~qaforge.records.Document`;
* :class:`ExtractFailed` (``failed``): the same with one line naming the file;
* :class:`ChunkedDocument` (``document``): a chunked PDF with all its chunks (the driver
  writes the suggestions file from it); ``todo`` of them follow as :class:`ChunkTask`;
* :class:`ChunkTask` (``chunk``): a chunk to draft pairs for, the input and output of
  :class:`~qaforge.runners.stages.GenerateRecords`.

Stage 3: :class:`PairRow` (``pair``), a :class:`~qaforge.refine.pair_record.PairRecord` and its
position in the driver's list.

LLM stages put the counters of a batch (tokens, calls) in ``stats`` of the first record
they return. Records travel as JSON (:func:`to_json` and :func:`from_json`): a chunk's
``suggestions`` may be a person's string, which Arrow's typed columns cannot hold.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from qaforge.records import Chunk, Document
from qaforge.refine.pair_record import PairRecord

Stats = dict[str, int]


class _PdfFields(BaseModel):
    pdf: str
    file: str
    settled: list[str] = Field(default_factory=list)


class PdfTask(_PdfFields):
    kind: Literal["pdf"] = "pdf"


class Extracted(_PdfFields):
    kind: Literal["extracted"] = "extracted"
    document: Document


class ExtractFailed(_PdfFields):
    kind: Literal["failed"] = "failed"
    error: str


class ChunkedDocument(BaseModel):
    kind: Literal["document"] = "document"
    file: str
    pdf: str
    pages: int
    warnings: list[str]
    chunks: list[Chunk]
    todo: int


class ChunkTask(BaseModel):
    kind: Literal["chunk"] = "chunk"
    file: str
    document: str
    chunk: Chunk
    stats: Stats | None = None


class PairRow(BaseModel):
    kind: Literal["pair"] = "pair"
    index: int
    record: PairRecord
    stats: Stats | None = None


StageRecord = Annotated[PdfTask | Extracted | ExtractFailed | ChunkedDocument | ChunkTask
                        | PairRow, Field(discriminator="kind")]
_RECORD: TypeAdapter[StageRecord] = TypeAdapter(StageRecord)


def to_json(record: StageRecord) -> str:
    return json.dumps(record.model_dump(mode="json"), ensure_ascii=False)


def from_json(text: str) -> StageRecord:
    return _RECORD.validate_python(json.loads(text))
