"""Held-out quiz and evaluation of a fine-tune (``qaforge quiz``, ``qaforge eval``).

``quiz`` writes exam items from the work dir's chunks with its own prompt and forms,
checked grounded and kept apart from the training questions, plus a control set of
general-knowledge questions; ``eval`` asks models the quiz closed-book and open-book and
grades each answer against its reference (token F1 and a judge). Modules: ``items``
(records, files, control set), ``make`` (writing and checking items), ``review_files``
(the review copy and a person's decisions), ``evaluate`` (asking and grading), ``report``
(summaries, ``eval.json``), ``pipeline`` (both commands over a work dir).
"""

from qaforge.quiz.evaluate import ModelAnswers, ask, grade, token_f1
from qaforge.quiz.items import QuizItem, control_items, read_quiz
from qaforge.quiz.make import QuizSettings
from qaforge.quiz.pipeline import build_quiz, evaluate_workdir, load_reviewed_quiz
from qaforge.quiz.report import comparison_rows, eval_document, summarise

__all__ = ["ModelAnswers", "QuizItem", "QuizSettings", "ask", "build_quiz", "comparison_rows",
           "control_items", "eval_document", "evaluate_workdir", "grade",
           "load_reviewed_quiz", "read_quiz", "summarise", "token_f1"]
