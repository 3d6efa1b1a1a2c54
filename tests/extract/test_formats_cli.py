"""``qaforge generate`` on a folder mixing PDF, DOCX, HTML, Markdown, text and EPUB writes a
suggestions file for each (issue 18 part 3: it used to find 0 files and exit 0); a file of
an unknown format, or one that is not what its suffix says, is one line naming it and exit
1; hidden files and the work dir inside the input folder are not looked at."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import data_fetch
import pdfgen
from qaforge.discovery import discover_pdfs, find_pdfs
from qaforge.ingest import read_document

CLI = [sys.executable, "-c", "from qaforge.cli import main; main()"]
SHARED_PDF = Path(__file__).resolve().parents[2] / ".." / "shared" / "pdfs" / "code_and_formula.pdf"
DOCUMENTS = ("pandoc-reference.docx", "policy-ch-scope.html", "nodejs-documentation.md",
             "copyright-format-1.0.txt", "policy.epub")


def generate(inputs: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QAFORGE_FAKE_")}
    return subprocess.run([*CLI, "generate", str(inputs), "-o", str(workdir), "--backend",
                           "fake"], cwd=inputs.parent, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, check=False,
                          env={**env, "COLUMNS": "250", "NO_COLOR": "1"})


def error_lines(output: str, name: str) -> list[str]:
    return [line for line in output.splitlines()
            if line.startswith(("error: ", "failed: ")) and name in line]


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """A folder with one real document of each format (the PDF from ../shared/pdfs when
    present) in nested folders, plus a hidden file."""
    docs = data_fetch.samples_or_skip()
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    for index, name in enumerate(DOCUMENTS):
        shutil.copyfile(docs / name, folder / ("sub" if index % 2 else ".") / name)
    if SHARED_PDF.is_file():
        shutil.copyfile(SHARED_PDF, folder / "paper.pdf")
    else:
        pdfgen.plain_pdf(folder, pages=2).rename(folder / "paper.pdf")
    (folder / ".DS_Store").write_bytes(b"\x00\x01 not a document")
    return folder


def test_generate_writes_a_suggestions_file_for_each_format(mixed: Path, tmp_path: Path) -> None:
    done = generate(mixed, tmp_path / "work")
    assert done.returncode == 0, done.stdout
    out = tmp_path / "work" / "output_json"
    wanted = {"paper_suggestions.json", *(f"{name}_suggestions.json" for name in DOCUMENTS)}
    assert {p.name for p in out.glob("*_suggestions.json")} == wanted
    for name in DOCUMENTS:
        data = json.loads((out / f"{name}_suggestions.json").read_text(encoding="utf-8"))
        assert data["source"]["file"] == name
        # a real document may have a near-blank chunk (a title block): skipped with its reason
        assert any(c["state"] == "generated" for c in data["chunks"])
        assert all(c["state"] == "generated" or c.get("skipped") for c in data["chunks"])
        found = next(mixed.rglob(name))
        titles = {e.text for e in read_document(found).elements if e.kind == "heading"}
        chunk_headings = {h for c in data["chunks"] for h in c["headings"]}
        assert chunk_headings and chunk_headings <= titles, name  # headings come through
    assert ".DS_Store" not in done.stdout


def test_unknown_and_broken_files_are_one_line_each_and_exit_1(mixed: Path) -> None:
    (mixed / "data.xyz").write_text("???", encoding="utf-8")
    (mixed / "sub" / "broken.docx").write_bytes(b"not a zip")
    workdir = mixed / "work"  # inside the input folder: its files are not inputs
    done = generate(mixed, workdir)
    assert done.returncode == 1, done.stdout
    assert "Traceback" not in done.stdout
    [unknown] = error_lines(done.stdout, "data.xyz")
    assert "unsupported format (.xyz files)" in unknown
    broken = error_lines(done.stdout, "broken.docx")
    assert broken and all("not a Word .docx file (not a ZIP archive" in line for line in broken)
    assert len(list((workdir / "output_json").glob("*_suggestions.json"))) == len(DOCUMENTS) + 1

    again = generate(mixed, workdir)  # the work dir's JSON files are not reported
    assert again.returncode == 1 and "_suggestions.json" not in again.stdout, again.stdout


def test_discovery_takes_documents_and_names_everything_else(tmp_path: Path) -> None:
    (tmp_path / "docs" / ".git").mkdir(parents=True)
    (tmp_path / "docs" / ".git" / "config").write_text("x", encoding="utf-8")
    for name in ("a.pdf", "a.md", "b.HTML", "c.Markdown", "d.txt", "e.docx", "f.epub",
                 "g.htm", "notes.rst", "image.png"):
        (tmp_path / "docs" / name).write_bytes(b"x")
    found, problems = find_pdfs([tmp_path / "docs"])
    assert [source for _, source in found] == ["a.md", "a.pdf", "b.HTML", "c.Markdown",
                                               "d.txt", "e.docx", "f.epub", "g.htm"]
    assert [p.split(": ")[0] for p in problems] == [str(tmp_path / "docs" / "image.png"),
                                                    str(tmp_path / "docs" / "notes.rst")]
    # a.pdf and a.md keep apart: a non-PDF's suffix stays in its suggestions file name
    pdfs, _ = discover_pdfs([tmp_path / "docs"], tmp_path / "work")
    names = {item.source: item.name for item in pdfs}
    assert names["a.pdf"] == "a_suggestions.json"
    assert names["a.md"] == "a.md_suggestions.json"
