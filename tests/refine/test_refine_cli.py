"""``qaforge refine`` and ``qaforge export`` through click, with the fake backend."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner
from refine_helpers import EIFFEL, NILE, chunk, pair, write_doc

from qaforge.cli.refine import export_command, refine_command


def make_workdir(root: Path) -> Path:
    write_doc(root, "eiffel.pdf", [chunk(EIFFEL, [
        pair("a", "Who designed the Eiffel Tower?", "The engineering company of Gustave "
             "Eiffel designed it."),
        pair("b", "How tall is the Eiffel Tower?", "The tower is 330 metres tall.")])])
    write_doc(root, "nile.pdf", [chunk(NILE, [
        pair("c", "Into which sea does the Nile flow?", "It flows into the Mediterranean "
             "Sea.")])])
    return root


def test_help_has_examples() -> None:
    runner = CliRunner()
    for command in (refine_command, export_command):
        result = runner.invoke(command, ["--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.output
    assert "--judge-model" in runner.invoke(refine_command, ["--help"]).output


def test_refine_then_export(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "work")
    runner = CliRunner()
    result = runner.invoke(refine_command, [str(workdir), "--judge-backend", "fake",
                                            "--system-prompt", "Answer briefly."])
    assert result.exit_code == 0, result.output
    assert "dataset rows" in result.output and "judge [3/3]" in result.output
    rows = (workdir / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 3
    assert json.loads(rows[0])["messages"][0] == {"role": "system", "content": "Answer briefly."}

    result = runner.invoke(export_command, [str(workdir), "--format", "sharegpt",
                                            "--split", "0.5", "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "exported 2 train, 1 validation rows (sharegpt)" in result.output
    assert (tmp_path / "out" / "README.md").is_file()


def test_broken_file_gives_exit_code_1_and_a_located_error(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path)
    (workdir / "output_json" / "bad_suggestions.json").write_text('{"chunks": [}',
                                                                 encoding="utf-8")
    result = CliRunner().invoke(refine_command, [str(workdir), "--judge-backend", "fake"])
    assert result.exit_code == 1
    assert "bad_suggestions.json:1:13: invalid JSON" in result.output
    assert (workdir / "cleaned_finetune.jsonl").read_text(encoding="utf-8").count("\n") == 3


def test_missing_suggestions_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(refine_command, [str(tmp_path), "--judge-backend", "fake"])
    assert result.exit_code == 2
    assert "no *_suggestions.json files" in result.output
    assert "Traceback" not in result.output


def test_config_file_sets_refine_options(tmp_path: Path) -> None:
    """A work dir's config may tune the job; the backend comes from a flag (trust model)."""
    workdir = make_workdir(tmp_path)
    (workdir / "qaforge.toml").write_text(
        '[refine]\nsystem_prompt = "From the config."\n', encoding="utf-8")
    result = CliRunner().invoke(refine_command, [str(workdir), "--judge-backend", "fake"])
    assert result.exit_code == 0, result.output
    first = json.loads((workdir / "cleaned_finetune.jsonl").read_text(
        encoding="utf-8").splitlines()[0])
    assert first["messages"][0]["content"] == "From the config."


def test_export_without_refine_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(export_command, [str(tmp_path)])
    assert result.exit_code == 2
    assert "run `qaforge refine` first" in result.output


def test_judge_method_flag_picks_how_the_judge_decides(tmp_path: Path) -> None:
    runner = CliRunner()
    for method, prompt in (("rubric", "judge/v2"), ("checks", "check_answer/v2")):
        workdir = make_workdir(tmp_path / method)
        result = runner.invoke(refine_command, [str(workdir), "--judge-backend", "fake",
                                                "--judge-method", method])
        assert result.exit_code == 0, result.output
        evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
        assert evaluation["summary"]["prompts"]["judge"] == prompt
        assert evaluation["summary"]["settings"]["judge_method"] == method
        verdicts = [e["verdict"] for e in evaluation["entries"]]
        if method == "rubric":
            assert all(v["scores"]["clarity"] and "checks" not in v for v in verdicts)
        else:
            assert all(v["checks"]["containment"] == 1.0 for v in verdicts)
    assert "--judge-method" in runner.invoke(refine_command, ["--help"]).output


def test_evaluation_counts_the_tokens_refine_read_and_generated(tmp_path: Path) -> None:
    workdir = make_workdir(tmp_path / "work")
    runner = CliRunner()
    counted = []
    for _ in range(2):
        result = runner.invoke(refine_command, [str(workdir), "--judge-backend", "fake"])
        assert result.exit_code == 0, result.output
        evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
        counted.append(evaluation["summary"]["model_calls"])
        generated = evaluation["summary"]["model_calls"]["completion_tokens"]
        assert re.search(rf"tokens generated \(per dataset row\) +│ {generated:,} "
                         rf"\({round(generated / 3)}\)", result.output)
    first, again = counted
    assert first["judge"] == 3 and first["prompt_tokens"] > first["completion_tokens"] > 0
    assert again["judge"] == 0 and again["prompt_tokens"] == again["completion_tokens"] == 0
