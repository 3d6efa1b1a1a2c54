"""Stage 2: ``qaforge review``, a local web app to curate the drafted Q&A pairs.

The suggestions files in ``WORKDIR/output_json`` stay the single source of truth: every
change is written to them at once, atomically, and refused when the file changed since
the page read it.
"""

from __future__ import annotations

from qaforge.review.app import create_app
from qaforge.review.server import ReviewServer
from qaforge.review.store import ReviewError, ReviewStore

__all__ = ["ReviewError", "ReviewServer", "ReviewStore", "create_app"]
