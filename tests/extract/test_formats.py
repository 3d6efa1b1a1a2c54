"""DOCX, EPUB, HTML, Markdown and text files become the same Document a PDF does (issue 18
part 3), on real documents nobody on this project wrote (fetched by tests/data_fetch.py;
see tests/data_fetch_MANIFEST.md): headings with their levels, sections in place of pages,
source lines, lists, tables and code; broken and unknown files are one ExtractionError."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import data_fetch
import pdfgen
from qaforge.chunking import chunk_document
from qaforge.errors import ExtractionError
from qaforge.extract import extract_pdf
from qaforge.ingest import read_document
from qaforge.ingest.markdown import markdown_blocks
from qaforge.ingest.text import decode, text_blocks
from qaforge.records import Document


@pytest.fixture(scope="module")
def docs() -> Path:
    return data_fetch.samples_or_skip()


def headings(doc: Document) -> list[tuple[int | None, str]]:
    return [(e.level, e.text) for e in doc.elements if e.kind == "heading"]


def kinds(doc: Document) -> set[str]:
    return {e.kind for e in doc.elements}


def test_every_sample_reads_in_the_worker_like_a_pdf(docs: Path) -> None:
    """Each sample goes through extract_pdf (the memory-capped worker) into elements with
    text, sections counted as pages, and chunks whose headings come from the document."""
    for sample in data_fetch.SAMPLES:
        doc = extract_pdf(docs / sample.name)
        assert doc.elements and not doc.warnings, sample.name
        assert doc.pages == max(e.page for e in doc.elements), sample.name
        chunks = chunk_document(doc, max_tokens=400, count_tokens=lambda t: len(t.split()))
        assert chunks, sample.name
        names = {text for _, text in headings(doc)}
        assert all(set(c.headings) <= names for c in chunks), sample.name
        if doc.elements[0].kind == "heading":
            assert chunks[0].headings, sample.name


def test_html_keeps_the_heading_tree_and_drops_navigation(docs: Path) -> None:
    doc = read_document(docs / "policy-ch-scope.html")  # Sphinx page with sidebar and nav bar
    assert headings(doc)[:3] == [(1, "1. About this manual"), (2, "1.1. Scope"),
                                 (2, "1.2. New versions of this document")]
    texts = [e.text for e in doc.elements]
    assert not any(t in ("Navigation", "index", "next |", "Table of Contents") for t in texts)
    assert not any("¶" in t for t in texts)  # permalink marks
    assert sum(e.kind == "list_item" for e in doc.elements) >= 4  # must/should/may terms

    node = read_document(docs / "nodejs-console.html")  # Node's own page: tables, code
    assert (2, "Console") in headings(node)
    assert {"table", "code", "list_item"} <= kinds(node)
    assert not any(e.text == "About this documentation" for e in node.elements)  # side menu


def test_html_sections_start_at_top_level_headings(docs: Path) -> None:
    doc = read_document(docs / "copyright-format-1.0.html")
    starts = [e.text for e in doc.elements if e.kind == "heading" and e.level == 2]
    assert starts[:3] == ["Machine-readable debian/copyright file", "1. Introduction",
                          "2. Rationale"]
    assert doc.pages == len(starts)
    first_of = {e.page: e.text for e in reversed(doc.elements)}
    assert [first_of[n] for n in range(1, doc.pages + 1)] == starts


def test_markdown_gives_levels_lines_tables_and_code(docs: Path) -> None:
    doc = read_document(docs / "nodejs-documentation.md")
    assert headings(doc)[:3] == [(1, "About this documentation"), (2, "Contributing"),
                                 (2, "Stability index")]
    source = (docs / "nodejs-documentation.md").read_text(encoding="utf-8").splitlines()
    for element in doc.elements:
        assert element.line is not None
        if element.kind == "heading":
            assert source[element.line - 1].lstrip("# ") == element.text
    [table] = [e for e in doc.elements if e.kind == "table"]
    assert table.text.startswith("| API | Stability |\n|---|---|\n| Assert | (2) Stable |")
    assert not any("<!--" in e.text for e in doc.elements)

    console = read_document(docs / "nodejs-console.md")
    assert {"code", "list_item"} <= kinds(console)
    assert any(e.kind == "code" and "console.log(" in e.text for e in console.elements)


def test_markdown_inline_markup_is_reduced_to_text() -> None:
    blocks = markdown_blocks("# A *b* `c`\n\n- [link](http://x) **bold**\n- two\n\ntext\n\n"
                             "    code\n")
    assert [(b.kind, b.text, b.line) for b in blocks] == [
        ("heading", "A b c", 1), ("list_item", "link bold", 3), ("list_item", "two", 4),
        ("paragraph", "text", 6), ("code", "code\n", 8)]


def test_text_headings_from_numbering_and_underlines(docs: Path) -> None:
    doc = read_document(docs / "copyright-format-1.0.txt")  # a text dump of the HTML above
    assert headings(doc)[:5] == [(1, "1. Introduction"), (1, "2. Rationale"),
                                 (1, "3. Acknowledgements"), (1, "4. File syntax"),
                                 (2, "4.1. Single-line values")]
    lines = (docs / "copyright-format-1.0.txt").read_text(encoding="utf-8").splitlines()
    for element in doc.elements:
        assert element.line is not None and lines[element.line - 1].strip()
    # the table of contents (numbered lines indented like the body) is not a heading
    assert sum(1 for _, text in headings(doc) if text == "1. Introduction") == 1

    fhs = read_document(docs / "fhs-3.0.txt")
    assert (1, "Chapter 1. Introduction") in headings(fhs)
    assert (2, "1.1. Purpose") in headings(fhs)

    blocks = text_blocks("Title\n=====\n\nIntro text\nwraps here.\n\nPart\n----\n- one\n- two\n"
                         "  more\n\nThe rules:\n* first\n")
    assert [(b.kind, b.text, b.level, b.line) for b in blocks] == [
        ("heading", "Title", 1, 1), ("paragraph", "Intro text wraps here.", None, 4),
        ("heading", "Part", 2, 7), ("list_item", "one", None, 9),
        ("list_item", "two more", None, 10), ("paragraph", "The rules:", None, 13),
        ("list_item", "first", None, 14)]


def test_text_encodings() -> None:
    assert decode("Grüße".encode("cp1252") * 20) == "Grüße" * 20
    assert decode("\ufeffbom".encode()) == "bom"
    assert decode("tête".encode("utf-16")) == "tête"
    assert decode(b'<meta charset="iso-8859-1"><p>caf\xe9', html=True).endswith("café")


def test_epub_chapters_are_sections(docs: Path) -> None:
    doc = read_document(docs / "policy.epub")
    assert doc.pages >= 20  # one per chapter of the spine
    assert headings(doc)[:3] == [(1, "Debian Policy Manual"), (1, "1. About this manual"),
                                 (2, "1.1. Scope")]
    scope = next(e for e in doc.elements if e.text == "1.1. Scope")
    assert scope.page == 2
    # live-manual's manifest links carry a fragment (ebooklib refuses this file)
    live = read_document(docs / "live-manual.en.epub")
    assert live.pages > 40 and (1, "1. About this manual") in headings(live)
    assert not any(e.text.isdigit() for e in live.elements)  # SiSU's paragraph numbers


def test_docx_styles_become_headings_tables_and_lists(docs: Path) -> None:
    doc = read_document(docs / "pandoc-reference.docx")
    assert headings(doc)[:4] == [(1, "Title"), (2, "Subtitle"), (1, "Heading 1"),
                                 (2, "Heading 2")]
    assert "table" in kinds(doc)
    assert read_document(docs / "python-docx-test.docx").elements[0].text == \
        "python-docx was here!"
    [table] = read_document(docs / "python-docx-tbl-cell-props.docx").elements
    assert table.kind == "table" and table.text.startswith("| a | b | c | d |")


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("report.docx", b"not a zip", "not a Word .docx file (not a ZIP archive"),
    ("book.epub", b"PK\x03\x04broken", "not an EPUB (not a ZIP archive)"),
    ("notes.txt", bytes(range(256)) * 8, "binary data, not text"),
    ("data.xyz", b"x", "unsupported format (.xyz files)"),
    ("README", b"plain words", "unsupported format (files without a suffix)"),
])
def test_a_file_that_is_not_its_format_is_one_error(tmp_path: Path, name: str, data: bytes,
                                                    reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(ExtractionError) as caught:
        extract_pdf(path)
    assert str(caught.value).startswith(f"{name}: {reason}")


def test_zip_files_that_are_not_their_format(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(ExtractionError, match=r"no word/document.xml"):
        read_document(path)
    book = tmp_path / "other.epub"
    book.write_bytes(path.read_bytes())
    with pytest.raises(ExtractionError, match=r"META-INF/container.xml is missing"):
        read_document(book)
    broken = tmp_path / "broken.docx"  # what the parser raises is one line, in the worker too
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document><unclosed")
    with pytest.raises(ExtractionError, match=r"^broken\.docx: malformed DOCX file \(Expat"):
        extract_pdf(broken)


def test_a_file_without_text_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "blank.html"
    path.write_text("<html><body><nav><a href='/'>home</a></nav></body></html>",
                    encoding="utf-8")
    doc = read_document(path)
    assert doc.elements == [] and doc.warnings == ["no text found in this HTML file"]


def test_bench_formats_reports_every_format(docs: Path) -> None:
    """bench/bench_formats.py (the figures in docs/benchmarks.md) runs and names each format."""
    script = Path(__file__).resolve().parents[2] / "bench" / "bench_formats.py"
    done = subprocess.run([sys.executable, str(script), "--samples", str(docs), "--rounds", "1"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert [line.split()[0] for line in done.stdout.splitlines()] == [
        "DOCX", "EPUB", "HTML", "Markdown", "text"]
    assert all("files/s" in line and "install" in line for line in done.stdout.splitlines())


def test_xhtml_self_closed_anchors_do_not_swallow_the_page(tmp_path: Path) -> None:
    """EPUB chapters are XHTML: ``<a id="c1"/>`` is an open link to an HTML parser, and the
    list after it looked like navigation (all links) and was dropped."""
    page = ('<html xmlns="http://www.w3.org/1999/xhtml"><body><h1><a id="c1"/>Chapter</h1>'
            "<p>Intro.</p><ul><li>first item</li><li>second</li></ul></body></html>")
    path = tmp_path / "chapter.xhtml"
    path.write_text(page, encoding="utf-8")
    assert [(e.kind, e.text) for e in read_document(path).elements] == [
        ("heading", "Chapter"), ("paragraph", "Intro."), ("list_item", "first item"),
        ("list_item", "second")]


def test_a_pdf_without_the_pdf_suffix_named_as_input_is_still_a_pdf(tmp_path: Path) -> None:
    path = pdfgen.plain_pdf(tmp_path, pages=1)
    renamed = path.rename(tmp_path / "scan.bin")
    assert extract_pdf(renamed, memory_limit_mb=0).pages == 1
