"""Errors raised when a PDF cannot be extracted at all.

Every error carries the file and a one-line reason a person can act on, and
``str(error)`` is ``"<file name>: <reason>"`` so a caller can print it as is and go on
with the next file.
"""

from __future__ import annotations

from pathlib import Path


class ExtractionError(Exception):
    """A PDF that yields no document: missing, empty, not a PDF, truncated, corrupt, too big."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class EncryptedPDFError(ExtractionError):
    """A PDF that needs a user password: none was given, or the one given is wrong."""
