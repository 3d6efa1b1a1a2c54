"""The judge's answer check begins exactly as the prompt that drafted the chunk did, so an
engine with a prompt cache serves the chunk instead of reading it again."""

from __future__ import annotations

from pathlib import Path

import pytest

from qaforge.config import GenerateSettings
from qaforge.forms import FORMS
from qaforge.llm.base import ChatRequest, Completion
from qaforge.llm.fake import FakeBackend
from qaforge.llm.openai_wire import parse_completion
from qaforge.prompts import DEFAULT_QA_PROMPT, PromptTemplate, load_prompt, passage_values
from qaforge.refine.correct import Corrector
from qaforge.refine.judge import Candidate, Judge
from qaforge.refine.load import load_file
from qaforge.refine.pair_record import PairRecord
from qaforge.runners.local import run_generate
from sample_texts import EIFFEL

DRAFTING = ["qa/v1", "qa/v2", *(form.prompt for form in FORMS.values())]
VALUES = {**passage_values("a.pdf", [2, 3], ["Towers", "Paris"], EIFFEL),
          "n": 3, "language": "English"}


@pytest.mark.parametrize("name", DRAFTING)
def test_the_reading_is_the_renderings_own_beginning_up_to_the_passage(name: str) -> None:
    template = load_prompt(name)
    full, reading = template.render(**VALUES), template.reading(**VALUES)
    assert [m["role"] for m in reading] == [m["role"] for m in full]
    assert reading[:-1] == full[:-1]  # the system message, as it is
    assert full[-1]["content"].startswith(reading[-1]["content"])
    assert reading[-1]["content"].endswith((EIFFEL, "</passage>"))
    assert "Towers > Paris" in reading[-1]["content"] and "2-3" in reading[-1]["content"]


def test_a_template_without_a_passage_has_no_reading() -> None:
    with pytest.raises(ValueError, match=r"no \{text\}"):
        PromptTemplate("mine", "", "Ask about {question}.").reading(question="x")


def record(form: str = "qa", drafted_with: str = DEFAULT_QA_PROMPT) -> PairRecord:
    return PairRecord(source_file="output_json/a_suggestions.json", document="a.pdf",
                      chunk_id="c-1", pages=[2, 3], headings=["Towers", "Paris"],
                      chunk_text=EIFFEL, pair_id="q-1", form=form, drafted_with=drafted_with,
                      question="Who designed the Eiffel Tower?", answer="Gustave Eiffel.")


def check_messages(rec: PairRecord) -> list[dict[str, str]]:
    judge = Judge(FakeBackend())
    return judge.check_request(Candidate(rec, rec.question, rec.answer)).messages


@pytest.mark.parametrize(("form", "drafted_with", "reads_as"), [
    ("qa", "qa/v2", "qa/v2"),
    ("yes_no", "qa/v1", FORMS["yes_no"].prompt),  # a form's pairs come from its own prompt
    ("qa", "../../etc/passwd", DEFAULT_QA_PROMPT),  # a file's word is not a path
    ("qa", "unknown", DEFAULT_QA_PROMPT),
    ("qa", "qa/v1+mine.txt", DEFAULT_QA_PROMPT),  # the user's own file: not packaged
])
def test_the_check_reads_the_chunk_as_its_drafting_prompt_did(
        form: str, drafted_with: str, reads_as: str) -> None:
    messages = check_messages(record(form, drafted_with))
    reading = load_prompt(reads_as).reading(**passage_values(
        "a.pdf", [2, 3], ["Towers", "Paris"], EIFFEL))
    assert messages[0] == reading[0]
    asked = messages[-1]["content"]
    assert asked.startswith(reading[-1]["content"])
    rest = asked[len(reading[-1]["content"]):]
    assert "Who designed the Eiffel Tower?" in rest and "Gustave Eiffel." not in rest


@pytest.mark.parametrize("target", ["question", "both"])
def test_the_correction_reads_the_chunk_as_the_draft_did_then_asks(target: str) -> None:
    rec = record(drafted_with="qa/v2")
    corrector = Corrector(FakeBackend(), Judge(FakeBackend()))
    messages = corrector.request(rec, target).messages
    reading = load_prompt("qa/v2").reading(**passage_values(
        "a.pdf", [2, 3], ["Towers", "Paris"], EIFFEL))
    assert messages[0] == reading[0]
    asked = messages[-1]["content"]
    assert asked.startswith(reading[-1]["content"])
    rest = asked[len(reading[-1]["content"]):]
    assert rec.question in rest and rec.answer in rest and "never the passage" in rest
    assert "{" + "problems}" not in rest and "Problems:\n- " in rest


def test_the_judge_request_shares_the_generate_requests_prefix(tmp_path: Path) -> None:
    """Through the real stages: generate writes the file (with a non-default prompt),
    refine loads it, and the check's prompt begins with the draft's, character for
    character."""
    source = tmp_path / "towers.md"
    source.write_text("# Towers\n\n" + EIFFEL + "\n", encoding="utf-8")
    client = FakeBackend()
    run_generate([source], tmp_path / "work", client=client,
                 settings=GenerateSettings(prompt="qa/v2"))
    [drafted] = [r for r in client.history if r.schema_name == "qa_pairs"]
    [suggestions] = (tmp_path / "work" / "output_json").glob("*_suggestions.json")
    records, report = load_file(suggestions, tmp_path / "work")
    assert report.error is None and records and records[0].drafted_with == "qa/v2"
    checked = check_messages(records[0])
    assert checked[0] == drafted.messages[0]
    draft_text, check_text = drafted.messages[-1]["content"], checked[-1]["content"]
    shared = len(load_prompt("qa/v2").reading(**passage_values(
        records[0].document, records[0].pages, records[0].headings,
        records[0].chunk_text))[-1]["content"])
    assert draft_text[:shared] == check_text[:shared] and EIFFEL in check_text[:shared]


def test_the_cached_prompt_tokens_a_server_reports_are_counted() -> None:
    reply = {"choices": [{"message": {"content": "{}"}, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 700, "completion_tokens": 9,
                       "prompt_tokens_details": {"cached_tokens": 650}}}
    done = parse_completion(reply, "http://127.0.0.1:1/v1")
    assert (done.prompt_tokens, done.cached_prompt_tokens) == (700, 650)
    hostile = {**reply, "usage": {"prompt_tokens": 1, "prompt_tokens_details": "x"}}
    assert parse_completion(hostile, "http://127.0.0.1:1/v1").cached_prompt_tokens == 0
    client = FakeBackend([Completion("{}", prompt_tokens=700, cached_prompt_tokens=650)])
    client.complete(ChatRequest(messages=[{"role": "user", "content": "hi"}]))
    assert client.usage.cached_prompt_tokens == 650
