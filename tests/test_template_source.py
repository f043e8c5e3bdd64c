"""The template history: registering versions, the unchanged fast path, and the render source."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from trainerforge import TEMPLATE_DIGEST, __version__, template_source
from trainerforge.errors import TemplateSourceError
from trainerforge.template_source import (
    answers_src_path,
    ensure_registered,
    history_repo,
    installed_template,
    register,
    template_digest,
)


@pytest.fixture
def commits(git_in):
    """The number of commits in the template history."""
    return lambda: int(git_in(history_repo(), "rev-list", "--count", "HEAD"))


@pytest.fixture
def release(monkeypatch) -> Callable[[Path, str], None]:
    """Declare a template directory's present content the release of a version."""
    released: dict[str, str] = {}
    monkeypatch.setattr(template_source, "released_digest", released.get)
    return lambda template, version: released.update({version: template_digest(template)})


@pytest.fixture
def edited(template_copy: Path, tmp_path: Path) -> Path:
    """Another copy of the template, with one question added."""
    edited = shutil.copytree(template_copy, tmp_path / "edited")
    with (edited / "copier.yml").open("a") as stream:
        stream.write("\nextra_question:\n  type: str\n  help: Added later\n  default: x\n")
    return edited


def test_history_lives_under_trainerforge_home(isolated_env):
    assert history_repo() == isolated_env / "trainerforge" / "templates"


def test_default_history_is_recorded_relative_to_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TRAINERFORGE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert history_repo() == tmp_path / ".local" / "share" / "trainerforge" / "templates"
    assert answers_src_path(history_repo()) == "~/.local/share/trainerforge/templates"


def test_ensure_registered_returns_the_source_and_tag(git_in):
    src_path, ref = ensure_registered()
    assert (src_path, ref) == (history_repo().as_posix(), f"v{__version__}")
    assert git_in(history_repo(), "tag", "--list") == ref


def test_registering_again_adds_nothing(template_copy, commits):
    register(template_copy, "1.0.0")
    register(template_copy, "1.0.0")
    assert commits() == 1


def test_unchanged_template_runs_no_git(template_copy, monkeypatch):
    tag = register(template_copy, "1.0.0")

    def no_process(*args, **kwargs):
        raise AssertionError(f"a process was started: {args}")

    monkeypatch.setattr(subprocess, "run", no_process)
    assert register(template_copy, "1.0.0") == tag


def test_lost_marker_is_rebuilt_without_a_new_commit(template_copy, commits, isolated_env):
    register(template_copy, "1.0.0")
    (isolated_env / "trainerforge" / "templates.json").unlink()
    register(template_copy, "1.0.0")
    assert commits() == 1
    assert (isolated_env / "trainerforge" / "templates.json").is_file()


def test_new_version_adds_a_tag_and_keeps_the_old_one(
    template_copy, edited, commits, git_in, release
):
    release(template_copy, "1.0.0")
    release(edited, "1.1.0")
    register(template_copy, "1.0.0")
    register(edited, "1.1.0")
    repo = history_repo()
    assert commits() == 2
    assert git_in(repo, "tag", "--list").split() == ["v1.0.0", "v1.1.0"]
    assert "extra_question" not in git_in(repo, "show", "v1.0.0:copier.yml")
    assert "extra_question" in git_in(repo, "show", "v1.1.0:copier.yml")
    assert git_in(repo, "status", "--porcelain") == ""


def test_the_released_template_is_tagged_with_its_version_and_any_other_with_its_digest(
    template_copy, release
):
    digest = template_digest(template_copy)
    assert register(template_copy, "1.0.0") == f"v1.0.0+{digest[:12]}"  # not the release
    release(template_copy, "1.0.0")
    assert register(template_copy, "1.0.0") == "v1.0.0"


def test_the_installed_template_is_the_release_of_the_installed_version():
    # tests/test_release.py keeps TEMPLATE_DIGEST equal to the template's digest.
    assert template_source.tag_names(__version__, template_digest(installed_template())) == (
        f"v{__version__}",
        f"v{__version__}+{TEMPLATE_DIGEST[:12]}",
    )


def test_an_edit_under_an_unchanged_version_gets_a_tag_of_its_own_and_no_tag_moves(
    template_copy, commits, git_in, release
):
    release(template_copy, "1.0.0")
    assert register(template_copy, "1.0.0") == "v1.0.0"
    released = git_in(history_repo(), "rev-parse", "v1.0.0")
    (template_copy / "template" / "NEW.md").write_text("new\n")
    edited = register(template_copy, "1.0.0")
    assert edited == f"v1.0.0+{template_digest(template_copy)[:12]}"
    assert commits() == 2
    assert git_in(history_repo(), "rev-parse", "v1.0.0") == released
    assert git_in(history_repo(), "show", f"{edited}:template/NEW.md") == "new"
    assert git_in(history_repo(), "tag", "--points-at", edited) == edited  # copier's _commit


def test_a_plain_tag_that_names_other_content_is_never_moved(template_copy, git_in, release):
    # As a history written before tags were immutable may hold: v1.0.0 is some other template.
    (template_copy / "template" / "OLD.md").write_text("old\n")
    register(template_copy, "0.9.0")
    git_in(history_repo(), "tag", "v1.0.0", "v0.9.0+" + template_digest(template_copy)[:12])
    (template_copy / "template" / "OLD.md").unlink()
    release(template_copy, "1.0.0")
    tag = register(template_copy, "1.0.0")
    assert tag == f"v1.0.0+{template_digest(template_copy)[:12]}"
    assert git_in(history_repo(), "show", "v1.0.0:template/OLD.md") == "old"
    assert register(template_copy, "1.0.0") == tag


def test_older_version_registered_after_a_newer_one(template_copy, edited, commits, git_in):
    register(edited, "1.1.0")
    (template_copy / "template" / "NEW.md").write_text("new\n")
    register(template_copy, "1.0.0")
    register(edited, "1.1.0")
    assert commits() == 2
    assert git_in(history_repo(), "status", "--porcelain") == ""


def test_pin_names_an_old_commit_by_its_content(template_copy, git_in):
    first = register(template_copy, "1.0.0")
    commit = git_in(history_repo(), "rev-parse", first)
    (template_copy / "template" / "NEW.md").write_text("new\n")
    register(template_copy, "1.0.0")
    pinned = template_source.pin(commit, "1.0.0")
    assert pinned == first  # the same content, so the same immutable name
    assert template_source.templates_made_for(first) == [
        (commit, int(git_in(history_repo(), "log", "-1", "--format=%ct", commit)))
    ]


def test_digest_ignores_bytecode_and_sees_executable_bits(template_copy):
    before = template_digest(template_copy)
    cache = template_copy / "template" / "__pycache__"
    cache.mkdir()
    (cache / "x.cpython-311.pyc").write_bytes(b"\0")
    assert template_digest(template_copy) == before
    script = template_copy / "template" / "run.sh"
    script.write_text("#!/bin/sh\n")
    with_script = template_digest(template_copy)
    script.chmod(0o755)
    assert template_digest(template_copy) != with_script


def test_concurrent_registrations_make_one_commit(commits):
    code = "from trainerforge.template_source import ensure_registered; ensure_registered()"
    processes = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [process.wait() for process in processes] == [0, 0, 0, 0]
    assert commits() == 1


def test_unwritable_home_is_a_clean_error(monkeypatch, tmp_path, template_copy):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("TRAINERFORGE_HOME", str(blocker))
    with pytest.raises(TemplateSourceError, match="TRAINERFORGE_HOME"):
        register(template_copy, "1.0.0")


def test_installed_template_is_found():
    template = template_source.installed_template()
    assert (template / "copier.yml").is_file()
    assert (template / "template").is_dir()
