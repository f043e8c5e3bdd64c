"""The built wheel carries the template: an installed CLI renders without the source tree."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
import yaml
from commands import build_wheel, make_venv, run

from trainerforge import __version__

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(ROOT, tmp_path_factory.mktemp("dist"))


def test_wheel_ships_the_whole_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {"trainerforge/_template/copier.yml"} | {
        f"trainerforge/_template/{path.relative_to(ROOT).as_posix()}"
        for path in (ROOT / "template").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert expected <= names


def test_installed_wheel_renders_a_project(wheel, tmp_path):
    venv = tmp_path / "venv"
    # This interpreter's packages provide copier and typer offline; trainerforge is the wheel.
    python = make_venv(venv)
    run(
        python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", wheel, cwd=tmp_path
    )
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}

    where = "import trainerforge.template_source as t; print(t.__file__, t.installed_template())"
    module, template = run(python, "-c", where, cwd=tmp_path, env=env).split()
    assert Path(module).is_relative_to(venv)
    assert Path(template).is_relative_to(venv)

    run(venv / "bin" / "trainerforge", "new-project", "proj", "--defaults", cwd=tmp_path, env=env)
    answers = yaml.safe_load((tmp_path / "proj" / ".copier-answers.yml").read_text())
    assert answers["_commit"] == f"v{__version__}"
    assert (tmp_path / "proj" / "src" / answers["package_name"]).is_dir()
