"""A generated default project's test suite: wall time against a 45 s target (ratio = time / 45).

Renders the default project with copier into a temporary directory (`git init`, as a user's
project would have), then, in each round:

- imports: `python -c "import <pkg>.train, <pkg>.tracking, mlflow"`, what every test process
  and every training run pays before doing anything;
- collection: `python -m pytest --collect-only -q`: interpreter and pytest start-up, plugins,
  conftest and test modules (the imports above included);
- suite: `python -m pytest --durations=10`, the project's own command (its pyproject deselects
  the slow tests).

The tests themselves take about suite - collection. All commands run in the project with
PYTHONPATH=src. The baseline is the fixed 45 s target, not a measured command: ratio = median
suite wall time / 45 s.

    python benchmarks/generated_tests.py [--rounds N]
"""

from __future__ import annotations

import argparse
import re
import sys

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "generated_tests"
TARGET_SECONDS = 45.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="Measured rounds (default 3).")
    _bench.add_template_arguments(parser)
    options = parser.parse_args()

    with _bench.workspace(NAME) as (tmp, env):
        project = _bench.render_default_project(tmp / "project", env, template=options.template)
        _bench.run(["git", "init", "--quiet"], env, cwd=project)
        answers = (project / ".copier-answers.yml").read_text()
        package = re.search(r"^package_name: *(\S+)", answers, re.MULTILINE).group(1)
        env["PYTHONPATH"] = "src"
        python = sys.executable
        imports = f"import {package}.train, {package}.tracking, mlflow"
        commands = {
            "imports": [python, "-c", imports],
            "collection": [python, "-m", "pytest", "--collect-only", "-q"],
            "suite": [python, "-m", "pytest", "--durations=10"],
        }
        print(f"project: {project} (rendered from {options.template})")
        for name, command in commands.items():
            print(f"{name}: {' '.join(command[1:])}")
        print(_bench.load_note())
        outputs: dict[str, str] = {}

        def measure(name: str):
            def timed() -> float:
                seconds, result = _bench.run(commands[name], env, cwd=project, capture=True)
                outputs[name] = result.stdout
                return seconds

            return timed

        figures = _bench.interleaved(
            options.rounds, {name: measure(name) for name in commands}, show=True
        )
    print("last suite run, pytest's own report:")
    lines = outputs["suite"].splitlines()
    start = next((i for i, line in enumerate(lines) if "slowest" in line), len(lines) - 1)
    print("\n".join(lines[start:]))
    _bench.print_raw(figures)
    suite = _bench.median(figures["suite"])
    collection = _bench.median(figures["collection"])
    imports_s = _bench.median(figures["imports"])
    reported = re.search(r" in ([0-9.]+)s", lines[-1] if lines else "")
    print(
        f"suite {suite:.1f} s = collection {collection:.1f} s (of which the imports alone "
        f"{imports_s:.1f} s) + tests {suite - collection:.1f} s (medians)"
    )
    if reported:
        print(
            f"pytest's own figure for the last run: {float(reported.group(1)):.1f} s (it starts "
            "its clock after start-up and the conftest imports)"
        )
    _bench.final_line_against_seconds(NAME, suite, TARGET_SECONDS)


if __name__ == "__main__":
    main()
