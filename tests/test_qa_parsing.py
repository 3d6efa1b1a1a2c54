"""Tests for :mod:`qaforge.qa_parsing`: every supported format, bad input, bounded time."""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qaforge.qa_parsing import ParsedPairs, parse_pairs

PAIRS = [
    ("What does the function c() do in R?", "It combines values into a vector."),
    ("Which operator assigns a value?", "The arrow operator <- assigns a value to a name."),
]


def ok(result: ParsedPairs, method: str, pairs: list[tuple[str, str]] = PAIRS) -> None:
    assert result.pairs == pairs
    assert result.method == method
    assert result.error is None


# ---------------------------------------------------------------------------- JSON


def test_json_object_with_pairs() -> None:
    text = json.dumps({"pairs": [{"question": q, "answer": a} for q, a in PAIRS]}, indent=2)
    ok(parse_pairs(text), "json")


def test_json_bare_list_and_single_object() -> None:
    ok(parse_pairs(json.dumps([{"question": q, "answer": a} for q, a in PAIRS])), "json")
    q, a = PAIRS[0]
    ok(parse_pairs(json.dumps({"question": q, "answer": a})), "json", [PAIRS[0]])


@pytest.mark.parametrize(
    ("container", "q_key", "a_key"),
    [
        ("pairs", "q", "a"),
        ("qa_pairs", "Question", "Answer"),
        ("questions", "question", "answer"),
        ("generated_qna_pairs", "QUESTION", "ANSWER"),
        ("pairs", "Question 1", "Answer 1"),
    ],
)
def test_json_alternative_keys(container: str, q_key: str, a_key: str) -> None:
    text = json.dumps({container: [{q_key: q, a_key: a} for q, a in PAIRS]})
    ok(parse_pairs(text), "json")


def test_json_nested_container_and_two_item_lists() -> None:
    nested = json.dumps({"response": {"result": {"pairs": [{"q": q, "a": a} for q, a in PAIRS]}}})
    ok(parse_pairs(nested), "json")
    ok(parse_pairs(json.dumps([[q, a] for q, a in PAIRS])), "json")


def test_json_in_code_fence() -> None:
    body = json.dumps({"pairs": [{"question": q, "answer": a} for q, a in PAIRS]}, indent=2)
    ok(parse_pairs(f"```json\n{body}\n```"), "json-fenced")
    ok(parse_pairs(f"Here you are:\n```\n{body}\n```\nThat is all."), "json-fenced")


def test_json_embedded_in_prose() -> None:
    body = json.dumps({"pairs": [{"question": q, "answer": a} for q, a in PAIRS]})
    text = f"Sure! Based on the text {{see above}}, here are the pairs: {body} Any [more]?"
    ok(parse_pairs(text), "json-embedded")


def test_json_scalars_are_coerced_and_bad_entries_skipped_with_reason() -> None:
    text = json.dumps(
        {
            "pairs": [
                {"question": "How many sides has a hexagon?", "answer": 6},
                {"question": "Is water wet?", "answer": True},
                {"question": "Pi to two places?", "answer": 3.14},
                {"question": "Where is the answer?"},
                {"question": {"text": "nested"}, "answer": "x"},
                "just a string",
                {"question": "   ", "answer": "blank question"},
            ]
        }
    )
    result = parse_pairs(text)
    assert result.method == "json"
    assert result.pairs == [
        ("How many sides has a hexagon?", "6"),
        ("Is water wet?", "true"),
        ("Pi to two places?", "3.14"),
    ]
    assert result.error is not None
    assert "entry 4 has no answer" in result.error
    assert "entry 5 has a question that is not text (dict)" in result.error
    assert "and 1 more" in result.error


def test_json_with_no_pairs_says_so() -> None:
    result = parse_pairs('{"pairs": []}')
    assert result.pairs == [] and result.method == "json"
    assert result.error == "the JSON holds no question/answer pairs"


def test_cut_off_json_keeps_complete_entries() -> None:
    text = (
        '{"pairs": [{"question": "What is R?", "answer": "A language for statistics."}, '
        '{"question": "Who wrote R?", "answer": "Ross Ihaka and Rob'
    )
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language for statistics.")]
    assert result.error is not None and "cut off" in result.error


def test_malformed_json_is_repaired() -> None:
    text = "{'pairs': [{'question': 'What is R?', 'answer': 'A language.',},],}"
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language.")]
    assert result.method == "json"
    assert result.error == "the JSON was malformed and has been repaired"


def test_repaired_json_drops_the_unfinished_last_pair() -> None:
    text = (
        "Output: {'pairs': [{'question': 'What is R?', 'answer': 'A language.'}, "
        "{'question': 'Who wrote R?', 'answer': 'Ross Ihaka and Rob"
    )
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language.")]
    assert result.method == "json-embedded"
    assert result.error is not None and "unfinished" in result.error


def test_json_string_holding_markdown_is_parsed() -> None:
    text = json.dumps("**Question 1:** What is R?\n**Answer 1:** A language.")
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language.")]
    assert result.method == "markdown"


def test_real_small_model_outputs() -> None:
    """Shapes seen from SmolLM2 and Qwen 0.5B in the backend research."""
    qwen = (
        '```json\n{\n  "pairs": [\n    {\n      "question": "What is a tuple in Python?",\n'
        '      "answer": "A tuple is an immutable sequence of values."\n    }\n  ]\n}\n```'
    )
    assert parse_pairs(qwen).pairs == [
        ("What is a tuple in Python?", "A tuple is an immutable sequence of values.")
    ]
    looping = 'Question:\n"""\nQuestion:\n"""\n\nQuestion:\n"""' * 20
    result = parse_pairs(looping)
    assert result.pairs == [] and result.method == "none"
    assert result.error is not None and "no question/answer pairs found" in result.error


# ---------------------------------------------------------------------------- Markdown


SEED_STYLE = """Here are some question and answer pairs based on the text:

**Question 1:** What does the function c() do in R?
**Answer 1:** It combines values into a vector.

**Question 2:** Which operator assigns a value?
**Answer 2:** The arrow operator <- assigns a value to a name.
"""


def test_seed_markdown_style() -> None:
    ok(parse_pairs(SEED_STYLE), "markdown")


@pytest.mark.parametrize(
    "template",
    [
        "**Question {n}**: {q}\n\n**Answer {n}**: {a}\n\n",
        "Question {n}: {q}\nAnswer {n}: {a}\n",
        "Question: {q}\nAnswer: {a}\n\n",
        "### Question {n}\n{q}\n\n### Answer {n}\n{a}\n\n---\n\n",
        "- **Question {n}:** {q}\n  **Answer {n}:** {a}\n",
        "**Question {n}:** {q} **Answer {n}:** {a}\n",
        "Question {n}: {q} Answer {n}: {a}\n",
    ],
)
def test_markdown_variants(template: str) -> None:
    text = "".join(template.format(n=i + 1, q=q, a=a) for i, (q, a) in enumerate(PAIRS))
    ok(parse_pairs(text), "markdown")


def test_markdown_multi_line_answer_and_prose_inside_it() -> None:
    text = (
        "**Question 1:** How do you start R?\n"
        "**Answer 1:** Type R at the shell prompt.\n"
        "On Windows, use the menu.\n"
        "The short answer: it depends on the system.\n\n"
        "**Question 2:** How do you quit?\n"
        "**Answer 2:** Call q()."
    )
    result = parse_pairs(text)
    assert result.method == "markdown"
    assert result.pairs == [
        (
            "How do you start R?",
            "Type R at the shell prompt.\nOn Windows, use the menu.\n"
            "The short answer: it depends on the system.",
        ),
        ("How do you quit?", "Call q()."),
    ]


def test_markdown_question_without_answer_is_reported() -> None:
    text = (
        "**Question 1:** What is R?\n**Answer 1:** A language.\n"
        "**Question 2:** What is S?\n"
        "**Question 3:** Who made S?\n**Answer 3:** Bell Labs."
    )
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language."), ("Who made S?", "Bell Labs.")]
    assert result.error == "question 2 has no answer"


def test_markdown_unwraps_a_bold_question() -> None:
    text = "### Question 1\n**What is R?**\n### Answer 1\nA language.\n\n---\n\n## Next"
    ok(parse_pairs(text), "markdown", [("What is R?", "A language.")])


def test_markdown_keeps_underscores_and_inline_bold() -> None:
    text = "**Question 1:** What is __init__?\n**Answer 1:** The **constructor** method."
    assert parse_pairs(text).pairs == [("What is __init__?", "The **constructor** method.")]


# ---------------------------------------------------------------------------- Q:/A: and numbered


@pytest.mark.parametrize(
    "template",
    [
        "Q: {q}\nA: {a}\n\n",
        "Q{n}: {q}\nA{n}: {a}\n",
        "**Q:** {q}\n**A:** {a}\n",
        "{n}. Q: {q} A: {a}\n",
        "Q{n}. {q}\nA{n}. {a}\n",
    ],
)
def test_qa_lines(template: str) -> None:
    text = "".join(template.format(n=i + 1, q=q, a=a) for i, (q, a) in enumerate(PAIRS))
    ok(parse_pairs(text), "qa-lines")


@pytest.mark.parametrize(
    "template",
    [
        "{n}. {q} {a}\n",
        "{n}) {q}\n   {a}\n\n",
        "**{n}.** {q}\n{a}\n",
        "{n}. **{q}** {a}\n",
        "{n}. {q}\n   Answer: {a}\n",
    ],
)
def test_numbered_list(template: str) -> None:
    text = "".join(template.format(n=i + 1, q=q, a=a) for i, (q, a) in enumerate(PAIRS))
    ok(parse_pairs(text), "numbered")


def test_numbered_item_without_question_is_reported() -> None:
    text = "1. What is R? A language.\n2. Install it from CRAN.\n"
    result = parse_pairs(text)
    assert result.pairs == [("What is R?", "A language.")]
    assert result.error == "item 2 has no question mark"


# ---------------------------------------------------------------------------- nothing to find


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "The river flows north. The answer: nobody knows.", "[1, 2, 3]", "{}", "null"],
)
def test_text_without_pairs(text: str) -> None:
    result = parse_pairs(text)
    assert result.pairs == [] and result.method == "none"
    assert result.error


def test_non_text_input_is_refused_without_raising() -> None:
    result = parse_pairs(None)  # type: ignore[arg-type]
    assert result == ParsedPairs([], "none", "expected text, got NoneType")


# ---------------------------------------------------------------------- never raise, bounded time

_ANY_CHAR = st.characters(codec=None, blacklist_categories=())


@settings(max_examples=400, deadline=None)
@given(st.text(_ANY_CHAR, max_size=300))
def test_property_never_raises_on_arbitrary_text(text: str) -> None:
    result = parse_pairs(text)
    assert isinstance(result, ParsedPairs)
    assert not (result.error or "").startswith("could not parse"), result.error
    assert all(q and a and q == q.strip() and a == a.strip() for q, a in result.pairs)


_FRAGMENTS = st.sampled_from(
    [
        '{"',
        '"question": ',
        '"answer": ',
        "}",
        "]",
        "[",
        ",",
        "```json\n",
        "```",
        "**Question 1:** ",
        "**Answer 1:** ",
        "Q: ",
        "A: ",
        "\n",
        "1. ",
        "?",
        "\\",
        '"',
        "'",
        "\x00",
        "\ud800",
        "pairs",
        " ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FRAGMENTS | st.text(_ANY_CHAR, max_size=5), max_size=40).map("".join))
def test_property_never_raises_on_near_miss_formats(text: str) -> None:
    result = parse_pairs(text)
    assert not (result.error or "").startswith("could not parse"), result.error


def test_huge_single_line_does_not_raise() -> None:
    text = "Q: " + "x" * 100_000 + "? A: " + "y" * 100_000
    assert parse_pairs(text).pairs == [("x" * 100_000 + "?", "y" * 100_000)]


MEGABYTE = 1_000_000


@pytest.mark.parametrize(
    "text",
    [
        "{" * MEGABYTE,
        "[" * MEGABYTE,
        '{"question": "' + "x" * MEGABYTE,
        '{"question":' + "{" * 500,  # the JSON repairer gives up on this nesting
        "**Question 1:** " * (MEGABYTE // 16),
        "Q: " * (MEGABYTE // 3),
        "1. What?\n" * (MEGABYTE // 9),
        "\n---" * (MEGABYTE // 4),
        "```" * (MEGABYTE // 3),
        "Q" + " " * MEGABYTE + ":",
        '{"question": "a?", "answer": "b"} ' * (MEGABYTE // 34),
    ],
    ids=[
        "braces",
        "brackets",
        "open-string",
        "deep-nesting",
        "questions",
        "q-markers",
        "numbered",
        "rules",
        "fences",
        "spaces",
        "json-lines",
    ],
)
def test_megabyte_input_finishes_fast(text: str) -> None:
    started = time.perf_counter()
    result = parse_pairs(text)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert not (result.error or "").startswith("could not parse")


# ---------------------------------------------------------------------------- round trips

_JSON_TEXT = st.text(_ANY_CHAR, min_size=1, max_size=60).filter(lambda s: s.strip() != "")
_JSON_PAIRS = st.lists(st.tuples(_JSON_TEXT, _JSON_TEXT), min_size=1, max_size=5)


def _stripped(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(q.strip(), a.strip()) for q, a in pairs]


@settings(max_examples=200, deadline=None)
@given(
    pairs=_JSON_PAIRS,
    style=st.sampled_from(["object", "list", "fenced", "prose"]),
    ascii_only=st.booleans(),
)
def test_property_json_round_trip(
    pairs: list[tuple[str, str]], style: str, ascii_only: bool
) -> None:
    entries = [{"question": q, "answer": a} for q, a in pairs]
    body = json.dumps(entries if style == "list" else {"pairs": entries}, ensure_ascii=ascii_only)
    text = {
        "object": body,
        "list": body,
        "fenced": f"```json\n{body}\n```",
        "prose": f"Here are the pairs:\n{body}\nI hope these help.",
    }[style]
    result = parse_pairs(text)
    assert result.pairs == _stripped(pairs)
    assert result.error is None
    expected = {
        "object": {"json"},
        "list": {"json"},
        "fenced": {"json-fenced", "json-embedded"},
        "prose": {"json-embedded"},
    }[style]
    assert result.method in expected


_MARKER_WORD = re.compile(r"question|answer|q|a", re.IGNORECASE)
_WORD = st.text(st.characters(categories=["Lu", "Ll", "Lo", "Nd"]), min_size=1, max_size=8).filter(
    lambda w: not _MARKER_WORD.fullmatch(w) and not w[0].isdigit()
)
_LINE = st.lists(_WORD, min_size=1, max_size=8).map(" ".join)
_QUESTION = _LINE.map(lambda line: line + "?")
_ANSWER = st.lists(_LINE.map(lambda line: line + "."), min_size=1, max_size=3).map("\n".join)

_TEXT_STYLES = {
    "markdown": [
        "**Question {n}:** {q}\n**Answer {n}:** {a}\n\n",
        "**Question {n}**: {q}\n**Answer {n}**: {a}\n\n",
        "Question {n}: {q}\nAnswer {n}: {a}\n\n",
        "### Question {n}\n{q}\n\n### Answer {n}\n{a}\n\n---\n",
    ],
    "qa-lines": [
        "Q: {q}\nA: {a}\n\n",
        "Q{n}: {q}\nA{n}: {a}\n",
        "**Q:** {q}\n**A:** {a}\n\n",
        "{n}. Q: {q} A: {a}\n",
    ],
    "numbered": ["{n}. {q} {a}\n", "{n}) {q}\n{a}\n\n", "**{n}.** {q}\n{a}\n"],
}


@settings(max_examples=200, deadline=None)
@given(
    pairs=st.lists(st.tuples(_QUESTION, _ANSWER), min_size=1, max_size=5),
    method=st.sampled_from(sorted(_TEXT_STYLES)),
    data=st.data(),
)
def test_property_text_styles_round_trip(
    pairs: list[tuple[str, str]], method: str, data: st.DataObject
) -> None:
    template = data.draw(st.sampled_from(_TEXT_STYLES[method]))
    text = "".join(template.format(n=i + 1, q=q, a=a) for i, (q, a) in enumerate(pairs))
    result = parse_pairs(text)
    assert result.pairs == pairs
    assert result.method == method
    assert result.error is None
