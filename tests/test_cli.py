"""The command line: help and version, what new-project creates, and what it refuses."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from trainerforge import __version__
from trainerforge.generate import command_name_for, package_name_for

HEAVY_MODULES = ("copier", "rich", "yaml", "torch", "transformers", "mlflow")
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class Terminal:
    """`python -m trainerforge ARGS` in a pseudo-terminal, as a user at a keyboard runs it."""

    def __init__(self, *args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        controller, terminal = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trainerforge", *args],
            cwd=cwd,
            env=env,
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            start_new_session=True,
        )
        os.close(terminal)
        self.controller = controller
        self.output = ""  # everything read so far, escape codes included

    def read_until(self, pattern: str, timeout: float = 60) -> str:
        """Read until `pattern` shows in the text (escape codes removed); return that text."""
        deadline = time.monotonic() + timeout
        while not re.search(pattern, ANSI.sub("", self.output)):
            ready, _, _ = select.select([self.controller], [], [], deadline - time.monotonic())
            try:
                chunk = os.read(self.controller, 65536) if ready else b""
            except OSError:  # the process ended and closed the terminal
                chunk = b""
            if not chunk:
                raise AssertionError(f"{pattern!r} never came; the output was:\n{self.output}")
            self.output += chunk.decode(errors="replace")
        return ANSI.sub("", self.output)

    def send(self, keys: str) -> None:
        os.write(self.controller, keys.encode())

    def finish(self, timeout: float = 60) -> int:
        """Read to the end; return the exit status."""
        with contextlib.suppress(AssertionError):
            self.read_until(r"(?!)", timeout)  # a pattern that never matches: read until EOF
        status = self.process.wait(timeout)
        os.close(self.controller)
        return status


def test_help_lists_the_commands(cli):
    result = cli("--help")
    assert result.exit_code == 0, result.output
    assert "new-project" in result.output


def test_short_help_flag_is_accepted(cli):
    result = cli("new-project", "-h")
    assert result.exit_code == 0, result.output
    assert "--data-file" in result.output


def test_version_prints_name_and_version(cli):
    result = cli("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout == f"trainerforge {__version__}\n"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_import_no_heavy_module(flag):
    probe = textwrap.dedent(
        f"""
        import atexit, sys
        atexit.register(lambda: print("LOADED", [m for m in {HEAVY_MODULES!r} if m in sys.modules]))
        from trainerforge.cli import app
        app([{flag!r}], prog_name="trainerforge")
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "LOADED []", result.stdout


def test_python_dash_m_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "trainerforge", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"trainerforge {__version__}"


def test_defaults_render_a_project_with_its_answers(cli, workdir, answers_of):
    result = cli("new-project", "proj", "--defaults")
    assert result.exit_code == 0, result.output
    answers = answers_of(workdir / "proj")
    assert answers["_commit"] == f"v{__version__}"
    history = Path(os.environ["TRAINERFORGE_HOME"]) / "templates"
    assert answers["_src_path"] == history.as_posix()
    assert (workdir / "proj" / "src" / answers["package_name"]).is_dir()
    assert f"{answers['package_name']}-train configs/debug.yaml" in result.stdout
    assert ("mlflow ui" in result.stdout) == (answers.get("tracking") == "mlflow")


def test_default_history_location_is_recorded_under_home(cli, workdir, answers_of, monkeypatch):
    monkeypatch.setenv("HOME", str(workdir.parent / "home"))
    monkeypatch.delenv("TRAINERFORGE_HOME")
    result = cli("new-project", "proj", "--defaults")
    assert result.exit_code == 0, result.output
    assert answers_of(workdir / "proj")["_src_path"] == "~/.local/share/trainerforge/templates"
    assert (workdir.parent / "home" / ".local/share/trainerforge/templates/.git").is_dir()


def test_project_is_a_git_repository_with_one_clean_commit(cli, workdir, git_in):
    assert cli("new-project", "proj", "--defaults").exit_code == 0
    project = workdir / "proj"
    assert git_in(project, "rev-list", "--count", "HEAD") == "1"
    assert git_in(project, "status", "--porcelain") == ""
    assert git_in(project, "log", "-1", "--format=%an <%ae>") == "Test User <test@example.com>"


def test_fallback_identity_is_used_only_when_none_is_configured(cli, workdir, gitconfig, git_in):
    gitconfig.write_text("")
    assert cli("new-project", "proj", "--defaults").exit_code == 0
    author = git_in(workdir / "proj", "log", "-1", "--format=%an <%ae>")
    assert author == "trainerforge <trainerforge@localhost>"


def test_inside_a_git_work_tree_no_repository_is_created(cli, workdir, git_in):
    git_in(workdir, "init", "--quiet")
    result = cli("new-project", "proj", "--defaults")
    assert result.exit_code == 0, result.output
    assert not (workdir / "proj" / ".git").exists()
    assert "skipped git init" in result.stderr


def test_without_git_a_template_path_still_renders(cli, workdir, template_copy, monkeypatch):
    bin_dir = workdir.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", str(bin_dir))
    result = cli("new-project", "proj", "--defaults", "--template", str(template_copy))
    assert result.exit_code == 0, result.output
    assert (workdir / "proj" / "pyproject.toml").is_file()
    assert not (workdir / "proj" / ".git").exists()
    assert "git not found" in result.stderr


def test_pretend_writes_nothing(cli, workdir):
    result = cli("new-project", "proj", "--defaults", "--pretend")
    assert result.exit_code == 0, result.output
    assert "pyproject.toml" in result.output
    assert list(workdir.iterdir()) == []


def test_data_wins_over_data_file(cli, workdir, answers_of):
    answers_file = workdir.parent / "answers.yml"
    answers_file.write_text("project_name: from-file\ndescription: From the file\n")
    result = cli(
        "new-project", "proj", "--defaults", "--data-file", str(answers_file),
        "-d", "project_name=from-cli", "--data", "num_labels=7",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answers = answers_of(workdir / "proj")
    assert answers["project_name"] == "from-cli"
    assert answers["package_name"] == "from_cli"
    assert answers["description"] == "From the file"
    assert answers["num_labels"] == 7


@pytest.mark.parametrize(
    ("dest", "package", "command"),
    [
        ("churn-model", "churn_model", "churn-model"),
        ("My.Churn-Model", "my_churn_model", "my-churn-model"),
        ("churn__model", "churn__model", "churn-model"),
    ],
)
def test_the_project_is_named_after_dest(cli, workdir, answers_of, dest, package, command):
    result = cli("new-project", dest, "--defaults")
    assert result.exit_code == 0, result.output
    answers = answers_of(workdir / dest)
    assert (answers["project_name"], answers["package_name"]) == (dest, package)
    assert answers["mlflow_experiment"] == dest
    assert package_name_for(dest) == package  # what the errors below say is what copier derives
    # The commands are spelled like the project, in its normal form, whatever the package.
    assert f"{command}-train configs/debug.yaml" in result.stdout
    assert command_name_for(dest) == command
    pyproject = (workdir / dest / "pyproject.toml").read_text()
    for script in ("train", "predict", "search"):
        assert f'{command}-{script} = "{package}.{script}:cli"' in pyproject
    assert "command_name" not in answers  # derived on every render, never recorded
    refused = cli("new-project", "other", "--defaults", "-d", "command_name=x")
    assert refused.exit_code == 1
    assert "command_name: unknown question" in refused.stderr
    readme = (workdir / dest / "README.md").read_text()
    assert f"{command}-train configs/debug.yaml" in readme
    assert f"{package}-train" not in readme
    assert (workdir / dest / "src" / package).is_dir()


def test_a_template_path_names_the_project_after_dest_too(
    cli, workdir, template_copy, answers_of, assert_refused
):
    result = cli("new-project", "churn-model", "--defaults", "--template", str(template_copy))
    assert result.exit_code == 0, result.output
    assert answers_of(workdir / "churn-model")["package_name"] == "churn_model"
    # Another template may derive its names otherwise: its own refusal is shown as it is.
    refused = cli("new-project", "json", "--defaults", "--template", str(template_copy))
    assert_refused(refused, "Validation error for question 'package_name'", workdir / "json")


def test_a_data_file_name_wins_over_dest(cli, workdir, answers_of):
    (workdir.parent / "answers.yml").write_text("project_name: from-file\n")
    result = cli("new-project", "proj", "--defaults", "--data-file", "../answers.yml")
    assert result.exit_code == 0, result.output
    answers = answers_of(workdir / "proj")
    assert (answers["project_name"], answers["package_name"]) == ("from-file", "from_file")


def test_a_dest_named_like_a_module_takes_a_package_name_given(cli, workdir, answers_of):
    result = cli("new-project", "json", "--defaults", "-d", "package_name=json_model")
    assert result.exit_code == 0, result.output
    answers = answers_of(workdir / "json")
    assert (answers["project_name"], answers["package_name"]) == ("json", "json_model")


@pytest.mark.parametrize(
    ("dest", "names"),
    [
        ("2024-model", ["project_name", "'2024-model'", "package_name", "'2024_model'"]),
        ("json", ["project_name", "package_name", "standard library module 'json'"]),
        ("torch", ["project_name", "package_name", "'torch'"]),
        ("my model", ["project_name", "'my model'", "letters, digits"]),
    ],
)
@pytest.mark.parametrize("pretend", [False, True], ids=["", "pretend"])
def test_a_dest_name_that_gives_no_valid_names_is_refused(
    cli, workdir, assert_refused, dest, names, pretend
):
    result = cli("new-project", dest, "--defaults", *(["--pretend"] if pretend else []))
    assert_refused(result, "DEST", workdir / dest)
    for name in names:
        assert name in result.stderr, result.stderr
    assert "-d project_name=NAME" in result.stderr


def test_the_prompts_offer_the_names_from_dest(workdir, leftovers):
    terminal = Terminal("new-project", "churn-model", cwd=workdir)
    assert terminal.read_until(r"Project name.*\n.*churn-model").count("churn-model") == 1
    terminal.send("\r")  # accept it: the package name follows from it
    assert "churn_model" in terminal.read_until(r"Python package name.*\n.*churn_model")
    terminal.send("\x03")  # Ctrl-C: an interrupt, and no error about the template
    assert terminal.finish() == 128 + signal.SIGINT
    assert "Error" not in ANSI.sub("", terminal.output)
    assert list(workdir.iterdir()) == []
    assert leftovers(workdir) == []


def test_a_bad_dest_name_is_refused_before_any_question(workdir):
    terminal = Terminal("new-project", "2024-model", cwd=workdir)
    assert terminal.finish() == 1
    output = ANSI.sub("", terminal.output)
    assert output.startswith("Error: DEST "), output
    assert "Project name" not in output
    assert list(workdir.iterdir()) == []


def test_output_has_no_escape_codes_for_a_runner(cli):
    created = cli("new-project", "proj", "--defaults")
    assert created.exit_code == 0, created.output
    assert "create  pyproject.toml" in created.stderr
    refused = cli("new-project", "json", "--defaults")
    assert refused.exit_code == 1
    for output in (created.stdout, created.stderr, refused.stderr):
        assert "\x1b" not in output, output


def test_output_has_no_escape_codes_in_a_pipe(workdir):
    for dest, status in (("proj", 0), ("json", 1)):
        result = subprocess.run(
            [sys.executable, "-m", "trainerforge", "new-project", dest, "--defaults"],
            cwd=workdir,
            capture_output=True,
            text=True,
        )
        assert result.returncode == status, result.stderr
        assert "\x1b" not in result.stdout + result.stderr, result.stderr


@pytest.mark.parametrize("no_color", [None, "1"], ids=["colour", "NO_COLOR"])
def test_a_terminal_gets_colour_unless_no_color_is_set(workdir, no_color):
    env = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    env |= {"NO_COLOR": no_color} if no_color else {}
    for dest, status in (("proj", 0), ("json", 1)):
        terminal = Terminal("new-project", dest, "--defaults", cwd=workdir, env=env)
        assert terminal.finish() == status, terminal.output
        assert ("\x1b[" in terminal.output) == (no_color is None), terminal.output


def test_empty_existing_destination_is_filled_in_place(cli, workdir):
    dest = workdir / "proj"
    dest.mkdir()
    inode = dest.stat().st_ino
    assert cli("new-project", "proj", "--defaults").exit_code == 0
    assert dest.stat().st_ino == inode
    assert (dest / "pyproject.toml").is_file()


def test_current_directory_can_be_the_destination(cli, workdir):
    result = cli("new-project", ".", "--defaults")
    assert result.exit_code == 0, result.output
    assert (workdir / "pyproject.toml").is_file()
    assert (workdir / ".git").is_dir()


def test_overwrite_renders_over_a_non_empty_destination(cli, workdir, leftovers):
    dest = workdir / "proj"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    (dest / "pyproject.toml").write_text("stale")
    result = cli("new-project", "proj", "--defaults", "--overwrite")
    assert result.exit_code == 0, result.output
    assert (dest / "notes.txt").read_text() == "keep me"
    assert (dest / "pyproject.toml").read_text() != "stale"
    assert leftovers(workdir) == []


def test_missing_parent_directories_are_created(cli, workdir):
    assert cli("new-project", "a/b/proj", "--defaults").exit_code == 0
    assert (workdir / "a" / "b" / "proj" / "pyproject.toml").is_file()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["-d", "num_labels"], "--data"),
        (["-d", "=7"], "--data"),
        (["-d", "no_such_question=1"], "no_such_question"),
        (["-d", "_commit=v9"], "_commit"),
        (["-d", "num_labels=abc"], "num_labels"),
        (["-d", "num_labels=1"], "num_labels"),
        (["-d", "package_name=torch"], "package_name"),
        (["-d", "package_name=1abc"], "package_name"),
        (["-d", "task=regression", "-d", "loss=bce"], "loss"),
        (["-d", "task=ranking"], "task"),
        (["--vcs-ref", "v1"], "--vcs-ref"),
        (["--data-file", "missing.yml"], "--data-file"),
    ],
)
def test_bad_input_is_refused_in_one_line(cli, workdir, assert_refused, args, field):
    result = cli("new-project", "proj", "--defaults", *args)
    assert_refused(result, field, workdir / "proj")


@pytest.mark.parametrize("content", ["- a list\n", "just text\n", "a: [unclosed\n"])
def test_data_file_must_be_a_yaml_mapping(cli, workdir, assert_refused, content):
    (workdir.parent / "answers.yml").write_text(content)
    result = cli("new-project", "proj", "--defaults", "--data-file", "../answers.yml")
    assert_refused(result, "--data-file", workdir / "proj")


def test_destination_that_is_a_file_is_refused(cli, workdir, assert_refused):
    (workdir / "proj").write_text("")
    result = cli("new-project", "proj", "--defaults")
    assert_refused(result, "DEST", workdir / "proj", dest_existed=True)


def test_non_empty_destination_needs_overwrite(cli, workdir, assert_refused):
    (workdir / "proj").mkdir()
    (workdir / "proj" / "notes.txt").write_text("keep me")
    result = cli("new-project", "proj", "--defaults")
    assert_refused(result, "--overwrite", workdir / "proj", dest_existed=True)
    assert [path.name for path in (workdir / "proj").iterdir()] == ["notes.txt"]


def test_unwritable_destination_is_refused(cli, workdir, assert_refused, monkeypatch):
    # Root may write anywhere, so the permission check itself is what is exercised here.
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != workdir)
    result = cli("new-project", "proj", "--defaults")
    assert_refused(result, "not writable", workdir / "proj")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_parent_is_refused(cli, workdir, assert_refused):
    parent = workdir / "locked"
    parent.mkdir(mode=0o555)
    result = cli("new-project", "locked/proj", "--defaults")
    assert_refused(result, "not writable", parent / "proj")


def test_missing_template_path_is_refused(cli, workdir, assert_refused):
    result = cli("new-project", "proj", "--defaults", "--template", str(workdir / "nowhere"))
    assert_refused(result, "--template", workdir / "proj")


def test_interrupted_render_leaves_nothing(cli, workdir, monkeypatch, leftovers):
    import copier

    def interrupted(src_path, dst_path, **options):
        Path(dst_path).mkdir(parents=True)
        (Path(dst_path) / "half-written.txt").write_text("")
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_copy", interrupted)
    result = cli("new-project", "a/proj", "--defaults")
    assert result.exit_code != 0
    assert list(workdir.iterdir()) == []
    assert leftovers(workdir) == []


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_termination_during_render_leaves_nothing(workdir, leftovers, signum):
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        import copier

        def terminated(src_path, dst_path, **options):
            Path(dst_path).mkdir(parents=True)
            (Path(dst_path) / "half-written.txt").write_text("")
            os.kill(os.getpid(), {int(signum)})

        copier.run_copy = terminated
        from trainerforge.cli import app
        app(["new-project", "proj", "--defaults"], prog_name="trainerforge")
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 128 + signum, result.stderr
    assert list(workdir.iterdir()) == []
    assert leftovers(workdir) == []
