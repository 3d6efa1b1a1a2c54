"""Question forms (issue 18 part 4): schemas, readers, the per-chunk split, generation."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from qaforge.config import GenerateSettings
from qaforge.errors import ConfigError
from qaforge.forms import FORM_NAMES, FORMS, allot, parse_forms, with_blank
from qaforge.generate import ChunkJob, GenerateQA, answer_token_budget, qa_schema
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.prompts import load_prompt
from qaforge.records import Chunk, Suggestion

TEXT = ("Water boils at 100 degrees Celsius at sea level. At higher altitudes the air "
        "pressure is lower, so water boils at a lower temperature. Pressure cookers raise "
        "the pressure so that water boils above 100 degrees Celsius.")


def chunk(text: str = TEXT) -> Chunk:
    return Chunk(id=Chunk.make_id(text, ["Physics"]), pages=[3, 4], headings=["Physics"],
                 text=text)


def test_every_form_has_a_prompt_and_a_schema_the_fake_answers() -> None:
    for name, form in FORMS.items():
        prompt = load_prompt(form.prompt)
        rendered = prompt.render(text=TEXT, document="d.pdf", headings="Physics", pages="1",
                                 n=2, language="English")
        assert TEXT in rendered[-1]["content"] and "{" in rendered[-1]["content"]
        schema = form.schema(2)
        assert schema["properties"][form.list_key]["maxItems"] == 2
        reply = echo_pairs(ChatRequest(messages=rendered, schema=schema, passage=TEXT))
        pairs = form.read(reply)
        assert pairs, name
        assert all(p.question and p.answer for p in pairs)


def test_readers_build_each_forms_pair() -> None:
    def read(form: str, item: dict[str, object]) -> tuple[str, str]:
        [pair] = FORMS[form].read(json.dumps({FORMS[form].list_key: [item]}))
        return pair.question, pair.answer

    assert read("yes_no", {"question": "Does water boil at 100 C?", "verdict": "yes",
                           "explanation": "At sea level it does."}) == (
        "Does water boil at 100 C?", "Yes. At sea level it does.")
    assert read("fill_in", {"cloze": "Water boils at ____ at sea level.",
                            "missing": "100 C"}) == ("Water boils at ____ at sea level.",
                                                     "100 C")
    assert read("reasoning", {"question": "Why?", "steps": ["A.", "B."],
                              "conclusion": "So C."}) == ("Why?", "1. A.\n2. B.\nSo C.")
    assert read("summary", {"instruction": "Summarise boiling.", "summary": "It boils."}) == (
        "Summarise boiling.", "It boils.")
    [talk] = FORMS["multi_turn"].read(json.dumps({"conversations": [{"exchanges": [
        {"user": "Q1?", "assistant": "A1."}, {"user": "Q2?", "assistant": "A2."}]}]}))
    assert (talk.question, talk.answer) == ("Q1?", "A1.")
    assert [t["role"] for t in talk.turns or []] == ["user", "assistant"] * 2
    # wrong shapes give nothing rather than half a pair
    assert FORMS["yes_no"].read('{"pairs": [{"question": "Q?", "verdict": "maybe"}]}') == []
    assert FORMS["multi_turn"].read('{"conversations": [{"exchanges": "x"}]}') == []
    assert FORMS["summary"].read("not json") == []


def test_parse_forms_and_settings() -> None:
    assert parse_forms("yes_no, qa") == {"qa": 0.5, "yes_no": 0.5}
    assert parse_forms({"qa": 3, "fill_in": 1}) == {"qa": 0.75, "fill_in": 0.25}
    with pytest.raises(ConfigError, match="unknown question form"):
        parse_forms("qa,essay")
    with pytest.raises(ConfigError):
        parse_forms({"qa": 0})
    assert GenerateSettings().forms == {"qa": 1.0}
    assert GenerateSettings(forms="qa,multi_turn").forms == {"qa": 0.5, "multi_turn": 0.5}
    with pytest.raises(ValueError, match="unknown question form"):
        GenerateSettings(forms={"essay": 1})


def test_allot_is_deterministic_and_keeps_the_shares_over_many_chunks() -> None:
    shares = parse_forms("qa,yes_no,fill_in")
    assert allot(3, shares, "c-1") == {"qa": 1, "yes_no": 1, "fill_in": 1}
    assert allot(2, shares, "c-1") == allot(2, shares, "c-1")
    assert sum(allot(2, shares, "c-1").values()) == 2
    total: Counter[str] = Counter()
    for i in range(300):
        total.update(allot(2, shares, f"c-{i}"))
    assert all(180 <= total[name] <= 220 for name in shares), total
    assert allot(5, {"qa": 1.0}, "x") == {"qa": 5}


def test_generate_mixes_forms_one_request_per_form() -> None:
    llm = FakeBackend()
    gen = GenerateQA(llm, pairs_per_chunk=3, forms=parse_forms("qa,yes_no,multi_turn"))
    [done] = list(gen.stream([ChunkJob("phys.pdf", chunk())]))
    assert len(llm.history) == 3
    names = sorted(r.schema_name for r in llm.history)
    assert names == ["multi_turn_pairs", "qa_pairs", "yes_no_pairs"]
    assert all(r.passage == TEXT for r in llm.history)
    # each request's reply budget is sized for its own share (1 pair here), not the chunk's 3
    budgets = {r.schema_name: r.max_tokens for r in llm.history}
    assert budgets["qa_pairs"] == answer_token_budget(1) < gen.max_tokens
    assert budgets["yes_no_pairs"] == FORMS["yes_no"].tokens_per_item + 32
    assert done.state == "generated" and done.error is None
    suggestions = done.suggestions
    assert isinstance(suggestions, list)
    assert [s.form for s in suggestions] == ["qa", "yes_no", "multi_turn"]
    assert suggestions[1].answer.startswith("Yes.")
    talk = suggestions[2]
    assert talk.turns and len(talk.turns) == 4
    assert (talk.question, talk.answer) == (talk.turns[0]["content"], talk.turns[1]["content"])
    assert len({s.id for s in suggestions}) == 3
    # the file keeps the form of other pairs and says nothing new about plain Q&A ones
    dumped = [s.model_dump(mode="json") for s in suggestions]
    assert "form" not in dumped[0] and "turns" not in dumped[0]
    assert dumped[2]["form"] == "multi_turn" and Suggestion.model_validate(dumped[2]) == talk


def test_qa_alone_sends_what_it_sent_before() -> None:
    llm = FakeBackend()
    gen = GenerateQA(llm, pairs_per_chunk=3, forms={"qa": 1.0})
    list(gen.stream([ChunkJob("phys.pdf", chunk())]))
    [request] = llm.history
    assert request.schema == qa_schema(3) and request.schema_name == "qa_pairs"
    assert request.max_tokens == gen.max_tokens


def test_a_form_that_fails_twice_leaves_the_others_and_says_why() -> None:
    def script(request: ChatRequest) -> str:
        return "no idea" if request.schema_name == "fill_in_pairs" else echo_pairs(request)

    llm = FakeBackend(script)
    gen = GenerateQA(llm, pairs_per_chunk=2, forms=parse_forms("qa,fill_in"))
    [done] = list(gen.stream([ChunkJob("phys.pdf", chunk())]))
    assert len(llm.history) == 3  # the fill_in request was retried once
    assert done.state == "generated" and isinstance(done.suggestions, list)
    assert [s.form for s in done.suggestions] == ["qa"]
    assert done.error is not None and done.error.startswith("fill_in: unparseable")

    llm = FakeBackend(["no idea"])
    [failed] = list(GenerateQA(llm, pairs_per_chunk=2, forms=parse_forms("qa,fill_in")).stream(
        [ChunkJob("phys.pdf", chunk())]))
    assert failed.state == "failed" and "qa:" in (failed.error or "")
    assert "fill_in:" in (failed.error or "")


def test_form_names_are_the_documented_ones() -> None:
    assert FORM_NAMES == ("qa", "reasoning", "summary", "yes_no", "fill_in", "multi_turn")


def test_generate_and_run_pass_forms_on(tmp_path: Path) -> None:
    from qaforge.cli.generate import generate_settings
    from qaforge.cli.run import run_settings

    for settings_of in (generate_settings, run_settings):
        settings = settings_of({"workdir": tmp_path, "forms": "fill_in,qa"})
        assert settings.generate.forms == {"qa": 0.5, "fill_in": 0.5}, settings_of



def test_schemas_have_no_string_patterns() -> None:
    """llama.cpp's grammar ignores an unanchored pattern ("pattern _{3,} is not supported")
    and with the anchored one its server failed 5 of 6 fill_in requests of the bundled model
    (HTTP 500); the blank is refine's check (fill_in_blank) instead."""
    def patterns(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["pattern"]] if "pattern" in node else []
            return found + [p for value in node.values() for p in patterns(value)]
        return [p for value in node for p in patterns(value)] if isinstance(node, list) else []

    assert [p for form in FORMS.values() for p in patterns(form.schema(2))] == []


def test_a_fill_in_written_whole_gets_its_blank_from_the_missing_words() -> None:
    # what Qwen2.5-Coder-1.5B wrote for all 21 fill-in items of bench_forms.py
    assert with_blank("It is case sensitive as are most UNIX based packages",
                      "packages") == "It is case sensitive as are most UNIX based ____"
    assert with_blank("The function sink, diverts output to a file.", "SINK") == (
        "The function ____, diverts output to a file.")
    assert with_blank("Water boils at ____ at sea level.", "100 C") == (
        "Water boils at ____ at sea level.")  # a blank already there
    for cloze, missing in [("Scale then translate.", "scale then translate"),  # all of it
                           ("R-intro.pdf", "document"),  # not in the statement
                           ("The sinking ship.", "sink"),  # not a whole word
                           ("A long one.", " ")]:
        assert with_blank(cloze, missing) == cloze
    [pair] = FORMS["fill_in"].read(json.dumps({"pairs": [
        {"cloze": "R is an expression language with a very simple syntax",
         "missing": "syntax"}]}))
    assert (pair.question, pair.answer) == (
        "R is an expression language with a very simple ____", "syntax")
