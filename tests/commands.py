"""Running commands and building trainerforge's wheel, for the tests that install it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; fail the test with its output unless it succeeds; return its stdout."""
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def build_wheel(source: Path, dist: Path) -> Path:
    """Build trainerforge's wheel from `source` into the new directory `dist`."""
    dist.mkdir(parents=True, exist_ok=True)
    # --no-isolation: build with the installed hatchling, so no network is needed.
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source]
    run(*build, cwd=dist)
    (built,) = dist.glob("trainerforge-*.whl")
    return built
