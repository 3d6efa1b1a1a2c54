"""``[llm] temperature`` and ``max_tokens`` reach every stage's requests (issue 16 item 5).

They used to be read nowhere: every stage hard-coded temperature 0.0 and its own budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from qaforge.config import GenerateSettings, LLMSettings, RefineSettings
from qaforge.generate import ChunkJob
from qaforge.llm import make_client
from qaforge.llm.base import ChatRequest, Sampling
from qaforge.llm.fake import FakeBackend
from qaforge.llm.openai import OpenAIClient
from qaforge.quiz.evaluate import Answer, answer_request, grade_request
from qaforge.quiz.items import QuizItem
from qaforge.quiz.make import QuizWriter, SourceChunk
from qaforge.records import Chunk
from qaforge.refine import refine_workdir
from qaforge.runners.driver import GenerateSetup
from qaforge.runners.stages import ClientSpec
from refine.refine_helpers import EIFFEL, chunk, pair, write_doc  # tests/ is on sys.path

QUESTION = "When was the Eiffel Tower completed?"
ANSWER = "It was completed in 1889 for the World's Fair."


def stage_requests(client: FakeBackend, tmp_path: Path) -> list[ChatRequest]:
    """Requests of generate, refine (judge by either method + correct), quiz and eval made
    with ``client``."""
    setup = GenerateSetup.for_client(client, GenerateSettings())
    text_chunk = Chunk(id=Chunk.make_id(EIFFEL, ["Facts"]), pages=[1], headings=["Facts"],
                       text=EIFFEL)
    requests = [setup.gen.request(ChunkJob("eiffel.pdf", text_chunk))]
    for method in ("checks", "rubric"):
        workdir = tmp_path / method
        write_doc(workdir, "eiffel.pdf", [chunk(EIFFEL, [pair("p1", QUESTION, ANSWER),
                                                         pair("p2", "Eiffel?", ANSWER)])])
        refine_workdir(workdir, judge=client, settings=RefineSettings(judge_method=method))
    requests += client.history
    item = QuizItem(id="z1", question=QUESTION, answer="1889", chunk_text=EIFFEL)
    requests += [QuizWriter(client).request(SourceChunk(text_chunk, "eiffel.pdf", "f.json")),
                 answer_request(client, item, "open"), answer_request(client, item, "closed"),
                 grade_request(item, Answer("z1", "open", text="1889"),
                               sampling=client.sampling)]
    return requests


def test_settings_reach_every_stage_request(tmp_path: Path) -> None:
    client = make_client(LLMSettings(backend="fake", temperature=0.7, max_tokens=100))
    assert isinstance(client, FakeBackend)
    requests = stage_requests(client, tmp_path)
    kinds = {r.tag.split(":")[0] for r in requests}
    assert {"check-answer", "judge", "correct", "quiz", "eval-answer", "grade"} <= kinds
    assert all(r.temperature == 0.7 for r in requests), {r.tag: r.temperature for r in requests}
    assert all(r.max_tokens == 100 for r in requests), {r.tag: r.max_tokens for r in requests}


def test_defaults_keep_greedy_decoding_and_each_stage_budget(tmp_path: Path) -> None:
    client = make_client(LLMSettings(backend="fake"))
    assert isinstance(client, FakeBackend)
    requests = stage_requests(client, tmp_path)
    assert all(r.temperature == 0.0 for r in requests)
    budgets = {r.tag.split(":")[0]: r.max_tokens for r in requests if ":" in r.tag}
    assert budgets["check-answer"] == 120 and budgets["judge"] == 160 and budgets["grade"] == 120
    # a rewrite of the whole pair 320, of the question alone 100
    rewrites = {r.schema_name: r.max_tokens for r in requests if r.tag.startswith("correct:")}
    assert rewrites and all(v == {"question": 100, "pair": 320}[k] for k, v in rewrites.items())
    assert budgets["eval-answer"] == 160
    assert requests[0].max_tokens > 160  # generate: sized for 3 pairs, not capped


def test_a_cap_above_a_stage_budget_leaves_it_alone() -> None:
    assert Sampling(max_tokens=200).budget(160) == 160
    assert Sampling(max_tokens=200).budget(900) == 200
    assert Sampling().budget(900) == 900
    with pytest.raises(ValidationError, match="at least 16"):
        LLMSettings(max_tokens=8)


def test_cluster_workers_build_clients_with_the_same_sampling() -> None:
    sampling = Sampling(temperature=0.4, max_tokens=64)
    wire = OpenAIClient(["http://127.0.0.1:9/v1"], model="m")
    wire.sampling = sampling
    recipe = wire.worker_recipe()
    with wire, recipe() as rebuilt:
        assert rebuilt.sampling == sampling
    settings = LLMSettings(backend="fake", temperature=0.4, max_tokens=64)
    with make_client(settings) as fake, ClientSpec.of(fake, settings).build() as worker:
        assert worker.sampling == sampling
