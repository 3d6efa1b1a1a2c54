"""Issue 14 items 8 and 9: files refine must not read, and files it cannot read, through the
CLI: each is one line naming it, and the run writes its outputs for the others (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from refine_helpers import EIFFEL, NILE, chunk, pair, suggestions_doc, write_doc

from qaforge.cli import cli
from qaforge.cli.refine import refine_command

SECRET = "The launch code is 0000 and nobody outside may read it."


def _good(workdir: Path) -> None:
    write_doc(workdir, "good.pdf", [chunk(EIFFEL, [
        pair("g", "Who designed the Eiffel Tower?",
             "The engineering company of Gustave Eiffel designed it.")])])


def _refine(workdir: Path) -> tuple[int, str, list[str]]:
    result = CliRunner().invoke(refine_command, [str(workdir), "--judge-backend", "fake"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    rows = (workdir / "cleaned_finetune.jsonl").read_text(encoding="utf-8").splitlines()
    return result.exit_code, result.output, rows


def _outside_file(root: Path) -> Path:
    secret = root / "outside" / "secret_suggestions.json"
    secret.parent.mkdir(parents=True)
    secret.write_text(json.dumps(suggestions_doc("secret.pdf", [chunk(NILE, [
        pair("s", "What is the launch code?", SECRET)])])), encoding="utf-8")
    return secret


def test_unreadable_files_are_reported_and_the_others_refined(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    _good(workdir)
    folder = workdir / "output_json"
    schema = suggestions_doc("schema.pdf", [])
    schema["schema"] = 5
    (folder / "schema_suggestions.json").write_text(json.dumps(schema), encoding="utf-8")
    (folder / "bigint_suggestions.json").write_text(
        '{"schema": "qaforge.suggestions/1", "source": {"file": "x.pdf", "sha256": "", '
        '"pages": ' + "9" * 5000 + '}, "chunks": []}', encoding="utf-8")
    (folder / "deep_suggestions.json").write_text(
        '{"chunks": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    code, output, rows = _refine(workdir)
    assert code == 1, output
    assert "Traceback" not in output
    assert len(rows) == 1 and "Eiffel" in rows[0]
    lines = output.replace("\n ", " ").splitlines()
    for name in ("schema", "bigint", "deep"):
        assert sum(f"{name}_suggestions.json" in line for line in lines) == 1, output
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert len(evaluation["summary"]["files_failed"]) == 3
    assert evaluation["summary"]["files_read"] == 1


def test_a_symlinked_file_leading_outside_is_refused(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    _good(workdir)
    (workdir / "output_json" / "leak_suggestions.json").symlink_to(_outside_file(tmp_path))
    inner = workdir / "output_json" / "alias_suggestions.json"  # stays inside: allowed
    inner.symlink_to(workdir / "output_json" / "good_suggestions.json")
    code, output, rows = _refine(workdir)
    assert code == 1
    assert SECRET not in "".join(rows)
    assert SECRET not in (workdir / "evaluation.json").read_text(encoding="utf-8")
    assert "leak_suggestions.json: resolves outside the work dir" in output.replace("\n", "")
    evaluation = json.loads((workdir / "evaluation.json").read_text(encoding="utf-8"))
    assert evaluation["summary"]["files_read"] == 2  # good, and its alias (a duplicate)
    assert len(evaluation["summary"]["files_failed"]) == 1


def test_a_symlinked_output_json_leading_outside_is_refused(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "output_json").symlink_to(_outside_file(tmp_path).parent)
    code, output, rows = _refine(workdir)
    assert code == 1
    assert rows == []
    assert SECRET not in (workdir / "evaluation.json").read_text(encoding="utf-8")
    assert "output_json: resolves outside the work dir" in output.replace("\n", "")


def test_a_work_dir_reached_through_a_symlinked_parent_is_trusted(tmp_path: Path) -> None:
    real = tmp_path / "real"
    _good(real / "work")
    (tmp_path / "link").symlink_to(real)
    code, output, rows = _refine(tmp_path / "link" / "work")
    assert code == 0, output
    assert len(rows) == 1


def _refined(workdir: Path) -> Path:
    _good(workdir)
    code, output, _ = _refine(workdir)
    assert code == 0, output
    return workdir


def _export(workdir: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["export", str(workdir), *extra])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output.replace("\n", "")


def test_export_refuses_a_dataset_leading_outside(tmp_path: Path) -> None:
    workdir = _refined(tmp_path / "work")
    outside = tmp_path / "outside.jsonl"
    outside.write_text(json.dumps({"messages": [
        {"role": "user", "content": "What is the launch code?"},
        {"role": "assistant", "content": SECRET}]}) + "\n", encoding="utf-8")
    (workdir / "cleaned_finetune.jsonl").unlink()
    (workdir / "cleaned_finetune.jsonl").symlink_to(outside)
    code, output = _export(workdir)
    assert code == 2
    assert "cleaned_finetune.jsonl: resolves outside the work dir" in output
    assert not (workdir / "export").exists()


def test_export_skips_an_evaluation_and_sources_leading_outside(tmp_path: Path) -> None:
    workdir = _refined(tmp_path / "work")
    secret = _outside_file(tmp_path)
    (workdir / "output_json" / "leak_suggestions.json").symlink_to(secret)
    (workdir / "evaluation.json").unlink()
    (workdir / "evaluation.json").symlink_to(secret)
    code, output = _export(workdir)
    assert code == 0, output
    assert "evaluation.json: resolves outside the work dir" in output
    assert "leak_suggestions.json: resolves outside the work dir" in output
    card = (workdir / "export" / "README.md").read_text(encoding="utf-8")
    assert "secret.pdf" not in card and "good.pdf" in card


def test_export_refuses_a_default_output_folder_leading_outside(tmp_path: Path) -> None:
    workdir = _refined(tmp_path / "work")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (workdir / "export").symlink_to(elsewhere)
    code, output = _export(workdir)
    assert code == 2
    assert "export: resolves outside the work dir" in output
    assert list(elsewhere.iterdir()) == []
    code, output = _export(workdir, "-o", str(elsewhere))  # a folder the user names is theirs
    assert code == 0, output
