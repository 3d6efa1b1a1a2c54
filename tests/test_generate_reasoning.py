"""``--reasoning keep`` in generate (issue 18 item 2): a reasoning model's thinking goes
with the pairs of its reply as their ``reasoning`` field, never inside an answer; with
``strip`` (the default) the suggestions file is what it was, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

from qaforge.config import LLMSettings
from qaforge.forms import parse_forms
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm import make_client
from qaforge.llm.base import ChatRequest, Completion, Sampling
from qaforge.llm.fake import FakeBackend, Reply, echo_pairs, thinking
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.runners.stages import ClientSpec
from qaforge.suggestions import load_suggestions, serialize, write_suggestions

TEXT = ("Water boils at 100 degrees Celsius at sea level. At the top of Mount Everest it "
        "boils at about 71 degrees Celsius, because the air pressure is lower there. Salt "
        "raises the boiling point of water only by a fraction of a degree.")
#: more informative sentences than one reply's three pairs cover (for --coverage)
FACTS = ["The pump moves water from the lower tank into the upper tank.",
         "Its motor runs on a single phase supply of two hundred thirty volts.",
         "The impeller is made of bronze and resists corrosion in salt water.",
         "A float switch stops the motor when the lower tank runs dry.",
         "The pressure gauge on the outlet reads between two and four bar.",
         "Filters on the inlet must be cleaned after every hundred hours of running."]
THOUGHT = "The passage is about boiling points; ask about sea level and altitude."


def chunk() -> Chunk:
    return Chunk(id=Chunk.make_id(TEXT, ["Physics"]), pages=[1, 1], headings=["Physics"],
                 text=TEXT)


def keeping(client: FakeBackend, keep: bool = True) -> FakeBackend:
    client.sampling = Sampling(keep_reasoning=keep)
    return client


def generate(client: FakeBackend, **options: object) -> Chunk:
    [done] = list(GenerateQA(client, pairs_per_chunk=3, **options).stream(  # type: ignore[arg-type]
        [ChunkJob("water.pdf", chunk())]))
    return done


def as_file(done: Chunk) -> bytes:
    return serialize(SuggestionsFile(source=Source(file="water.pdf", sha256="0" * 64, pages=1),
                                     generator=GeneratorInfo(backend="fake", model="m",
                                                             prompt="qa/v1"),
                                     chunks=[done]))


def test_keep_puts_the_reasoning_beside_every_pair_of_the_reply() -> None:
    done = generate(keeping(FakeBackend(thinking(echo_pairs, THOUGHT))))
    assert done.state == "generated" and len(done.suggestions) == 3
    assert [pair.reasoning for pair in done.suggestions] == [THOUGHT] * 3
    assert not any(THOUGHT in pair.question + pair.answer for pair in done.suggestions)
    written = json.loads(as_file(done))["chunks"][0]["suggestions"]
    assert [pair["reasoning"] for pair in written] == [THOUGHT] * 3


def test_strip_writes_the_file_byte_for_byte_as_without_a_reasoning_model() -> None:
    plain = as_file(generate(FakeBackend()))
    stripped = as_file(generate(FakeBackend(thinking(echo_pairs, THOUGHT))))
    assert stripped == plain
    assert b"reasoning" not in stripped


def test_keep_without_reasoning_in_the_reply_adds_no_field() -> None:
    assert as_file(generate(keeping(FakeBackend()))) == as_file(generate(FakeBackend()))


def test_server_side_reasoning_is_kept_too() -> None:
    def reply(request: ChatRequest) -> Reply:
        return Completion(echo_pairs(request), reasoning=THOUGHT, finish_reason="stop")

    done = generate(keeping(FakeBackend(reply)))
    assert {pair.reasoning for pair in done.suggestions} == {THOUGHT}


def test_each_form_keeps_the_reasoning_of_its_own_reply() -> None:
    def reply(request: ChatRequest) -> Reply:  # told apart by the schema, not the prompt
        return f"<think>about {request.schema_name}</think>{echo_pairs(request)}"

    done = generate(keeping(FakeBackend(reply)), forms=parse_forms("qa,yes_no"))
    by_form = {(pair.form, pair.reasoning) for pair in done.suggestions}
    assert by_form == {("qa", "about qa_pairs"), ("yes_no", "about yes_no_pairs")}


def test_coverage_rounds_keep_the_reasoning_of_the_extra_reply() -> None:
    def reply(request: ChatRequest) -> Reply:
        thought = "more" if request.tag.endswith(":more") else "first"
        return f"<think>{thought}</think>{echo_pairs(request)}"

    text = " ".join(FACTS)
    job = ChunkJob("pump.pdf", Chunk(id=Chunk.make_id(text, []), pages=[1, 1], text=text))
    client = keeping(FakeBackend(reply))
    [done] = list(GenerateQA(client, coverage=1.0, coverage_rounds=1).stream([job]))
    assert [r.tag.endswith(":more") for r in client.history] == [False, True]
    assert [p.reasoning for p in done.suggestions] == ["first"] * 3 + ["more"] * (
        len(done.suggestions) - 3)
    assert len(done.suggestions) > 3


def test_the_setting_reaches_generate_through_make_client() -> None:
    assert make_client(LLMSettings(backend="fake", reasoning="keep")).sampling.keep_reasoning
    assert not make_client(LLMSettings(backend="fake")).sampling.keep_reasoning
    client = make_client(LLMSettings(backend="fake", reasoning="keep"))
    assert isinstance(client, FakeBackend)
    client._script = thinking(echo_pairs, THOUGHT)
    assert {p.reasoning for p in generate(client).suggestions} == {THOUGHT}
    # a cluster worker's client, rebuilt from the settings, keeps it too
    settings = LLMSettings(backend="fake", reasoning="keep")
    assert ClientSpec.of(client, settings).build().sampling.keep_reasoning


def test_files_without_reasoning_load_as_before_and_reasoning_round_trips(
        tmp_path: Path) -> None:
    path = tmp_path / "water_suggestions.json"
    done = generate(keeping(FakeBackend(thinking(echo_pairs, THOUGHT))))
    write_suggestions(path, SuggestionsFile.model_validate(json.loads(as_file(done))))
    loaded = load_suggestions(path)
    assert not loaded.problems
    assert {p.reasoning for p in loaded.data.chunks[0].suggestions} == {THOUGHT}
    assert serialize(loaded.data) == path.read_bytes()
    old = Suggestion.model_validate({"id": "q-1", "question": "Why?", "answer": "So."})
    assert old.reasoning is None and "reasoning" not in old.model_dump()
