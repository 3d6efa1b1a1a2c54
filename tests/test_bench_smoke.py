"""Smoke tests of the bench scripts: each runs on a tiny input and must exit 0 and print
its summary lines. No timing is asserted anywhere (the figures are for docs/benchmarks.md).

The model-backed scripts run the real bundled model on one thread (``model``/``slow``);
the seed mode of ``bench_generate`` also needs the ``transformers`` extra.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import pdfgen

BENCH = Path(__file__).resolve().parents[1] / "bench"


def run_script(name: str, *args: str, timeout: float = 600) -> str:
    done = subprocess.run([sys.executable, str(BENCH / name), *args], capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{name} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    pdfgen.plain_pdf(corpus, pages=3)
    pdfgen.two_column_pdf(corpus)
    return corpus


def test_bench_extract_reports_every_extractor_and_both_ratios(tiny_corpus: Path) -> None:
    out = run_script("bench_extract.py", "--corpus", str(tiny_corpus), "--rounds", "1")
    for name in ("extract_pdf", "pypdfium2-raw", "pypdf"):
        assert f"{name} " in out and "pages/s" in out
    assert "extract_pdf / pypdfium2-raw =" in out
    assert "extract_pdf / pypdf" in out


@pytest.mark.slow
def test_bench_scale_measures_rss_and_a_clean_resume() -> None:
    out = run_script("bench_scale.py", "--pages", "4,12", "--delay", "0.05")
    assert "generate --backend fake     4 pages" in out
    assert "generate --backend fake    12 pages" in out
    assert "peak RSS 12 vs 4 pages" in out
    resumed = [line for line in out.splitlines() if "redone" in line]
    assert resumed and resumed[0].endswith("OK"), out


@pytest.mark.slow
def test_bench_dedup_counts_candidates_and_compares_the_cap() -> None:
    out = run_script("bench_dedup.py", "--pairs", "3000", "--every", "1500")
    assert "pairs 1501-3000: candidates per lookup" in out, out
    assert out.count("dedup 3000 pairs, ") == 2
    assert "capped and uncapped find the same duplicates: yes" in out


@pytest.mark.slow
def test_bench_scale_refines_synthetic_pairs_and_times_each_step() -> None:
    out = run_script("bench_scale.py", "--pairs", "600")
    line = next(line for line in out.splitlines() if "600 pairs" in line)
    assert "peak RSS" in line and "duplicate" in line, out
    assert "stages load " in line and "dedup " in line, line
    assert "export --split 0.9" in out


@pytest.mark.slow
@pytest.mark.model
def test_bench_generate_runs_engine_modes_and_prints_ratios(tiny_corpus: Path,
                                                            bundled_model: Path) -> None:
    out = run_script("bench_generate.py", "--pdf", str(tiny_corpus / "plain.pdf"),
                     "--model", str(bundled_model), "--first", "0", "--chunks", "2",
                     "--modes", "c,peak,b", "--threads", "1",
                     "--prompt-file", str(BENCH / "qa_prefix_first.txt"))
    for mode in ("qaforge", "peak/4", "serial"):
        assert any(line.startswith(mode) and "chunks/min" in line and " chunks in " in line
                   for line in out.splitlines()), out
    assert "(c)/peak generated tok/s =" in out
    assert "(c)/(b) chunks/min =" in out
    assert "qaforge's own code around the model:" in out


@pytest.mark.slow
@pytest.mark.model
@pytest.mark.transformers
def test_bench_generate_seed_mode_runs_the_transformers_pipeline(tiny_corpus: Path,
                                                                 bundled_model: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = run_script("bench_generate.py", "--pdf", str(tiny_corpus / "plain.pdf"),
                     "--model", str(bundled_model), "--first", "0", "--chunks", "1",
                     "--seed-chunks", "1", "--seed-max-new-tokens", "16", "--modes", "c,a",
                     "--threads", "1")
    assert any(line.startswith("seed") and "chunks/min" in line for line in out.splitlines())
    assert "(c)/(a) chunks/min =" in out


@pytest.mark.slow
@pytest.mark.model
def test_bench_judge_replays_refine_requests(tiny_corpus: Path, bundled_model: Path) -> None:
    out = run_script("bench_judge.py", "--pdf", str(tiny_corpus / "plain.pdf"),
                     "--model", str(bundled_model), "--first", "0", "--chunks", "1",
                     "--threads", "1", "--variant-prompt",
                     str(BENCH.parent / "src" / "qaforge" / "prompts" / "judge_v1.txt"))
    assert any(line.startswith("refine ") and "pairs/min" in line for line in out.splitlines())
    assert "refine/peak/4/grouped pairs/min =" in out
    assert "peak grouped/in order" in out
    assert "peak/4/judge_v1/grouped / peak/4/grouped pairs/min =" in out


@pytest.mark.slow
@pytest.mark.model
def test_bench_e2e_splits_qaforge_run_by_stage(tiny_corpus: Path, bundled_model: Path) -> None:
    out = run_script("bench_e2e.py", "--corpus", str(tiny_corpus), "--files", "plain.pdf",
                     "--model", str(bundled_model), "--threads", "1", "--no-estimate")
    line = next(line for line in out.splitlines() if line.startswith("qaforge run, subset"))
    for stage in ("extract+chunk", "generate", "judge", "exit 0"):
        assert stage in line, line
    ours = next(line for line in out.splitlines() if line.startswith("qaforge: "))
    assert "good pairs/min" in ours and "tokens generated per good pair" in ours, out
    assert "refine / generate time = " in out
    seed = next(line for line in out.splitlines() if line.startswith("seed: "))
    assert "refined with --no-correct" in seed, out
    assert "good pairs/min qaforge / seed" in out, out


def test_qa_quality_sorts_the_pairs_of_a_work_dir(tmp_path: Path) -> None:
    pairs = [{"question": "The passage", "answer": "The passage"},
             {"question": "What is the [insert answer here]?", "answer": "It is the answer."},
             {"question": "Which function fits a linear model?", "answer": "lm fits it."},
             {"question": "Which function fits a linear model in R?",
              "answer": "The lm function fits linear models."}]
    (tmp_path / "output_json").mkdir()
    (tmp_path / "output_json" / "a_suggestions.json").write_text(
        json.dumps({"chunks": [{"suggestions": pairs}, {"suggestions": "a person's note"}]}))
    out = run_script("qa_quality.py", "--score", str(tmp_path))
    assert "2 chunks, 4 pairs, usable 2 (50%, 1.00 per chunk)" in out, out
    assert "stub question 1" in out and "fill-in placeholder 1" in out, out


@pytest.mark.slow
@pytest.mark.model
def test_qa_quality_compares_templates_on_the_same_pdf(tiny_corpus: Path,
                                                       bundled_model: Path) -> None:
    out = run_script("qa_quality.py", "--corpus", str(tiny_corpus), "--files", "plain.pdf",
                     "--model", str(bundled_model), "--threads", "1")
    assert out.count("chunks/min") == 2, out
    assert "qa/v2 / qa/v1: usable pairs per chunk" in out, out


@pytest.mark.slow  # three qaforge generate runs (fake backend) on one page each
def test_bench_languages_checks_pairs_of_en_de_ko_documents(shared_pdfs: Path,
                                                            tmp_path: Path) -> None:
    out = run_script("bench_languages.py", "--corpus", str(shared_pdfs), "--pages", "1",
                     "--workdir", str(tmp_path), "--", "--backend", "fake")
    assert "| document | language | pages | chunks | pairs | pairs/chunk | in language" in out
    for language, name, page in (("en", "elsevier-jhydrol-2005", 2),
                                 ("de", "GeoTopo-komprimiert", 6),
                                 ("ko", "korean-insurance-report-4p", 1)):
        data = json.loads((tmp_path / f"out-{language}" / "output_json" /
                           f"{name}_suggestions.json").read_text(encoding="utf-8"))
        chunks = [c for c in data["chunks"] if not c.get("skipped")]
        pairs = sum(len(c["suggestions"]) for c in chunks)
        row = next(line for line in out.splitlines() if line.startswith(f"| {name}.pdf |"))
        assert pairs and row.startswith(
            f"| {name}.pdf | {language} | {page} | {len(chunks)} | {pairs} | "
        ), (row, pairs)
        assert f"{name}.pdf: asked in {language} (expected {language})" in out
    # the fake backend's Korean pairs are sentences of the passage: Korean, and questions
    assert "| 100% | 100% |" in row, row


@pytest.mark.slow  # two qaforge runs (fake backend) on one page
def test_bench_forms_counts_each_forms_kept_pairs(shared_pdfs: Path, tmp_path: Path) -> None:
    out = run_script("bench_forms.py", "--corpus", str(shared_pdfs), "--forms", "qa,multi_turn",
                     "--docs", "R-intro.pdf:11:1", "--workdir", str(tmp_path),
                     "--", "--backend", "fake")
    assert "| form | chunks | pairs | pass the checks | kept | kept per chunk |" in out, out
    for form in ("qa", "multi_turn"):
        rows = [json.loads(line) for line in (tmp_path / form / "cleaned_finetune.jsonl")
                .read_text(encoding="utf-8").splitlines()]
        assert all(row.get("form", "qa") == form for row in rows)
        chunks = [c for c in json.loads((tmp_path / form / "output_json" / "R-intro_suggestions"
                                         ".json").read_text(encoding="utf-8"))["chunks"]
                  if not c.get("skipped")]
        row = next(line for line in out.splitlines() if line.startswith(f"| {form} |"))
        assert row.startswith(f"| {form} | {len(chunks)} | "), row
        assert f"| **{len(rows) / len(chunks):.2f}** |" in row, (row, len(rows))
    assert "multi_turn: most common check issues" in out
