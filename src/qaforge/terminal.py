"""Text bound for a terminal: untrusted strings made inert, consoles that honour NO_COLOR.

File names, document text, model output and error messages that quote them are data: a
``[red]`` in a file name must print as ``[red]``, and an ESC or a newline in it must not
move the cursor, change colours or forge a line. :func:`clean` makes such a string inert
(control characters become visible ``\\xNN`` escapes) and :func:`plain` wraps it in a
rich ``Text`` so it is never parsed as markup.
"""

from __future__ import annotations

import os
import re

from rich.console import Console
from rich.text import Text

# C0 (tab kept), DEL, C1, and the bidi overrides/isolates that reorder what a line shows
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: object) -> str:
    """``str(text)`` with every control character (ESC, CR, LF, C1, bidi overrides) shown as
    a ``\\xNN`` escape, so printing it cannot change the terminal or start a new line."""
    return _UNSAFE.sub(_visible, str(text))


def plain(text: object, style: str = "") -> Text:
    """Untrusted text as a rich ``Text``: cleaned, never read as markup."""
    return Text(clean(text), style=style)


def styled(label: str, style: str, message: object) -> Text:
    """``label`` in ``style`` (e.g. ``"error:"`` in bold red), a space, then the cleaned
    ``message`` as plain text."""
    return Text.assemble((label, style), " ", plain(message))


def no_color() -> bool:
    """True when the ``NO_COLOR`` convention (https://no-color.org) asks for no colour."""
    return bool(os.environ.get("NO_COLOR"))


def make_console(*, stderr: bool) -> Console:
    """A console that writes no ANSI code at all under ``NO_COLOR`` or when its stream is not
    a terminal (rich decides the latter when printing)."""
    return Console(stderr=stderr, highlight=False,
                   color_system=None if no_color() else "auto")
