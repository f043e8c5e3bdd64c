"""`update` on a project made while its version's tag moved: merged from its true base.

The history is written as releases before immutable tags wrote it (`earlier_releases`): the
project is made from template X as v0.1.0, then a changed template Y moves v0.1.0. Template X
carries a line that Y and the installed template lack, so only a merge from X takes it out.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import earlier_releases
import pytest

from trainerforge import __version__
from trainerforge.template_source import history_repo, template_digest

MODEL = Path("src", "proj", "model.py")
TRAINER = Path("src", "proj", "trainer.py")
X_LINE = "# Template X: a line that later templates dropped.\n"


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.fixture
def moved(tmp_path, monkeypatch, template_copy, workdir, git_in):
    """A project made from X as v0.1.0 and edited, and a history where v0.1.0 now names Y."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TRAINERFORGE_HOME")
    history = history_repo()
    template_x = shutil.copytree(template_copy, tmp_path / "template-x")
    append(template_x / "template" / "src" / "{{ package_name }}" / "trainer.py.jinja", X_LINE)
    commit_x = earlier_releases.register(history, template_x, "0.1.0")
    project = workdir / "proj"
    earlier_releases.new_project(history, project, "v0.1.0", home)
    append(project / MODEL, "# Ours.\n")
    git_in(project, "commit", "--quiet", "--all", "--message", "Ours")
    commit_y = earlier_releases.register(history, template_copy, "0.1.0")
    assert (project / TRAINER).read_text().endswith(X_LINE)
    return project, commit_x, commit_y, f"v0.1.0+{template_digest(template_x)[:12]}"


def merged_from_x(project: Path, answers_of) -> None:
    assert X_LINE not in (project / TRAINER).read_text()  # X's line is gone, as after Y
    assert (project / MODEL).read_text().endswith("\n# Ours.\n")
    assert answers_of(project)["_commit"] == f"v{__version__}"


def test_a_moved_tag_is_merged_from_the_template_that_made_the_project(
    moved, cli, git_in, answers_of
):
    project, commit_x, commit_y, pinned = moved
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    merged_from_x(project, answers_of)
    assert f"was made from {commit_x[:7]}, now tagged {pinned}" in result.stdout
    assert git_in(project, "diff", "--name-only", "--diff-filter=U") == ""
    # The answers file is the project's again: git sees copier's new answers in it.
    assert git_in(project, "ls-files", "-v", ".copier-answers.yml").startswith("H ")
    assert ".copier-answers.yml" in git_in(project, "diff", "--name-only").split()
    # The repair adds an immutable tag and moves none.
    history = history_repo()
    assert git_in(history, "rev-parse", f"{pinned}^{{commit}}") == commit_x
    assert git_in(history, "rev-parse", "v0.1.0^{commit}") == commit_y


def test_pretend_shows_the_repaired_update_and_writes_nothing(moved, cli, git_in):
    project, commit_x, _, _ = moved
    head = git_in(project, "rev-parse", "HEAD")
    result = cli("update", str(project), "--pretend")
    assert result.exit_code == 0, result.output
    assert f"was made from {commit_x[:7]}" in result.stdout
    assert f" M {TRAINER.as_posix()}" in result.stdout
    assert git_in(project, "status", "--porcelain", "--ignored") == ""
    assert git_in(project, "rev-parse", "HEAD") == head


def test_when_no_template_renders_the_first_commit_base_names_it(moved, cli, git_in, answers_of):
    project, commit_x, _, _ = moved
    # A first commit that is not what new-project made: history squashed, say.
    first = git_in(project, "rev-list", "--max-parents=0", "HEAD")
    git_in(project, "checkout", "--quiet", "--detach", first)
    append(project / "README.md", "Squashed.\n")
    git_in(project, "commit", "--quiet", "--all", "--amend", "--no-edit")
    git_in(project, "cherry-pick", "main")
    git_in(project, "branch", "--force", "main")
    git_in(project, "checkout", "--quiet", "main")

    result = cli("update", str(project))
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "v0.1.0 named 2 different templates" in lines[0]
    assert "pass --base COMMIT" in lines[0]
    assert git_in(project, "status", "--porcelain") == ""

    refused = cli("update", str(project), "--base", "nonsense")
    assert refused.exit_code == 1
    assert "--base nonsense: not a commit of the template history" in refused.stderr

    result = cli("update", str(project), "--base", commit_x[:10])
    assert result.exit_code == 0, result.output
    merged_from_x(project, answers_of)
    assert (project / "README.md").read_text().endswith("Squashed.\n")


def test_base_cannot_name_the_installed_template(moved, cli):
    project, _, _, _ = moved
    result = cli("update", str(project), "--base", f"v{__version__}")
    assert result.exit_code == 1
    assert "merged from the installed template" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_tag_whose_commits_all_hold_one_template_did_not_move(
    tmp_path, monkeypatch, template_copy, workdir, git_in, cli, answers_of
):
    # One template registered twice (or fetched from a colleague's history): one content.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRAINERFORGE_HOME")
    history = history_repo()
    template_x = shutil.copytree(template_copy, tmp_path / "template-x")
    append(template_x / "template" / "src" / "{{ package_name }}" / "trainer.py.jinja", X_LINE)
    earlier_releases.register(history, template_x, "0.1.0")
    project = workdir / "proj"
    earlier_releases.new_project(history, project, "v0.1.0", tmp_path / "home")
    earlier_releases.register(history, template_x, "0.1.0")
    append(project / "README.md", "Edited in the first commit.\n")  # no render matches it
    git_in(project, "commit", "--quiet", "--all", "--amend", "--no-edit")
    result = cli("update", str(project))
    assert result.exit_code == 0, result.output
    assert "named several templates" not in result.stdout
    assert X_LINE not in (project / TRAINER).read_text()
    assert answers_of(project)["_commit"] == f"v{__version__}"
