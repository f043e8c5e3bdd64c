"""What trainerforge releases before immutable template tags did, to test that update repairs it.

They committed the installed template to the history as `Template v{version}` and moved the tag
`v{version}` onto that commit whenever the template changed under an unchanged version; a new
project was rendered from the tag and committed once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = "src/trainerforge/__init__.py"
IDENTITY = ("-c", "user.name=trainerforge", "-c", "user.email=trainerforge@localhost")
HISTORY_UNDER_HOME = "~/.local/share/trainerforge/templates"


def git(cwd: Path, *args: str) -> str:
    result = subprocess.run(["git", *IDENTITY, *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def register(history: Path, template_dir: Path, version: str) -> str:
    """Commit `template_dir` to `history` and point `v{version}` at it, moved if need be."""
    tag = f"v{version}"
    if not (history / ".git").is_dir():
        history.mkdir(parents=True, exist_ok=True)
        git(history, "init", "--quiet", "--initial-branch", "main")
    for entry in history.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copy2(template_dir / "copier.yml", history / "copier.yml")
    shutil.copytree(template_dir / "template", history / "template")
    git(history, "add", "--all", "--force", ".")
    git(history, "commit", "--quiet", "--allow-empty", "--message", f"Template {tag}")
    git(history, "tag", "--force", tag)
    return git(history, "rev-parse", "HEAD")


def new_project(history: Path, dest: Path, tag: str, home: Path) -> None:
    """Render `tag` with every default into `dest`, recorded as those releases recorded it."""
    from copier import run_copy

    run_copy(
        str(history),
        dest,
        data={"project_name": dest.name},
        vcs_ref=tag,
        defaults=True,
        quiet=True,
        unsafe=False,
    )
    answers = dest / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(str(history), HISTORY_UNDER_HOME))
    assert history == home / HISTORY_UNDER_HOME.removeprefix("~/")
    git(dest, "init", "--quiet")
    git(dest, "add", "--all")
    message = f"Initial commit from the trainerforge {tag} template"
    git(dest, "commit", "--quiet", "--message", message)


def declared(init_text: str) -> tuple[str, str | None]:
    """The version and template digest an `__init__.py` declares (None before digests were)."""
    version = re.search(r'^__version__ = "([^"]+)"$', init_text, re.MULTILINE)
    digest = re.search(r'^TEMPLATE_DIGEST = "([0-9a-f]*)"$', init_text, re.MULTILINE)
    assert version, init_text
    return version[1], digest[1] if digest else None


def declarations() -> list[tuple[str, str, str | None]]:
    """`(commit, version, digest)` for each commit of this repository that changed INIT,
    newest first; empty outside a git checkout."""
    if not (ROOT / ".git").exists():
        return []
    commits = subprocess.run(
        ["git", "log", "--format=%H", "--", INIT], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    found = []
    for commit in commits:
        shown = subprocess.run(
            ["git", "show", f"{commit}:{INIT}"], cwd=ROOT, capture_output=True, text=True
        )
        found.append((commit, *declared(shown.stdout)))
    return found
