"""Bad PDFs in a batch: through the real ``qaforge generate`` on folders that mix them with
good files. Every broken file gets one clear line naming it, the run stays within bounded
time and memory, the good files' suggestions are written, and the exit code is 1.

Extraction of each case on its own is tested in ``tests/extract/test_errors.py`` and
``tests/extract/test_corpus.py``; this is the whole command over a mixed batch.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from reliability_helpers import RequestLog, cli_env, load_clean, run_cli

import pdfgen
from qaforge.ingest import FORMATS_TEXT
from qaforge.suggestions import suggestions_dir

pytestmark = pytest.mark.slow

# the CLI, reporting its own peak memory at exit (it is the process that extracts). VmHWM,
# not ru_maxrss: Linux carries ru_maxrss across exec, so it would include the forking
# pytest process (over 1 GB once torch and Ray are loaded).
PEAK = ("import atexit, re, sys\n"
        "atexit.register(lambda: print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', "
        "open('/proc/self/status').read()).group(1), file=sys.stderr))\n"
        "from qaforge.cli import main\nmain()\n")
MAX_SECONDS = 120
MAX_PEAK_MB = 1024


def run_batch(inputs: list[Path], workdir: Path, log: Path, *extra: str
              ) -> tuple[int, str, float, float]:
    """``qaforge generate INPUTS -o WORKDIR --backend fake``: (exit code, output, seconds,
    peak MB)."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", PEAK, "generate", *map(str, inputs), "-o", str(workdir),
         "--backend", "fake", "--no-skip-boilerplate", *extra],
        cwd=workdir.parent, env=cli_env(QAFORGE_FAKE_LOG=str(log)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=MAX_SECONDS * 2, check=False)
    seconds = time.monotonic() - started
    peak = re.search(r"PEAK_RSS_KB (\d+)", done.stdout)
    assert peak, done.stdout
    return done.returncode, done.stdout, seconds, int(peak.group(1)) / 1024


def lines_naming(output: str, name: str, kind: str) -> list[str]:
    return [line for line in output.splitlines()
            if line.startswith(f"{kind}: ") and f"{name}:" in line]


BROKEN = {  # file -> what its one error line must say
    "empty.pdf": "empty file (0 bytes)",
    "notes.pdf": "not a PDF file",
    "zero_pages.pdf": "no pages",
    "page_bomb.pdf": "1,000,000 pages, more than the limit",
    "truncated.pdf": "truncated PDF",
    "encrypted.pdf": "password required (pass --password)",
    "garbled.pdf": "corrupt PDF",
}
WARNED = {  # file -> what its warning line must say (the file is kept, with what it has)
    "deep_page_tree.pdf": "could not be loaded",
    "huge_text_page.pdf": "too much text on one page",
    "image_only.pdf": "no text layer",
    "blank.pdf": "no text",
}
GOOD = ["plain.pdf", "owner_only.pdf", "deep_nesting.pdf", "hostile.pdf"]


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    pdfgen.plain_pdf(folder, pages=4)
    pdfgen.encrypted_pdf(folder, user_password="")  # owner password only: opens
    pdfgen.deep_nesting_pdf(folder)
    if pdfgen.unicode_font() is not None:
        pdfgen.hostile_pdf(folder)
    else:
        pdfgen.text_pdf_raw(folder, "Hostile text needs DejaVu; plain text here.",
                            name="hostile.pdf")
    pdfgen.empty_file(folder)
    pdfgen.not_a_pdf(folder)
    pdfgen.zero_pages_pdf(folder)
    pdfgen.page_count_bomb_pdf(folder)
    pdfgen.truncated_pdf(folder)
    pdfgen.encrypted_pdf(folder, user_password="secret")
    (folder / "garbled.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n")
    pdfgen.deep_page_tree_pdf(folder)
    pdfgen.huge_text_page_pdf(folder)  # about 10 MB of text on one page
    pdfgen.image_only_pdf(folder, text_page=False)
    pdfgen.blank_pdf(folder)
    return folder


def test_generated_bad_pdfs_among_good_ones(mixed_folder: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    log = tmp_path / "requests.jsonl"
    code, output, seconds, peak_mb = run_batch([mixed_folder], workdir, log)
    assert code == 1, output
    assert "Traceback" not in output
    assert seconds < MAX_SECONDS and peak_mb < MAX_PEAK_MB, (seconds, peak_mb)
    for name, reason in BROKEN.items():
        errors = lines_naming(output, name, "error")
        assert len(errors) == 1 and reason in errors[0], (name, errors)
        assert not (suggestions_dir(workdir) / name.replace(".pdf", "_suggestions.json")
                    ).exists()
    for name, reason in WARNED.items():
        warnings = lines_naming(output, name, "warning")
        assert any(reason in line for line in warnings), (name, warnings, output)
        assert not lines_naming(output, name, "error")
    for name in GOOD:
        data = load_clean(suggestions_dir(workdir) / name.replace(".pdf", "_suggestions.json"))
        assert data.chunks and all(c.state == "generated" and c.suggestions
                                   for c in data.chunks), name
    assert re.search(rf"files ok / failed\W+{len(GOOD) + len(WARNED)} / {len(BROKEN)}\b",
                     output), output
    print(f"{len(BROKEN) + len(WARNED) + len(GOOD)} files in {seconds:.1f} s, "
          f"peak {peak_mb:.0f} MB")

    # the same command again: the same lines, and nothing is sent to the model twice
    before = {p.name: p.read_bytes() for p in suggestions_dir(workdir).glob("*.json")}
    requests = RequestLog(log)
    sent = requests.refresh()
    code, again, _, _ = run_batch([mixed_folder], workdir, log)
    assert code == 1
    assert requests.refresh() == sent
    for name in BROKEN:
        assert len(lines_naming(again, name, "error")) == 1
    assert {p.name: p.read_bytes() for p in suggestions_dir(workdir).glob("*.json")} == before


SHARED_BROKEN = {
    "doclaynet-pg3-encrypted-userpw.pdf": ("error", "password required"),
    "R-data_truncated.pdf": ("error", "truncated PDF"),
    "huckfinn-scanned-multipage.pdf": ("warning", "no text layer"),
    "pdfminer-175-scanned.pdf": ("warning", "no text layer"),
}
SHARED_READABLE = ["layoutparser-copy-protected.pdf", "zen_of_python_corrupted.pdf",
                   "2305.03393v1-pg9.pdf"]


def test_broken_files_of_the_real_corpus(shared_pdfs: Path, tmp_path: Path) -> None:
    """The corpus's encrypted, truncated, corrupt and scanned files beside readable ones."""
    inputs = [shared_pdfs / name for name in [*SHARED_BROKEN, *SHARED_READABLE]]
    workdir = tmp_path / "work"
    code, output, seconds, peak_mb = run_batch(inputs, workdir, tmp_path / "requests.jsonl")
    assert code == 1 and "Traceback" not in output, output
    assert seconds < MAX_SECONDS and peak_mb < MAX_PEAK_MB, (seconds, peak_mb)
    for name, (kind, reason) in SHARED_BROKEN.items():
        lines = lines_naming(output, name, kind)
        assert any(reason in line for line in lines), (name, lines, output)
    for name in SHARED_READABLE:
        data = load_clean(suggestions_dir(workdir) / name.replace(".pdf", "_suggestions.json"))
        assert data.chunks and all(c.state == "generated" for c in data.chunks), name

    # with its password the encrypted file goes through too; nothing else is redone
    code, output, _, _ = run_batch([shared_pdfs / "doclaynet-pg3-encrypted-userpw.pdf"],
                                   workdir, tmp_path / "requests.jsonl", "--password", "1234")
    assert code == 0, output
    data = load_clean(suggestions_dir(workdir) / "doclaynet-pg3-encrypted-userpw_suggestions.json")
    assert data.chunks and all(c.state == "generated" for c in data.chunks)


def test_a_folder_with_no_pdfs_and_a_missing_input_are_one_line_each(tmp_path: Path) -> None:
    """Issue 14 item 11: nothing to read is an error (exit 2) naming each input, before any
    model starts; a missing input beside good PDFs is one line and exit 1."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.xyz").write_text("not a document", encoding="utf-8")
    done = run_cli(["generate", str(tmp_path / "empty"), "-o", str(tmp_path / "work"),
                    "--backend", "fake"], cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stdout, done.stdout
    assert done.stdout.splitlines() == [f"error: {tmp_path / 'empty'}: no documents in this "
                                        f"folder ({FORMATS_TEXT})"]
    assert not (tmp_path / "work").exists()

    done = run_cli(["generate", str(tmp_path / "empty"), str(tmp_path / "nowhere.pdf"), "-o",
                    str(tmp_path / "work"), "--backend", "fake"], cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stdout
    [line] = lines_naming(done.stdout, "nowhere.pdf", "error")
    assert "no such file or folder" in line and "empty: no documents" in line

    pdfgen.plain_pdf(tmp_path / "empty", pages=1)
    done = run_cli(["generate", str(tmp_path / "empty"), str(tmp_path / "nowhere.pdf"), "-o",
                    str(tmp_path / "work"), "--backend", "fake"], cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stdout
    assert len(lines_naming(done.stdout, "nowhere.pdf", "error")) == 1


# the CLI's own peak (VmHWM) and its children's (the extraction worker, reaped at exit by
# an atexit hook registered after this one, so it runs first)
PEAK_WITH_CHILDREN = (
    "import atexit, re, resource, sys\n"
    "atexit.register(lambda: print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', "
    "open('/proc/self/status').read()).group(1), 'CHILDREN_KB', "
    "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr))\n"
    "from qaforge.cli import main\nmain()\n")


def test_a_decompression_bomb_costs_only_itself(tmp_path: Path) -> None:
    """Issue 14 item 12: a 1 MB PDF inflating to 600 MB of page objects (PDFium would need
    several GB and abort the process) beside a good one: the bomb gets one line, the good
    file's suggestions are written, and memory stays under the configured cap."""
    folder = tmp_path / "pdfs"
    folder.mkdir()
    bomb = pdfgen.inflation_bomb_pdf(folder, inflated_mb=600, name="a_bomb.pdf")
    assert bomb.stat().st_size < 2 * 1024 * 1024
    pdfgen.plain_pdf(folder, pages=3, name="z_good.pdf")  # after the bomb in the batch
    (tmp_path / "qaforge.toml").write_text("[generate]\nextract_memory_mb = 512\n")
    workdir = tmp_path / "work"
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WITH_CHILDREN, "generate", str(folder), "-o", str(workdir),
         "--backend", "fake"], cwd=tmp_path, env=cli_env(), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=MAX_SECONDS, check=False)
    output = done.stdout
    assert done.returncode == 1 and "Traceback" not in output, output
    errors = lines_naming(output, "a_bomb.pdf", "error")
    assert len(errors) == 1 and "too large to extract (more than 512 MB in memory)" in \
        errors[0], output
    data = load_clean(suggestions_dir(workdir) / "z_good_suggestions.json")
    assert data.chunks and all(c.state == "generated" and c.suggestions for c in data.chunks)
    peak = re.search(r"PEAK_RSS_KB (\d+) CHILDREN_KB (\d+)", output)
    assert peak, output
    own_mb, children_mb = int(peak.group(1)) / 1024, int(peak.group(2)) / 1024
    assert own_mb < MAX_PEAK_MB and children_mb <= 512, (own_mb, children_mb)
