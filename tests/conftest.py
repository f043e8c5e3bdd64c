"""Shared fixtures: each test gets its own trainerforge home, git identity and MLflow store."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner, Result

from trainerforge import template_source
from trainerforge.cli import app
from trainerforge.template_source import installed_template

STAGING_PREFIX = ".trainerforge-staging-"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep trainerforge, git and MLflow away from the real home directory and user config."""
    state = tmp_path_factory.mktemp("state")
    gitconfig = state / "gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n"
    )
    monkeypatch.setenv("TRAINERFORGE_HOME", str(state / "trainerforge"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("AUTHOR_NAME", "AUTHOR_EMAIL", "COMMITTER_NAME", "COMMITTER_EMAIL", "DIR"):
        monkeypatch.delenv(f"GIT_{name}", raising=False)
    monkeypatch.delenv("EMAIL", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{state / 'mlflow.db'}")
    return state


@pytest.fixture
def gitconfig(isolated_env: Path) -> Path:
    """The git config file that stands in for the user's global one."""
    return isolated_env / "gitconfig"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty current directory for the CLI to work in."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.fixture
def cli(workdir: Path) -> Callable[..., Result]:
    """Invoke `trainerforge *args` in-process, from `workdir`."""
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        return runner.invoke(app, list(args))

    return invoke


@pytest.fixture
def answers_of() -> Callable[[Path], dict]:
    """Read a rendered project's .copier-answers.yml."""

    def read(project: Path) -> dict:
        return yaml.safe_load((project / ".copier-answers.yml").read_text())

    return read


@pytest.fixture
def git_in() -> Callable[..., str]:
    """Run git in a directory and return its stripped output."""

    def run(cwd: Path, *args: str) -> str:
        result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    return run


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    """A private copy of the installed template (copier.yml and template/), free to edit."""
    source = installed_template()
    copy = tmp_path / "template-copy"
    copy.mkdir()
    shutil.copy2(source / "copier.yml", copy / "copier.yml")
    shutil.copytree(
        source / "template", copy / "template", ignore=shutil.ignore_patterns("__pycache__")
    )
    return copy


@pytest.fixture
def install_template(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the CLI see a template directory as the installed template, at a given version.

    This is what upgrading trainerforge changes: the bundled template and the version, and
    whether that template is the one released as that version (tagged `v{version}`) or other
    content installed under it (`released=False`: tagged `v{version}+{digest}`).
    """

    def install(template_dir: Path, version: str, *, released: bool = True) -> None:
        def released_digest(asked: str) -> str | None:
            if released and asked == version:
                return template_source.template_digest(template_dir)
            return None

        monkeypatch.setattr(template_source, "installed_template", lambda: template_dir)
        monkeypatch.setattr(template_source, "installed_version", lambda: version)
        monkeypatch.setattr(template_source, "released_digest", released_digest)

    return install


@pytest.fixture
def leftovers() -> Callable[[Path], list[Path]]:
    """Find staging directories left anywhere below a directory."""

    def find(directory: Path) -> list[Path]:
        return list(directory.rglob(f"{STAGING_PREFIX}*"))

    return find


@pytest.fixture
def assert_refused(leftovers: Callable[[Path], list[Path]]) -> Callable[..., None]:
    """Check a refused command: status 1, one error line naming a field, nothing left behind."""

    def check(result: Result, field: str, dest: Path, *, dest_existed: bool = False) -> None:
        assert result.exit_code == 1, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("Error: "), lines[0]
        assert field in lines[0], lines[0]
        assert dest_existed or not dest.exists()
        assert leftovers(dest.parent) == []

    return check


# The tests that take minutes, longest first: they start first, so that the two workers finish
# together rather than one running a long test alone at the end.
LONGEST_FIRST = (
    "test_the_readme_commands",
    "test_generated_project_passes_its_own_tests",
    "test_generated_projects_type_check",
    "test_updated_project_passes_its_own_tests",
    "test_rendered_projects_are_complete_and_clean",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        names = [i for i, name in enumerate(LONGEST_FIRST) if item.name.startswith(name)]
        return names[0] if names else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order
