"""The one sentence splitter (issue 16 item 5: chunking, grounding, the review highlight
and the fake backend each had their own rule)."""

from __future__ import annotations

from qaforge.text import sentence_spans, sentences, split_sentences

TEXT = ("The Model 7 pump weighs 3.2 kilograms, e.g. with its battery.  It runs for two "
        "hours!\nSafety\nKeep it dry.")


def test_split_is_lossless() -> None:
    assert "".join(split_sentences(TEXT)) == TEXT


def test_sentences_skip_decimals_and_abbreviations_and_end_at_line_breaks() -> None:
    assert sentences(TEXT) == ["The Model 7 pump weighs 3.2 kilograms, e.g. with its battery.",
                               "It runs for two hours!", "Safety", "Keep it dry."]


def test_spans_point_into_the_text_without_surrounding_space() -> None:
    spans = sentence_spans("  One sentence here.   Another one.\n\n")
    assert [(s, e) for s, e in spans] == [(2, 20), (23, 35)]
    assert sentence_spans("") == [] and sentences(" \n ") == []
