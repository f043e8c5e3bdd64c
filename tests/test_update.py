"""`trainerforge update`: copier's 3-way update to the installed template version, made safe.

An upgrade of trainerforge is simulated by making the CLI see an edited copy of the template as
the installed one, at the next minor version (the `install_template` fixture); the real thing, two
wheels installed one after the other, is the slow `test_upgrading_the_installed_wheel_updates`.
Everything runs real git and real copier. The template edits and the user's edits touch first
lines and file ends, so that these tests do not break when the template's text changes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import earlier_releases
import pytest
from commands import build_wheel, make_venv, run
from matrix import ANSWER_DEPENDENT

from trainerforge import TEMPLATE_DIGEST, __version__
from trainerforge.template_source import history_repo, installed_template, template_digest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "proj"  # the `project` fixture's DEST, which names the project and its package
TRAINER = Path("src", PACKAGE, "trainer.py")
MODEL = Path("src", PACKAGE, "model.py")
TEMPLATE_PACKAGE = Path("template", "src", "{{ package_name }}")
HISTORY = "~/.local/share/trainerforge/templates"
MARKER = "<<<<<<< before updating"
TEMPLATE_DOCSTRING = '"""The Trainer subclass, as of template B."""'
OUR_DOCSTRING = '"""Our own trainer."""'
README_SECTION = "\n## Updating\n\nRun `trainerforge update`.\n"
# A is the installed template; B, the next minor version, stands for an upgrade.
A = f"v{__version__}"
_MAJOR, _MINOR = (int(part) for part in __version__.split(".")[:2])
B_VERSION = f"{_MAJOR}.{_MINOR + 1}.0"
B = f"v{B_VERSION}"


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def replace_first_line(path: Path, line: str) -> None:
    _, rest = path.read_text().split("\n", 1)
    path.write_text(f"{line}\n{rest}")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def files_of(directory: Path, *, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file below `directory` (its .git included) with its content, except `skip`."""
    return {
        name: path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file() and (name := path.relative_to(directory).as_posix()) not in skip
    }


def refused(result, *words: str) -> str:
    """Check a refusal: status 1 and one error line that holds every word."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def project(cli, workdir, monkeypatch) -> Path:
    """A project generated with every default by the installed template (A).

    The history lives in its default place under a private HOME, as on a user's machine.
    """
    monkeypatch.setenv("HOME", str(workdir.parent / "home"))
    monkeypatch.delenv("TRAINERFORGE_HOME")
    result = cli("new-project", "proj", "--defaults")
    assert result.exit_code == 0, result.output
    return workdir / "proj"


@pytest.fixture
def commit(git_in) -> Callable[[Path], None]:
    def run(project: Path, message: str = "My changes") -> None:
        git_in(project, "add", "--all")
        git_in(project, "commit", "--quiet", "--message", message)

    return run


@pytest.fixture
def version_b(project: Path, template_copy: Path, install_template) -> Path:
    """Once `project` is made, install template B: trainer.py's first line and README.md changed,
    and a new file."""
    replace_first_line(template_copy / TEMPLATE_PACKAGE / "trainer.py.jinja", TEMPLATE_DOCSTRING)
    append(template_copy / "template" / "README.md.jinja", README_SECTION)
    (template_copy / "template" / "docs").mkdir()
    (template_copy / "template" / "docs" / "UPDATING.md").write_text("# Updating\n")
    install_template(template_copy, B_VERSION)
    return template_copy


@pytest.fixture
def upgraded(project, commit, version_b, cli) -> tuple[Path, object]:
    """The user's edits committed at A, then `trainerforge update` to B."""
    append(project / MODEL, "# Ours: keep the MLP small.\n")
    append(project / TRAINER, "# Ours: a note in the trainer.\n")
    config = project / "configs" / "default.yaml"
    config.write_text(re.sub(r"(?m)^hidden_size: \d+$", "hidden_size: 96", config.read_text()))
    (project / "tests" / "test_ours.py").write_text("def test_ours():\n    assert 1 + 1 == 2\n")
    (project / ".github" / "workflows" / "ci.yml").unlink()
    commit(project)
    return project, cli("update", str(project))


def test_update_keeps_user_edits_and_brings_the_new_version(upgraded, answers_of, git_in):
    project, result = upgraded
    assert result.exit_code == 0, result.output
    trainer = (project / TRAINER).read_text()
    assert trainer.startswith(f"{TEMPLATE_DOCSTRING}\n")
    assert trainer.endswith("\n# Ours: a note in the trainer.\n")
    assert (project / MODEL).read_text().endswith("\n# Ours: keep the MLP small.\n")
    assert "\nhidden_size: 96\n" in (project / "configs" / "default.yaml").read_text()
    assert (project / "README.md").read_text().endswith(README_SECTION)
    assert (project / "docs" / "UPDATING.md").read_text() == "# Updating\n"
    assert not (project / ".github" / "workflows" / "ci.yml").exists()  # deleted stays deleted
    assert (project / "tests" / "test_ours.py").is_file()  # added stays
    answers = answers_of(project)
    assert answers["_commit"] == B
    assert answers["_src_path"] == HISTORY  # the same on every machine
    # Nothing is committed: the changes wait for review, and the summary says so.
    assert git_in(project, "rev-list", "--count", "HEAD") == "2"
    assert f"from the trainerforge {A} template to {B}; nothing is committed" in result.stdout
    assert " M README.md" in result.stdout
    assert "?? docs/UPDATING.md" in result.stdout
    assert "git diff" in result.stdout
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == ""


@pytest.mark.slow
def test_updated_project_passes_its_own_tests(upgraded):
    project, result = upgraded
    assert result.exit_code == 0, result.output
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env |= {"PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1"}
    # The files the merged code shapes, and the user's own test (see matrix.ANSWER_DEPENDENT).
    files = [*ANSWER_DEPENDENT, "tests/test_ours.py"]
    suite = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert suite.returncode == 0, suite.stdout[-5000:] + suite.stderr[-3000:]


def test_the_history_registers_the_installed_version_first(project, version_b, cli, git_in):
    assert git_in(history_repo(), "tag", "--list").split() == [A]
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert git_in(history_repo(), "tag", "--list").split() == [A, B]  # A stays, for offline use


def test_an_upgrade_with_an_unchanged_template_records_the_new_version(
    project, commit, template_copy, install_template, cli, answers_of
):
    install_template(template_copy, B_VERSION)  # a new release, the same template
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert answers_of(project)["_commit"] == B
    commit(project)
    assert "already up to date" in cli("update", str(project)).stdout


def test_a_changed_template_under_an_unchanged_version_is_never_up_to_date(
    project, commit, template_copy, install_template, cli, answers_of, git_in
):
    # A build from a later checkout, or with local edits: another template, the same version.
    append(project / MODEL, "# Ours.\n")
    commit(project)
    append(template_copy / "template" / "README.md.jinja", README_SECTION)
    install_template(template_copy, __version__, released=False)
    pinned = f"{A}+{template_digest(template_copy)[:12]}"
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert f"from the trainerforge {A} template to {pinned}" in result.stdout
    assert (project / "README.md").read_text().endswith(README_SECTION)
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")
    assert answers_of(project)["_commit"] == pinned
    assert git_in(history_repo(), "show", f"{A}:template/README.md.jinja").endswith(
        (ROOT / "template" / "README.md.jinja").read_text().rstrip("\n")
    )  # A still names the template A was
    commit(project)
    assert "already up to date" in cli("update", str(project)).stdout
    # The next release brings its own change on top.
    append(template_copy / "template" / "README.md.jinja", "\nRelease C.\n")
    install_template(template_copy, B_VERSION)
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert f"from the trainerforge {pinned} template to {B}" in result.stdout
    assert (project / "README.md").read_text().endswith(README_SECTION + "\nRelease C.\n")
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")


def unhardened(workflow: str) -> str:
    """The generated CI workflow as templates before 0.3.0 wrote it: actions by tag, checkouts
    that keep the token, no `permissions:` block."""
    workflow = re.sub(r"@[0-9a-f]{40} # (v\d+)\.\d+\.\d+", r"@\1", workflow)
    workflow = workflow.replace("        with:\n          persist-credentials: false\n", "")
    return re.sub(r"(?ms)^# The jobs only read.*?^\n(?=# A new push)", "", workflow)


def test_the_hardened_workflow_reaches_a_project_and_keeps_its_edits(
    cli, workdir, template_copy, install_template, commit, git_in
):
    workflow = Path(".github", "workflows", "ci.yml")
    hardened = (template_copy / "template" / workflow).read_text()
    old = template_copy / "template" / workflow
    old.write_text(unhardened(hardened))
    install_template(template_copy, "0.1.9")
    assert cli("new-project", "proj", "--defaults").exit_code == 0
    project = workdir / "proj"
    before = (project / workflow).read_text()
    assert "persist-credentials" not in before
    assert "permissions:" not in before
    assert "actions/checkout@v4\n" in before
    append(project / workflow, "# Ours: a deploy job comes here.\n")
    commit(project)

    install_template(installed_template(), __version__)
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert (project / workflow).read_text() == hardened + "# Ours: a deploy job comes here.\n"


def test_update_renames_the_commands_of_a_project_whose_package_is_spelled_otherwise(
    cli, workdir, template_copy, install_template, git_in, answers_of
):
    # Before 0.6.0 the commands were named after the package: churn_model-train.
    for path in (template_copy / "template").rglob("*"):
        if path.is_file() and "{{ command_name }}" in (text := path.read_text()):
            path.write_text(text.replace("{{ command_name }}", "{{ package_name }}"))
    install_template(template_copy, "0.5.9")
    assert cli("new-project", "churn-model", "--defaults").exit_code == 0
    project = workdir / "churn-model"
    assert 'churn_model-train = "churn_model.train:cli"' in (project / "pyproject.toml").read_text()

    install_template(installed_template(), __version__)
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == ""
    pyproject = (project / "pyproject.toml").read_text()
    assert 'churn-model-train = "churn_model.train:cli"' in pyproject
    assert "churn_model-train" not in pyproject
    changed = git_in(project, "diff", "--name-only").split()
    assert {"README.md", "configs/debug.yaml", "pyproject.toml"} <= set(changed)
    old_command = re.compile(r"churn_model-(train|predict|search)(?![-\w])")
    assert not any(old_command.search((project / name).read_text()) for name in changed)


def test_conflict_exits_non_zero_names_the_file_and_keeps_the_markers(
    project, commit, version_b, cli, git_in
):
    replace_first_line(project / TRAINER, OUR_DOCSTRING)
    append(project / MODEL, "# Ours.\n")
    commit(project)
    line = refused(cli("update", str(project)), "conflict", TRAINER.as_posix())
    assert "README.md" not in line
    trainer = (project / TRAINER).read_text()
    assert trainer.startswith(f"{MARKER}\n{OUR_DOCSTRING}\n=======\n{TEMPLATE_DOCSTRING}\n>>>>>>> ")
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == TRAINER.as_posix()
    # The rest of the update is applied, and no other work is lost.
    assert (project / "README.md").read_text().endswith(README_SECTION)
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")


def test_changing_an_answer_regenerates_what_depends_on_it(project, commit, cli, answers_of):
    append(project / TRAINER, "# Ours: keep this.\n")
    commit(project)
    result = cli("update", str(project), "-d", "scheduler=cosine")
    assert result.exit_code == 0, result.output
    trainer = (project / TRAINER).read_text()
    assert "get_cosine_schedule_with_warmup" in trainer
    assert "get_linear_schedule_with_warmup" not in trainer
    assert trainer.endswith("\n# Ours: keep this.\n")
    answers = answers_of(project)
    assert (answers["scheduler"], answers["_commit"], answers["optimizer"]) == (
        "cosine",
        A,
        "adamw",
    )
    assert "scheduler: linear -> cosine" in result.stdout


def test_renaming_the_package_carries_edits_to_the_new_place(project, commit, cli, answers_of):
    append(project / MODEL, "# Ours.\n")
    commit(project)
    result = cli("update", str(project), "-d", "package_name=renamed")
    assert result.exit_code == 0, result.output
    assert (project / "src" / "renamed" / "model.py").read_text().endswith("\n# Ours.\n")
    assert not (project / "src" / PACKAGE).exists()
    assert answers_of(project)["package_name"] == "renamed"


def test_a_moved_template_file_takes_the_users_edits_along(
    project, commit, template_copy, install_template, cli, git_in
):
    # Template B moves metrics.py (and changes its first line), moves tests/test_metrics.py and
    # drops tests/test_model.py.
    package = template_copy / TEMPLATE_PACKAGE
    (package / "evaluation").mkdir()
    moved = package / "evaluation" / "metrics.py.jinja"
    (package / "metrics.py.jinja").rename(moved)
    replace_first_line(moved, '"""Metrics, moved in template B."""')
    tests = template_copy / "template" / "tests"
    (tests / "unit").mkdir()
    (tests / "test_metrics.py.jinja").rename(tests / "unit" / "test_metrics.py.jinja")
    (tests / "test_model.py.jinja").unlink()
    install_template(template_copy, B_VERSION)
    # The user edits the end of metrics.py, deletes the metrics test and edits the model test.
    metrics = project / "src" / PACKAGE / "metrics.py"
    append(metrics, "# Ours: the last word.\n")
    (project / "tests" / "test_metrics.py").unlink()
    (project / "tests" / "test_model.py").write_text("# Ours.\n")
    commit(project)

    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    text = (project / "src" / PACKAGE / "evaluation" / "metrics.py").read_text()
    assert text.startswith('"""Metrics, moved in template B."""\n')
    assert text.endswith("\n# Ours: the last word.\n")
    assert not metrics.exists()
    assert f"Moved src/{PACKAGE}/metrics.py to src/{PACKAGE}/evaluation/metrics.py" in result.stdout
    # The test the user deleted stays deleted at its new place.
    assert not (project / "tests" / "test_metrics.py").exists()
    assert not (project / "tests" / "unit" / "test_metrics.py").exists()
    # A file the template dropped goes, as copier does it; one the user had edited is named.
    assert not (project / "tests" / "test_model.py").exists()
    assert "no longer has tests/test_model.py, which you had edited" in result.stdout
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == ""


def test_a_conflict_in_a_moved_file_is_reported(
    project, commit, template_copy, install_template, cli, git_in
):
    package = template_copy / TEMPLATE_PACKAGE
    moved = package / "evaluation.py.jinja"
    (package / "metrics.py.jinja").rename(moved)
    replace_first_line(moved, TEMPLATE_DOCSTRING)
    install_template(template_copy, B_VERSION)
    replace_first_line(project / "src" / PACKAGE / "metrics.py", OUR_DOCSTRING)
    commit(project)

    new_place = f"src/{PACKAGE}/evaluation.py"
    result = cli("update", str(project))
    refused(result, "conflict", new_place)
    text = (project / new_place).read_text()
    assert text.startswith(f"{MARKER}\n{OUR_DOCSTRING}\n=======\n{TEMPLATE_DOCSTRING}\n>>>>>>> ")
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == new_place
    assert not (project / "src" / PACKAGE / "metrics.py").exists()
    assert f" D src/{PACKAGE}/metrics.py" in result.stdout
    assert f"UU {new_place}" in result.stdout


def test_pretend_shows_the_changes_and_writes_nothing(project, commit, version_b, cli, git_in):
    replace_first_line(project / TRAINER, OUR_DOCSTRING)
    commit(project)
    before = files_of(project)
    result = cli("update", str(project), "--pretend")
    assert result.exit_code == 0, result.output
    assert "Would update" in result.stdout
    assert " M README.md" in result.stdout
    assert "?? docs/UPDATING.md" in result.stdout
    assert f"Would conflict: {TRAINER.as_posix()}" in result.stdout
    assert files_of(project) == before  # .git included: not even the index was rewritten
    assert git_in(project, "status", "--porcelain", "--ignored") == ""


def test_already_up_to_date_is_quick_and_runs_no_copier(project):
    probe = textwrap.dedent(
        f"""
        import atexit, sys
        atexit.register(lambda: print("LOADED", "copier" in sys.modules))
        from trainerforge.cli import app
        app(["update", {str(project)!r}], prog_name="trainerforge")
        """
    )
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    assert f"already up to date with the trainerforge {A} template" in result.stdout
    assert result.stdout.splitlines()[-1] == "LOADED False"
    assert elapsed < 3


def test_update_defaults_to_the_current_directory(project, cli, monkeypatch):
    monkeypatch.chdir(project)
    result = cli("update")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("proj is already up to date")


# --- Refusals: exit status 1 and one line that names the problem --------------------------------


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_refuses_a_dirty_work_tree(project, version_b, cli, change):
    if change == "modified":
        append(project / "README.md", "Draft.\n")
    else:
        (project / "notes.txt").write_text("to do\n")
    before = files_of(project)
    refused(cli("update", str(project)), "uncommitted changes", "commit or stash")
    assert files_of(project) == before


def test_refuses_a_directory_that_trainerforge_did_not_generate(cli, workdir):
    (workdir / "plain").mkdir()
    refused(cli("update", "plain"), "no .copier-answers.yml", "not a project generated")
    refused(cli("update", "missing"), "no such directory")


def test_refuses_a_project_from_another_template(project, commit, cli):
    replace_in(project / ".copier-answers.yml", f"_src_path: {HISTORY}", "_src_path: gh:x/fork")
    commit(project)
    refused(cli("update", str(project)), "gh:x/fork", "copier update")


def test_refuses_a_downgrade(project, template_copy, install_template, cli):
    install_template(template_copy, "0.0.5")
    refused(cli("update", str(project)), A, "newer than the installed v0.0.5")


def test_an_unknown_version_is_refused_until_template_names_a_source(
    project, commit, cli, git_in, tmp_path
):
    replace_in(project / ".copier-answers.yml", f"_commit: {A}", "_commit: v0.0.9")
    commit(project)
    refused(cli("update", str(project)), "v0.0.9", "install trainerforge==0.0.9", "--template")
    refused(cli("update", str(project), "--template", str(tmp_path / "nowhere")), "v0.0.9")
    # Another machine's history that holds v0.0.9 (here: a clone, tagged).
    other = tmp_path / "other-history"
    git_in(tmp_path, "clone", "--quiet", str(history_repo()), str(other))
    git_in(other, "tag", "v0.0.9", A)
    result = cli("update", str(project), "--template", str(other))
    assert result.exit_code == 0, result.output
    assert "v0.0.9" in git_in(history_repo(), "tag", "--list").split()


def test_an_unknown_checkout_template_can_only_come_from_another_history(project, commit, cli):
    replace_in(project / ".copier-answers.yml", f"_commit: {A}", "_commit: v0.0.9+0123456789ab")
    commit(project)
    line = refused(cli("update", str(project)), "v0.0.9+0123456789ab", "pass --template SRC")
    assert "install trainerforge" not in line


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("colour=blue", ["colour: unknown question"]),
        ("scheduler", ["expected KEY=VALUE"]),
        ("num_labels=many", ["num_labels", "not an integer"]),
    ],
)
def test_refuses_bad_data_like_new_project(project, cli, data, words):
    refused(cli("update", str(project), "-d", data), *words)


def test_an_answer_copier_rejects_leaves_the_project_as_it_was(project, cli, git_in):
    # copier's own `git status` may refresh the index: its stat data is no part of the project.
    before = files_of(project, skip=(".git/index",))
    refused(cli("update", str(project), "-d", "loss=mse"), "mse")
    assert files_of(project, skip=(".git/index",)) == before
    assert git_in(project, "status", "--porcelain", "--ignored") == ""


# --- The real upgrade: wheels installed one after the other, no network ------------------------


def release_source(
    tmp_path: Path, name: str, line: str, *, version: str | None = None, start: Path = ROOT
) -> Path:
    """A copy of this repository (or of `start`) with `line` added to the generated README.

    With `version`, a release: that version, with the template's digest as its TEMPLATE_DIGEST.
    Without, a checkout between releases: a changed template under the unchanged version.
    """
    source = tmp_path / name
    shutil.copytree(
        start,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "__pycache__", "*.egg-info", ".*_cache", ".benchmarks"
        ),
    )
    append(source / "template" / "README.md.jinja", line)
    if version is not None:
        init = source / "src" / "trainerforge" / "__init__.py"
        replace_in(init, f'"{__version__}"', f'"{version}"')
        replace_in(init, TEMPLATE_DIGEST, template_digest(source))
    return source


def wheel_venv(tmp_path: Path) -> tuple[list[str | Path], Path, dict[str, str]]:
    """An empty virtual environment: its pip command, its trainerforge, and an environment
    whose template history is the default one under a private HOME."""
    venv = tmp_path / "venv"
    # This interpreter's packages provide copier and typer offline; trainerforge is the wheels.
    pip = [make_venv(venv), "-m", "pip", "install", "-q", "--no-index", "--no-deps"]
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    del env["TRAINERFORGE_HOME"]
    env["HOME"] = str(tmp_path / "home")
    return [*pip, "--ignore-installed"], venv / "bin" / "trainerforge", env


@pytest.mark.slow
def test_every_installed_template_reaches_the_project_whatever_its_version(
    tmp_path, git_in, answers_of
):
    # A: this release. B: a later checkout, the template changed, the version not. C: a release.
    wheel_a = build_wheel(ROOT, tmp_path / "dist-a")
    source_b = release_source(tmp_path, "b", README_SECTION)
    wheel_b = build_wheel(source_b, tmp_path / "dist-b")
    source_c = release_source(tmp_path, "c", "\nRelease C.\n", version=B_VERSION, start=source_b)
    wheel_c = build_wheel(source_c, tmp_path / "dist-c")
    pinned_b = f"{A}+{template_digest(source_b)[:12]}"
    pip, trainerforge, env = wheel_venv(tmp_path)

    run(*pip, wheel_a, cwd=tmp_path)
    run(trainerforge, "new-project", "proj", "--defaults", cwd=tmp_path, env=env)
    project = tmp_path / "proj"
    assert answers_of(project)["_commit"] == A
    append(project / MODEL, "# Ours.\n")
    git_in(project, "commit", "--quiet", "--all", "--message", "Ours")

    run(*pip, wheel_b, cwd=tmp_path)
    assert run(trainerforge, "--version", cwd=tmp_path, env=env) == f"trainerforge {__version__}\n"
    output = run(trainerforge, "update", cwd=project, env=env)
    assert f"from the trainerforge {A} template to {pinned_b}" in output
    assert (project / "README.md").read_text().endswith(README_SECTION)
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")
    assert answers_of(project)["_commit"] == pinned_b
    git_in(project, "commit", "--quiet", "--all", "--message", "Update to B")

    run(*pip, wheel_c, cwd=tmp_path)
    output = run(trainerforge, "update", cwd=project, env=env)
    assert f"from the trainerforge {pinned_b} template to {B}" in output
    assert (project / "README.md").read_text().endswith(README_SECTION + "\nRelease C.\n")
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")
    answers = answers_of(project)
    assert (answers["_commit"], answers["_src_path"]) == (B, HISTORY)
    history = tmp_path / "home" / ".local" / "share" / "trainerforge" / "templates"
    assert sorted(git_in(history, "tag", "--list").split()) == sorted([A, pinned_b, B])
    # No tag moved: A still names the template A shipped.
    shipped = (ROOT / "template" / "README.md.jinja").read_text()
    assert git_in(history, "show", f"{A}:template/README.md.jinja") == shipped.rstrip("\n")


@pytest.mark.slow
def test_a_project_made_while_earlier_releases_moved_its_tag_is_repaired(
    tmp_path, git_in, answers_of, template_copy
):
    # Earlier releases: the project from X as v0.1.0, then template Y moved v0.1.0 onto itself.
    home = tmp_path / "home"
    history = home / ".local" / "share" / "trainerforge" / "templates"
    template_x = shutil.copytree(template_copy, tmp_path / "template-x")
    x_line = "# Template X: a line that later templates dropped.\n"
    append(template_x / TEMPLATE_PACKAGE / "trainer.py.jinja", x_line)
    earlier_releases.register(history, template_x, "0.1.0")
    project = tmp_path / "proj"
    earlier_releases.new_project(history, project, "v0.1.0", home)
    append(project / MODEL, "# Ours.\n")
    git_in(project, "commit", "--quiet", "--all", "--message", "Ours")
    earlier_releases.register(history, template_copy, "0.1.0")

    pip, trainerforge, env = wheel_venv(tmp_path)
    run(*pip, build_wheel(ROOT, tmp_path / "dist"), cwd=tmp_path)
    output = run(trainerforge, "update", cwd=project, env=env)
    assert f"now tagged v0.1.0+{template_digest(template_x)[:12]}" in output
    assert x_line not in (project / TRAINER).read_text()
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")
    assert answers_of(project)["_commit"] == A


def previous_release() -> tuple[str, str] | None:
    """The release before this version, and the commit that declared it, from git's history."""
    for commit, version, digest in earlier_releases.declarations():
        if version != __version__ and digest:
            return version, commit
    return None


@pytest.mark.slow
def test_a_project_of_the_previous_release_updates_cleanly_trains_and_keeps_its_model(
    tmp_path, cli, workdir, install_template, git_in
):
    found = previous_release()
    if found is None:
        pytest.skip("no earlier release in this checkout's git history")
    version, released = found
    previous = tmp_path / "previous"
    previous.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", released, "copier.yml", "template"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(previous)], input=archive, check=True)
    install_template(previous, version)
    assert cli("new-project", "proj", "--defaults").exit_code == 0
    project = workdir / "proj"
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    env |= {"PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1"}
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"

    def python(*args: str) -> str:
        return run(sys.executable, *args, cwd=project, env=env)

    python("-m", f"{PACKAGE}.train", "configs/debug.yaml", "--output_dir", "outputs/before")

    install_template(installed_template(), __version__)
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output  # no conflicts: nothing was edited
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == ""
    python("-m", f"{PACKAGE}.train", "configs/debug.yaml", "--output_dir", "outputs/after")
    # The model saved before the update loads and predicts after it.
    python("-m", f"{PACKAGE}.predict", "outputs/before", "--output", "before.jsonl")
    assert (project / "before.jsonl").read_text().count("\n") > 0
