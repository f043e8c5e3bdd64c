"""Shared helpers of the benchmark scripts: an isolated environment, interleaved timing, output.

Every script measures a target against its baseline in the same run, alternating the order of the
two in each round (A B, then B A, ...) so that drift on a shared machine hits both alike, reports
medians, prints every raw figure, and ends with the line `NAME ratio=X.XX`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = REPO_ROOT / "src"
BIN_DIR = Path(sys.executable).parent


def isolated_environment(name: str, pycache_prefix: bool = False) -> tuple[Path, dict[str, str]]:
    """A temporary directory and an environment that keep every write out of the repository.

    Sets the variables in this process too, so that libraries imported later see them. With
    `pycache_prefix`, the commands (not this process) write and read all their bytecode under the
    temporary directory, even where PYTHONDONTWRITEBYTECODE is set: trainerforge, imported from
    the repository (an editable install), then starts as warm as copier from site-packages,
    without a __pycache__ in src/. The first run of each command compiles everything: warm up.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"trainerforge-bench-{name}-"))
    settings = {
        "TRAINERFORGE_HOME": str(tmp / "trainerforge-home"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow.db'}",
        "MLFLOW_EXPERIMENT_NAME": "benchmark",
        "HF_HOME": str(tmp / "hf-home"),
        "HF_HUB_OFFLINE": "1",
        "MPLCONFIGDIR": str(tmp / "matplotlib"),
    }
    os.environ.update(settings)
    # MLflow settings the generated projects read or set: each run starts from their defaults.
    for variable in ("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", "MLFLOW_MAX_LOG_PARAMS"):
        os.environ.pop(variable, None)
    env = dict(os.environ)
    if pycache_prefix:
        # Bytecode is cached, as for any installed package, but under tmp, not in src/.
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    # The commands import trainerforge from this checkout, wherever an editable install of it
    # points (the console scripts are the installed ones).
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SOURCE_DIR), env.get("PYTHONPATH")]))
    return tmp, env


@contextlib.contextmanager
def workspace(
    name: str, pycache_prefix: bool = False, keep: bool = False
) -> Iterator[tuple[Path, dict[str, str]]]:
    """`isolated_environment`, its directory removed at the end unless `keep`."""
    tmp, env = isolated_environment(name, pycache_prefix=pycache_prefix)
    try:
        yield tmp, env
    finally:
        if keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (progress bars, log lines) to a file."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with path.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def console_script(name: str) -> str:
    """The console script installed next to this Python, else the first one on PATH.

    Next to sys.executable comes first: a version manager's shim on PATH (pyenv's is a shell
    script) would add its own start-up time to every measurement.
    """
    candidate = BIN_DIR / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        sys.exit(f"error: no `{name}` console script next to {sys.executable} or on PATH")
    return found


def trainerforge_in_use(env: Mapping[str, str]) -> str:
    """Which trainerforge the commands import, and its version, for the record."""
    code = "import trainerforge; print(trainerforge.__version__, trainerforge.__file__)"
    _, result = run([sys.executable, "-c", code], env, capture=True)
    return result.stdout.strip()


def run(
    command: Sequence[str],
    env: Mapping[str, str],
    cwd: Path | None = None,
    check: bool = True,
    capture: bool = False,
) -> tuple[float, subprocess.CompletedProcess]:
    """Run a command with no input; return its wall time in seconds and the finished process."""
    start = time.perf_counter()
    result = subprocess.run(
        list(command),
        env=dict(env),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if check and result.returncode != 0:
        sys.exit(
            f"error: `{' '.join(command)}` exited with {result.returncode}:\n"
            + result.stderr[-3000:]
        )
    return elapsed, result


def interleaved(
    rounds: int, measures: Mapping[str, Callable[[], float]], show: bool = True
) -> dict[str, list[float]]:
    """Call each measure once per round, reversing the order every other round."""
    names = list(measures)
    figures: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else reversed(names):
            figures[name].append(measures[name]())
        if show:
            done = ", ".join(f"{name} {figures[name][-1]:.3f}" for name in names)
            print(f"  round {index + 1}/{rounds}: {done}", flush=True)
    return figures


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def print_raw(figures: Mapping[str, Sequence[float]], unit: str = "s") -> None:
    """Every figure, then median, min and max per series."""
    width = max(len(name) for name in figures)
    for name, values in figures.items():
        raw = " ".join(f"{value:.3f}" for value in values)
        print(f"raw {name:<{width}} [{unit}]: {raw}")
    for name, values in figures.items():
        print(
            f"    {name:<{width}} median {median(values):.3f} {unit}"
            f"  (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
        )


def final_line(name: str, ratio: float, target: float | None, *, at_least: bool = False) -> None:
    """Whether the target (if any) is met, the machine's load, then the line `NAME ratio=X.XX`."""
    if target is None:
        print("target: none (reported only)")
    else:
        met = ratio >= target if at_least else ratio <= target
        verdict = "met" if met else "NOT met"
        print(f"target: ratio {'>=' if at_least else '<='} {target:.2f} ({verdict})")
    print(load_note())
    sys.stdout.flush()
    print(f"{name} ratio={ratio:.2f}", flush=True)


def final_line_against_seconds(name: str, measured: float, target_seconds: float) -> None:
    """For a fixed time target: the baseline line, then `final_line` with measured / target."""
    print(
        f"baseline: the fixed {target_seconds:.0f} s target, so ratio = {measured:.3f} / "
        f"{target_seconds:.0f}"
    )
    final_line(name, measured / target_seconds, 1.0)


def load_note() -> str:
    """The machine's load average, printed so that a noisy run can be recognised."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unknown"
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def add_template_arguments(parser: argparse.ArgumentParser, keep: bool = False) -> None:
    """`--template DIR` (what to render; an older template to compare), and `--keep`."""
    parser.add_argument(
        "--template",
        type=Path,
        default=REPO_ROOT,
        help="Template to render (default: this repository), e.g. an older one to compare.",
    )
    if keep:
        parser.add_argument("--keep", action="store_true", help="Keep the temporary directory.")


def render_default_project(
    destination: Path,
    env: Mapping[str, str],
    template: Path = REPO_ROOT,
    answers: Sequence[str] = (),
) -> Path:
    """`copier copy --defaults` of the template into `destination`; returns the project path."""
    flags = [item for answer in answers for item in ("-d", answer)]
    command = [console_script("copier"), "copy", "--defaults", "--quiet", *flags]
    run([*command, str(template), str(destination)], env)
    return destination
