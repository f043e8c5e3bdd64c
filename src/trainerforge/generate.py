"""Create a new project: check the input, render with copier, make a git repository, move in place.

Rendering happens in a staging directory on the destination's filesystem and is moved into place
only when complete, so a failure or an interruption leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from trainerforge import __version__
from trainerforge._git import GitError, git, git_or_none
from trainerforge._output import colour_wanted, plain_stderr
from trainerforge.errors import (
    DestinationError,
    InvalidAnswerError,
    TemplateSourceError,
    copier_errors,
)
from trainerforge.template_source import ANSWERS_FILE, ensure_registered, installed_template

_STAGING_PREFIX = ".trainerforge-staging-"
_FALLBACK_IDENTITY = {"user.name": "trainerforge", "user.email": "trainerforge@localhost"}
# What copier accepts as a remote template besides paths (see copier's vcs.get_repo).
_REMOTE_PREFIXES = ("gh:", "gl:", "git@", "git+", "git://", "ssh://", "http://", "https://")
_CASTS = {"int": (int, "an integer"), "float": (float, "a number")}
# How copier words a validator's refusal, once on one line.
_VALIDATION_ERROR = re.compile(r"Validation error for question '(?P<question>\w+)': (?P<reason>.*)")


def new_project(
    dest: Path,
    *,
    data: Sequence[str] = (),
    data_file: Path | None = None,
    defaults: bool = False,
    template: str | None = None,
    vcs_ref: str | None = None,
    pretend: bool = False,
    overwrite: bool = False,
) -> None:
    """Render a new project into `dest` and print the next steps."""
    answers = read_data_file(data_file) if data_file else {}
    answers.update(parse_data(data))  # the command line wins over the file
    dest = Path(os.path.abspath(dest.expanduser()))
    check_destination(dest, overwrite=overwrite)
    if not defaults and not sys.stdin.isatty():
        raise InvalidAnswerError("--defaults: needed when there is no terminal to ask questions in")
    src_path, ref = _template_source(template, vcs_ref, answers)
    options = {
        "data": answers,
        "user_defaults": dest_defaults(dest),
        "vcs_ref": ref,
        "defaults": defaults,
        "overwrite": overwrite,
    }
    # The installed template's names come from DEST's unless given; its refusals say so.
    from_dest = template is None and "project_name" not in answers
    with names_from_dest(dest, answers) if from_dest else contextlib.nullcontext():
        if from_dest and not defaults:
            # Refuse a DEST whose name gives no valid names before the first question, not after.
            _run_copier(src_path, dest, **(options | {"defaults": True}), pretend=True, quiet=True)
        if pretend:
            _run_copier(src_path, dest, pretend=True, **options)
            return
        try:
            with termination_raises():
                note = _render_in_place(src_path, dest, options)
        except OSError as error:  # e.g. a full disk: say so in one line, as for any other error
            raise DestinationError(f"DEST {dest}: cannot create it ({error})") from None
    _print_summary(dest, note)


def dest_defaults(dest: Path) -> dict[str, str]:
    """copier's user defaults: project_name is DEST's name, as cargo, uv and poetry do it.

    package_name, the MLflow experiment and the rest follow from it in copier.yml; answers
    given with --data or --data-file win over it.
    """
    return {"project_name": dest.name} if dest.name else {}


def command_name_for(project_name: str) -> str:
    """The prefix of a project's commands that copier.yml derives (`<prefix>-train`, ...)."""
    return re.sub(r"[-_.]+", "-", project_name.lower())


def package_name_for(project_name: str) -> str:
    """The package_name that copier.yml derives from a project_name (for error messages)."""
    return project_name.lower().replace("-", "_").replace(".", "_")


@contextlib.contextmanager
def names_from_dest(dest: Path, answers: Mapping[str, Any]) -> Iterator[None]:
    """Say that a refused project_name or package_name came from DEST's name, and what to do."""
    try:
        yield
    except InvalidAnswerError as error:
        refused = _VALIDATION_ERROR.match(str(error))
        if not refused or "project_name" in answers or refused["question"] in answers:
            raise
        name, reason = dest.name, refused["reason"]
        if refused["question"] == "project_name":
            names = f"project_name defaults to its name {name!r}"
            options = "-d project_name=NAME"
        elif refused["question"] == "package_name":
            package = package_name_for(name)
            names = f"project_name defaults to its name {name!r}, and package_name to {package!r}"
            options = "-d project_name=NAME or -d package_name=NAME"
        else:
            raise
        raise InvalidAnswerError(
            f"DEST {dest}: {names}, which is refused: {reason}; "
            f"choose another DEST, or pass {options}"
        ) from None


def parse_data(pairs: Sequence[str]) -> dict[str, str]:
    """Turn `--data KEY=VALUE` items into a dict; values stay strings for copier to cast."""
    answers = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidAnswerError(f"--data {pair!r}: expected KEY=VALUE, e.g. -d num_labels=7")
        answers[key.strip()] = value
    return answers


def read_data_file(path: Path) -> dict[str, Any]:
    """Read a YAML mapping of question: answer."""
    import yaml

    try:
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidAnswerError(f"--data-file {path}: cannot read it ({error.strerror})") from None
    except yaml.YAMLError as error:
        detail = " ".join(str(getattr(error, "problem", None) or error).split())
        raise InvalidAnswerError(f"--data-file {path}: not valid YAML ({detail})") from None
    if not isinstance(content, dict) or not all(isinstance(key, str) for key in content):
        kind = type(content).__name__
        raise InvalidAnswerError(
            f"--data-file {path}: expected a YAML mapping of question: answer, got {kind}"
        )
    return content


def question_types(copier_yml: Path) -> dict[str, str | None]:
    """The questions of a copier.yml (its top-level keys not starting with '_') and their types."""
    import yaml

    try:
        config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TemplateSourceError(f"{copier_yml}: cannot read the questions ({error})") from None
    if not isinstance(config, dict):
        raise TemplateSourceError(f"{copier_yml}: expected a mapping of questions")
    return {
        name: details.get("type") if isinstance(details, dict) else None
        for name, details in config.items()
        # `when: false` marks a value the template derives, which no answer may set.
        if not name.startswith("_")
        and not (isinstance(details, dict) and details.get("when") is False)
    }


def check_answers(answers: Mapping[str, Any], copier_yml: Path) -> None:
    """Refuse unknown questions, and numbers that do not parse, naming the question."""
    types = question_types(copier_yml)
    for name, value in answers.items():
        if name not in types:
            known = ", ".join(types)
            raise InvalidAnswerError(f"{name}: unknown question; the questions are: {known}")
        cast, kind = _CASTS.get(str(types[name]), (None, ""))
        if cast is not None and isinstance(value, str):
            try:
                cast(value)
            except ValueError:
                raise InvalidAnswerError(f"{name}: {value!r} is not {kind}") from None


def check_destination(dest: Path, *, overwrite: bool) -> None:
    """Refuse a destination that is a file, is not empty (without overwrite) or is not writable."""
    if dest.exists() and not dest.is_dir():
        raise DestinationError(f"DEST {dest}: is a file; give a directory path")
    if dest.is_dir():
        if not overwrite and any(dest.iterdir()):
            raise DestinationError(
                f"DEST {dest}: is not empty; pass --overwrite to render over its files"
            )
        writable = dest
    else:
        writable = _nearest_existing(dest)
        if not writable.is_dir():
            raise DestinationError(f"DEST {dest}: {writable} is a file, not a directory")
    if not os.access(writable, os.W_OK | os.X_OK):
        raise DestinationError(f"DEST {dest}: {writable} is not writable")


def _nearest_existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _template_source(
    template: str | None, vcs_ref: str | None, answers: Mapping[str, Any]
) -> tuple[str, str | None]:
    """Check the answers against the template's questions; return copier's (src_path, vcs_ref)."""
    if template is None:
        if vcs_ref:
            raise InvalidAnswerError("--vcs-ref: only valid with --template")
        check_answers(answers, installed_template() / "copier.yml")
        return ensure_registered()
    check_template(template)
    # With a ref, the questions may differ from the checked-out copier.yml: leave them to copier.
    if vcs_ref is None and (copier_yml := _local_copier_yml(template)):
        check_answers(answers, copier_yml)
    return template, vcs_ref


def check_template(template: str) -> None:
    """Refuse a --template that looks like a local path but is not a directory."""
    if template.startswith(_REMOTE_PREFIXES) or template.endswith(".git"):
        return
    if not Path(template).expanduser().is_dir():
        raise TemplateSourceError(f"--template {template}: no such directory")


def _local_copier_yml(template: str) -> Path | None:
    """The copier.yml of a --template given as a local directory, to check answers early."""
    for name in ("copier.yml", "copier.yaml"):
        candidate = Path(template).expanduser() / name
        if candidate.is_file():
            return candidate
    return None


def _run_copier(src_path: str, dst: Path, **options: Any) -> None:
    """Run copier's copy; its errors become one-line trainerforge errors."""
    from copier import run_copy

    with copier_errors(f"--template {src_path}"), plain_stderr():
        run_copy(src_path, dst, unsafe=False, **options)


def _render_in_place(src_path: str, dest: Path, options: dict[str, Any]) -> str:
    """Render into a staging directory, make it a git repository, then move it to `dest`.

    An existing `dest` is kept (it may be the shell's working directory) and the staging
    directory lives inside it; otherwise it lives next to `dest`. Returns a note on the git step.
    """
    skip_git = _why_no_git(dest)
    existed = dest.is_dir()
    was_empty = existed and not any(dest.iterdir())
    created = [] if existed else _make_parents(dest.parent)
    try:
        with tempfile.TemporaryDirectory(
            prefix=_STAGING_PREFIX, dir=dest if existed else dest.parent
        ) as staging:
            # The staged project keeps dest's name, which templates may read from _copier_conf.
            staged = Path(staging) / dest.name
            _run_copier(src_path, staged, **options)
            note = skip_git or _initial_commit(staged, options["vcs_ref"])
            if existed:
                _move_into(staged, dest, was_empty=was_empty)
            else:
                staged.rename(dest)
    except BaseException:
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return note


def _make_parents(directory: Path) -> list[Path]:
    """Create `directory` and its missing parents; return the created ones, outermost first."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    missing.reverse()
    for path in missing:
        path.mkdir()
    return missing


def _move_into(staged: Path, dest: Path, *, was_empty: bool) -> None:
    """Move the staged tree into an existing `dest`; an empty `dest` is emptied again on failure."""
    try:
        _merge(staged, dest)
    except BaseException:
        if was_empty:
            for entry in dest.iterdir():
                if not entry.name.startswith(_STAGING_PREFIX):
                    _remove(entry)
        raise


def _merge(source: Path, target_dir: Path) -> None:
    for entry in source.iterdir():
        target = target_dir / entry.name
        if _is_real_dir(entry) and _is_real_dir(target):
            _merge(entry, target)
            continue
        if _is_real_dir(target):
            shutil.rmtree(target)
        os.replace(entry, target)


def _is_real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _remove(path: Path) -> None:
    if _is_real_dir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _why_no_git(dest: Path) -> str | None:
    """Why the new project gets no git repository of its own, or None when it should get one."""
    if shutil.which("git") is None:
        return "git not found: skipped creating a git repository"
    top = git_or_none(_nearest_existing(dest), "rev-parse", "--show-toplevel")
    if top:
        return f"{dest} is inside the git work tree {top}: skipped git init"
    return None


def _initial_commit(project: Path, ref: str | None) -> str:
    """Make `project` a git repository with one commit, so that `copier update` can work later."""
    message = f"Initial commit from the trainerforge {ref or f'v{__version__}'} template"
    try:
        git(project, "init", "--quiet")
        git(project, "add", "--all")
        identity = _fallback_identity(project)
        git(project, *identity, "commit", "--quiet", "--no-verify", "--message", message)
    except GitError as error:
        shutil.rmtree(project / ".git", ignore_errors=True)
        return f"{error}: the project has no git repository"
    return "created a git repository with an initial commit"


def _fallback_identity(repo: Path) -> list[str]:
    """`-c` options for the parts of the committer identity that git has no setting for."""
    options = []
    for key, fallback in _FALLBACK_IDENTITY.items():
        configured = git_or_none(repo, "config", "--get", key)
        if not configured and not (key == "user.email" and os.environ.get("EMAIL")):
            options += ["-c", f"{key}={fallback}"]
    return options


@contextlib.contextmanager
def termination_raises() -> Iterator[None]:
    """Turn SIGTERM (and SIGHUP: a closed terminal) into SystemExit, so cleanup code runs."""
    if threading.current_thread() is not threading.main_thread():
        yield  # Python only lets the main thread install signal handlers
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    numbers = [signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
    previous = {number: signal.signal(number, handler) for number in numbers}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old if old is not None else signal.SIG_DFL)


def _print_summary(dest: Path, note: str) -> None:
    from rich.console import Console
    from rich.panel import Panel
    from rich.text import Text

    def console(stream: Any) -> Console:
        # None: no escape codes at all (rich's own NO_COLOR check would still write bold and dim).
        colours = "auto" if colour_wanted(stream) else None
        return Console(file=stream, color_system=colours)  # type: ignore[arg-type]

    console(sys.stderr).print(Text(note, style="dim"), soft_wrap=True)  # one line, as in a log
    steps = Text("\n".join(_next_steps(dest)))  # Text, not markup: ".[dev]" is no style tag
    panel = Panel(steps, title=f"Created {dest.name}", title_align="left", expand=False)
    console(sys.stdout).print(panel)


def _next_steps(dest: Path) -> list[str]:
    import yaml

    try:
        answers = yaml.safe_load((dest / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        answers = None
    answers = answers if isinstance(answers, dict) else {}
    steps = ['python -m pip install -e ".[dev]"']
    if dest != Path.cwd():
        shown = os.path.relpath(dest) if dest.is_relative_to(Path.cwd()) else str(dest)
        steps.insert(0, f"cd {shlex.quote(shown)}")
    if project_name := answers.get("project_name"):
        command = command_name_for(str(project_name))
        steps.append(f"{command}-train configs/debug.yaml --output_dir outputs/debug")
    steps.append("python -m pytest")
    if answers.get("tracking") == "mlflow":
        steps.append("mlflow ui --backend-store-uri sqlite:///mlflow.db")
    return steps
