from __future__ import annotations

from pathlib import Path

from qaforge.journal import ChunkJournal, ChunkWriter, apply_generated
from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.suggestions import load_suggestions, update_suggestions, write_suggestions


def pending_file(path: Path, n: int = 3) -> SuggestionsFile:
    chunks = [Chunk(id=f"c-{i}", pages=[1, 1], text=f"t{i}") for i in range(n)]
    data = SuggestionsFile(source=Source(file="a.pdf", sha256="s", pages=1),
                           generator=GeneratorInfo(backend="fake", model="m", prompt="qa/v1"),
                           chunks=chunks)
    write_suggestions(path, data)
    return data


def generated(cid: str, question: str = "Q?") -> Chunk:
    return Chunk(id=cid, pages=[1, 1], text="t", state="generated",
                 suggestions=[Suggestion(id=f"q-{cid}", question=question, answer="A")])


def test_writer_lands_results_and_clears_journal(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    pending_file(path)
    journal = ChunkJournal(tmp_path / "j.jsonl")
    writer = ChunkWriter(journal, {path.name: path}, interval=3600)
    writer.add(path.name, generated("c-0"))
    assert load_suggestions(path).data.chunks[0].state == "pending"  # not flushed yet
    assert journal.replay()[path.name]["c-0"].state == "generated"  # but journaled
    writer.close()
    data = load_suggestions(path).data
    assert [c.state for c in data.chunks] == ["generated", "pending", "pending"]
    assert not journal.path.exists()


def test_replay_after_kill_recovers_and_ignores_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    pending_file(path)
    journal = ChunkJournal(tmp_path / "j.jsonl")
    journal.append(path.name, generated("c-1"))
    journal.close()
    with open(journal.path, "a") as handle:
        handle.write('{"file": "a_suggestions.json", "chunk": {"id": "c-2", "pag')  # torn
    writer = ChunkWriter(ChunkJournal(journal.path), {path.name: path})
    writer.preload(writer.journal.replay())
    writer.flush()
    states = [c.state for c in load_suggestions(path).data.chunks]
    assert states == ["pending", "generated", "pending"]


def test_person_edits_during_generation_survive(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    pending_file(path)
    data = load_suggestions(path).data
    # a person rejects... a chunk that is already generated, and adds a pair to a pending one
    def edit(d: SuggestionsFile) -> None:
        d.chunks[1].suggestions = [Suggestion(id="mine", question="Mine?", answer="yes",
                                              status="edited")]
        d.chunks[2].suggestions = "**Question 1:** Hand?\n**Answer 1:** Written."
    update_suggestions(path, edit)
    results = {c.id: generated(c.id) for c in data.chunks}
    update_suggestions(path, lambda d: apply_generated(d, results))
    after = load_suggestions(path).data.chunks
    assert [s.id for s in after[1].suggestions] == ["mine", "q-c-1"]  # type: ignore[union-attr]
    assert after[2].suggestions == "**Question 1:** Hand?\n**Answer 1:** Written."
    # a second application (journal replayed twice) changes nothing
    before = path.read_bytes()
    update_suggestions(path, lambda d: apply_generated(d, results))
    assert path.read_bytes() == before


def test_unwritable_file_keeps_results_in_journal(tmp_path: Path) -> None:
    path = tmp_path / "a_suggestions.json"
    pending_file(path)
    path.write_text("{ broken by hand")
    journal = ChunkJournal(tmp_path / "j.jsonl")
    writer = ChunkWriter(journal, {path.name: path})
    writer.add(path.name, generated("c-0"))
    writer.close()
    assert path.name in writer.errors and "invalid JSON" in writer.errors[path.name]
    assert path.read_text() == "{ broken by hand"
    assert journal.replay()[path.name]["c-0"].state == "generated"
