from __future__ import annotations

import os
from pathlib import Path

import pytest

from qaforge.fileio import (
    JsonFileError,
    atomic_write_json,
    atomic_write_text,
    file_revision,
    read_json,
)
from qaforge.safe_paths import inside


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    atomic_write_json(target, {"x": "ü"})
    atomic_write_json(target, {"x": 2})
    assert read_json(target) == {"x": 2}
    assert os.listdir(tmp_path) == ["a.json"]


def test_failed_write_keeps_old_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_lone_surrogates_are_writable_as_valid_utf8(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "s.txt", "a\ud800b")
    assert (tmp_path / "s.txt").read_bytes() == b"a\\ud800b"  # inside JSON: the same char
    atomic_write_json(tmp_path / "s.json", {"t": "a\ud800b"})
    assert read_json(tmp_path / "s.json") == {"t": "a\ud800b"}


def test_lone_surrogates_written_by_older_versions_still_read(tmp_path: Path) -> None:
    (tmp_path / "old.json").write_bytes(b'{"t": "a\xed\xa0\x80b"}')
    assert read_json(tmp_path / "old.json") == {"t": "a\ud800b"}


def test_read_json_names_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n  "b": oops\n}\n')
    with pytest.raises(JsonFileError) as info:
        read_json(bad)
    assert (info.value.line, info.value.column) == (3, 8)
    assert str(info.value).startswith(f"{bad}:3:8: invalid JSON")


def test_read_json_reports_bad_utf8_position(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"a":\n "\xff"}')
    with pytest.raises(JsonFileError, match="not valid UTF-8") as info:
        read_json(bad)
    assert info.value.line == 2


def test_revision_changes_with_content(tmp_path: Path) -> None:
    target = tmp_path / "f"
    assert file_revision(target) is None
    target.write_text("1")
    first = file_revision(target)
    target.write_text("2")
    assert file_revision(target) != first


def test_inside_refuses_traversal_and_symlink_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret").write_text("x")
    (root / "link").symlink_to(tmp_path / "secret")
    assert inside(root, root / "a" / "b.json")
    assert not inside(root, root / ".." / "secret")
    assert not inside(root, root / "link")
