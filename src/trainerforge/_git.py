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
    env = {key: value for key, value in os.environ.items() if key not in _LEAKY_VARIABLES}
    try:
        result = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise GitError("git is not installed") from error
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()] or ["no output"]
        command = next((arg for arg in args if not arg.startswith("-") and "=" not in arg), "")
        raise GitError(f"git {command} failed: {lines[-1].strip()}")
    return result.stdout.strip()


def git_or_none(cwd: Path, *args: str) -> str | None:
    """Like `git`, but None when the command fails (e.g. a missing ref or config key)."""
    try:
        return git(cwd, *args)
    except GitError:
        return None
