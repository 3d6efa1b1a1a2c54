"""Documents in any language (issue 18 part 1): detection, the prompt's language, sentence
splitting, question-form checks, grounding and the token estimate, per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from qaforge.chunking import chunk_document
from qaforge.errors import ConfigError
from qaforge.extract import extract_pdf
from qaforge.languages import (
    detect_document_language,
    detect_language,
    estimate_tokens,
    language_name,
    resolve_language,
)
from qaforge.refine.checks import form_issues, normalise
from qaforge.refine.grounding import grounding_of
from qaforge.text import split_sentences

CORPUS = {"en": "elsevier-jhydrol-2005.pdf", "de": "GeoTopo-komprimiert.pdf",
          "ko": "korean-insurance-report-4p.pdf"}


def codes(question: str, answer: str = "Eine Antwort.") -> set[str]:
    return {issue.code for issue in form_issues(question, answer)}


@pytest.mark.parametrize("language", sorted(CORPUS))
def test_corpus_chunks_are_detected_in_their_language(shared_pdfs: Path, language: str) -> None:
    doc = extract_pdf(shared_pdfs / CORPUS[language])
    chunks = chunk_document(doc, max_tokens=512, count_tokens=estimate_tokens)[:40]
    found = [detect_language(c.text) for c in chunks]
    assert sum(code == language for code in found) >= 0.9 * len(chunks), found
    assert detect_document_language(c.text for c in chunks) == language


def test_too_little_text_has_no_language() -> None:
    assert detect_language("3.2 (4) 17") is None
    assert detect_language("") is None
    assert detect_document_language(["12 34", ""]) is None


def test_language_names_and_the_language_option() -> None:
    assert language_name("de") == "German" and language_name("ko") == "Korean"
    assert resolve_language("German") == "de" and resolve_language("KO") == "ko"
    assert resolve_language("auto") is None
    with pytest.raises(ConfigError, match="unknown language 'Klingon'"):
        resolve_language("Klingon")


@pytest.mark.parametrize("question", [
    "Erklären Sie den Satz von Stokes.",
    "Bitte beschreiben Sie die Quotiententopologie.",
    "Nenne zwei Beispiele für kompakte Räume.",
    "코로나-19의 재해 인정 여부를 설명하시오.",
    "재해보험금의 지급 기준은 무엇입니까",
    "Expliquez la différence entre maladie et accident.",
    "请说明保险金的支付标准。",
])
def test_imperatives_and_questions_in_other_languages_pass(question: str) -> None:
    assert "not_a_question" not in codes(question)


def test_a_statement_is_still_not_a_question() -> None:
    assert "not_a_question" in codes("Der Satz von Stokes gilt für kompakte Mannigfaltigkeiten.")
    assert "not_a_question" in codes("코로나-19는 재해로 인정되었다.")


@pytest.mark.parametrize("question", [
    "Was sagt der Text über kompakte Räume?",
    "Welche Definition gibt der Autor für einen Homöomorphismus?",
    "Laut dem Text, was ist ein topologischer Raum?",
    "이 글에서 재해보험금의 지급 기준은 무엇인가?",
    "Selon le texte, qu'est-ce qu'une maladie infectieuse ?",
])
def test_questions_bound_to_the_passage_in_other_languages(question: str) -> None:
    assert "not_standalone" in codes(question)


@pytest.mark.parametrize("question", [
    "Wer ist der Autor von Faust?",
    "이 책의 저자는 누구인가?",
    "이 글자는 무엇을 뜻하는가?",
    "Qui est l'auteur de Madame Bovary ?",
])
def test_questions_about_an_author_or_a_letter_are_standalone(question: str) -> None:
    assert "not_standalone" not in codes(question)


def test_grounding_finds_german_content_words_not_german_stopwords() -> None:
    chunk = ("Ein topologischer Raum ist kompakt, wenn jede offene Überdeckung mit Mengen aus "
             "dem Raum eine endliche Teilüberdeckung besitzt. Die Definition geht auf Alexandroff "
             "zurück.")
    unrelated = grounding_of("Die Katze ist mit dem Hund auf dem Dach.", chunk)
    # "die", "ist", "mit", "dem" are German stopwords: nothing of this answer is in the chunk
    assert unrelated.words == 0.0
    supported = grounding_of("Kompakt ist ein Raum, wenn jede offene Überdeckung eine "
                             "endliche Teilüberdeckung hat.", chunk)
    assert supported.words > 0.8


def test_grounding_of_korean_words_ignores_particles() -> None:
    chunk = ("통상 질병보험금에 비해 상해나 재해로 인한 보험금의 경우 "
             "보장금액 등이 높게 책정되어 있다.")
    supported = grounding_of("재해로 인한 보험금은 보장금액이 높다.", chunk)
    unrelated = grounding_of("서울의 날씨는 오늘 맑고 따뜻하다.", chunk)
    assert supported.words >= 0.75 and unrelated.words <= 0.25


def test_normalise_ignores_stray_spaces_inside_chinese_and_japanese() -> None:
    assert normalise("保险 金的 支付") == normalise("保险金的支付")
    assert normalise("보험 금") != normalise("보험금")  # Korean spaces are word breaks


def test_german_sentences_split_with_german_abbreviations() -> None:
    text = "Siehe Abb. 3 und Nr. 5 für die Konstruktion. Dann folgt der Beweis."
    assert split_sentences(text) == ["Siehe Abb. 3 und Nr. 5 für die Konstruktion. ",
                                     "Dann folgt der Beweis."]


def test_token_estimate_is_conservative_per_script() -> None:
    # SmolLM2's tokenizer (the bundled model) spends ~2 tokens per Korean character, one per
    # digit and ~0.4-0.5 per character of code or German math (measured on the corpus; the
    # model test in test_generate_language.py checks whole chunks against the real count)
    korean = "통상 질병보험금에 비해 상해나 재해로 인한 보험금의 경우" * 10
    assert estimate_tokens(korean) >= 2.0 * len(korean)  # chars/4 said 0.25
    assert estimate_tokens("| 10 | 20 | 30 |") >= 10
    assert estimate_tokens("x <- c(1, 2, 3)") >= 0.5 * len("x <- c(1, 2, 3)")
    assert estimate_tokens("") == 0 and estimate_tokens("a") >= 1
