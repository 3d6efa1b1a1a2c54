"""PDF -> suggestions file names (issue 14, item 1): one file per PDF, the same file on
every run, whatever else is added; names that fit the file system; a file is never filled
from another PDF. The CLI runs with the fake backend on PDFs made by ``pdfgen``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pdfgen
from qaforge.discovery import MAX_NAME_BYTES, discover_pdfs
from qaforge.records import GeneratorInfo, Source, SuggestionsFile
from qaforge.suggestions import iter_suggestion_files, suggestions_dir, write_suggestions
from qaforge.workspace import plan_document

ARGS = ["--backend", "fake", "--chunk-tokens", "64", "--pairs", "2"]
LONG_STEM = "a" * 247  # + ".pdf": the 251-character name that crashed the batch


def generate(pdfs: Path, workdir: Path, log: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1", "QAFORGE_FAKE_LOG": str(log)}
    return subprocess.run(
        [sys.executable, "-c", "from qaforge.cli import main; main()", "generate", str(pdfs),
         "-o", str(workdir), *ARGS], env=env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=180, check=False)


def requests(log: Path) -> int:
    return len(log.read_text(encoding="utf-8").splitlines()) if log.exists() else 0


def recorded(workdir: Path) -> dict[str, dict[str, Any]]:
    """File name -> its ``source`` as on disk."""
    return {path.name: json.loads(path.read_text(encoding="utf-8"))["source"]
            for path in iter_suggestion_files(workdir)}


def test_same_names_case_variants_and_long_names_each_get_their_own_file(tmp_path: Path
                                                                         ) -> None:
    docs = tmp_path / "docs"
    (docs / "2023").mkdir(parents=True)
    pdfgen.table_pdf(docs / "2023", name="report.pdf")
    pdfgen.two_column_pdf(docs, name="report.pdf")
    pdfgen.list_pdf(docs, name="x.pdf")
    pdfgen.code_pdf(docs, name="x.PDF")
    pdfgen.hyphenated_pdf(docs, name=f"{LONG_STEM}.pdf")
    pdfgen.ligature_pdf(docs, name="after-the-long-one.pdf")
    workdir, log = tmp_path / "work", tmp_path / "requests.jsonl"

    done = generate(docs, workdir, log)
    assert done.returncode == 0, done.stdout
    sources = recorded(workdir)
    assert sorted(s["path"] for s in sources.values()) == sorted(
        ["2023/report.pdf", "report.pdf", "x.pdf", "x.PDF", f"{LONG_STEM}.pdf",
         "after-the-long-one.pdf"])
    assert len({name.casefold() for name in sources}) == len(sources) == 6
    assert all(len(name.encode()) <= MAX_NAME_BYTES for name in sources)
    assert "after-the-long-one_suggestions.json" in sources

    sent = requests(log)
    again = generate(docs, workdir, log)
    assert again.returncode == 0, again.stdout
    assert requests(log) == sent  # nothing re-generated
    assert "re-chunked" not in again.stdout and "stale" not in again.stdout
    assert recorded(workdir) == sources


def test_a_pdf_added_later_never_takes_an_existing_file(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfgen.two_column_pdf(docs, name="report.pdf")
    workdir, log = tmp_path / "work", tmp_path / "requests.jsonl"
    assert generate(docs, workdir, log).returncode == 0
    first = suggestions_dir(workdir) / "report_suggestions.json"
    data = json.loads(first.read_text(encoding="utf-8"))
    data["chunks"][0]["suggestions"][0]["status"] = "accepted"
    first.write_text(json.dumps(data, indent=2), encoding="utf-8")
    before = first.read_bytes()

    (docs / "2023").mkdir()
    pdfgen.table_pdf(docs / "2023", name="report.pdf")  # sorts before docs/report.pdf
    done = generate(docs, workdir, log)
    assert done.returncode == 0, done.stdout
    assert "re-chunked" not in done.stdout and "stale" not in done.stdout
    assert first.read_bytes() == before
    sources = recorded(workdir)
    assert len(sources) == 2 and sources["report_suggestions.json"]["path"] == "report.pdf"
    assert {s["path"] for s in sources.values()} == {"report.pdf", "2023/report.pdf"}


INFO = GeneratorInfo(backend="fake", model="m", prompt="qa/v1")


def _old_file(workdir: Path, name: str, pdf_file: str, sha256: str = "0" * 64,
              path: str | None = None) -> Path:
    """A suggestions file as an older version wrote it (``path=None``: no recorded path)."""
    out = suggestions_dir(workdir) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    write_suggestions(out, SuggestionsFile(
        source=Source(file=pdf_file, sha256=sha256, pages=1, path=path), generator=INFO))
    return out


def _tree(root: Path, *paths: str) -> None:
    for index, rel in enumerate(paths):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(f"%PDF-1.4 {index}".encode())


def _names(found: list[Any]) -> dict[str, str]:
    return {f.source: f.name for f in found}


def test_discovery_keeps_recorded_paths_and_disambiguates_new_pdfs_by_path(tmp_path: Path
                                                                         ) -> None:
    docs, workdir = tmp_path / "docs", tmp_path / "work"
    _tree(docs, "b/report.pdf", "a/report.pdf", "report.pdf")
    _old_file(workdir, "report_suggestions.json", "report.pdf", path="b/report.pdf")
    found, problems = discover_pdfs([docs], workdir)
    names = _names(found)
    assert not problems and names["b/report.pdf"] == "report_suggestions.json"
    assert len(set(names.values())) == 3
    assert all(n.startswith("report-") for s, n in names.items() if s != "b/report.pdf")
    # the same answer whatever order the inputs come in
    again, _ = discover_pdfs([docs / "report.pdf", docs], workdir)
    assert _names(again) == names


def test_files_of_older_versions_go_to_the_pdf_with_their_bytes_or_to_none(tmp_path: Path
                                                                          ) -> None:
    docs, workdir = tmp_path / "docs", tmp_path / "work"
    _tree(docs, "2023/report.pdf", "report.pdf")
    from qaforge.fileio import sha256_file

    old = _old_file(workdir, "report_suggestions.json", "report.pdf",
                    sha256=sha256_file(docs / "report.pdf"))
    found, problems = discover_pdfs([docs], workdir)
    assert not problems and _names(found)["report.pdf"] == old.name
    assert _names(found)["2023/report.pdf"] != old.name

    old.unlink()
    _old_file(workdir, old.name, "report.pdf")  # no PDF has the recorded bytes
    found, problems = discover_pdfs([docs], workdir)
    assert found == [] and len(problems) == 1
    assert str(old) in problems[0] and "2023" in problems[0]
    # given alone, the PDF of that name claims it as before
    alone, problems = discover_pdfs([docs / "2023" / "report.pdf"], workdir)
    assert not problems and _names(alone) == {"report.pdf": old.name}


def test_a_file_recorded_for_another_pdf_is_never_filled_from_this_one(tmp_path: Path
                                                                       ) -> None:
    pdf = pdfgen.table_pdf(tmp_path, name="report.pdf")
    out = _old_file(tmp_path / "work", "report_suggestions.json", "report.pdf",
                    path="2023/report.pdf")
    plan = plan_document(pdf, out, "report.pdf")
    assert plan.done is not None and plan.done.status == "failed"
    assert "'2023/report.pdf'" in plan.done.message and "'report.pdf'" in plan.done.message
    assert "\n" not in plan.done.message


def test_older_clash_names_stay_with_their_pdf_and_get_the_path_recorded(tmp_path: Path
                                                                         ) -> None:
    """What versions before recorded paths wrote for ``docs/report.pdf`` +
    ``docs/2023/report.pdf``: ``report_suggestions.json`` and
    ``2023__report_suggestions.json``; each stays with its PDF, and an unchanged PDF's file
    gets its path recorded (so a PDF of the same name added later cannot compete)."""
    from qaforge.fileio import sha256_file
    from qaforge.suggestions import load_suggestions

    docs, workdir = tmp_path / "docs", tmp_path / "work"
    (docs / "2023").mkdir(parents=True)
    inner = pdfgen.table_pdf(docs / "2023", name="report.pdf")
    outer = pdfgen.two_column_pdf(docs, name="report.pdf")
    plain = _old_file(workdir, "report_suggestions.json", "report.pdf", sha256_file(outer))
    clash = _old_file(workdir, "2023__report_suggestions.json", "report.pdf",
                      sha256_file(inner))
    found, problems = discover_pdfs([docs], workdir)
    assert not problems
    assert _names(found) == {"2023/report.pdf": clash.name, "report.pdf": plain.name}
    for item in found:
        plan = plan_document(item.pdf, suggestions_dir(workdir) / item.name, item.source)
        assert plan.done is not None and plan.done.status == "unchanged"
    assert load_suggestions(clash).data.source.path == "2023/report.pdf"
    assert load_suggestions(plain).data.source.path == "report.pdf"
