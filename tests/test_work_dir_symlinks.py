"""Issue 14 item 8: one path rule for every command (qaforge.safe_paths). Inside the work dir
the user named, anything that resolves outside it is refused with one line naming it and
never read or written: generate's suggestions files and state folder, refine's cache
(refine's and export's own listings are tested in tests/refine/test_refine_bad_files.py)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import pdfgen
from qaforge.cli import cli


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.replace("\n", "")


def test_generate_refuses_a_suggestions_file_leading_outside(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1, name="manual0.pdf")
    pdfgen.plain_pdf(pdfs, pages=1, name="manual1.pdf")
    workdir = tmp_path / "work"
    (workdir / "output_json").mkdir(parents=True)
    outside = tmp_path / "notes.txt"
    outside.write_text("someone's notes, not a suggestions file", encoding="utf-8")
    (workdir / "output_json" / "manual0_suggestions.json").symlink_to(outside)
    code, output = _run("generate", str(pdfs), "-o", str(workdir), "--backend", "fake")
    assert code == 1, output
    assert "manual0_suggestions.json: resolves outside the work dir" in output
    assert outside.read_text(encoding="utf-8") == "someone's notes, not a suggestions file"
    assert (workdir / "output_json" / "manual0_suggestions.json").is_symlink()
    assert (workdir / "output_json" / "manual1_suggestions.json").is_file()


def test_a_state_folder_leading_outside_is_refused(tmp_path: Path) -> None:
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    pdfgen.plain_pdf(pdfs, pages=1, name="manual0.pdf")
    workdir = tmp_path / "work"
    code, output = _run("generate", str(pdfs), "-o", str(workdir), "--backend", "fake")
    assert code == 0, output
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for child in (workdir / ".qaforge").iterdir():
        child.unlink()
    (workdir / ".qaforge").rmdir()
    (workdir / ".qaforge").symlink_to(elsewhere)
    for args in (["generate", str(pdfs), "-o", str(workdir), "--backend", "fake"],
                 ["refine", str(workdir), "--judge-backend", "fake"]):
        code, output = _run(*args)
        assert code == 2, output
        assert "/.qaforge" in output and "resolves outside the work dir" in output
        assert list(elsewhere.iterdir()) == []
