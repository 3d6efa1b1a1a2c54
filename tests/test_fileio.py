from __future__ import annotations

import os
from pathlib import Path

import pytest

from qaforge import fileio
from qaforge.errors import StaleRevisionError
from qaforge.fileio import (
    JsonFileError,
    atomic_write_json,
    atomic_write_text,
    file_revision,
    read_json,
    read_snapshot,
    replace_checked,
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


def rename_save(path: Path, data: bytes) -> None:
    """An editor's save by temp file and rename (it takes no lock)."""
    temp = path.with_name(path.name + ".editor~")
    temp.write_bytes(data)
    os.replace(temp, path)


def in_place_save(path: Path, data: bytes) -> None:
    """An editor's save that truncates and rewrites the same file."""
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.write(data)


def test_replace_checked_writes_when_the_file_is_as_read(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    target.chmod(0o640)
    revision = replace_checked(target, b"new", read_snapshot(target))
    assert target.read_bytes() == b"new" and revision == file_revision(target)
    assert target.stat().st_mode & 0o777 == 0o640
    assert os.listdir(tmp_path) == ["a.json"]


@pytest.mark.parametrize("save", [rename_save, in_place_save])
def test_replace_checked_refuses_a_file_changed_since_it_was_read(tmp_path: Path,
                                                                   save: object) -> None:
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    snapshot = read_snapshot(target)
    save(target, b"hand edit")  # type: ignore[operator]
    with pytest.raises(StaleRevisionError):
        replace_checked(target, b"new", snapshot)
    assert target.read_bytes() == b"hand edit"
    assert os.listdir(tmp_path) == ["a.json"]


@pytest.mark.parametrize("save", [rename_save, in_place_save])
@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "link-aside"])
def test_a_save_landing_between_the_check_and_the_swap_is_put_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, save: object, exchange: bool) -> None:
    """The editor saves after the last check, right before the new file is swapped in: the
    displaced file is not the one checked, so it is put back and the write refused."""
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    snapshot = read_snapshot(target)
    real_exchange = fileio._exchange
    calls: list[str | Path] = []

    def exchange_after_a_save(first: str | Path, second: str | Path) -> bool:
        if not calls:  # the swap back that restores the save is not raced
            save(target, b"hand edit")  # type: ignore[operator]
        calls.append(first)
        return real_exchange(first, second) if exchange else False

    monkeypatch.setattr(fileio, "_exchange", exchange_after_a_save)
    with pytest.raises(StaleRevisionError):
        replace_checked(target, b"new", snapshot)
    assert target.read_bytes() == b"hand edit"
    assert os.listdir(tmp_path) == ["a.json"]


def test_replace_checked_creates_only_a_file_that_is_still_missing(tmp_path: Path) -> None:
    target = tmp_path / "a.json"
    snapshot = read_snapshot(target)
    assert snapshot.raw is None
    target.write_bytes(b"a person's new file")
    with pytest.raises(StaleRevisionError):
        replace_checked(target, b"new", snapshot)
    assert target.read_bytes() == b"a person's new file"
    target.unlink()
    replace_checked(target, b"new", snapshot)
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["a.json"]


def test_two_saves_racing_one_write_are_both_kept(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """One save lands before the swap, another on the new file before the swap back: the
    first is put back, the second kept beside it and named in the error; nothing is lost."""
    target = tmp_path / "a.json"
    target.write_bytes(b"old")
    snapshot = read_snapshot(target)
    real_exchange = fileio._exchange
    saves = [lambda: rename_save(target, b"first save"),
             lambda: in_place_save(target, b"second save")]

    def exchange_after_a_save(first: str | Path, second: str | Path) -> bool:
        saves.pop(0)()
        return real_exchange(first, second)

    monkeypatch.setattr(fileio, "_exchange", exchange_after_a_save)
    with pytest.raises(StaleRevisionError, match="kept in"):
        replace_checked(target, b"new", snapshot)
    assert target.read_bytes() == b"first save"
    kept = [p for p in tmp_path.iterdir() if p != target]
    assert [p.read_bytes() for p in kept] == [b"second save"]
