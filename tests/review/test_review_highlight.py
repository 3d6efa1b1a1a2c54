"""Where an answer's support is found in its chunk (the highlight on the review page)."""

from __future__ import annotations

from qaforge.review.highlight import support_spans, to_utf16_spans

TEXT = ("The Model 7 pump moves up to 40 litres of water per minute. It runs on a 12 volt "
        "battery and weighs 3.2 kilograms.\nThe housing is made of glass-fibre reinforced "
        "nylon.")


def spans_text(answer: str, text: str = TEXT) -> list[str]:
    return [text[start:end] for start, end in support_spans(answer, text)]


def test_verbatim_answer_is_marked_exactly() -> None:
    assert spans_text("up to 40 litres of water per minute") == [
        "up to 40 litres of water per minute"]


def test_verbatim_match_ignores_case_spacing_and_final_dot() -> None:
    text = "Clean the intake\n   filter every 50 hours of use."
    assert spans_text("clean the intake filter every 50 hours.", text) == [
        "Clean the intake\n   filter every 50 hours"]


def test_paraphrase_marks_the_sentence_that_carries_it() -> None:
    # "3.2" must not end the sentence
    assert spans_text("A 12 volt battery powers it, and it weighs 3.2 kg.") == [
        "It runs on a 12 volt battery and weighs 3.2 kilograms."]


def test_word_forms_still_match() -> None:
    assert spans_text("Its housing uses reinforced glass-fibre.") == [
        "The housing is made of glass-fibre reinforced nylon."]


def test_unsupported_answer_marks_nothing() -> None:
    assert support_spans("Paris is the capital of France.", TEXT) == []
    assert support_spans("", TEXT) == []
    assert support_spans("the of and", TEXT) == []


def test_utf16_offsets_count_astral_characters_twice() -> None:
    text = "🙂 émoji first. The answer is here."
    spans = support_spans("The answer is here", text)
    assert [text[s:e] for s, e in spans] == ["The answer is here"]
    (start, end), = to_utf16_spans(spans, text)
    encoded = text.encode("utf-16-le")
    assert encoded[start * 2:end * 2].decode("utf-16-le") == "The answer is here"
    assert start == spans[0][0] + 1  # the emoji is one code point but two UTF-16 units


def test_ascii_offsets_are_unchanged() -> None:
    assert to_utf16_spans([(1, 4)], "abcdef") == [(1, 4)]
