"""Is a page's text layer usable? Spot pages with no text and pages of garbage.

Garbage comes from fonts without a Unicode map: PDFium returns control characters for
them, other tools U+FFFD, private-use code points or ``(cid:N)`` tokens. We count all of
those. A page is flagged when it has (almost) no text, or when a large share of its
characters are unreadable; single garbage lines on an otherwise fine page are dropped by
:func:`is_garbage_line` instead.
"""

from __future__ import annotations

import re

_UNREADABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ue000-\uf8ff]|\\(cid:\\d+\\)"
)
#: a page with fewer visible characters than this, covered by an image, is a scan
MIN_TEXT_CHARS = 20
#: share of unreadable characters that makes a whole page garbage
PAGE_GARBAGE_SHARE = 0.3
LINE_GARBAGE_SHARE = 0.3
#: a page whose largest image covers this much of it, with no text, is a scan
SCAN_IMAGE_COVER = 0.5

NO_TEXT_SCANNED = "no text layer (scanned image)"
NO_TEXT = "no text"


def unreadable_count(text: str) -> int:
    """Characters that carry no readable text (a ``(cid:N)`` token counts as its length)."""
    count = 0
    for match in _UNREADABLE.finditer(text):
        count += len(match.group())
    return count


def visible_count(text: str) -> int:
    return len(text) - text.count(" ") - text.count("\r") - text.count("\n")


def page_issue(raw_text: str, image_cover: float) -> str | None:
    """Why this page's text layer is unusable, or ``None`` when it is fine."""
    visible = visible_count(raw_text)
    if visible < MIN_TEXT_CHARS and image_cover >= SCAN_IMAGE_COVER:
        return NO_TEXT_SCANNED
    if visible == 0:
        return NO_TEXT
    bad = unreadable_count(raw_text)
    if bad and bad >= PAGE_GARBAGE_SHARE * visible:
        return f"garbage text ({100 * bad // visible}% unreadable characters)"
    return None


def partly_unreadable(raw_text: str) -> int:
    """Unreadable characters on a page that is otherwise fine (0 when there are none)."""
    return unreadable_count(raw_text) if _UNREADABLE.search(raw_text) else 0


def is_garbage_line(text: str) -> bool:
    """True for a line that is mostly unreadable characters."""
    if not _UNREADABLE.search(text):
        return False
    return unreadable_count(text) >= LINE_GARBAGE_SHARE * max(1, len(text.replace(" ", "")))


def needs_ocr(issue: str | None) -> bool:
    """Pages worth sending to OCR: scans and garbage text (not pages that are simply blank)."""
    return issue is not None and (issue == NO_TEXT_SCANNED or issue.startswith("garbage"))
