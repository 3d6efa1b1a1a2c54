"""Tests for :mod:`qaforge.chunking`: budget, headings, sentence safety, merging, ids."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qaforge.chunking import (
    MAX_BUDGET,
    MIN_BUDGET,
    chunk_document,
    default_chunk_budget,
)
from qaforge.records import Chunk, Document, Element
from qaforge.text import split_sentences

TokenCounter = Callable[[str], int]
_TOKEN = re.compile(r"\w+|[^\w\s]")


def word_tokens(text: str) -> int:
    """A cheap, nearly additive counter: words and punctuation marks."""
    return len(_TOKEN.findall(text))


def char_tokens(text: str) -> int:
    """The interface's default estimate: four characters per token."""
    return max(1, (len(text) + 3) // 4) if text else 0


def superadditive_tokens(text: str) -> int:
    """A counter for which joined text costs more than its parts, so the packing estimate
    undershoots and the final measurement has to correct it."""
    words = len(text.split())
    return words + words // 8 + 2 * text.count("\n")


def doc_of(*elements: Element) -> Document:
    return Document(file="t.pdf", path="t.pdf", sha256="0" * 64, pages=99, elements=list(elements))


def heading(text: str, level: int = 1, page: int = 1) -> Element:
    return Element(kind="heading", text=text, page=page, level=level)


def para(text: str, page: int = 1, kind: str = "paragraph") -> Element:
    return Element(kind=kind, text=text, page=page)  # type: ignore[arg-type]


def sentences(count: int, topic: str = "river", start: int = 0) -> str:
    return " ".join(
        f"Sentence {i} tells how the {topic} flows past mill {i} at dawn."
        for i in range(start, start + count)
    )


def words_of(chunks: list[Chunk]) -> Counter[str]:
    return Counter(word for chunk in chunks for word in chunk.text.split())


def content_words(doc: Document) -> Counter[str]:
    return Counter(word for el in doc.elements if el.kind != "heading" for word in el.text.split())


# ---------------------------------------------------------------------------- budget


def test_default_budget_is_context_minus_prompt_and_answer() -> None:
    assert default_chunk_budget(2048, 300, 512) == 2048 - 300 - 512


def test_default_budget_is_clamped_to_a_sensible_range() -> None:
    assert default_chunk_budget(512, 300, 200) == MIN_BUDGET
    assert default_chunk_budget(32768, 300, 512) == MAX_BUDGET


def test_budget_below_one_token_is_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        chunk_document(doc_of(para("Hello.")), max_tokens=0, count_tokens=word_tokens)


# ---------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "See Fig. 3 for details. The value was 3.14 in the U.S. and e.g. Canada. "
            "Dr. Smith agreed.",
            [
                "See Fig. 3 for details.",
                "The value was 3.14 in the U.S. and e.g. Canada.",
                "Dr. Smith agreed.",
            ],
        ),
        (
            "We used R (version 4.2.1). It worked, i.e. the model converged! Did it? Yes.",
            [
                "We used R (version 4.2.1).",
                "It worked, i.e. the model converged!",
                "Did it?",
                "Yes.",
            ],
        ),
        (
            "Prices rose 2.5% vs. last year. The end.",
            ["Prices rose 2.5% vs. last year.", "The end."],
        ),
    ],
)
def test_sentence_splitter_handles_abbreviations_and_decimals(
    text: str, expected: list[str]
) -> None:
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert [p.strip() for p in pieces] == expected


def test_sentence_splitter_survives_lone_surrogates() -> None:
    text = "Broken \ud800 glyph here. Next sentence."
    pieces = split_sentences(text)
    assert "".join(pieces) == text
    assert len(pieces) == 2


def test_sentence_splitter_on_empty_text() -> None:
    assert split_sentences("") == []


# ---------------------------------------------------------------------------- headings


def test_chunks_carry_heading_path_and_text_omits_headings() -> None:
    doc = doc_of(
        heading("2 Methods", 1),
        heading("2.1 Data", 2),
        para(sentences(6, "data")),
        heading("2.2 Models", 2),
        para(sentences(6, "model")),
    )
    chunks = chunk_document(doc, max_tokens=400, count_tokens=word_tokens, min_tokens=20)
    assert [c.headings for c in chunks] == [["2 Methods", "2.1 Data"], ["2 Methods", "2.2 Models"]]
    assert all("2.1 Data" not in c.text and "2 Methods" not in c.text for c in chunks)


def test_top_level_sections_are_never_mixed_unless_both_tiny() -> None:
    doc = doc_of(
        heading("1 Intro"),
        para(sentences(2, "intro")),
        heading("2 Body"),
        para(sentences(2, "body")),
    )
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=10)
    assert [c.headings for c in chunks] == [["1 Intro"], ["2 Body"]]


def test_tiny_top_level_sections_merge_under_the_first_path() -> None:
    doc = doc_of(
        heading("Title"),
        para("A short note."),
        heading("Abstract"),
        para("Another short note."),
        heading("1 Introduction"),
        para(sentences(10)),
    )
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=20)
    assert chunks[0].headings == ["Title"]
    assert chunks[0].text == "A short note.\n\nAnother short note."
    assert [c.headings for c in chunks[1:]] == [["1 Introduction"]]


def test_subheading_starts_new_chunk_only_after_non_trivial_content() -> None:
    doc = doc_of(
        heading("3 Results", 1),
        para("Overview."),
        heading("3.1 First", 2),
        para(sentences(5, "first")),
        heading("3.2 Second", 2),
        para(sentences(5, "second")),
    )
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=20)
    # "Overview." is trivial, so it travels with 3.1 under the path in force at its start.
    assert [c.headings for c in chunks] == [["3 Results"], ["3 Results", "3.2 Second"]]
    assert chunks[0].text.startswith("Overview.\n\nSentence 0 tells how the first")


def test_heading_levels_without_level_one_use_shallowest_as_top() -> None:
    doc = doc_of(
        heading("Part A", 2),
        para(sentences(3, "alpha")),
        heading("Part B", 2),
        para(sentences(3, "beta")),
    )
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=5)
    assert [c.headings for c in chunks] == [["Part A"], ["Part B"]]


# ---------------------------------------------------------------------------- sentence safety


def test_long_paragraph_is_split_between_sentences_only() -> None:
    text = sentences(40)
    doc = doc_of(heading("1 Flow"), para(text))
    chunks = chunk_document(doc, max_tokens=60, count_tokens=word_tokens, min_tokens=10)
    assert len(chunks) > 3
    originals = [s.strip() for s in split_sentences(text)]
    for chunk in chunks:
        assert word_tokens(chunk.text) <= 60
        assert chunk.text.endswith(".")
        pieces = [s.strip() for s in split_sentences(chunk.text)]
        assert all(p in originals for p in pieces)
    assert " ".join(c.text for c in chunks) == text


def test_sentence_longer_than_budget_is_cut_between_words() -> None:
    words = [f"w{i}" for i in range(300)]
    text = " ".join(words) + "."
    chunks = chunk_document(doc_of(para(text)), max_tokens=50, count_tokens=word_tokens)
    assert len(chunks) >= 6
    assert all(word_tokens(c.text) <= 50 for c in chunks)
    assert [w for c in chunks for w in c.text.split()] == text.split()


def test_word_longer_than_budget_is_cut_between_characters() -> None:
    blob = "x" * 2000
    chunks = chunk_document(
        doc_of(para(f"Start. {blob} end.")), max_tokens=64, count_tokens=char_tokens
    )
    assert all(char_tokens(c.text) <= 64 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == f"Start.{blob}end."


def test_cjk_sentences_split_at_full_stops_without_spaces() -> None:
    text = "".join(f"第{i}の文はここにあります。" for i in range(40))
    chunks = chunk_document(doc_of(para(text)), max_tokens=80, count_tokens=len, min_tokens=10)
    assert len(chunks) > 1
    assert all(len(c.text) <= 80 and c.text.endswith("。") for c in chunks)
    assert "".join(c.text for c in chunks) == text


# ---------------------------------------------------------------------------- tables, merging


def test_table_that_fits_is_kept_whole_in_one_chunk() -> None:
    table = "| a | b |\n|---|---|\n" + "\n".join(f"| {i} | {i * i} |" for i in range(8))
    doc = doc_of(para(sentences(3)), para(table, kind="table"), para(sentences(2, "sea")))
    budget = word_tokens(table) + 5
    chunks = chunk_document(doc, max_tokens=budget, count_tokens=word_tokens, min_tokens=5)
    assert sum(table in c.text for c in chunks) == 1
    assert all(word_tokens(c.text) <= budget for c in chunks)


def test_table_too_big_is_split_between_rows_and_starts_its_own_chunk() -> None:
    rows = "\n".join(f"| row {i} | value {i} |" for i in range(60))
    table = "| name | value |\n|---|---|\n" + rows
    doc = doc_of(para(sentences(4)), para(table, kind="table"))
    chunks = chunk_document(doc, max_tokens=120, count_tokens=word_tokens, min_tokens=20)
    table_chunks = [c for c in chunks if "|" in c.text]
    assert table_chunks[0].text.startswith("| name | value |\n|---|---|")
    assert all("Sentence" not in c.text for c in table_chunks)
    table_lines = [line for c in table_chunks for line in c.text.split("\n")]
    assert table_lines == table.split("\n")


def test_small_snippets_are_packed_together() -> None:
    snippets = [para(f"Item {i} is short.", kind="list_item") for i in range(30)]
    chunks = chunk_document(
        doc_of(*snippets), max_tokens=60, count_tokens=word_tokens, min_tokens=10
    )
    assert len(chunks) == 3
    assert chunks[0].text.startswith("Item 0 is short.\n\nItem 1 is short.")


def test_small_tail_merges_into_previous_chunk_of_same_section() -> None:
    doc = doc_of(
        heading("1 Only"),
        para(sentences(3)),
        heading("1.1 Tail", 2),
        para("Tiny."),
    )
    chunks = chunk_document(doc, max_tokens=500, count_tokens=word_tokens, min_tokens=20)
    assert len(chunks) == 1
    assert chunks[0].text.endswith("\n\nTiny.")


def test_small_chunk_is_not_merged_across_a_top_level_section() -> None:
    doc = doc_of(heading("1 Big"), para(sentences(6)), heading("2 Small"), para("Tiny."))
    chunks = chunk_document(doc, max_tokens=500, count_tokens=word_tokens, min_tokens=20)
    assert [c.text for c in chunks][-1] == "Tiny."
    assert chunks[-1].headings == ["2 Small"]


# ---------------------------------------------------------------------------- records


def test_chunk_records_have_ids_pages_state_and_no_suggestions() -> None:
    doc = doc_of(
        heading("1 A", page=2),
        para(sentences(5), page=2),
        para(sentences(5, "sea"), page=3),
        heading("2 B", page=4),
        para(sentences(5, "lake"), page=5),
    )
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=5)
    assert [c.pages for c in chunks] == [[2, 3], [5, 5]]
    for chunk in chunks:
        assert chunk.id == Chunk.make_id(chunk.text, chunk.headings)
        assert chunk.state == "pending"
        assert chunk.suggestions == []
        assert chunk.raw is None and chunk.error is None


def test_repeated_boilerplate_chunks_get_distinct_ids() -> None:
    boiler = sentences(8, "legal")
    doc = doc_of(heading("A"), para(boiler), heading("A"), para(boiler))
    chunks = chunk_document(doc, max_tokens=1000, count_tokens=word_tokens, min_tokens=5)
    assert len(chunks) == 2 and chunks[0].text == chunks[1].text
    assert chunks[0].id != chunks[1].id
    assert chunk_document(doc, max_tokens=1000, count_tokens=word_tokens)[1].id == chunks[1].id


def test_blank_elements_are_ignored() -> None:
    doc = doc_of(heading("  "), para("   "), para("\n\n"), para("Real text here."))
    chunks = chunk_document(doc, max_tokens=100, count_tokens=word_tokens)
    assert [c.text for c in chunks] == ["Real text here."]
    assert chunk_document(doc_of(), max_tokens=100, count_tokens=word_tokens) == []


# ---------------------------------------------------------------------------- counting cost


def test_final_text_is_measured_when_the_counter_is_not_additive() -> None:
    doc = doc_of(*[para(f"Line {i} of the log.\nMore detail {i}.") for i in range(80)])
    chunks = chunk_document(doc, max_tokens=40, count_tokens=superadditive_tokens, min_tokens=5)
    assert all(superadditive_tokens(c.text) <= 40 for c in chunks)
    assert words_of(chunks) == content_words(doc)


def test_counter_is_called_per_element_and_chunk_not_per_word() -> None:
    calls: list[str] = []

    def counting(text: str) -> int:
        calls.append(text)
        return word_tokens(text)

    doc = doc_of(*[para(sentences(4, f"topic{i}")) for i in range(50)])
    chunks = chunk_document(doc, max_tokens=200, count_tokens=counting)
    total_words = sum(len(el.text.split()) for el in doc.elements)
    assert len(calls) <= len(doc.elements) + 2 * len(chunks) + 2
    assert len(calls) < total_words / 20
    assert len(calls) == len(set(calls)), "each text is counted once (cached)"


def test_thousand_page_document_chunks_in_seconds() -> None:
    elements: list[Element] = []
    for page in range(1, 1001):
        if page % 20 == 1:
            elements.append(heading(f"Chapter {page // 20 + 1}", 1, page))
        if page % 5 == 1:
            elements.append(heading(f"Section {page}", 2, page))
        elements.extend(para(sentences(3, f"p{page}x{i}"), page) for i in range(6))
        elements.append(para(sentences(30, f"long{page}"), page))
    doc = Document(file="big.pdf", path="big.pdf", sha256="0", pages=1000, elements=elements)
    started = time.perf_counter()
    chunks = chunk_document(doc, max_tokens=512, count_tokens=char_tokens)
    elapsed = time.perf_counter() - started
    assert elapsed < 10, f"1,000 pages took {elapsed:.1f}s"
    assert all(char_tokens(c.text) <= 512 for c in chunks)
    assert words_of(chunks) == content_words(doc)


# ---------------------------------------------------------------------------- properties

_WORD_CHARS = st.characters(
    blacklist_categories=("Zs", "Zl", "Zp", "Cc", "Cs"),
    blacklist_characters="。！？｡",
)
_WORDS = st.text(_WORD_CHARS, min_size=1, max_size=10)
_GAPS = st.sampled_from([" ", " ", " ", ". ", "? ", "\n", ", ", ".\n\n", "  "])


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORDS, min_size=1, max_size=60))
    gaps = draw(st.lists(_GAPS, min_size=len(words), max_size=len(words)))
    return "".join(w + g for w, g in zip(words, gaps, strict=True))


@st.composite
def documents(draw: st.DrawFn) -> Document:
    page = 1
    elements: list[Element] = []
    for _ in range(draw(st.integers(0, 25))):
        page += draw(st.integers(0, 1))
        kind = draw(
            st.sampled_from(["heading", "paragraph", "paragraph", "list_item", "table", "code"])
        )
        if kind == "heading":
            level = draw(st.integers(1, 3))
            elements.append(Element(kind="heading", text=draw(_WORDS), page=page, level=level))
        else:
            elements.append(Element(kind=kind, text=draw(texts()), page=page))
    return Document(file="h.pdf", path="h.pdf", sha256="0", pages=page, elements=elements)


_COUNTERS = st.sampled_from([word_tokens, char_tokens, superadditive_tokens])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    doc=documents(),
    max_tokens=st.integers(16, 160),
    min_tokens=st.integers(0, 60),
    counter=_COUNTERS,
)
def test_property_no_text_lost_or_duplicated_and_within_budget(
    doc: Document, max_tokens: int, min_tokens: int, counter: TokenCounter
) -> None:
    chunks = chunk_document(doc, max_tokens=max_tokens, count_tokens=counter, min_tokens=min_tokens)
    assert words_of(chunks) == content_words(doc)
    for chunk in chunks:
        assert chunk.text and chunk.text == chunk.text.strip()
        assert counter(chunk.text) <= max_tokens
        assert chunk.pages[0] <= chunk.pages[1]
    starts = [c.pages[0] for c in chunks]
    assert starts == sorted(starts)
    assert len({c.id for c in chunks}) == len(chunks)


@settings(max_examples=60, deadline=None)
@given(doc=documents(), max_tokens=st.integers(16, 160), counter=_COUNTERS)
def test_property_deterministic_ids(doc: Document, max_tokens: int, counter: TokenCounter) -> None:
    first = chunk_document(doc, max_tokens=max_tokens, count_tokens=counter)
    again = chunk_document(doc.model_copy(deep=True), max_tokens=max_tokens, count_tokens=counter)
    assert [c.model_dump() for c in first] == [c.model_dump() for c in again]


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=400))
def test_property_sentence_split_is_lossless(text: str) -> None:
    assert "".join(split_sentences(text)) == text


# ---------------------------------------------------------------------------- real PDFs


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["R-intro.pdf", "naacl06-shinyama.pdf", "federal-register-2020-17221.pdf"]
)
def test_real_pdfs_chunk_within_budget_without_losing_text(shared_pdfs: Path, name: str) -> None:
    extract = pytest.importorskip("qaforge.extract")
    if not hasattr(extract, "extract_pdf"):
        pytest.skip("qaforge.extract.extract_pdf is not available yet")
    doc = extract.extract_pdf(shared_pdfs / name)
    assert doc.elements, f"{name}: extraction gave no elements"
    started = time.perf_counter()
    chunks = chunk_document(doc, max_tokens=384, count_tokens=char_tokens)
    elapsed = time.perf_counter() - started
    assert elapsed < 10
    assert chunks
    assert words_of(chunks) == content_words(doc)
    assert all(char_tokens(c.text) <= 384 for c in chunks)
    starts = [c.pages[0] for c in chunks]
    assert starts == sorted(starts)
    assert all(1 <= c.pages[0] <= c.pages[1] <= doc.pages for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)
    # Most chunks are substantial: the small-snippet merging does its job.
    small = [c for c in chunks if char_tokens(c.text) < 48]
    assert len(small) <= max(2, len(chunks) // 5)


@pytest.mark.slow
@pytest.mark.model
def test_real_pdf_fits_budget_under_the_real_model_tokenizer(
    shared_pdfs: Path, bundled_model: Path
) -> None:
    """The budget holds under llama.cpp's own tokenizer, counted over HTTP, with few calls."""
    extract = pytest.importorskip("qaforge.extract")
    from qaforge.config import LLMSettings
    from qaforge.llm.engine import from_settings

    doc = extract.extract_pdf(shared_pdfs / "naacl06-shinyama.pdf")
    with from_settings(LLMSettings(model=str(bundled_model), threads=1, concurrency=1)) as llm:
        calls: list[str] = []

        def count(text: str) -> int:
            calls.append(text)
            return llm.count_tokens(text)

        budget = default_chunk_budget(llm.context_length, prompt_tokens=300, answer_tokens=1400)
        chunks = chunk_document(doc, max_tokens=budget, count_tokens=count)
        measured = [llm.count_tokens(c.text) for c in chunks]
    assert budget == 348
    assert chunks and max(measured) <= budget
    assert words_of(chunks) == content_words(doc)
    assert len(calls) <= len(doc.elements) + 2 * len(chunks)
