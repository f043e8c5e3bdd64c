"""Where the template comes from: a local git history of the installed template's versions.

`copier update` re-renders the template version a project was made from, so `_src_path` in a
project's answers must name a git repository that holds every version, at a path that is the same
on every machine. The installed template is therefore committed into a small repository under the
user's data directory, and projects are rendered from its tag.

A tag names one template content for good, on every machine, and never moves:

- `v{version}` is the content released as that version (`trainerforge.TEMPLATE_DIGEST`);
- `v{version}+{digest}` is any other content installed under that version (a build from a
  checkout between releases, or with local edits): the first 12 hex digits of its digest.

Histories written before this rule may hold a tag that moved from one content to another; the
update repairs projects made from such a tag (`trainerforge.repair`).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from trainerforge import TEMPLATE_DIGEST, __version__
from trainerforge._git import GitError, git, git_bytes, git_or_none
from trainerforge.errors import TemplateSourceError

try:
    import fcntl
except ImportError:  # Windows: registering is rare and quick, so it runs unlocked there.
    fcntl = None  # type: ignore[assignment]

HOME_VARIABLE = "TRAINERFORGE_HOME"
# The answers file copier writes in a project (copier.yml's `_answers_file`).
ANSWERS_FILE = ".copier-answers.yml"
DIGEST_CHARS = 12  # of the sha256 in a `v{version}+{digest}` tag: 48 bits, unique in a history
_IGNORED = ("__pycache__", "*.pyc")
# The history is private bookkeeping: a fixed identity keeps it independent of the user's config.
_GIT_CONFIG = (
    *("-c", "user.name=trainerforge", "-c", "user.email=trainerforge@localhost"),
    *("-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main"),
)


def data_home() -> Path:
    """`$TRAINERFORGE_HOME`, or `~/.local/share/trainerforge`."""
    override = os.environ.get(HOME_VARIABLE)
    if override:
        return Path(override).expanduser().absolute()
    return Path.home() / ".local" / "share" / "trainerforge"


def history_repo() -> Path:
    """The git repository that holds every registered template version."""
    return data_home() / "templates"


def installed_template() -> Path:
    """The directory with the installed `copier.yml` and `template/`.

    Inside the wheel it is the package's `_template`; in a source checkout, the repository root.
    """
    package = Path(__file__).resolve().parent
    for candidate in (package / "_template", package.parents[1]):
        if (candidate / "copier.yml").is_file() and (candidate / "template").is_dir():
            return candidate
    raise TemplateSourceError(f"the bundled template is missing next to {package}; reinstall")


def answers_src_path(repo: Path) -> str:
    """`repo` as copier should record it: under `~` when possible, so answers are portable."""
    try:
        return "~/" + repo.relative_to(Path.home()).as_posix()
    except ValueError:
        return repo.as_posix()


def installed_version() -> str:
    """The version of the installed template: the installed trainerforge's version."""
    return __version__


def released_digest(version: str) -> str | None:
    """The digest of the template released as `version`, where this trainerforge knows it."""
    return TEMPLATE_DIGEST if version == __version__ else None


def tag_names(version: str, digest: str) -> tuple[str, ...]:
    """The tags that may name a template content of `version`, the preferred one first."""
    pinned = f"v{version}+{digest[:DIGEST_CHARS]}"
    return (f"v{version}", pinned) if digest == released_digest(version) else (pinned,)


def ensure_registered() -> tuple[str, str]:
    """Register the installed template; return the `(src_path, vcs_ref)` to render from."""
    ref = register(installed_template(), installed_version())
    return answers_src_path(history_repo()), ref


def is_history(src_path: str) -> bool:
    """Whether a project's recorded `_src_path` names this machine's template history."""
    if "://" in src_path or src_path.startswith(("gh:", "gl:", "git@", "git+")):
        return False
    try:
        return Path(src_path).expanduser().resolve() == history_repo().resolve()
    except (OSError, RuntimeError):  # e.g. `~user` of an unknown user, or a symlink loop
        return False


def has_version(ref: str) -> bool:
    """Whether the history holds `ref` (a tag such as `v0.1.0`, as recorded in `_commit`)."""
    repo = history_repo()
    if _has_tag(repo, ref):
        return True
    return commit_of(ref) is not None


def commit_of(ref: str) -> str | None:
    """The history commit that `ref` (a tag, a commit or a `git describe` name) names, or None."""
    repo = history_repo()
    if not (repo / ".git").is_dir():
        return None
    return git_or_none(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")


def same_commit(ref: str, other: str) -> bool:
    """Whether two refs of the history name one commit (two versions, one template)."""
    commits = {commit_of(ref), commit_of(other)}
    return len(commits) == 1 and None not in commits


def templates_made_for(tag: str) -> list[tuple[str, int]]:
    """The templates the history registered as `tag`: `(commit, commit time)`, one commit per
    content, oldest first.

    One for every tag this module writes. More than one means the tag moved from one template
    to another, as earlier trainerforge versions let it do when a template changed under an
    unchanged version: `_commit: {tag}` in a project then does not say which one made it.
    (A commit fetched from another history with the same content counts once.)
    """
    repo = history_repo()
    if not (repo / ".git").is_dir():
        return []
    log = git_or_none(repo, "log", "--all", "--reverse", "--format=%H %T %ct %s")
    commits, trees = [], set()
    for line in (log or "").splitlines():
        commit, tree, time, subject = line.split(" ", 3)
        if subject == f"Template {tag}" and tree not in trees:
            trees.add(tree)
            commits.append((commit, int(time)))
    return commits


def version_of(commit: str) -> str | None:
    """The version a history commit was registered as (`Template v0.1.0+...` -> `0.1.0`)."""
    subject = git_or_none(history_repo(), "log", "-1", "--format=%s", commit) or ""
    match = re.fullmatch(r"Template v([^+\s]+)(\+\S+)?", subject)
    return match[1] if match else None


def pin(commit: str, version: str) -> str:
    """Tag a history commit with its immutable name, `v{version}+{digest}`; return the tag."""
    repo = history_repo()
    try:
        with tempfile.TemporaryDirectory(prefix="trainerforge-pin-") as temporary:
            archive = git_bytes(repo, "archive", "--format=tar", commit, "copier.yml", "template")
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                # The history's own blobs; `filter` exists from Python 3.10.12 and 3.11.4 on.
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(temporary, filter="data")
                else:
                    tar.extractall(temporary)
            digest = template_digest(Path(temporary))
        tag = f"v{version}+{digest[:DIGEST_CHARS]}"
        with _locked(data_home() / "templates.lock"):
            if commit_of(tag) is None:
                _git(repo, "tag", tag, commit)
                _write_markers(repo, {**_read_markers(repo), tag: digest})
    except (GitError, OSError) as error:
        raise TemplateSourceError(f"cannot tag {commit[:7]} in {repo} ({error})") from None
    return tag


def import_version(source: str, tag: str) -> None:
    """Copy tag `tag` from another template repository (path, URL or bundle) into the history.

    Used when a project was made from a version this machine never registered. The tag must
    hold a template laid out like the history's (copier.yml at its root).
    """
    repo = history_repo()
    local = Path(source).expanduser()
    # git runs in the history: a relative local path must be made absolute first.
    url = str(local.absolute()) if local.exists() else source
    try:
        with _locked(data_home() / "templates.lock"):
            if has_version(tag):
                return
            try:
                _git(repo, "fetch", "--quiet", "--no-tags", url, f"refs/tags/{tag}:refs/tags/{tag}")
            except GitError as error:
                raise TemplateSourceError(
                    f"--template {source}: cannot fetch tag {tag} from it ({error})"
                ) from None
            if git_or_none(repo, "cat-file", "-e", f"{tag}:copier.yml") is None:
                git_or_none(repo, "tag", "--delete", tag)
                raise TemplateSourceError(
                    f"--template {source}: tag {tag} has no copier.yml at its root, "
                    "so it is not a trainerforge template version"
                )
    except OSError as error:
        raise TemplateSourceError(
            f"cannot write the template history in {repo} ({error.strerror}); "
            f"set {HOME_VARIABLE} to a writable directory"
        ) from None


def register(template_dir: Path, version: str) -> str:
    """Commit `template_dir`'s copier.yml and template/ to the history; return its tag.

    The tag is `v{version}` for the released content of that version and `v{version}+{digest}`
    for any other (`tag_names`). Nothing happens when the content is already registered. No tag
    ever moves: when `v{version}` already names other content (a history from before this rule),
    the content gets its digest tag instead.
    """
    digest = template_digest(template_dir)
    names = tag_names(version, digest)
    repo = history_repo()
    # Fast path: no lock and no git process when this exact content is already registered.
    if registered := _registered_tag(repo, names, digest):
        return registered
    try:
        with _locked(data_home() / "templates.lock"):
            if registered := _registered_tag(repo, names, digest):  # another process did it
                return registered
            tag = _commit_and_tag(repo, template_dir, names)
            _write_markers(repo, {**_read_markers(repo), tag: digest})
    except GitError as error:
        raise TemplateSourceError(
            f"{error}; it keeps the template versions in {repo} (or pass --template)"
        ) from None
    except OSError as error:
        raise TemplateSourceError(
            f"cannot write the template history in {repo} ({error.strerror}); "
            f"set {HOME_VARIABLE} to a writable directory"
        ) from None
    return tag


def template_digest(template_dir: Path) -> str:
    """A hash of everything `register` would commit: paths, executable bits and contents."""
    digest = hashlib.sha256()
    for path in _template_files(template_dir):
        content = path.read_bytes()
        executable = int(bool(path.stat().st_mode & 0o111))
        header = f"{path.relative_to(template_dir).as_posix()}\0{executable}\0{len(content)}\0"
        digest.update(header.encode())
        digest.update(content)
    return digest.hexdigest()


def _template_files(template_dir: Path) -> list[Path]:
    files = [template_dir / "copier.yml"]
    for root, dirs, names in os.walk(template_dir / "template"):
        dirs[:] = sorted(name for name in dirs if name != "__pycache__")
        files += [Path(root, name) for name in sorted(names) if not name.endswith(".pyc")]
    return files


def _marker_file(repo: Path) -> Path:
    return repo.with_name(f"{repo.name}.json")


def _read_markers(repo: Path) -> dict[str, str]:
    """The digest recorded for each tag; empty when the marker is missing or damaged."""
    try:
        markers = json.loads(_marker_file(repo).read_text())
    except (OSError, ValueError):
        return {}
    return markers if isinstance(markers, dict) else {}


def _write_markers(repo: Path, markers: dict[str, str]) -> None:
    marker = _marker_file(repo)
    handle, temporary = tempfile.mkstemp(dir=marker.parent, prefix=f".{marker.name}.")
    with os.fdopen(handle, "w") as stream:
        json.dump(markers, stream, indent=2, sort_keys=True)
    os.replace(temporary, marker)


def _registered_tag(repo: Path, names: tuple[str, ...], digest: str) -> str | None:
    """The first of `names` registered for `digest`, passing over names that hold other content;
    None when a free name comes first (the content is then registered under that name)."""
    for tag in names:
        if _is_registered(repo, tag, digest):
            return tag
        if not _has_tag(repo, tag):
            return None
    return None


def _is_registered(repo: Path, tag: str, digest: str) -> bool:
    return _read_markers(repo).get(tag) == digest and _has_tag(repo, tag)


def _has_tag(repo: Path, tag: str) -> bool:
    """Whether `tag` exists, read from the ref files so that no git process is needed."""
    git_dir = repo / ".git"
    if (git_dir / "refs" / "tags" / tag).is_file():
        return True
    try:
        packed = (git_dir / "packed-refs").read_text()
    except OSError:
        return False
    return any(line.endswith(f" refs/tags/{tag}") for line in packed.splitlines())


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file`, so that concurrent CLIs register one at a time."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def _commit_and_tag(repo: Path, template_dir: Path, names: tuple[str, ...]) -> str:
    """Commit the template and tag it with the first of `names` that is free or holds it."""
    if not (repo / ".git").is_dir():
        repo.mkdir(parents=True, exist_ok=True)
        _git(repo, "init", "--quiet")
    _replace_work_tree(repo, template_dir)
    # --force: the template's own .gitignore must not hide template files from the history.
    _git(repo, "add", "--all", "--force", ".")
    tree = _git(repo, "write-tree")
    head = git_or_none(repo, "rev-parse", "--verify", "--quiet", "HEAD^{tree}")
    for tag in names:
        tagged = git_or_none(repo, "rev-parse", "--verify", "--quiet", f"{tag}^{{tree}}")
        if tagged == tree:  # registered before, only the marker was lost
            if head is not None and head != tree:
                _git(repo, "reset", "--hard", "--quiet")  # keep the work tree equal to HEAD
            return tag
        if tagged is None:
            break
    else:  # every name holds other content: impossible unless the history was edited by hand
        raise GitError(f"the tags {', '.join(names)} all name other templates")
    # A version whose template is unchanged still gets a commit of its own: copier records
    # `git describe --tags` as `_commit`, which must name this version, not an older tag.
    if head != tree or _git(repo, "tag", "--points-at", "HEAD"):
        message = f"Template {tag}"
        _git(repo, "commit", "--quiet", "--no-verify", "--allow-empty", "--message", message)
    _git(repo, "tag", tag)  # never --force: a tag, once written, names its content for good
    return tag


def _replace_work_tree(repo: Path, template_dir: Path) -> None:
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    shutil.copy2(template_dir / "copier.yml", repo / "copier.yml")
    shutil.copytree(
        template_dir / "template", repo / "template", ignore=shutil.ignore_patterns(*_IGNORED)
    )


def _git(repo: Path, *args: str) -> str:
    return git(repo, *_GIT_CONFIG, *args)
