"""The slow layer: generated projects type-check with mypy, as their own CI runs it.

mypy's cache of torch, transformers and MLflow takes a minute to build and seconds to reuse, so
the projects are checked one after the other with one cache, and a few projects that hold every
option value between them are checked, not the whole pairwise cover.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from matrix import AXES, as_flag, pairwise_cover, value_cover

from trainerforge.generate import new_project

pytestmark = pytest.mark.slow


VALUE_COVER = value_cover(list(pairwise_cover()))


def test_the_value_cover_holds_every_option_value():
    for axis in AXES:
        assert {answers[axis] for answers in VALUE_COVER} == {a[axis] for a in pairwise_cover()}


def test_generated_projects_type_check(tmp_path):
    # One after the other in one test: they share one mypy cache, built once.
    cache = tmp_path / "mypy-cache"
    failures = []
    for index, answers in enumerate(VALUE_COVER):
        project = tmp_path / f"project-{index}"
        data = [f"{key}={as_flag(value)}" for key, value in answers.items()]
        new_project(project, data=[*data, "package_name=typed"], defaults=True)
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--cache-dir", str(cache)],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            name = "-".join(answers[axis] for axis in AXES)
            failures.append(f"{name}:\n{result.stdout[-3000:]}{result.stderr[-1000:]}")
    assert not failures, "\n".join(failures)
