"""A thin wrapper around the git command line, shared by the template history and new projects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Set by git hooks and some IDEs; they would point our commands at somebody else's repository.
_LEAKY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX")


class GitError(Exception):
    """A git command failed, or git is not installed; the message is one line."""


def git(cwd: Path, *args: str) -> str:
    """Run `git *args` in `cwd` and return its stripped stdout."""
    return git_bytes(cwd, *args).decode("utf-8", errors="surrogateescape").strip()


def git_or_none(cwd: Path, *args: str) -> str | None:
    """Like `git`, but None when the command fails (e.g. a missing ref or config key)."""
    try:
        return git(cwd, *args)
    except GitError:
        return None


def git_bytes(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run `git *args` in `cwd`, feeding it `stdin`, and return its stdout unchanged."""
    result = _run(cwd, args, stdin)
    if result.returncode != 0:
        raise GitError(_failure(args, result.stderr))
    return result.stdout


def merge_file(
    cwd: Path, ours: Path, base: Path, theirs: Path, labels: tuple[str, str, str]
) -> tuple[bytes, bool]:
    """3-way merge three files with `git merge-file`: the result, and whether it has conflicts."""
    label_args = [arg for label in labels for arg in ("-L", label)]
    args = ("merge-file", "--stdout", *label_args, "--", str(ours), str(base), str(theirs))
    result = _run(cwd, args, None)
    if result.returncode < 0 or result.returncode > 127:  # the count of conflicts, or an error
        raise GitError(_failure(args, result.stderr))
    return result.stdout, result.returncode > 0


def _run(cwd: Path, args: tuple[str, ...], stdin: bytes | None) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in _LEAKY_VARIABLES}
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=env, input=stdin, capture_output=True, check=False
        )
    except FileNotFoundError as error:
        raise GitError("git is not installed") from error


def _failure(args: tuple[str, ...], stderr: bytes) -> str:
    text = stderr.decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()] or ["no output"]
    command = next((arg for arg in args if not arg.startswith("-") and "=" not in arg), "")
    return f"git {command} failed: {lines[-1].strip()}"
