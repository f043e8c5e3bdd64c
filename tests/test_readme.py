"""The READMEs' commands fit what they run on: the names, paths and modules a default
`new-project demo` makes, and the tool's own commands run as written.

The generated project's commands themselves (install, train, predict, --help for every option
the README names) run in the slow `test_the_readme_commands_...` of test_generated_projects.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import tomllib
from commands import shell_blocks

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
# Programs a README may start that neither trainerforge nor the project provides.
TOOLS = {"python", ".", "torchrun", "accelerate", "mlflow", "export", "curl"}
PANEL_LINE = re.compile(r"^│ (.*?) *│$", re.MULTILINE)


def commands_of(markdown: str) -> list[list[str]]:
    return [command for block in shell_blocks(markdown) for command in block]


def scripts_of(project: Path) -> set[str]:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["scripts"])


def unknown_names(command: list[str], project: Path) -> list[str]:
    """What `command` names that `project` lacks: a program, a file or a module."""
    program, *args = command
    package = next((project / "src").iterdir()).name
    problems = []
    if program not in TOOLS | {"cd", "trainerforge"} | scripts_of(project):
        problems.append(f"program {program}")
    for before, word in zip(command, args, strict=False):
        if word.startswith("configs/") and not (project / word).is_file():
            problems.append(f"file {word}")
        if before == "-m" and word.startswith(f"{package}."):
            module = project / "src" / Path(*word.split(".")).with_suffix(".py")
            if not module.is_file():
                problems.append(f"module {word}")
        if program.endswith(("-train", "-predict")) and word.startswith("src/"):
            problems.append(f"path {word}")  # a console script takes configs, not sources
    return problems


@pytest.fixture
def demo(cli, workdir) -> tuple[Path, str]:
    """The quick start's `trainerforge new-project demo --defaults`, as README.md shows it.

    `workdir` stands for the clone's parent directory, where the quick start's `cd ..` leads.
    """
    (install, leave_the_clone, new_project), *_ = shell_blocks(README)
    assert install == ["python", "-m", "pip", "install", "."]
    assert leave_the_clone == ["cd", ".."]
    assert new_project == ["trainerforge", "new-project", "demo", "--defaults"]
    result = cli(*new_project[1:])
    assert result.exit_code == 0, result.output
    return workdir / "demo", result.stdout


def test_the_quick_start_shows_the_steps_new_project_demo_prints(demo):
    project, printed = demo
    steps = [shlex.split(step) for step in PANEL_LINE.findall(printed)]
    assert steps, printed
    quick_start = shell_blocks(README)[1]
    assert quick_start == steps
    assert ["demo-train", "configs/debug.yaml", "--output_dir", "outputs/debug"] in quick_start
    # "These are also in demo/README.md", and each names what demo has.
    generated = commands_of((project / "README.md").read_text(encoding="utf-8"))
    for step in quick_start[1:]:
        assert step in generated, step
        assert unknown_names(step, project) == [], step


def test_every_readme_command_names_what_a_default_project_has(demo):
    project, _ = demo
    for command in commands_of(README):
        assert unknown_names(command, project) == [], command


@pytest.mark.parametrize(
    "data",
    [[], ["-d", "tracking=none", "-d", "modality=sequence", "-d", "task=regression"]],
    ids=["defaults", "untracked-sequence-regression"],
)
def test_every_generated_readme_command_names_what_the_project_has(cli, workdir, data):
    assert cli("new-project", "demo", "--defaults", *data).exit_code == 0
    project = workdir / "demo"
    commands = commands_of((project / "README.md").read_text(encoding="utf-8"))
    assert ["demo-train", "configs/debug.yaml", "--output_dir", "outputs/debug"] in commands
    assert ["demo-predict", "outputs/debug"] in commands
    for command in commands:
        assert unknown_names(command, project) == [], command


def test_the_readme_trainerforge_commands_run_as_written(cli, workdir, monkeypatch, git_in):
    # The --data-file example's answers.yml, which the README leaves to the reader.
    (workdir / "answers.yml").write_text("task: multilabel\nnum_labels: 3\n")
    ran = []
    clone = workdir / "trainerforge"  # the quick start starts in the clone, and leaves it
    clone.mkdir()
    git_in(clone, "init", "--quiet")
    start = clone
    for block in shell_blocks(README):
        monkeypatch.chdir(start)  # each later block starts where the quick start ends
        for command in block:
            if command[0] == "cd":
                monkeypatch.chdir(command[1])
            elif command[0] == "trainerforge":
                result = cli(*command[1:])
                assert result.exit_code == 0, f"{command}: {result.output}"
                ran.append(command[1])
                if command[1] == "update":  # start over, as the README says, for the next one
                    git_in(Path.cwd(), "checkout", "--", ".")
                    git_in(Path.cwd(), "clean", "-fd")
        if start == clone:
            start = Path.cwd()
    assert start == workdir
    assert (workdir / "demo" / ".git").is_dir()  # beside the clone: a repository of its own
    assert ran == ["new-project", "new-project", "new-project", "update", "update", "update"]
    assert (workdir / "churn" / "src" / "churn").is_dir()
    assert (workdir / "tagger" / "src" / "tagger").is_dir()
