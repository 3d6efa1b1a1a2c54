"""Question-form checks: real question, standalone, not a copy of the answer."""

from __future__ import annotations

import pytest

from qaforge.refine.checks import normalise, question_issues


def codes(question: str, answer: str = "A full answer about the subject.") -> set[str]:
    return {issue.code for issue in question_issues(question, answer)}


@pytest.mark.parametrize("question", [
    "What is a tuple in Python?",
    "How does the Nile reach the Mediterranean?",
    "Explain how R stores data frames.",
    "List the tributaries of the Nile.",
    "Who is the author of Adventures of Huckleberry Finn?",
    "Which form must a non-resident alien file?",
])
def test_good_questions_pass(question: str) -> None:
    assert codes(question) == set()


@pytest.mark.parametrize(("question", "code"), [
    ("According to the passage, what is a tuple?", "not_standalone"),
    ("What is described in the text?", "not_standalone"),
    ("What does the author argue about chunking?", "not_standalone"),
    ("What does the text say about the tower?", "not_standalone"),
    ("Based on the given excerpt, who designed it?", "not_standalone"),
    ("What is mentioned above about taxes?", "not_standalone"),
    ("In this paper, which dataset is used?", "not_standalone"),
    ("The items of a tuple are arbitrary Python objects.", "not_a_question"),
    ("Tuples", "too_short"),
    ("", "empty_question"),
])
def test_bad_questions_fail(question: str, code: str) -> None:
    assert code in codes(question)


def test_answer_that_copies_the_question() -> None:
    q = "What are the items of a tuple?"
    issues = question_issues(q, "What are the items of a tuple")
    assert [(i.code, i.target) for i in issues] == [("answer_copies_question", "answer")]
    assert codes(q, "") == {"empty_answer"}


def test_normalise_ignores_case_accents_and_punctuation() -> None:
    assert normalise("  Ｗhat is  ÉTÉ? ") == normalise("what is été")
    assert normalise("Who designed it?!") == "who designed it"
