"""Errors raised when a PDF cannot be extracted at all.

Every error carries the file and a one-line reason a person can act on, and
``str(error)`` is ``"<file name>: <reason>"`` so a caller can print it as is and go on
with the next file.
"""

from __future__ import annotations

from qaforge.errors import EncryptedPDFError, ExtractionError  # noqa: F401 (re-exported)


