"""Hostile model output on the review page, in a real headless Chromium: a failed chunk's
verbatim reply and error, a person's hand-written text, pairs with script, control
characters, a right-to-left override and lone surrogates. All of it shows as text, none
of it runs. (Script in chunk text, headings and pairs: ``tests/review/test_review_browser.py``.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.review.server import ReviewServer
from qaforge.suggestions import suggestions_dir, write_suggestions

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = os.environ.get("QAFORGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

XSS = ('<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'
       '<svg onload="window.__xss=3"></svg><a href="javascript:window.__xss=4">x</a>')
RAW = f'{{"pairs": [{{"question": "{XSS}", "answer": ```\n{XSS}\n\x1b[31m\u202eevil'
ERROR = f"unparseable model output: {XSS}"
TEXT = f"**Question 1:** Is {XSS} inert?\n**Answer 1:** It must be: \u202e{XSS}"
QUESTION = f"Does \u202eevil\u202c {XSS} \ud800 run?"
ANSWER = f"No.\x00\x07 {XSS} \udfff שלום 水泵"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ReviewServer]:
    workdir = tmp_path / "work"
    failed = Chunk(id="c-failed", pages=[1, 1], headings=["Failed"], text="A failed chunk.",
                   state="failed", raw=RAW, error=ERROR)
    written = Chunk(id="c-text", pages=[2, 2], headings=["Text"], text="Hand-written pairs.",
                    state="generated", suggestions=TEXT)
    pairs = Chunk(id="c-pairs", pages=[3, 3], headings=[f"Pairs {XSS}"],
                  text=f"Chunk text {XSS} with a pair.", state="generated",
                  suggestions=[Suggestion(id="q-1", question=QUESTION, answer=ANSWER)])
    data = SuggestionsFile(source=Source(file="hostile.pdf", sha256="0" * 64, pages=3),
                           generator=GeneratorInfo(backend="fake", model=XSS, prompt="qa/v1"),
                           chunks=[failed, written, pairs])
    write_suggestions(suggestions_dir(workdir) / "hostile_suggestions.json", data)
    with ReviewServer(workdir) as running:
        yield running


@pytest.fixture
def page(server: ReviewServer) -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        opened = browser.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        dialogs: list[str] = []

        def refuse(dialog: Any) -> None:  # an alert() would mean script ran
            dialogs.append(dialog.message)
            dialog.dismiss()

        opened.on("dialog", refuse)
        opened.goto(server.url)
        opened.wait_for_selector("body[data-ready='1'] .card.current")
        yield opened
        browser.close()
    assert not errors and not dialogs, (errors, dialogs)


def inert(page: Any) -> None:
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.querySelectorAll('main img, main script, main svg, "
                         "main a[href^=javascript]').length") == 0


def test_hostile_model_output_is_shown_as_text(page: Any) -> None:
    # the page opens at the first draft: the pair
    question = page.text_content(".card.current .q")
    assert QUESTION in question  # right-to-left override and lone surrogate included
    answer = page.text_content(".card.current .a")
    assert XSS in answer and "שלום 水泵" in answer
    assert XSS in page.text_content("#crumbs")
    inert(page)

    page.keyboard.press("p")
    page.wait_for_selector("#suggestions-text")
    assert page.text_content("#suggestions-text") == TEXT
    inert(page)

    page.keyboard.press("p")
    page.wait_for_selector("#chunk-notes .note.error")
    assert ERROR in page.text_content("#chunk-notes")
    assert page.text_content("#chunk-notes pre.raw") == RAW
    page.click("#chunk-notes details summary")  # open the verbatim reply
    inert(page)
