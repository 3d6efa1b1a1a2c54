"""The fake backend answers from a request's structured fields and schema, never from a
prompt's wording (issue 16 item 3), so any prompt template can become the default."""

from __future__ import annotations

import json

from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm.base import ChatRequest
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.prompts import load_prompt, parse_template
from qaforge.records import Chunk

TEXT = ("Water boils at 100 degrees Celsius at sea level. At higher altitudes the boiling "
        "point is lower because the air pressure is lower. Salt raises the boiling point "
        "of water slightly.")
# no <passage> tags, no "Question:" lines, and sentences of its own the fake must not use
BARE = parse_template("bare/v1", "---user---\nPlease read the following notes carefully "
                                 "now.\n{text}\nWrite {n} pairs about {document} for me, "
                                 "thank you very much.")


def drafted(prompt_name: str | None = None) -> list[tuple[str, str]]:
    chunk = Chunk(id=Chunk.make_id(TEXT, ["Physics"]), pages=[1], headings=["Physics"],
                  text=TEXT)
    prompt = BARE if prompt_name is None else load_prompt(prompt_name)
    [done] = list(GenerateQA(FakeBackend(), prompt=prompt).stream([ChunkJob("d.pdf", chunk)]))
    assert done.state == "generated", done.error
    return [(s.question, s.answer) for s in done.suggestions]


def test_pairs_come_from_the_passage_whatever_the_prompt() -> None:
    pairs = drafted()
    assert len(pairs) == 3 and all(answer in TEXT for _, answer in pairs)
    assert drafted("qa/v1") == pairs == drafted("qa/v2")


def test_a_correction_echoes_the_pair_it_was_given() -> None:
    schema = {"type": "object", "properties": {"question": {"type": "string"},
                                               "answer": {"type": "string"}}}
    request = ChatRequest(messages=[{"role": "user", "content": "Fix this pair, please."}],
                          schema=schema, pair=("How hot is boiling water?", "100 C."))
    assert json.loads(echo_pairs(request)) == {"question": "How hot is boiling water?",
                                               "answer": "100 C."}


def test_a_grade_compares_the_reference_with_the_answer() -> None:
    schema = {"type": "object", "properties": {"correct": {"type": "string"}}}

    def grade(answer: str) -> str:
        request = ChatRequest(messages=[{"role": "user", "content": "Grade it."}],
                              schema=schema, passage="1889", pair=("When?", answer))
        return str(json.loads(echo_pairs(request))["correct"])

    assert grade("It was finished in 1889.") == "yes"
    assert grade("In 1900.") == "no"


def test_pairs_keep_whole_sentences() -> None:
    """The fake splits passages with the package's one sentence splitter: a decimal or an
    abbreviation does not cut a sentence (its own regex cut "3.2" into "3.")."""
    text = ("The Model 7 pump weighs about 3.2 kilograms in total. It runs on a battery "
            "for two hours, e.g. in the field.")
    request = ChatRequest(messages=[], schema={"properties": {"pairs": {}}}, passage=text)
    answers = [p["answer"] for p in json.loads(echo_pairs(request))["pairs"]]
    assert answers == ["The Model 7 pump weighs about 3.2 kilograms in total.",
                       "It runs on a battery for two hours, e.g. in the field."]


def test_over_http_the_testing_server_answers_from_the_passage_tags() -> None:
    """Only the text travels to ``qaforge.testing``'s server: it answers from the prompt's
    ``<passage>`` when there is one, as before ``ChatRequest.passage`` existed."""
    from qaforge.llm.openai import OpenAIClient
    from qaforge.testing.openai_server import FakeOpenAIServer

    chunk = Chunk(id=Chunk.make_id(TEXT, ["Physics"]), pages=[1], headings=["Physics"],
                  text=TEXT)
    with FakeOpenAIServer() as server, OpenAIClient([server.url]) as client:
        [done] = list(GenerateQA(client, prompt=load_prompt("qa/v1")).stream(
            [ChunkJob("d.pdf", chunk)]))
    assert done.suggestions and all(s.answer in TEXT for s in done.suggestions)
