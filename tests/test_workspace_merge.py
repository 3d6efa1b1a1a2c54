"""What a person touched, and what a changed PDF's merge keeps (issue 14, item 3); the CLI
round trip is ``tests/reliability/test_hand_edits.py``."""

from __future__ import annotations

from qaforge.records import (
    Chunk,
    GeneratorInfo,
    Source,
    Suggestion,
    SuggestionsFile,
    model_pair_id,
)
from qaforge.workspace import merge_chunks, touched


def chunk(text: str, pairs: int = 2) -> Chunk:
    """A chunk exactly as generate leaves it: the model's drafts, nothing else."""
    cid = Chunk.make_id(text, ["H"])
    return Chunk(id=cid, pages=[1, 1], headings=["H"], text=text, state="generated",
                 suggestions=[Suggestion(id=model_pair_id(cid, i, f"Q{i}?", f"A{i}."),
                                         question=f"Q{i}?", answer=f"A{i}.")
                              for i in range(pairs)])


def pairs(c: Chunk) -> list[Suggestion]:
    assert isinstance(c.suggestions, list)
    return c.suggestions


def test_touched_names_every_kind_of_hand_edit_and_nothing_else() -> None:
    assert touched(chunk("untouched")) == []
    assert touched(chunk("pending", pairs=0)) == []
    edited_answer = chunk("a")
    pairs(edited_answer)[1].answer = "Mine."
    assert touched(edited_answer) == ["1 pair added or edited by hand"]
    added = chunk("b")
    added.suggestions = [*pairs(added), Suggestion(id="q-x", question="Mine?", answer="Yes.")]
    assert touched(added) == ["1 pair added or edited by hand"]
    reviewed = chunk("c")
    pairs(reviewed)[0].status = "rejected"
    assert touched(reviewed) == ["1 reviewed pair"]
    noted = chunk("d").model_copy(update={"suggestions": "**Question 1:** Q? **Answer 1:** A."})
    noted.__pydantic_extra__ = {"note": "check", "stale": "earlier"}
    assert touched(noted) == ["pairs written as text", "added 'note'"]
    tagged = chunk("e")
    pairs(tagged)[0].__pydantic_extra__ = {"tags": ["x"]}
    retexted = chunk("f")
    retexted.text = "A person fixed the extraction."
    assert touched(tagged) and touched(retexted) == ["edited chunk text"]
    legacy = chunk("g")  # drafted before model ids covered the answer
    legacy.suggestions = [Suggestion(id=Suggestion.make_id(legacy.id, "Q?", 0),
                                     question="Q?", answer="A.")]
    assert touched(legacy) == ["1 pair added or edited by hand"]


def test_merge_keeps_touched_chunks_flagged_and_unflags_one_that_returns() -> None:
    kept, gone, back, same = chunk("kept"), chunk("gone"), chunk("back"), chunk("same")
    pairs(kept)[0].status = "accepted"
    back.__pydantic_extra__ = {"stale": "source PDF changed", "note": "mine"}
    old = SuggestionsFile(source=Source(file="x.pdf", sha256="0", pages=1),
                          generator=GeneratorInfo(backend="f", model="m", prompt="p"),
                          chunks=[kept, gone, back, same])
    fresh = [chunk("new"), chunk("back", pairs=0), chunk("same", pairs=0)]
    merged, stale = merge_chunks(old, fresh)
    assert stale == 1
    assert [c.id for c in merged] == [fresh[0].id, back.id, same.id, kept.id]
    assert merged[1].model_extra == {"note": "mine"} and pairs(merged[2]) == pairs(same)
    reason = (merged[3].model_extra or {})["stale"]
    assert reason.startswith("source PDF changed") and "1 reviewed pair" in reason
    assert old.chunks[2].model_extra and "stale" in old.chunks[2].model_extra  # not mutated
