"""qaforge: turn a folder of PDFs into a reviewed, judged fine-tuning dataset.

The stages are importable as a library; every name below is imported on first use, so
``import qaforge`` stays cheap::

    from pathlib import Path
    from qaforge import (chunk_document, export_dataset, extract_pdf, load_settings,
                         make_client, refine_workdir, run_generate)

    settings = load_settings()                               # defaults < qaforge.toml
    with make_client(settings.llm) as llm:
        doc = extract_pdf(Path("docs/manual.pdf"))           # a Document of elements
        chunks = chunk_document(doc, max_tokens=512, count_tokens=llm.count_tokens)
        run_generate([Path("docs")], Path("work"), client=llm, settings=settings.generate)
    with make_client(settings.judge_llm()) as judge:         # stage 3
        refine_workdir(Path("work"), judge=judge, settings=settings.refine)
    export_dataset(Path("work"), fmt="prompt-completion", split=0.9, license="cc-by-4.0")

``FakeBackend`` is a scripted backend for deterministic tests of your own pipelines. Every
error qaforge raises for bad input or settings is a ``QaforgeError`` (``UserError`` for the
ones a person can fix).
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (8 ms)

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access)
_EXPORTS = {
    "ChatRequest": "qaforge.llm.base",
    "Chunk": "qaforge.records",
    "Completion": "qaforge.llm.base",
    "Document": "qaforge.records",
    "ExportResult": "qaforge.export",
    "FakeBackend": "qaforge.llm.fake",
    "GenerateSummary": "qaforge.runners.driver",
    "LLMClient": "qaforge.llm.base",
    "QaforgeError": "qaforge.errors",
    "RefineSummary": "qaforge.refine",
    "Settings": "qaforge.config",
    "SuggestionsFile": "qaforge.records",
    "UserError": "qaforge.errors",
    "chunk_document": "qaforge.chunking",
    "export_dataset": "qaforge.export",
    "extract_pdf": "qaforge.extract",
    "load_settings": "qaforge.config",
    "make_client": "qaforge.llm",
    "push_to_hub": "qaforge.export",
    "refine_workdir": "qaforge.refine",
    "run_generate": "qaforge.runners.local",
}

__all__ = [
    "ChatRequest",
    "Chunk",
    "Completion",
    "Document",
    "ExportResult",
    "FakeBackend",
    "GenerateSummary",
    "LLMClient",
    "QaforgeError",
    "RefineSummary",
    "Settings",
    "SuggestionsFile",
    "UserError",
    "__version__",
    "chunk_document",
    "export_dataset",
    "extract_pdf",
    "load_settings",
    "make_client",
    "push_to_hub",
    "refine_workdir",
    "run_generate",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports lazily
    from qaforge.chunking import chunk_document
    from qaforge.config import Settings, load_settings
    from qaforge.errors import QaforgeError, UserError
    from qaforge.export import ExportResult, export_dataset, push_to_hub
    from qaforge.extract import extract_pdf
    from qaforge.llm import make_client
    from qaforge.llm.base import ChatRequest, Completion, LLMClient
    from qaforge.llm.fake import FakeBackend
    from qaforge.records import Chunk, Document, SuggestionsFile
    from qaforge.refine import RefineSummary, refine_workdir
    from qaforge.runners.driver import GenerateSummary
    from qaforge.runners.local import run_generate


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qaforge' has no attribute {name!r}")
    value = getattr(__import__(module, fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__} - {"TYPE_CHECKING"})
