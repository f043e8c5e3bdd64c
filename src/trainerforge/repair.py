"""Which template a project was really made from, when its `_commit` does not say for sure.

Before template tags were immutable, installing a changed template under an unchanged version
moved that version's tag in the history. A project made before such a move records the tag, which
now names a later template: merging from it would take every change in between for the user's
own, and `update` would bring none of them. The history still holds every template the tag named
(one commit each, `Template {tag}`), and the project's first commit holds what `new-project`
rendered. The candidate whose render with the project's first answers is that commit, file for
file, is the project's true base; it gets an immutable tag of its own (`template_source.pin`).

Renders of the true base must record the project's own `_commit` (templates may print it), so
they come from a `history_view`: a throwaway clone in which the recorded tag names that commit.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from trainerforge import template_source
from trainerforge._git import GitError, git, git_or_none
from trainerforge.errors import (
    InvalidAnswerError,
    TemplateSourceError,
    TemplateVersionError,
    copier_errors,
)

ANSWERS_FILE = template_source.ANSWERS_FILE


def true_base(
    project: Path, tag: str, version: str, new_tag: str, base: str | None, where: str
) -> str:
    """The history tag to merge from for a project that records `_commit: {tag}` (of public
    version `version`), updated to `new_tag`.

    `base`, the `--base` option, names the history commit outright. Otherwise `tag` itself,
    unless it moved; then the candidate that renders the project's first commit, or an error
    that says what to pass.
    """
    repo = template_source.history_repo()
    if base is not None:
        commit = template_source.commit_of(base)
        if commit is None:
            raise TemplateVersionError(
                f"--base {base}: not a commit of the template history {repo}; "
                f"list them with: git -C {repo} log --oneline --all"
            )
        if tag == new_tag or commit == template_source.commit_of(new_tag):
            raise TemplateVersionError(
                f"--base {base}: the project would be merged from the installed template "
                f"{new_tag} itself; --base names the older template the project was made from"
            )
        return template_source.pin(commit, template_source.version_of(commit) or version)
    candidates = template_source.templates_made_for(tag)
    if len(candidates) <= 1:
        return tag
    first = _first_commit(project)
    if first is not None:
        commit_time = first[1]
        # Registering comes right before rendering: the last candidate made before the
        # project's first commit is the likely one, and is tried first.
        ordered = sorted(candidates, key=lambda c: (c[1] > commit_time, abs(commit_time - c[1])))
        for commit, _ in ordered:
            if _renders_as(commit, tag, project, first[0]):
                return template_source.pin(commit, version)
    found = f"renders its first commit {first[0][:7]}" if first else "can be checked: no commit"
    found += "" if first else f" of the project holds its {ANSWERS_FILE}"
    raise TemplateVersionError(
        f"{where}: its _commit {tag} named {len(candidates)} different templates in the history "
        f"{repo} (the tag moved before versions were immutable), and none {found}; "
        f"pass --base COMMIT, the one it was made from (git -C {repo} log --oneline --all "
        f"--grep 'Template {tag}')"
    )


@contextlib.contextmanager
def history_view(tag: str, commit: str) -> Iterator[Path]:
    """A throwaway clone of the history in which `tag` names `commit`, and no other tag does.

    copier records `git describe --tags` as `_commit`, so a render from the view at `tag`
    records `tag`, as the project's own render did.
    """
    with tempfile.TemporaryDirectory(prefix="trainerforge-view-") as temporary:
        view = Path(temporary) / "templates"
        source = str(template_source.history_repo())
        try:
            git(Path(temporary), "clone", "--quiet", "--shared", "--no-checkout", source, str(view))
            for other in git(view, "tag", "--points-at", commit).split():
                git(view, "tag", "--delete", other)
            git(view, "tag", "--force", tag, commit)
        except GitError as error:
            raise TemplateSourceError(f"cannot make a view of {source} ({error})") from None
        yield view


def with_src_path(answers_text: str, src_path: str) -> str:
    """The answers file's text with `_src_path` set to `src_path`, a YAML scalar as written."""
    line = f"_src_path: {src_path}"
    return re.sub(r"(?m)^_src_path: .*$", lambda _: line, answers_text, count=1)


def _first_commit(project: Path) -> tuple[str, int] | None:
    """The first commit that holds the project's answers file, and its commit time."""
    log = git_or_none(project, "log", "--reverse", "--format=%H %ct", "--", ANSWERS_FILE)
    if not log:
        return None
    commit, time = log.splitlines()[0].split()
    return commit, int(time)


def _renders_as(history_commit: str, tag: str, project: Path, project_commit: str) -> bool:
    """Whether the history commit, rendered as `tag` with the answers the project had at
    `project_commit`, gives exactly the project's files at that commit."""
    import yaml

    answers_text = git(project, "show", f"{project_commit}:./{ANSWERS_FILE}")
    answers: Any = yaml.safe_load(answers_text)
    if not isinstance(answers, dict):
        return False
    data = {key: value for key, value in answers.items() if not str(key).startswith("_")}
    expected = git(project, "rev-parse", f"{project_commit}:./")
    with (
        tempfile.TemporaryDirectory(prefix="trainerforge-base-") as temporary,
        history_view(tag, history_commit) as view,
    ):
        render = Path(temporary) / project.name
        try:
            _render(view, tag, render, data)
        except (InvalidAnswerError, TemplateSourceError):  # it cannot render these answers
            return False
        # The answers file records copier's own `_commit` for the render: use the project's.
        (render / ANSWERS_FILE).write_text(answers_text + "\n", encoding="utf-8")
        git(render, "init", "--quiet")
        git(render, "add", "--all")
        return git(render, "write-tree") == expected


def _render(source: Path, tag: str, destination: Path, data: dict[str, Any]) -> None:
    from copier import run_copy

    with copier_errors("copier copy failed"):
        run_copy(
            str(source),
            destination,
            data=data,
            vcs_ref=tag,
            defaults=True,
            quiet=True,
            unsafe=False,
        )
