"""Render copier.yml's option matrix: every project must come out complete, clean and importable."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import tomllib
import yaml
from copier import run_copy
from matrix import AXES, FREE_TEXT, allowed, choices, option_matrix, with_heads

from trainerforge.errors import InvalidAnswerError, one_line
from trainerforge.generate import new_project
from trainerforge.template_source import installed_template

CHUNKS = 8  # renders are spread over xdist workers chunk by chunk
# Jinja syntax left in a rendered file; "${{" is a GitHub Actions expression, not Jinja.
UNRENDERED = re.compile(r"(?<!\$)\{\{|\{%|\{#")
PROJECT_DIR = re.compile(r"(project-\d{3})/")
# Public standard-library modules that some supported Pythons lack: first and last minor version
# (None: no bound). copier.yml's list holds them as well as every version's modules.
STDLIB_OF_SOME_VERSIONS = {
    "binhex": (10, 10),
    **dict.fromkeys(["asynchat", "asyncore", "distutils", "imp", "smtpd"], (10, 11)),
    **dict.fromkeys([
        "aifc", "audioop", "cgi", "cgitb", "chunk", "crypt", "imghdr", "lib2to3", "mailcap",
        "msilib", "nis", "nntplib", "ossaudiodev", "pipes", "sndhdr", "spwd", "sunau",
        "telnetlib", "uu", "xdrlib",
    ], (10, 12)),
    **dict.fromkeys(["annotationlib", "compression"], (14, None)),
}  # fmt: skip
MATRIX = [
    {**answers, "project_name": f"project-{index:03d}", "package_name": f"pkg{index:03d}"}
    for index, answers in enumerate(with_heads(list(option_matrix())))
]


@pytest.fixture(scope="module", autouse=True)
def fast_copier() -> Iterator[None]:
    """Skip work that copier repeats on every render but that cannot change here (~2x faster).

    copier builds a fresh Jinja Environment per render, so Jinja's caches never hit; the code a
    template compiles to depends only on its source and the environment's syntax, which key the
    cache below (filters and globals are looked up when the code runs). copier also asks git
    about each rendered file's executable bit, which matters only inside a git repository: these
    destinations are not.
    """
    compile_uncached = jinja2.Environment.compile
    cache: dict[tuple, Any] = {}

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        key = (source, name, filename, raw, defer_init, type(self), self.lexer, *self.extensions)
        if key not in cache:
            cache[key] = compile_uncached(self, source, name, filename, raw, defer_init)
        return cache[key]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jinja2.Environment, "compile", compile_cached)
        # A private name: if copier renames it, renders only get slower.
        patch.setattr("copier._main.is_git_available", lambda: False, raising=False)
        yield


@pytest.fixture(scope="module")
def template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plain-directory copy of the template, so copier renders it without cloning git."""
    copy = tmp_path_factory.mktemp("template")
    shutil.copy2(installed_template() / "copier.yml", copy / "copier.yml")
    shutil.copytree(installed_template() / "template", copy / "template")
    return copy


def test_matrix_covers_every_axis():
    for axis in AXES:
        assert {answers[axis] for answers in MATRIX} == {value for value, _ in choices(axis)}


def render_problems(project: Path, answers: dict[str, str]) -> list[str]:
    """What is wrong in one rendered project, apart from formatting and lint."""
    problems = []
    for path in sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts):
        relative = path.relative_to(project)
        if path.name.endswith(".jinja"):
            problems.append(f"{relative}: template suffix left")
        text = path.read_text(encoding="utf-8")
        if UNRENDERED.search(text):
            problems.append(f"{relative}: unrendered Jinja")
        if path.suffix == ".py":
            try:
                ast.parse(text, filename=str(relative))
            except SyntaxError as error:
                problems.append(f"{relative}:{error.lineno}: {error.msg}")
    problems += [f"src/<package>: import cycle {cycle}" for cycle in import_cycles(project)]
    answers_file = project / ".copier-answers.yml"
    if not answers_file.is_file():
        return [*problems, ".copier-answers.yml: missing"]
    recorded = yaml.safe_load(answers_file.read_text())
    problems += [
        f".copier-answers.yml: {key}={recorded.get(key)!r}, expected {value!r}"
        for key, value in answers.items()
        if recorded.get(key) != value
    ]
    return problems


def import_cycles(project: Path) -> list[str]:
    """The cycles among the package's modules, each as `a -> b -> a`.

    Every import counts, inside functions and under TYPE_CHECKING too: a module whose
    imports come back to it has no one job.
    """
    (package,) = (path for path in (project / "src").iterdir() if path.is_dir())
    graph: dict[str, set[str]] = {}
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [alias.name for alias in node.names]
                imported.update(name.split(".")[0] for name in names)
        graph[path.stem] = imported & {p.stem for p in package.glob("*.py")}
    cycles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        for target in sorted(graph[module]):
            if target in path:
                cycle = [*path[path.index(target) :], target]
                if frozenset(cycle) not in done:
                    done.add(frozenset(cycle))
                    cycles.append(" -> ".join(cycle))
            elif target not in finished:
                visit(target, [*path, target])
        finished.add(module)

    finished: set[str] = set()
    for module in sorted(graph):
        if module not in finished:
            visit(module, [module])
    return cycles


def import_problems(project: Path, answers: dict[str, str]) -> list[str]:
    """Import the project's entry points, and through them every module it has.

    Package names differ between combinations, so all of them import into this one process:
    torch and transformers are imported once, not once per project.
    """
    package = answers["package_name"]
    sys.path.insert(0, str(project / "src"))
    try:
        for module in ("train", "predict"):
            importlib.import_module(f"{package}.{module}")
    except Exception as error:  # any failure to import is the finding
        return [f"src/{package}: import fails: {one_line(error)}"]
    finally:
        sys.path.remove(str(project / "src"))
    return []


def ruff_problems(*args: str, cwd: Path) -> list[str]:
    """ruff's complaints about the projects under `cwd`, one per line."""
    # Run outside this repository, so that each project is checked under its own config.
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--no-cache", "."],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if result.returncode == 0:
        return []
    lines = [line for line in result.stdout.splitlines() if PROJECT_DIR.search(line)]
    return lines or [f"ruff {' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-2000:]}"]


def summarize(problems: list[str], combos: dict[str, dict[str, str]]) -> str:
    """One line per distinct problem, with how many combinations have it and an example."""
    grouped = defaultdict(list)
    for problem in problems:
        project = PROJECT_DIR.search(problem)[1]
        generic = re.sub(r"pkg\d{3}", "<package>", PROJECT_DIR.sub("", problem))
        grouped[generic].append("/".join(combos[project][axis] for axis in AXES))
    return "\n".join(
        f"{problem}  [{len(where)} combos, e.g. {where[0]}]" for problem, where in grouped.items()
    )


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_rendered_projects_are_complete_and_clean(template_dir, tmp_path, chunk):
    combos = {answers["project_name"]: answers for answers in MATRIX[chunk::CHUNKS]}
    problems = []
    for name, answers in combos.items():
        project = tmp_path / name
        run_copy(str(template_dir), project, data=answers, defaults=True, quiet=True)
        problems += [f"{name}/{problem}" for problem in render_problems(project, answers)]
        problems += [f"{name}/{problem}" for problem in import_problems(project, answers)]
    problems += ruff_problems("format", "--check", cwd=tmp_path)
    problems += ruff_problems("check", "--output-format", "concise", cwd=tmp_path)
    problems += zizmor_problems(cwd=tmp_path)
    assert not problems, "\n" + summarize(problems, combos)


def zizmor_problems(cwd: Path) -> list[str]:
    """zizmor's findings on the workflows of the projects under `cwd`, as the projects' CI runs
    it (`zizmor --offline .github/workflows`), one per line."""
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or "zizmor"
    problems = []
    for project in sorted(path for path in cwd.iterdir() if PROJECT_DIR.search(f"{path.name}/")):
        result = subprocess.run(
            [zizmor, "--offline", "--format", "plain", ".github/workflows"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0 or "No findings to report" not in result.stdout:
            findings = re.findall(
                r"^(?:error|warning|help|info)\[[^\]]+\]: .*$", result.stdout, re.M
            )
            for finding in findings or [f"exit {result.returncode}: {result.stderr[-300:]}"]:
                problems.append(f"{project.name}/.github/workflows: zizmor: {finding}")
    return problems


def nonsense_answers() -> list[Any]:
    """Answers the template must refuse, each with the question the refusal must name."""
    losses = [
        pytest.param({"task": task, "loss": loss}, "loss", id=f"task={task}-loss={loss}")
        for task, _ in choices("task")
        for loss, validator in choices("loss")
        if not allowed(validator, {"task": task})
    ]
    names = [
        pytest.param({"package_name": name}, "package_name", id=f"package_name={name!r}")
        for name in ("torch", "class", "json", "", "1abc", "My-Package")
    ]
    return [
        *losses,
        *names,
        pytest.param({"project_name": ""}, "project_name", id="project_name=''"),
        pytest.param({"num_labels": "1"}, "num_labels", id="num_labels=1"),
        *(
            pytest.param({"task": "multitask", "heads": heads}, "heads", id=f"heads={heads}")
            for heads in (
                "{a: {task: regression}}",  # one head
                "[a, b]",
                "{a: {task: regression}, b: {task: ranking}}",
                "{a: {task: regression}, b: {task: multiclass}}",  # no num_labels
                "{a: {task: regression}, b: {task: binary, num_labels: 2}}",
                "{a: {task: regression, loss: bce}, b: {task: binary}}",
                "{a: {task: regression, weight: 0}, b: {task: binary}}",
                "{a: {task: regression, size: 3}, b: {task: binary}}",
                "{A: {task: regression}, b: {task: binary}}",
                "{x1: {task: regression}, b: {task: binary}}",
            )
        ),
    ]


def stdlib_names_refused() -> list[str]:
    """The standard-library names that copier.yml's package_name validator refuses, as listed."""
    copier_yml = yaml.safe_load((installed_template() / "copier.yml").read_text(encoding="utf-8"))
    (names,) = re.findall(r"set stdlib = \[(.*?)\]", copier_yml["package_name"]["validator"], re.S)
    return re.findall(r"'([^']*)'", names)


def test_the_stdlib_names_are_every_public_module_of_each_supported_python():
    listed = stdlib_names_refused()
    assert listed == sorted(set(listed)), "keep the list sorted, each name once"
    # Names with capitals (cProfile) fail the identifier rule before the list is read.
    here = {name for name in sys.stdlib_module_names if not name.startswith("_") and name.islower()}
    assert sorted(here - set(listed)) == [], "add these to copier.yml's stdlib list"
    others = set(listed) - here
    assert sorted(others - STDLIB_OF_SOME_VERSIONS.keys()) == [], "not a stdlib module anywhere"
    # The notes on the other versions hold for this one.
    minor = sys.version_info.minor
    for name, (first, last) in STDLIB_OF_SOME_VERSIONS.items():
        assert name in listed
        has_it = (first is None or first <= minor) and (last is None or minor <= last)
        assert (name in here) == has_it, f"{name} on Python 3.{minor}"


@pytest.mark.parametrize(("answers", "field"), nonsense_answers())
def test_nonsense_answers_are_refused_cleanly(template_dir, tmp_path, answers, field):
    data = [f"{key}={value}" for key, value in answers.items()]
    dest = tmp_path / "project"
    with pytest.raises(InvalidAnswerError) as refused:
        new_project(dest, data=data, defaults=True, template=str(template_dir))
    assert f"'{field}'" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_free_text_is_data_never_code(template_dir, tmp_path):
    project = tmp_path / "project"
    run_copy(str(template_dir), project, data=FREE_TEXT, defaults=True, quiet=True)

    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # The summary in the package metadata is one line; everything else is kept as written.
    assert metadata["description"] == FREE_TEXT["description"].replace("\n", " ")
    assert metadata["authors"][0]["name"] == FREE_TEXT["author_name"]
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert FREE_TEXT["description"] in readme
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {key: recorded[key] for key in FREE_TEXT} == FREE_TEXT
    for path in project.rglob("*.y*ml"):
        yaml.safe_load(path.read_text(encoding="utf-8"))

    tracking = next(project.glob("src/*/tracking.py")).read_text(encoding="utf-8")
    experiment = next(
        node.value
        for node in ast.parse(tracking).body
        if isinstance(node, ast.Assign) and node.targets[0].id == "EXPERIMENT_NAME"
    )
    assert ast.literal_eval(experiment) == FREE_TEXT["mlflow_experiment"]
    assert ruff_problems("format", "--check", cwd=project) == []
    assert ruff_problems("check", cwd=project) == []
