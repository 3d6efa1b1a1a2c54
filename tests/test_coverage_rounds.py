"""``generate --coverage`` (issue 15 item 5): chunks whose pairs leave too many informative
sentences uncovered are asked again about those sentences only, until the target share or
the round limit, so the number of pairs follows what a chunk says."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from qaforge.cli import cli
from qaforge.coverage_rounds import uncovered_sentences
from qaforge.generate import ChunkJob, GenerateQA
from qaforge.llm.base import ChatRequest, LLMError
from qaforge.llm.fake import FakeBackend, echo_pairs
from qaforge.records import Chunk
from qaforge.workspace import touched

FACTS = [
    "The pump moves water from the lower tank into the upper tank.",
    "Its motor runs on a single phase supply of two hundred thirty volts.",
    "The impeller is made of bronze and resists corrosion in salt water.",
    "A float switch stops the motor when the lower tank runs dry.",
    "The pressure gauge on the outlet reads between two and four bar.",
    "Filters on the inlet must be cleaned after every hundred hours of running.",
    "The bearings are sealed and need no grease during their service life.",
    "A red lamp on the housing warns when the motor overheats.",
]
TEXT = " ".join(FACTS)


def _job() -> ChunkJob:
    return ChunkJob("pump.pdf", Chunk(id=Chunk.make_id(TEXT, []), pages=[1, 1], text=TEXT))


def test_without_a_target_each_chunk_is_asked_once() -> None:
    client = FakeBackend()
    (chunk,) = GenerateQA(client).stream([_job()])
    assert len(client.history) == 1 and len(chunk.suggestions) == 3
    assert uncovered_sentences(chunk)[1] < 0.5


def test_extra_rounds_ask_only_about_uncovered_sentences_until_the_target() -> None:
    client = FakeBackend()
    (chunk,) = GenerateQA(client, coverage=0.8, coverage_rounds=3).stream([_job()])
    _, *more = client.history
    assert more and all(r.tag.endswith(":more") for r in more)
    asked = more[0].messages[-1]["content"]
    # the first reply covered the first three facts: the next request lists the others only
    assert all(f"- {fact}" in asked for fact in FACTS[3:])
    assert not any(f"- {fact}" in asked for fact in FACTS[:3])
    assert uncovered_sentences(chunk)[1] >= 0.8 and len(chunk.suggestions) > 3
    questions = [p.question for p in chunk.suggestions]
    assert len(set(questions)) == len(questions)
    assert touched(chunk) == []  # every pair is the model's draft: a re-chunk may drop it


def test_a_failed_extra_round_keeps_the_first_pairs() -> None:
    def script(request: ChatRequest) -> str | LLMError:
        return LLMError("server gone") if request.tag.endswith(":more") else echo_pairs(request)

    client = FakeBackend(script)
    (chunk,) = GenerateQA(client, coverage=0.9, coverage_rounds=2).stream([_job()])
    assert chunk.state == "generated" and len(chunk.suggestions) == 3
    assert len(client.history) == 2  # a round that adds nothing ends the rounds


def test_generate_cli_coverage_option(tmp_path: Path) -> None:
    pdfs = tmp_path / "docs"
    pdfs.mkdir()
    (pdfs / "pump.md").write_text("# Pump\n\n" + "\n\n".join(FACTS) + "\n", "utf-8")
    counts = {}
    for name, extra in (("once", []), ("covered", ["--coverage", "0.8"])):
        workdir = tmp_path / name
        done = CliRunner().invoke(cli, ["generate", str(pdfs), "-o", str(workdir),
                                        "--backend", "fake", "--json", *extra])
        assert done.exit_code == 0, done.output
        data = json.loads((workdir / "output_json" / "pump.md_suggestions.json").read_text())
        counts[name] = sum(len(c["suggestions"]) for c in data["chunks"])
        if extra:
            assert data["generator"]["params"]["coverage"] == 0.8
    assert counts["covered"] > counts["once"]
