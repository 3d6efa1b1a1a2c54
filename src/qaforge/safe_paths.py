"""One rule for every command that reads or writes files in a work dir.

The work dir the user named is trusted, wherever it is (its parents may be symlinks).
Anything inside it that resolves outside it (a symlinked file, a symlinked folder such as
``output_json`` itself, a ``..`` in a name) is refused: it is never read or written, and the
command says so in one line naming it. A symlink that stays inside the work dir is fine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from qaforge.errors import UnsafePathError

OUTSIDE = "resolves outside the work dir (a symlink?)"


def inside(root: Path, candidate: Path) -> bool:
    """True when ``candidate`` resolves to a path inside ``root`` (no traversal and no
    symlink escape). ``candidate`` need not exist: its existing part is resolved."""
    try:
        candidate.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop
        return False
    return True


def refusal(root: Path, candidate: Path, action: str = "not read") -> str | None:
    """The one line that refuses ``candidate``, or ``None`` when it is safe to use."""
    return None if inside(root, candidate) else f"{candidate}: {OUTSIDE}; {action}"


def require_inside(root: Path, candidate: Path, action: str = "not read") -> Path:
    """``candidate`` itself when it is inside ``root``; else :class:`UnsafePathError`."""
    message = refusal(root, candidate, action)
    if message is not None:
        raise UnsafePathError(message)
    return candidate


@dataclass(slots=True)
class SafeListing:
    """The files of a listing that may be used, and one line per file refused."""

    files: list[Path] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return [line for _, line in self.refused]


def safe_listing(root: Path, folder: Path, paths: Iterable[Path],
                 action: str = "not read") -> SafeListing:
    """Split ``paths`` (a listing of ``folder``) into files inside ``root`` and refusals.

    A ``folder`` that itself resolves outside gets one line for all of it; nothing in it
    is listed (so nothing is read through it).
    """
    if folder.exists() and not inside(root, folder):
        return SafeListing(refused=[(folder, f"{folder}: {OUTSIDE}; nothing in it is used")])
    listing = SafeListing()
    for path in paths:
        message = refusal(root, path, action)
        if message is None:
            listing.files.append(path)
        else:
            listing.refused.append((path, message))
    return listing
