from __future__ import annotations

import json

from qaforge.generate import ChunkJob, GenerateQA, qa_schema, read_reply
from qaforge.llm.base import ChatRequest, LLMError
from qaforge.llm.fake import FakeBackend
from qaforge.records import Chunk


def chunk(text: str = "Water boils at 100 degrees Celsius at sea level.") -> Chunk:
    return Chunk(id=Chunk.make_id(text, ["Physics"]), pages=[3, 4], headings=["Physics"],
                 text=text)


GOOD = json.dumps({"pairs": [{"question": "At what temperature does water boil?",
                              "answer": "At 100 degrees Celsius at sea level."}]})


def test_prompt_carries_chunk_headings_pages_and_schema() -> None:
    llm = FakeBackend([GOOD])
    gen = GenerateQA(llm, pairs_per_chunk=3)
    [done] = list(gen.stream([ChunkJob("phys.pdf", chunk())]))
    request = llm.history[0]
    prompt = request.messages[-1]["content"]
    assert "Water boils" in prompt and "Physics" in prompt and "3-4" in prompt
    assert "phys.pdf" in prompt and "3 question-answer pairs" in prompt
    assert request.schema == qa_schema(3)
    assert request.schema["properties"]["pairs"]["maxItems"] == 3
    assert done.state == "generated" and done.raw is None and done.error is None
    assert [(s.question, s.status) for s in done.suggestions] == [
        ("At what temperature does water boil?", "draft")]


def test_fenced_seed_style_reply_is_parsed_and_raw_kept() -> None:
    reply = "Sure!\n**Question 1:** What boils at 100 C?\n**Answer 1:** Water at sea level."
    [done] = list(GenerateQA(FakeBackend([reply])).stream([ChunkJob("d.pdf", chunk())]))
    assert done.state == "generated"
    assert done.suggestions[0].answer == "Water at sea level."
    assert done.raw == reply


def test_garbage_twice_is_kept_verbatim_with_error() -> None:
    llm = FakeBackend(["", "I cannot help with that."])
    [done] = list(GenerateQA(llm).stream([ChunkJob("d.pdf", chunk())]))
    assert len(llm.history) == 2  # one retry
    assert "could not be read" in llm.history[1].messages[-1]["content"]
    assert done.state == "failed" and done.suggestions == []
    assert done.raw == "I cannot help with that." and "unparseable" in (done.error or "")


def test_retry_recovers() -> None:
    [done] = list(GenerateQA(FakeBackend(["{not json", GOOD])).stream(
        [ChunkJob("d.pdf", chunk())]))
    assert done.state == "generated" and len(done.suggestions) == 1


def test_request_failure_is_recorded_not_raised() -> None:
    llm = FakeBackend([LLMError("server said 500"), LLMError("server said 500")])
    [done] = list(GenerateQA(llm).stream([ChunkJob("d.pdf", chunk())]))
    assert done.state == "failed" and "server said 500" in (done.error or "")


def test_duplicate_and_extra_pairs_trimmed_ids_stable() -> None:
    pair = {"question": "Same question?", "answer": "x"}
    reply = json.dumps({"pairs": [pair, pair, {"question": "Other?", "answer": "y"},
                                  {"question": "Third?", "answer": "z"}]})
    gen = GenerateQA(FakeBackend([reply]), pairs_per_chunk=2)
    [a] = list(gen.stream([ChunkJob("d.pdf", chunk())]))
    [b] = list(gen.stream([ChunkJob("d.pdf", chunk())]))
    assert [s.question for s in a.suggestions] == ["Same question?", "Other?"]
    assert [s.id for s in a.suggestions] == [s.id for s in b.suggestions]


def test_wrong_types_in_json_do_not_crash() -> None:
    draft = read_reply('{"pairs": [{"question": 5, "answer": ["a"]}, "junk"]}')
    assert draft.pairs == [] or all(isinstance(q, str) for q, _ in draft.pairs)


def test_batch_form_for_cluster_runners_keeps_order() -> None:
    chunks = [chunk(f"Sentence number {i} is long enough to become a question.")
              for i in range(5)]
    jobs = [ChunkJob("d.pdf", c) for c in chunks]

    def script(request: ChatRequest) -> str:
        text = request.passage
        return json.dumps({"pairs": [{"question": "What is said?", "answer": text.strip()}]})

    out = GenerateQA(FakeBackend(script, max_concurrency=3))(jobs)
    assert [c.id for c in out] == [c.id for c in chunks]
    assert all(c.suggestions[0].answer in c.text for c in out)
