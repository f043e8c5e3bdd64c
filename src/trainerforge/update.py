"""Update a project to the installed trainerforge's template version, keeping the user's work.

The merge itself is copier's 3-way update: it re-renders the project's old template version with
its recorded answers, takes the user's changes as the diff from that render to the project, and
re-applies them to a render of the new version (`conflict="inline"` leaves conflict markers and
records the file as unmerged in git's index). Around it, this module:

- refuses what copier would get wrong or report badly: a dirty work tree, a directory that is not
  a trainerforge project, a downgrade, and an old version that this machine's history lacks;
- carries the user's edits to a file's new place when the template (or a changed answer, such as
  `package_name`) moves it. Copier alone deletes the old file, edits included. The moves come from
  git's rename detection between the two versions in the template history, so the template needs
  no `_migrations` (which copier only runs with `--trust`);
- merges from the template the project was really made from, when its recorded tag moved in a
  history written before tags were immutable (`trainerforge.repair`);
- exits non-zero, naming the files, when conflicts are left, and leaves every change uncommitted
  for review. A failure half-way (or an interrupt) restores the project to its last commit.

`--pretend` runs the same update in a throwaway clone of the project's repository and reports what
would change there, conflicts included.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from trainerforge import repair, template_source
from trainerforge._git import GitError, git, git_bytes, git_or_none, merge_file
from trainerforge.errors import (
    ProjectError,
    TemplateVersionError,
    UpdateConflictError,
    copier_errors,
    one_line,
)
from trainerforge.generate import check_answers, parse_data, termination_raises

ANSWERS_FILE = template_source.ANSWERS_FILE
# The labels copier gives its conflict markers; the moved files' conflicts use the same ones.
LABELS = ("before updating", "last update", "after updating")
_MARKER = f"<<<<<<< {LABELS[0]}".encode()


@dataclass
class _Plan:
    """What one update does: from which tag to which, with which answer changes.

    `base_tag` is the template the project was really made from: `old_tag`, its recorded
    `_commit`, unless that tag moved (then an immutable tag of the right history commit).
    """

    project: Path
    old_tag: str
    base_tag: str
    new_tag: str
    old_answers: dict[str, Any]
    data: dict[str, str]
    changes: dict[str, str]


@dataclass
class _Outcome:
    """What an update did, for the summary."""

    status: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    moved: list[tuple[str, str]] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    removed_edited: list[str] = field(default_factory=list)
    blocked_moves: list[tuple[str, str]] = field(default_factory=list)


def update_project(
    project_dir: Path,
    *,
    data: Sequence[str] = (),
    template: str | None = None,
    base: str | None = None,
    pretend: bool = False,
) -> None:
    """Bring the project in `project_dir` to the installed template version; print a summary."""
    given = parse_data(data)
    project = Path(os.path.abspath(project_dir.expanduser()))
    answers = read_answers(project)
    check_answers(given, template_source.installed_template() / "copier.yml")
    _check_source(project, answers)
    old_tag = str(answers["_commit"])
    old_version = _version(old_tag, project)
    new_version = template_source.installed_version()
    # Public versions: v0.2.0 and v0.2.0+<digest> are two templates of one version, either way.
    if old_version.public > _version(f"v{new_version}", project).public:
        raise TemplateVersionError(
            f"{_where(project)}: made from the trainerforge {old_tag} template, newer than the "
            f"installed v{new_version}; install trainerforge>={old_version} to update it "
            "(downgrades are not supported)"
        )
    _, new_tag = template_source.ensure_registered()
    changes = {key: value for key, value in given.items() if not _same(answers, key, value)}
    if (
        not changes
        and base is None
        and (old_tag == new_tag or template_source.same_commit(old_tag, new_tag))
        and len(template_source.templates_made_for(old_tag)) <= 1  # a tag that never moved
    ):
        typer.echo(
            f"{_shown(project)} is already up to date with the trainerforge {new_tag} template."
        )
        return
    _check_work_tree(project)
    _ensure_old_version(project, old_tag, old_version, template)
    where = _where(project)
    base_tag = repair.true_base(project, old_tag, old_version.public, new_tag, base, where)
    plan = _Plan(project, old_tag, base_tag, new_tag, answers, given, changes)
    if pretend:
        with _sandbox(project) as copy:
            outcome = _apply(plan, copy)
        _report(plan, outcome, pretend=True)
        return
    try:
        with termination_raises():
            outcome = _apply(plan, project)
    except BaseException:
        _restore(project)
        raise
    _report(plan, outcome, pretend=False)
    if outcome.conflicts:
        count = len(outcome.conflicts)
        raise UpdateConflictError(
            f"the update left conflicts in {count} file{'s' if count > 1 else ''}: "
            f"{', '.join(outcome.conflicts)}; resolve the <<<<<<< markers, `git add` the files, "
            "then commit"
        )


def read_answers(project: Path) -> dict[str, Any]:
    """The project's recorded answers; refuse a directory that trainerforge did not generate."""
    import yaml

    if not project.is_dir():
        raise ProjectError(f"{_where(project)}: no such directory")
    answers_file = project / ANSWERS_FILE
    try:
        answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectError(
            f"{_where(project)}: has no {ANSWERS_FILE}, so it is not a project generated by "
            "trainerforge (run update in the project's top directory)"
        ) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ProjectError(f"{answers_file}: cannot read it ({one_line(error)})") from None
    if not isinstance(answers, dict) or not answers.get("_src_path") or not answers.get("_commit"):
        raise ProjectError(
            f"{answers_file}: has no _src_path and _commit, so the template version that made "
            "the project is unknown"
        )
    return answers


def _check_source(project: Path, answers: Mapping[str, Any]) -> None:
    """Refuse a project whose template is not trainerforge's history (e.g. made with --template)."""
    src_path = str(answers["_src_path"])
    if template_source.is_history(src_path):
        return
    history = template_source.history_repo()
    if Path(src_path).name == history.name and "://" not in src_path:
        hint = (
            f"if that is a trainerforge template history, run with "
            f"{template_source.HOME_VARIABLE}={Path(src_path).parent}"
        )
    else:
        hint = "a project made with new-project --template is updated with `copier update`"
    raise ProjectError(
        f"{_where(project)}: made from the template {src_path}, not from trainerforge's "
        f"template history {history}; {hint}"
    )


def _version(tag: str, project: Path) -> Any:
    """The version in a tag such as `v0.1.0` (or a `git describe` past it), for comparing."""
    from packaging.version import InvalidVersion, Version

    text = re.sub(r"-\d+-g[0-9a-f]+$", "", tag.removeprefix("v"))
    try:
        return Version(text)
    except InvalidVersion:
        raise TemplateVersionError(
            f"{project / ANSWERS_FILE}: _commit {tag!r} is not a template version such as v0.1.0"
        ) from None


def _same(answers: Mapping[str, Any], key: str, value: str) -> bool:
    return key in answers and str(answers[key]) == value


def _check_work_tree(project: Path) -> None:
    """Refuse a project outside git, without a commit, or with uncommitted changes."""
    if git_or_none(project, "rev-parse", "--show-toplevel") is None:
        raise ProjectError(
            f"{_where(project)}: not in a git repository, which update needs to merge; "
            "run git init, git add --all and git commit first"
        )
    if git_or_none(project, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        raise ProjectError(
            f"{_where(project)}: its git repository has no commit yet; commit the project first"
        )
    # --no-optional-locks: a check must not rewrite the index (git status may, to refresh it).
    status = git(
        project, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all", "--", "."
    ).splitlines()
    if status:
        example = status[0][3:]
        raise ProjectError(
            f"{_where(project)}: has uncommitted changes ({len(status)} "
            f"file{'s' if len(status) > 1 else ''}, e.g. {example}); commit or stash them first, "
            "so that the update's changes can be reviewed on their own"
        )


def _ensure_old_version(
    project: Path, old_tag: str, old_version: Any, template: str | None
) -> None:
    """Make sure the history holds the project's version, from --template when it does not."""
    if template_source.has_version(old_tag):
        if template is not None:
            typer.echo(
                f"Note: the template history already holds {old_tag}; --template is not used.",
                err=True,
            )
        return
    if template is not None:
        template_source.import_version(template, old_tag)
        return
    repo = template_source.history_repo()
    # A `+digest` template came from a checkout: only a history that saw it can provide it.
    install = (
        ""
        if old_version.local
        else f"install trainerforge=={old_version} and run `trainerforge update` here once so "
        "that it registers, then upgrade again, or "
    )
    raise TemplateVersionError(
        f"{_where(project)}: made from the trainerforge {old_tag} template, which this "
        f"machine's template history {repo} has never held; {install}pass --template SRC, "
        f"a git repository that holds tag {old_tag} (such as the template history of the "
        "machine it was made on)"
    )


@contextlib.contextmanager
def _sandbox(project: Path) -> Iterator[Path]:
    """A throwaway clone of the project's repository at HEAD; yields the project's copy in it."""
    top = Path(git(project, "rev-parse", "--show-toplevel"))
    prefix = git(project, "rev-parse", "--show-prefix")
    head = git(project, "rev-parse", "HEAD")
    with tempfile.TemporaryDirectory(prefix="trainerforge-pretend-") as temporary:
        clone = Path(temporary) / top.name
        # --shared borrows the objects: nothing is copied, and nothing is written to the project.
        git(Path(temporary), "clone", "--quiet", "--shared", "--no-checkout", str(top), str(clone))
        git(clone, "checkout", "--quiet", "--detach", head)
        yield clone / prefix


def _restore(project: Path) -> None:
    """Undo a failed update: the work tree was clean, so HEAD is what the user had."""
    git_or_none(project, "update-index", "--no-skip-worktree", "--", ANSWERS_FILE)
    if not git_or_none(project, "status", "--porcelain", "--untracked-files=all", "--", "."):
        return  # nothing was written
    for args in (
        ("reset", "--quiet", "--", "."),
        ("checkout", "--", "."),
        ("clean", "-d", "--force", "--quiet", "--", "."),
    ):
        git_or_none(project, *args)


def _apply(plan: _Plan, project: Path) -> _Outcome:
    """Run copier's update in `project`, then carry edits across moves and collect the result."""
    head_files = set(_split(git_bytes(project, "ls-tree", "-r", "--name-only", "-z", "HEAD")))
    if plan.base_tag == plan.old_tag:
        _run_copier_update(project, plan)
        return _collect(plan, project, head_files, template_source.history_repo())
    base_commit = template_source.commit_of(plan.base_tag) or plan.base_tag
    with repair.history_view(plan.old_tag, base_commit) as view:
        with _recorded_source(project, view):
            _run_copier_update(project, plan)
        return _collect(plan, project, head_files, view)


def _collect(plan: _Plan, project: Path, head_files: set[str], old_source: Path) -> _Outcome:
    """Carry the user's edits across the template's moves; gather what the update did."""
    new_answers = read_answers(project)
    moves = _template_moves(plan.base_tag, plan.new_tag, plan.old_answers, new_answers)
    deleted = set(_split(git_bytes(project, "ls-files", "--deleted", "-z")))
    outcome = _Outcome()
    carried = {}
    for old, new in moves.items():
        if not (project / new).is_file() or new in head_files:
            if old in deleted and new in head_files:
                outcome.blocked_moves.append((old, new))
            continue
        if old in deleted or old not in head_files:
            carried[old] = new
    unexplained = sorted(deleted - carried.keys())
    if carried or unexplained:
        with tempfile.TemporaryDirectory(prefix="trainerforge-old-") as temporary:
            pristine = _render_old(plan, Path(temporary) / project.name, old_source)
            _carry_moves(project, carried, pristine, head_files, outcome)
            outcome.removed_edited = [
                path
                for path in unexplained
                if (pristine / path).is_file()
                and git_bytes(project, "show", f"HEAD:./{path}") != (pristine / path).read_bytes()
            ]
    outcome.conflicts = _conflicts(project)
    status = git_bytes(
        project,
        *("-c", "core.quotePath=false", "-c", "color.status=false"),
        # --no-renames: with unmerged files about, git may hide a deletion inside a rename.
        *("status", "--short", "--no-renames", "--untracked-files=all", "--", "."),
    )
    outcome.status = status.decode("utf-8", errors="replace").splitlines()
    return outcome


@contextlib.contextmanager
def _recorded_source(project: Path, view: Path) -> Iterator[None]:
    """Let copier take the project's old version from `view`, without a commit of our own.

    copier reads the template's place from the answers file and refuses a dirty work tree, so
    the file names `view` while git is told to skip its work-tree copy. The answers copier then
    writes get the recorded `_src_path` back, and git sees them once the flag is cleared.
    """
    answers_file = project / ANSWERS_FILE
    text = answers_file.read_text(encoding="utf-8")
    found = re.search(r"(?m)^_src_path: (.*)$", text)
    recorded = found.group(1) if found else str(template_source.history_repo())
    answers_file.write_text(repair.with_src_path(text, json.dumps(str(view))), encoding="utf-8")
    try:
        git(project, "update-index", "--skip-worktree", "--", ANSWERS_FILE)
        yield
        answers_file.write_text(
            repair.with_src_path(answers_file.read_text(encoding="utf-8"), recorded),
            encoding="utf-8",
        )
    finally:
        git_or_none(project, "update-index", "--no-skip-worktree", "--", ANSWERS_FILE)


def _run_copier_update(project: Path, plan: _Plan) -> None:
    from copier import run_update

    with copier_errors("copier update failed"):
        run_update(
            project,
            data=plan.data,
            vcs_ref=plan.new_tag,
            defaults=True,  # every answer not given with --data keeps its recorded value
            overwrite=True,
            conflict="inline",
            quiet=True,
            unsafe=False,
        )


def _render_old(plan: _Plan, destination: Path, source: Path) -> Path:
    """Render the project's old version with its old answers: the base of a moved file's merge.

    `source` is the history, or the view of it in which `plan.old_tag` names the true base.
    """
    from copier import run_copy

    answers = {key: value for key, value in plan.old_answers.items() if not key.startswith("_")}
    run_copy(
        str(source),
        destination,
        data=answers,
        vcs_ref=plan.old_tag,
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    return destination


def _template_moves(
    old_tag: str, new_tag: str, old_answers: Mapping[str, Any], new_answers: Mapping[str, Any]
) -> dict[str, str]:
    """Project paths that the update moves: `{old path: new path}`.

    A template file moves when the history shows it renamed between the two versions (git's
    rename detection), or when a changed answer renders its path differently.
    """
    repo = template_source.history_repo()
    old_config, new_config = _config_at(repo, old_tag), _config_at(repo, new_tag)
    old_files = _split(git_bytes(repo, "ls-tree", "-r", "--name-only", "-z", old_tag))
    new_files = set(_split(git_bytes(repo, "ls-tree", "-r", "--name-only", "-z", new_tag)))
    renames = _renames(repo, old_tag, new_tag) if old_tag != new_tag else {}
    moves = {}
    for old_file in old_files:
        new_file = renames.get(old_file, old_file if old_file in new_files else None)
        if new_file is None:
            continue
        old_path = _render_path(old_file, old_config, old_answers)
        new_path = _render_path(new_file, new_config, new_answers)
        if old_path and new_path and old_path != new_path:
            moves[old_path] = new_path
    return moves


def _config_at(repo: Path, tag: str) -> dict[str, Any]:
    import yaml

    try:
        config = yaml.safe_load(git_bytes(repo, "show", f"{tag}:copier.yml"))
    except (GitError, yaml.YAMLError):
        return {}
    return config if isinstance(config, dict) else {}


def _renames(repo: Path, old_tag: str, new_tag: str) -> dict[str, str]:
    """The files the template renamed between two tags, as git's rename detection sees them."""
    fields = _split(
        git_bytes(repo, "diff", "--find-renames", "--name-status", "-z", old_tag, new_tag)
    )
    renames = {}
    index = 0
    while index < len(fields):
        status = fields[index]
        if status[:1] in ("R", "C"):
            if status.startswith("R"):
                renames[fields[index + 1]] = fields[index + 2]
            index += 3
        else:
            index += 2
    return renames


def _render_path(path: str, config: Mapping[str, Any], answers: Mapping[str, Any]) -> str | None:
    """Where copier renders a template file, or None when it renders no file (or is no file)."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    subdirectory = str(config.get("_subdirectory") or "").strip("/")
    if subdirectory:
        if not path.startswith(f"{subdirectory}/"):
            return None
        path = path[len(subdirectory) + 1 :]
    suffix = str(config.get("_templates_suffix", ".jinja"))
    envops = config.get("_envops") if isinstance(config.get("_envops"), dict) else {}
    context = {
        **answers,
        "_copier_conf": {"answers_file": config.get("_answers_file", ANSWERS_FILE)},
    }
    try:
        rendered = SandboxedEnvironment(**envops).from_string(path).render(context)
    except (jinja2.TemplateError, TypeError, ValueError):
        return None
    if suffix and rendered.endswith(suffix):
        rendered = rendered[: -len(suffix)]
    parts = rendered.split("/")
    return None if any(not part for part in parts) else rendered


def _carry_moves(
    project: Path,
    carried: Mapping[str, str],
    pristine: Path,
    head_files: set[str],
    outcome: _Outcome,
) -> None:
    """Merge the user's edits of each moved file into its new place; keep deleted files deleted."""
    for old, new in sorted(carried.items()):
        base_file = pristine / old
        if not base_file.is_file():
            continue  # not a file of the old version after all: nothing to carry
        target = project / new
        if old not in head_files:  # the user deleted it: the move must not bring it back
            target.unlink()
            outcome.kept_deleted.append(new)
            continue
        ours = git_bytes(project, "show", f"HEAD:./{old}")
        base = base_file.read_bytes()
        outcome.moved.append((old, new))
        if ours == base:
            continue  # no edits to carry: the new version is right as it is
        theirs = target.read_bytes()
        with tempfile.TemporaryDirectory(prefix="trainerforge-merge-") as temporary:
            ours_file = Path(temporary) / "ours"
            ours_file.write_bytes(ours)
            merged, conflicted = merge_file(project, ours_file, base_file, target, LABELS)
        target.write_bytes(merged)
        if conflicted:
            _mark_unmerged(project, new, base, ours, theirs)


def _mark_unmerged(project: Path, path: str, base: bytes, ours: bytes, theirs: bytes) -> None:
    """Record `path` as unmerged in the index (as copier does), so git status shows the conflict."""
    prefix = git(project, "rev-parse", "--show-prefix")
    mode = "100755" if os.access(project / path, os.X_OK) else "100644"
    lines = [f"0 {'0' * 40}\t{prefix}{path}"]
    for stage, content in ((1, base), (2, ours), (3, theirs)):
        blob = git_bytes(project, "hash-object", "-w", "--stdin", stdin=content).decode().strip()
        lines.append(f"{mode} {blob} {stage}\t{prefix}{path}")
    git_bytes(project, "update-index", "--index-info", stdin="\n".join(lines).encode() + b"\n")


def _conflicts(project: Path) -> list[str]:
    """Files with conflicts: unmerged in the index, or holding markers that HEAD's copy lacks."""
    unmerged = {
        entry.split("\t", 1)[1]
        for entry in _split(git_bytes(project, "ls-files", "--unmerged", "-z"))
    }
    changed = _split(
        git_bytes(project, "ls-files", "--modified", "--others", "--exclude-standard", "-z")
    )
    marked = {path for path in changed if path not in unmerged and _new_markers(project, path)}
    return sorted(unmerged | marked)


def _new_markers(project: Path, path: str) -> bool:
    try:
        content = (project / path).read_bytes()
    except OSError:
        return False
    count = _marker_count(content)
    if not count:
        return False
    try:
        before = git_bytes(project, "show", f"HEAD:./{path}")
    except GitError:
        return True
    return count > _marker_count(before)


def _marker_count(content: bytes) -> int:
    return sum(1 for line in content.splitlines() if line.rstrip() == _MARKER)


def _report(plan: _Plan, outcome: _Outcome, *, pretend: bool) -> None:
    """Print what changed (or would), `git status` style, and what to do next."""
    where = _shown(plan.project)
    versions = (
        f"from the trainerforge {plan.old_tag} template to {plan.new_tag}"
        if plan.old_tag != plan.new_tag
        else f"with the trainerforge {plan.new_tag} template"
    )
    if plan.base_tag != plan.old_tag:
        commit = template_source.commit_of(plan.base_tag) or plan.base_tag
        typer.echo(
            f"Note: {plan.old_tag} named several templates in this machine's history; "
            f"{where} was made from {commit[:7]}, now tagged {plan.base_tag}, and merges from it."
        )
    if pretend:
        typer.echo(f"Would update {where} {versions} (--pretend: nothing is written):")
    else:
        typer.echo(f"Updated {where} {versions}; nothing is committed:")
    for key, value in plan.changes.items():
        typer.echo(f"  answer {key}: {plan.old_answers.get(key, '(not asked)')} -> {value}")
    for line in outcome.status or ["  (no file changes)"]:
        typer.echo(f"  {line}")
    move, leave = ("Would move", "Would leave") if pretend else ("Moved", "Left")
    for old, new in outcome.moved:
        typer.echo(f"{move} {old} to {new}, with your edits.")
    for new in outcome.kept_deleted:
        typer.echo(f"{leave} out {new}: you had deleted the file it replaces.")
    for old, new in outcome.blocked_moves:
        typer.echo(
            f"Note: the template moved {old} to {new}, where you already have a file; "
            f"your {old} is in git: git show HEAD:./{old}"
        )
    for path in outcome.removed_edited:
        typer.echo(
            f"Note: the template no longer has {path}, which you had edited; "
            f"your version is in git: git show HEAD:./{path}"
        )
    if pretend:
        if outcome.conflicts:
            typer.echo(f"Would conflict: {', '.join(outcome.conflicts)}")
        return
    if not outcome.conflicts:
        typer.echo("Review the changes with `git status` and `git diff`, then commit them.")


def _split(output: bytes) -> list[str]:
    return [item for item in output.decode("utf-8", errors="surrogateescape").split("\0") if item]


def _where(project: Path) -> str:
    return f"PROJECT_DIR {_shown(project)}"


def _shown(path: Path) -> str:
    cwd = Path.cwd()
    if path == cwd:
        return path.name or str(path)
    return os.path.relpath(path) if path.is_relative_to(cwd) else str(path)
