"""Every exception qaforge raises on purpose, in one tree.

::

    QaforgeError                    root: ``except QaforgeError`` catches all of them
    ├── UserError                   the user can fix this; the CLI prints one line, exit 2
    │   ├── ConfigError             a config file or flag that cannot be used
    │   ├── InputError              an input file or folder that cannot be used
    │   │   ├── JsonFileError       a JSON file that does not parse (with line and column)
    │   │   ├── ExtractionError     a document that yields nothing (corrupt, empty, too big)
    │   │   │   └── EncryptedPDFError
    │   │   └── UnsafePathError     a path that leads outside the work dir
    │   ├── OutputError             an output that cannot be written (disk full, read-only)
    │   ├── ExportError             a dataset that cannot be exported
    │   ├── StaleRevisionError      a file changed on disk since it was read
    │   ├── ModelError              a model that cannot be found, fetched or trusted
    │   │   └── ModelIntegrityError
    │   ├── OCRError                tesseract missing or failed
    │   ├── PortInUseError          no free port for the review app
    │   ├── RayRunError             a cluster job that failed
    │   ├── LLMError                a model request that failed for good
    │   └── BackendUnavailable      a backend that cannot start here (extra, model, endpoint)
    └── RequestError                a review-app request the store refuses (HTTP status)

Classes keep the standard base they always had (``ValueError``, ``RuntimeError``,
``OSError``) as a second base, so code that caught those still works.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "EncryptedPDFError",
    "ExportError",
    "ExtractionError",
    "InputError",
    "JsonFileError",
    "LLMError",
    "ModelError",
    "ModelIntegrityError",
    "OCRError",
    "OutputError",
    "PortInUseError",
    "QaforgeError",
    "RayRunError",
    "RequestError",
    "StaleRevisionError",
    "UnsafePathError",
    "UserError",
]


class QaforgeError(Exception):
    """Root of every exception qaforge raises on purpose."""


class UserError(QaforgeError):
    """Something the user can fix; its message is one line that says what and where."""


class ConfigError(UserError, ValueError):
    """A config file or flag that cannot be used, with the reason."""


class InputError(UserError, ValueError):
    """An input file or folder that cannot be used."""


class JsonFileError(InputError):
    """A JSON file that does not parse, with the position a person needs to fix it."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        self.reason = message
        where = f":{line}:{column}" if line is not None else ""
        super().__init__(f"{self.path}{where}: {message}")


class ExtractionError(InputError):
    """A document that yields nothing: missing, empty, not a PDF, truncated, corrupt, too big."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class EncryptedPDFError(ExtractionError):
    """A PDF that needs a user password: none was given, or the one given is wrong."""


class UnsafePathError(InputError):
    """A path (often through a symlink) that resolves outside the work dir it belongs to."""


class OutputError(UserError, OSError):
    """An output that cannot be written: a full disk, a read-only file system, a file where a
    folder should be. Nothing half-written is left behind."""


class ExportError(UserError, ValueError):
    """A dataset that cannot be exported (bad rows, an output folder we must not touch)."""


class StaleRevisionError(UserError, RuntimeError):
    """The file changed on disk since the revision the writer started from."""

    def __init__(self, path: Path, expected: str | None, actual: str | None,
                 note: str = "") -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path}: changed on disk since it was read (revision {expected} -> {actual}); "
            f"reload and apply the change again{'; ' + note if note else ''}"
        )


class ModelError(UserError, RuntimeError):
    """A model that cannot be found, fetched or trusted (one line, says what to do)."""


class ModelIntegrityError(ModelError):
    """A downloaded or cached file whose sha256 is not the pinned one."""


class OCRError(UserError, RuntimeError):
    """Tesseract is missing, failed, or ran out of time on a page."""


class PortInUseError(UserError, OSError):
    """No free port at or after the one asked for."""


class RayRunError(UserError, RuntimeError):
    """A cluster job that failed (a stage raised, a worker died); the message is one line."""


class LLMError(UserError, RuntimeError):
    """A request that failed for good (after the backend's own retries)."""


class BackendUnavailable(UserError, RuntimeError):
    """A backend cannot start here (missing extra, missing model, bad endpoint)."""


class RequestError(QaforgeError):
    """A review-app request the store refuses, with the HTTP status and what the page
    should show."""

    def __init__(self, status_code: int, kind: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status_code, self.kind, self.message, self.details = (status_code, kind,
                                                                   message, details)

    def to_json(self) -> dict[str, Any]:
        return {"error": self.message, "kind": self.kind, **self.details}
