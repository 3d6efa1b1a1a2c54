"""The review page in a real headless Chromium, driven with the keyboard only."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from review_helpers import (
    FLAWED_PAIRS,
    MANUAL_CHUNKS,
    SEED_TEXT,
    WriteDoc,
    refined_chunks,
    run_refine,
)

from qaforge.review.server import ReviewServer

pytestmark = pytest.mark.browser

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install playwright)")
CHROMIUM = os.environ.get("QAFORGE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).is_file():
    pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)",
                allow_module_level=True)

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
XSS_SCRIPT = "<script>window.__xss=1</script>"
XSS_IMG = '<img src=x onerror="window.__xss=1">'


def on_disk(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until ``check`` returns something truthy (the page saves asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (KeyError, IndexError, json.JSONDecodeError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(0.05)


class Keys:
    """The page's keyboard, counting every key press."""

    def __init__(self, page: Any) -> None:
        self.page, self.count = page, 0

    def press(self, *keys: str) -> None:
        for key in keys:
            self.page.keyboard.press(key)
            self.count += 1


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: ReviewServer) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.goto(server.url)
    opened.wait_for_selector("body[data-ready='1'] .card.current")
    yield opened
    context.close()
    assert not errors, errors


def current_question(page: Any) -> str:
    return page.inner_text(".card.current .q")


def test_review_a_chunk_with_the_keyboard_only(page: Any, manual: Path) -> None:
    keys = Keys(page)
    first = on_disk(manual)["chunks"][0]["suggestions"]
    assert current_question(page) == first[0]["question"]
    started = time.perf_counter()
    keys.press("a", "a", "r")  # one key per pair, the cursor moves on by itself
    statuses = eventually(lambda: [p["status"] for p in on_disk(manual)["chunks"][0][
        "suggestions"]] == ["accepted", "accepted", "rejected"])
    elapsed = time.perf_counter() - started
    assert statuses
    assert page.inner_text("#crumbs").replace("\n", " ") == "2 Maintenance › 2.1 Filters"
    print(f"\nkeystrokes per pair (accept/reject): {keys.count / 3:.1f}; "
          f"3 pairs saved to disk in {elapsed * 1000:.0f} ms")

    keys.count = 0
    keys.press("j", "e", "Control+a")
    page.keyboard.type("Why must the pump never run without water?")
    keys.press("Control+Enter")
    eventually(lambda: on_disk(manual)["chunks"][1]["suggestions"][1]["status"] == "edited")
    saved = on_disk(manual)["chunks"][1]["suggestions"][1]
    assert saved["question"] == "Why must the pump never run without water?"
    assert saved["answer"] == MANUAL_CHUNKS[1]["pairs"][1][1]
    print(f"edit of one question: {keys.count} keystrokes plus the typing")

    page.wait_for_selector("body[data-busy='0']")
    page.reload()
    page.wait_for_selector("body[data-ready='1'] .card.current")
    assert "Why must the pump never run without water?" in page.inner_text("#pairs")
    assert page.inner_text("#left-count") == "1"

    Keys(page).press("k", "z")  # undo: on a fresh page, the history starts empty
    assert "Nothing to undo" in page.inner_text("#toasts")


def test_undo_add_and_delete(page: Any, manual: Path) -> None:
    keys = Keys(page)
    keys.press("c")
    page.keyboard.type("How heavy is the pump?")
    keys.press("Tab")
    page.keyboard.type("It weighs 3.2 kilograms.")
    keys.press("Control+Enter")
    added = eventually(lambda: len(on_disk(manual)["chunks"][0]["suggestions"]) == 4)
    assert added and on_disk(manual)["chunks"][0]["suggestions"][3]["status"] == "edited"
    page.wait_for_selector(".card.current >> text=How heavy is the pump?")
    assert "weighs 3.2 kilograms" in page.inner_text("#chunk-text mark.support")
    keys.press("x")
    eventually(lambda: len(on_disk(manual)["chunks"][0]["suggestions"]) == 3)
    keys.press("z")
    eventually(lambda: len(on_disk(manual)["chunks"][0]["suggestions"]) == 4)
    keys.press("z")
    eventually(lambda: len(on_disk(manual)["chunks"][0]["suggestions"]) == 3)
    assert [p["status"] for p in on_disk(manual)["chunks"][0]["suggestions"]] == ["draft"] * 3


def test_filters_search_and_help(page: Any, manual: Path) -> None:
    keys = Keys(page)
    keys.press("/")
    page.keyboard.type("seal")
    keys.press("Enter")
    page.wait_for_selector("#queue-pos >> text=1 / 1 in view")
    assert page.inner_text("#chunk-text mark.hit") == "seal"
    assert current_question(page) == "Why must the pump never run dry?"
    keys.press("/", "Escape", "3")
    page.wait_for_selector(".empty >> text=Nothing matches")
    keys.press("1", "?")
    assert page.is_visible("#help")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "review-help.png"))
    keys.press("Escape")
    assert not page.is_visible("#help")


def test_hand_edit_while_open_is_not_clobbered(page: Any, manual: Path) -> None:
    text = manual.read_text(encoding="utf-8")
    edited = text.replace("What powers the Model 7 pump?", "What powers the pump (hand edit)?")
    manual.write_text(edited, encoding="utf-8")
    Keys(page).press("a")  # based on the revision the page loaded: refused
    page.wait_for_selector(".toast.warn >> text=changed on disk since this page read it")
    page.wait_for_selector("#pairs >> text=What powers the pump (hand edit)?")
    assert manual.read_text(encoding="utf-8") == edited
    # the cursor is back on the pair whose change was refused, shown as it is on disk
    assert current_question(page) == MANUAL_CHUNKS[0]["pairs"][0][0]
    assert page.inner_text(".card.current .badge") == "DRAFT"
    Keys(page).press("a")  # now on the current revision
    eventually(lambda: on_disk(manual)["chunks"][0]["suggestions"][0]["status"] == "accepted")
    second = on_disk(manual)["chunks"][0]["suggestions"][1]
    assert (second["question"], second["status"]) == ("What powers the pump (hand edit)?", "draft")


def test_two_tabs_never_clobber_each_other(page: Any, server: ReviewServer,
                                           manual: Path) -> None:
    other = page.context.new_page()
    other.goto(server.url)
    other.wait_for_selector("body[data-ready='1'] .card.current")
    Keys(other).press("a")  # tab B accepts the first pair
    eventually(lambda: on_disk(manual)["chunks"][0]["suggestions"][0]["status"] == "accepted")
    Keys(page).press("r")  # tab A, still on the old revision, tries to reject it
    page.wait_for_selector(".toast.warn >> text=changed on disk since this page read it")
    page.wait_for_selector(".card.current .badge >> text=Accepted")
    assert [p["status"] for p in on_disk(manual)["chunks"][0]["suggestions"]] == [
        "accepted", "draft", "draft"]
    other.close()


def test_hostile_text_renders_as_text(page: Any, write_doc: WriteDoc, workdir: Path) -> None:
    write_doc("zz_hostile", [{
        "headings": [f"Intro {XSS_IMG}"], "pages": [1, 1],
        "text": f"Payload one {XSS_SCRIPT} and two {XSS_IMG} end.",
        "pairs": [(f"Is {XSS_IMG} safe?", f"No: {XSS_SCRIPT}")]}])
    (workdir / "output_json" / "broken_suggestions.json").write_text(
        '{\n  "chunks": [\n    {"id": "c-1" "text": 1}\n  ]\n}\n', encoding="utf-8")
    page.reload()
    page.wait_for_selector("body[data-ready='1'] .card.current")
    keys = Keys(page)
    keys.press("/")
    page.keyboard.type("onerror")
    keys.press("Enter")
    page.wait_for_selector("#chunk-text >> text=Payload one")
    assert page.inner_text("#chunk-text") == f"Payload one {XSS_SCRIPT} and two {XSS_IMG} end."
    assert page.inner_text(".card.current .q") == f"Is {XSS_IMG} safe?"
    assert XSS_IMG in page.inner_text("#crumbs")
    assert page.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert page.evaluate("window.__xss") is None
    broken = page.inner_text("#doc-list")
    assert "line 3, column 18" in broken
    keys.press("Escape", "Escape")


def test_convert_hand_written_text_and_undo(page: Any, write_doc: WriteDoc) -> None:
    notes = write_doc("notes", [{"headings": ["Charging"], "pages": [1, 1],
                                 "text": "The status light is amber while charging.",
                                 "pairs": SEED_TEXT}])
    page.reload()
    page.wait_for_selector("body[data-ready='1'] .card.current")
    keys = Keys(page)
    keys.press("]")  # all documents -> manual
    page.wait_for_selector('.doc.active[title="manual_suggestions.json"]')
    keys.press("]")  # -> notes
    page.wait_for_selector("#suggestions-text")
    assert page.inner_text("#suggestions-text").strip() == SEED_TEXT.strip()
    keys.press("Shift+C")
    page.wait_for_selector(".card.current >> text=What colour is the status light when charging?")
    assert on_disk(notes)["chunks"][0]["suggestions"][0]["answer"] == "It is amber while charging."
    assert "amber while charging" in page.inner_text("#chunk-text mark.support")
    keys.press("z")
    eventually(lambda: on_disk(notes)["chunks"][0]["suggestions"] == SEED_TEXT)


def test_read_only_document_says_why_and_is_not_rewritten(page: Any, manual: Path) -> None:
    doc = on_disk(manual)
    doc["chunks"].append("a chunk a person typed as a string")
    manual.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    before = manual.read_bytes()
    Keys(page).press("a")  # the page still thinks the file is editable: refused, then shown
    page.wait_for_selector("#read-only-note")
    note = page.inner_text("#read-only-note")
    assert "Read-only" in note and "chunks[3]: a chunk must be a JSON object" in note
    page.wait_for_selector("body[data-busy='0']")
    assert manual.read_bytes() == before
    page.reload()
    page.wait_for_selector("body[data-ready='1'] #read-only-note")
    flag = page.locator(".flag.warn").first
    assert "chunks[3]" in (flag.get_attribute("title") or "")
    Keys(page).press("a")
    page.wait_for_selector("body[data-busy='0']")
    assert manual.read_bytes() == before


def test_screenshot_artifact(page: Any, manual: Path) -> None:
    keys = Keys(page)
    keys.press("a", "j")
    eventually(lambda: on_disk(manual)["chunks"][0]["suggestions"][0]["status"] == "accepted")
    page.wait_for_selector(".card.current >> text=What is the housing made of?")
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "review.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000


@pytest.fixture
def judged_page(browser: Any, workdir: Path, write_doc: WriteDoc) -> Iterator[Any]:
    """The page over a work dir that ``qaforge refine`` (fake judge) has been through, with a
    hostile reason and the judge's evidence for the first pair."""
    write_doc("manual", refined_chunks())
    evaluation = run_refine(workdir, "--no-correct")  # the flagged pairs keep the checks' label
    first = evaluation["entries"][0]
    first["verdict"]["reason"] = f"Supported. {XSS_SCRIPT}{XSS_IMG}"
    first["grounding"]["sentences"] = [[0, 58]]  # "The Model 7 pump ... per minute"
    (workdir / "evaluation.json").write_text(json.dumps(evaluation), encoding="utf-8")
    with ReviewServer(workdir) as server:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        opened = context.new_page()
        errors: list[str] = []
        opened.on("pageerror", lambda error: errors.append(str(error)))
        opened.goto(server.url)
        opened.wait_for_selector("body[data-ready='1'] .card.current")
        yield opened
        context.close()
    assert not errors, errors


def test_judge_verdicts_and_the_flagged_filter(judged_page: Any) -> None:
    page = judged_page
    card = ".card.current .judge"
    assert page.inner_text(f"{card} .verdict") == "Clear"
    assert page.inner_text(f"{card} .judge-reason") == f"Supported. {XSS_SCRIPT}{XSS_IMG}"
    assert page.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert page.evaluate("window.__xss") is None
    assert page.inner_text("#chunk-text mark.evidence") == (
        "The Model 7 pump moves up to 40 litres of water per minute")
    assert "2 flagged by refine" in page.inner_text("#doc-list")

    keys = Keys(page)
    keys.press("f")  # only what refine flagged: the two flawed pairs of chunk 1
    page.wait_for_selector("#flagged-filter.active")
    page.wait_for_function("document.querySelector('#queue-pos').textContent.startsWith('1 / 1')")
    assert current_question(page) == FLAWED_PAIRS[0][0]
    assert "found in the passage" in page.inner_text(f"{card} .findings")
    assert page.get_attribute(card, "data-flagged") == "true"
    keys.press("j")
    assert current_question(page) == FLAWED_PAIRS[1][0]
    findings = page.inner_text(f"{card} .findings")
    assert "truncated the answer is cut off mid-sentence" in findings
    assert "left out of the dataset" in page.inner_text(f"{card} .judge-top")
    # the checks flagged it before any model call: the label says whose it is
    assert "labelled by the checks, no model asked" in page.inner_text(f"{card} .judge-top")
    assert page.inner_text(f"{card} .verdict") == "Needs Improvement"
    keys.press("j")  # no more flagged pairs: the cursor stays
    assert current_question(page) == FLAWED_PAIRS[1][0]
    assert page.locator(".card:not(.dim)").count() == 2

    keys.press("e", "Control+a")
    page.keyboard.type("How heavy is the Model 7 pump?")
    keys.press("Control+Enter")
    page.wait_for_selector(f"{card} .judge-tag.stale")
    keys.press("f")
    page.wait_for_selector("#flagged-filter:not(.active)")
    page.wait_for_function("document.querySelector('#queue-pos').textContent.startsWith('1 / 3')")



def test_kept_reasoning_shows_read_only_and_inert(page: Any, manual: Path) -> None:
    thought = f"Ask about the flow rate. {XSS_SCRIPT}{XSS_IMG}"
    data = on_disk(manual)
    data["chunks"][0]["suggestions"][0]["reasoning"] = thought  # --reasoning keep
    manual.write_text(json.dumps(data), encoding="utf-8")
    page.reload()
    page.wait_for_selector("body[data-ready='1'] .card.current details.reasoning")
    assert page.locator("details.reasoning").count() == 1  # only the pair that has one
    page.click(".card.current details.reasoning summary")
    assert page.inner_text(".card.current details.reasoning pre") == thought
    assert thought not in page.inner_text(".card.current .a")
    assert page.evaluate("document.querySelectorAll('main img, main script').length") == 0
    assert page.evaluate("window.__xss") is None
