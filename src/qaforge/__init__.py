"""qaforge: turn a folder of PDFs into a reviewed, judged fine-tuning dataset.

The three stages are importable as a library::

    from qaforge import extract_pdf, chunk_document, load_settings
"""

from __future__ import annotations

__version__ = "0.1.0"
