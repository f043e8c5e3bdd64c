"""What MLflow tracking adds to a generated project's full default run: wall time, tracked / not.

Renders the default project (`tracking=mlflow`) and the same answers with `tracking=none` (and
another project name, so that both import in one process) into a temporary directory, imports
both, and alternates, in one process, the project's own run:
`<package>.train.main([CONFIG, "--output_dir", DIR])`, where CONFIG is `configs/default.yaml`
cut to a fixed length: 10 epochs of the 8,000 synthetic examples at batch 64, with no early
stopping (the default stops when the validation loss stalls, which would time a different
number of epochs), an evaluation and a checkpoint at the end of every epoch,
then the test split, the results, the figures and (tracked only) the MLflow run with its
metrics, parameters, figures and model. Each run gets a fresh output directory.

Both projects run the same code but for tracking, from the same seed; the script checks that
every run, tracked or not, ends with the same test metrics. The ratio is median(tracked
seconds) / median(untracked seconds): 1.00 would be tracking for free. It has no target: it
shows what tracking costs, a checkpoint's wait for MLflow's background writer included (compare
an older template with `--template`).

torch runs on one thread (--threads), as in train_throughput.py, on both sides.

    python benchmarks/tracking_overhead.py [--rounds N] [--threads N] [--template DIR]
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import shutil
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "tracking_overhead"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="Measured rounds (default 5).")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads, both sides (0: torch's default)."
    )
    _bench.add_template_arguments(parser, keep=True)
    options = parser.parse_args()

    with _bench.workspace(NAME, keep=options.keep) as (tmp, env):
        projects = {
            "tracked": _bench.render_default_project(
                tmp / "tracked", env, template=options.template
            ),
            "untracked": _bench.render_default_project(
                tmp / "untracked",
                env,
                template=options.template,
                answers=["project_name=untracked-project", "tracking=none"],
            ),
        }
        print(f"projects: {', '.join(map(str, projects.values()))} (from {options.template})")
        cwd = Path.cwd()
        os.chdir(tmp)  # anything a run writes relative to the working directory lands here
        try:
            with _bench.output_to(tmp / "output.log"):
                figures, details = run_rounds(tmp, projects, options)
        finally:
            os.chdir(cwd)
    report(figures, details)


def fixed_length_config(project: Path) -> Path:
    """configs/default.yaml at 10 epochs of batch 64, without early stopping."""
    import yaml

    config = yaml.safe_load((project / "configs" / "default.yaml").read_text())
    for key in ("early_stopping_patience", "load_best_model_at_end", "metric_for_best_model"):
        config.pop(key, None)
    config |= {"num_train_epochs": 10, "per_device_train_batch_size": 64}
    path = project / "configs" / "benchmark.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def run_rounds(tmp: Path, projects: dict[str, Path], options: argparse.Namespace):
    import torch
    import yaml

    if options.threads:
        torch.set_num_threads(options.threads)
    mains, results = {}, {name: [] for name in projects}
    for name, project in projects.items():
        answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
        sys.path.insert(0, str(project / "src"))
        train = importlib.import_module(f"{answers['package_name']}.train")
        mains[name] = (train.main, str(fixed_length_config(project)))
    numbers = itertools.count()

    def measure(name: str):
        def timed() -> float:
            main, config = mains[name]
            output_dir = tmp / "outputs" / f"{name}-{next(numbers)}"
            start = time.perf_counter()
            metrics = main([config, "--output_dir", str(output_dir)])
            elapsed = time.perf_counter() - start
            results[name].append(
                {
                    key: value
                    for key, value in metrics.items()
                    if key.startswith("test_") and not key.endswith(("_runtime", "_per_second"))
                }
            )
            shutil.rmtree(output_dir)
            return elapsed

        return timed

    measures = {name: measure(name) for name in mains}
    for timed in measures.values():  # warm-up, not measured: first-call costs
        timed()
    figures = _bench.interleaved(options.rounds, measures, show=False)
    accuracy = {name: runs[-1].get("test_accuracy") for name, runs in results.items()}
    first = results["tracked"][0]
    same = all(metrics == first for runs in results.values() for metrics in runs)
    return figures, {"threads": torch.get_num_threads(), "same": same, "accuracy": accuracy}


def report(figures, details) -> None:
    print(f"torch threads: {details['threads']}")
    print(
        "same work: every run, tracked or not, has the same test metrics: "
        f"{details['same']} (test accuracy {details['accuracy']})"
    )
    print("wall time per run:")
    _bench.print_raw(figures)
    ratio = _bench.median(figures["tracked"]) / _bench.median(figures["untracked"])
    if not details["same"]:
        print("warning: the two projects did not compute the same thing; the ratio is not fair")
    _bench.final_line(NAME, ratio, None)


if __name__ == "__main__":
    main()
