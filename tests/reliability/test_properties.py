"""Property tests (Hypothesis) the issue asks for that were missing: the suggestions file
round trip and dedup.

Already covered elsewhere: the Q&A parser (``tests/test_qa_parsing.py``: never raises on
any text or near-miss format, JSON and text styles round-trip) and chunking
(``tests/test_chunking.py``: no text lost or duplicated across chunks, budget respected,
deterministic ids, lossless sentence split).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from qaforge.records import Chunk, GeneratorInfo, Source, Suggestion, SuggestionsFile
from qaforge.refine.checks import normalise
from qaforge.refine.dedup import deduplicate
from qaforge.refine.pair_record import PairRecord
from qaforge.suggestions import load_suggestions, serialize, update_suggestions, write_suggestions

# any character at all, lone surrogates and control characters included; only a high
# surrogate directly before a low one is left out (JSON reads that back as one character)
_SURROGATE_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=40).filter(
    lambda s: not _SURROGATE_PAIR.search(s))
IDS = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=12)
EXTRA_KEYS = st.sampled_from(["note", "tags", "reviewer", "score"])
EXTRA_VALUES = st.one_of(ANY_TEXT, st.integers(), st.lists(ANY_TEXT, max_size=3), st.none())


@st.composite
def suggestions_files(draw: st.DrawFn) -> SuggestionsFile:
    chunk_ids = draw(st.lists(IDS, unique=True, max_size=5))
    pair_ids = iter(draw(st.lists(IDS, unique=True, min_size=20, max_size=20)))
    chunks = []
    for chunk_id in chunk_ids:
        pairs: list[Suggestion] | str
        if draw(st.booleans()) and draw(st.booleans()):
            pairs = draw(ANY_TEXT.filter(bool))  # a person's seed-style text
        else:
            pairs = [Suggestion(id=f"{chunk_id}-{next(pair_ids)}", question=draw(ANY_TEXT),
                                answer=draw(ANY_TEXT),
                                status=draw(st.sampled_from(["draft", "accepted", "edited",
                                                             "rejected"])),
                                **draw(st.dictionaries(EXTRA_KEYS, EXTRA_VALUES, max_size=2)))
                     for _ in range(draw(st.integers(0, 3)))]
        first = draw(st.integers(1, 50))
        chunks.append(Chunk(
            id=chunk_id, pages=[first, first + draw(st.integers(0, 3))],
            headings=draw(st.lists(ANY_TEXT, max_size=3)), text=draw(ANY_TEXT),
            suggestions=pairs, raw=draw(st.none() | ANY_TEXT), error=draw(st.none() | ANY_TEXT),
            state=draw(st.sampled_from(["pending", "generated", "failed"])),
            **draw(st.dictionaries(EXTRA_KEYS, EXTRA_VALUES, max_size=2))))
    return SuggestionsFile.model_validate({
        "source": Source(file=draw(ANY_TEXT) or "a.pdf", sha256="0" * 64,
                         pages=draw(st.integers(0, 10_000))),
        "generator": GeneratorInfo(backend="fake", model=draw(ANY_TEXT), prompt="qa/v1",
                                   params=draw(st.dictionaries(IDS, st.integers(), max_size=3))),
        "chunks": chunks, **draw(st.dictionaries(EXTRA_KEYS, EXTRA_VALUES, max_size=2))})


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=suggestions_files())
def test_property_suggestions_file_round_trip(data: SuggestionsFile) -> None:
    with TemporaryDirectory() as folder:
        path = Path(folder) / "a_suggestions.json"
        write_suggestions(path, data)
        raw = path.read_bytes()
        json.loads(raw.decode("utf-8"))  # valid UTF-8 JSON, whatever the text held
        loaded = load_suggestions(path)
        assert loaded.rejected_entries == []
        # the only remark: fields a person added at the top are reported (and kept)
        assert {(p.field, p.message) for p in loaded.problems} == {
            (key, "unknown field (kept as is)") for key in data.model_extra or {}}
        assert loaded.data.to_json_dict() == data.to_json_dict()
        # a rewrite that changes nothing writes nothing, and the bytes are stable
        update_suggestions(path, lambda _: None, loaded.revision)
        assert path.read_bytes() == raw == serialize(loaded.data)


QUESTIONS = ["How long is the Nile?", "How long is the river Nile?", "What is the Nile?",
             "Who designed the Eiffel Tower?", "Who designed the tower in Paris?",
             "When was the tower completed?", "how LONG is the Nile", "¿Qué es el Nilo?"]
ANSWERS = ["About 6,650 kilometres.", "About 6650 km.", "A river in Africa.",
           "Gustave Eiffel's company.", "In 1889."]


@st.composite
def pair_records(draw: st.DrawFn) -> list[PairRecord]:
    records = []
    for index in range(draw(st.integers(0, 14))):
        question = draw(st.sampled_from(QUESTIONS) | st.text(max_size=30))
        if draw(st.booleans()):
            question += draw(st.sampled_from(["", " ", "?", "!", " really?"]))
        records.append(PairRecord(
            source_file=f"output_json/{index % 3}.json", document=f"doc{index % 3}.pdf",
            chunk_id=f"c-{index % 4}", pair_id=f"p{index}", question=question,
            answer=draw(st.sampled_from(ANSWERS) | st.text(max_size=30)),
            status=draw(st.sampled_from(["draft", "draft", "accepted", "edited"]))))
    return records


def decisions(records: list[PairRecord]) -> list[tuple[str, str | None]]:
    return [(r.decision, r.duplicate_of) for r in records]


@settings(max_examples=200, deadline=None)
@given(records=pair_records(), threshold=st.sampled_from([0.7, 0.85, 0.95]))
def test_property_dedup_keeps_one_of_each_group_and_explains_the_rest(
        records: list[PairRecord], threshold: float) -> None:
    deduplicate(records, threshold)
    by_id = {r.pair_id: r for r in records}
    kept = [r for r in records if r.decision == "pending"]
    for record in records:
        if record.decision != "duplicate":
            assert record.decision == "pending" and record.duplicate_of is None
            continue
        original = by_id[record.duplicate_of or ""]
        assert original.decision == "pending"  # it points at a pair that stays
        assert record.reason and original.pair_id in record.reason
        same_question = normalise(record.question) and (
            normalise(record.question) == normalise(original.question))
        similar = fuzz.ratio(normalise(f"{record.question} {record.answer}"),
                             normalise(f"{original.question} {original.answer}"))
        assert same_question or similar >= threshold * 100
        if record.reviewed:
            assert original.reviewed  # a person's pair never goes for a draft
    questions = [normalise(r.question) for r in kept if normalise(r.question)]
    assert len(questions) == len(set(questions))
    before = decisions(records)
    deduplicate(records, threshold)  # idempotent: nothing left to merge
    assert decisions(records) == before


@settings(max_examples=60, deadline=None)
@given(records=pair_records())
def test_property_dedup_path_for_large_inputs_only_marks_true_duplicates(
        records: list[PairRecord]) -> None:
    """The MinHash/LSH path may miss a near-duplicate but never invents one."""
    deduplicate(records, 0.85, exact_limit=0)
    by_id = {r.pair_id: r for r in records}
    for record in records:
        if record.decision == "duplicate":
            original = by_id[record.duplicate_of or ""]
            text = normalise(f"{record.question} {record.answer}")
            other = normalise(f"{original.question} {original.answer}")
            assert (normalise(record.question) == normalise(original.question)
                    or fuzz.ratio(text, other) >= 85)


# ---------------------------------------------- PDF -> suggestions file (issue 14, item 1)

FOLDERS = st.sampled_from(["", "2023/", "a/b/", "Ärger/", "2023/x/"])
STEMS = st.lists(st.sampled_from(["report", "Report", "x", "données", "报告", "é" * 40,
                                  "a" * 100, "-1a2b3c4d5e", "_suggestions"]),
                 min_size=1, max_size=3).map("".join)
PDF_PATHS = st.builds(lambda folder, stem, ext: f"{folder}{stem}{ext}", FOLDERS, STEMS,
                      st.sampled_from([".pdf", ".PDF", ".Pdf"])).filter(
    lambda p: len(p.rsplit("/", 1)[-1].encode()) <= 250)
OPERATIONS = st.lists(st.tuples(st.sampled_from(["add", "add", "remove", "rename"]),
                                PDF_PATHS, st.integers(0, 1000)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=st.lists(PDF_PATHS, max_size=6), operations=OPERATIONS)
def test_property_each_pdf_keeps_one_file_of_its_own_across_runs(
        start: list[str], operations: list[tuple[str, str, int]]) -> None:
    """Runs of discovery over random sets of same names in different folders, case variants
    and long unicode names, with PDFs added, removed and renamed between runs: the mapping
    is injective, names fit the file system, and a PDF that stays keeps its file; a file
    once given to a path is never given to another (removed PDFs' files stay on disk)."""
    from qaforge.discovery import MAX_NAME_BYTES, discover_pdfs

    with TemporaryDirectory() as tmp:
        docs, workdir = Path(tmp) / "docs", Path(tmp) / "work"
        docs.mkdir()
        owner: dict[str, str] = {}  # file name -> the path it was given to, ever
        given: dict[str, str] = {}  # path -> the file name it was given, ever

        def put(rel: str) -> None:
            (docs / rel).parent.mkdir(parents=True, exist_ok=True)
            (docs / rel).write_bytes(rel.encode())

        for rel in start:
            put(rel)
        for kind, rel, pick in [("run", "", 0), *operations]:
            present = sorted(p.relative_to(docs).as_posix() for p in docs.rglob("*")
                             if p.is_file())
            if kind == "add":
                put(rel)
            elif kind in ("remove", "rename") and present:
                gone = docs / present[pick % len(present)]
                gone.unlink()
                if kind == "rename" and not (docs / rel).exists():
                    put(rel)
            found, problems = discover_pdfs([docs], workdir)
            assert not problems
            names = {f.source: f.name for f in found}
            assert len(names) == len(found)
            assert len({n.casefold() for n in names.values()}) == len(names)
            for source, name in names.items():
                assert len(name.encode()) <= MAX_NAME_BYTES and "/" not in name
                assert owner.setdefault(name, source) == source
                assert given.setdefault(source, name) == name
                out = workdir / "output_json" / name
                if not out.exists():  # what store_document writes for a new PDF
                    out.parent.mkdir(parents=True, exist_ok=True)
                    write_suggestions(out, SuggestionsFile(
                        source=Source(file=source.rsplit("/", 1)[-1], sha256="0" * 64,
                                      pages=1, path=source),
                        generator=GeneratorInfo(backend="fake", model="m", prompt="p")))
