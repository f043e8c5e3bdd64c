"""The slow layer: generated projects type-check with mypy, as their own CI runs it.

mypy's cache of torch, transformers and MLflow takes a minute to build and seconds to reuse, so
each test worker shares one cache between its projects, and a few projects that hold every
option value between them are checked, not the whole pairwise cover.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from matrix import AXES, as_flag, pairwise_cover

from trainerforge.generate import new_project

pytestmark = pytest.mark.slow


def value_cover() -> list[dict[str, str]]:
    """Projects of the pairwise cover, the default first, in which every option value appears."""
    cover = list(pairwise_cover())
    missing = {(axis, answers[axis]) for answers in cover for axis in AXES}
    chosen = []
    while missing:
        best = max(cover, key=lambda answers: len({(a, answers[a]) for a in AXES} & missing))
        chosen.append(best)
        missing -= {(axis, best[axis]) for axis in AXES}
    return chosen


VALUE_COVER = value_cover()


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mypy cache per test worker (workers never write it at the same time)."""
    return tmp_path_factory.mktemp("mypy-cache")


def test_the_value_cover_holds_every_option_value():
    for axis in AXES:
        assert {answers[axis] for answers in VALUE_COVER} == {a[axis] for a in pairwise_cover()}


@pytest.mark.parametrize(
    "answers",
    VALUE_COVER,
    ids=["-".join(answers[axis] for axis in AXES) for answers in VALUE_COVER],
)
def test_generated_project_type_checks(tmp_path, mypy_cache, answers):
    project = tmp_path / "project"
    data = [f"{key}={as_flag(value)}" for key, value in answers.items()]
    new_project(project, data=[*data, "package_name=typed"], defaults=True)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(mypy_cache)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
