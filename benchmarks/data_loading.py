"""A generated project's data loading against `pandas.read_csv` plus one `torch.tensor`.

Writes a CSV of 1,000,000 rows x 50 numeric feature columns and an integer `label` column
(--rows to change it), plus small validation and test files, then measures, each in a fresh
process, the time from after the imports to the first training batch, and the process's peak
resident memory:

- baseline: `pandas.read_csv(train.csv)`, the features and labels as one float32 and one int64
  tensor each (`torch.tensor`), and the first 64 rows as a batch;
- project, cold: the default project's `build_datasets` with train, validation and test files
  and an empty cache (the CSV is parsed into Arrow's cache), then the first batch of a
  `DataLoader` over the train split with the project's collate_fn;
- project, cached: the same, with the cache the cold run left.

Ratios are median(project) / median(baseline), for time and for peak RSS. Targets: cached time
<= 0.5 and peak RSS (cached) <= 0.5; cold figures are reported only. The last line is the
cached time ratio.

    python benchmarks/data_loading.py [--rows N] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "data_loading"
TIME_TARGET = 0.5
MEMORY_TARGET = 0.5
FEATURES = 50

BASELINE = """
import json, resource, sys, time
import pandas, torch
start = time.perf_counter()
frame = pandas.read_csv(sys.argv[1])
features = torch.tensor(frame.drop(columns="label").to_numpy(), dtype=torch.float32)
labels = torch.tensor(frame["label"].to_numpy())
batch = {"features": features[:64], "labels": labels[:64]}
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mib": peak, "rows": len(features)}))
"""

PROJECT = """
import json, resource, sys, time
from torch.utils.data import DataLoader
from {package}.config import DataArguments
from {package}.data import collate_fn
from {package}.splits import build_datasets
train, validation, test, cache = sys.argv[1:5]
start = time.perf_counter()
arguments = DataArguments(
    train_file=train, validation_file=validation, test_file=test, cache_dir=cache
)
data = build_datasets(arguments)
loader = DataLoader(data.splits["train"], batch_size=64, shuffle=True, collate_fn=collate_fn)
batch = next(iter(loader))
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = len(data.splits["train"])
print(json.dumps({{"seconds": seconds, "peak_mib": peak, "rows": rows}}))
"""


def write_csv(path: Path, rows: int, seed: int) -> None:
    """Numeric features and a 4-class label, written in chunks (the writer is not measured)."""
    import numpy as np
    import pandas

    generator = np.random.default_rng(seed)
    columns = [*(f"x{i}" for i in range(FEATURES)), "label"]
    with path.open("w") as out:
        for start in range(0, rows, 100_000):
            size = min(100_000, rows - start)
            frame = pandas.DataFrame(
                generator.standard_normal((size, FEATURES)), columns=columns[:-1]
            )
            frame["label"] = generator.integers(0, 4, size)
            frame.to_csv(out, header=start == 0, index=False, float_format="%.6f")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="Training rows (1,000,000).")
    parser.add_argument("--rounds", type=int, default=3, help="Measured rounds (default 3).")
    _bench.add_template_arguments(parser, keep=True)
    options = parser.parse_args()

    with _bench.workspace(NAME, keep=options.keep) as (tmp, env):
        project = _bench.render_default_project(tmp / "project", env, options.template)
        package = next((project / "src").iterdir()).name
        env = env | {"PYTHONPATH": str(project / "src"), "OMP_NUM_THREADS": "1"}
        files = {"train": tmp / "train.csv", "val": tmp / "val.csv", "test": tmp / "test.csv"}
        print(f"writing {options.rows:,} rows x {FEATURES} features to {files['train']} ...")
        for seed, (split, path) in enumerate(files.items()):
            write_csv(path, options.rows if split == "train" else 1000, seed)
        megabytes = files["train"].stat().st_size / 2**20
        print(f"train.csv: {megabytes:.0f} MiB")
        cache = tmp / "cache"
        project_code = PROJECT.format(package=package)

        def measured(code: str, *args: str) -> dict:
            _, result = _bench.run([sys.executable, "-c", code, *args], env, capture=True)
            return json.loads(result.stdout.strip().splitlines()[-1])

        figures: dict[str, dict[str, list[float]]] = {
            side: {"seconds": [], "peak_mib": []} for side in ("baseline", "cold", "cached")
        }

        def record(side: str, result: dict) -> float:
            expected = options.rows
            if result["rows"] != expected:
                sys.exit(f"error: {side} loaded {result['rows']} rows, not {expected}")
            for key in ("seconds", "peak_mib"):
                figures[side][key].append(result[key])
            return result["seconds"]

        def baseline() -> float:
            return record("baseline", measured(BASELINE, str(files["train"])))

        def cold_then_cached() -> float:
            shutil.rmtree(cache, ignore_errors=True)
            args = [str(path) for path in files.values()] + [str(cache)]
            record("cold", measured(project_code, *args))
            return record("cached", measured(project_code, *args))

        print(_bench.load_note())
        _bench.interleaved(options.rounds, {"baseline": baseline, "project": cold_then_cached})
        for key, unit in (("seconds", "s"), ("peak_mib", "MiB")):
            print(f"{key}:")
            _bench.print_raw({side: values[key] for side, values in figures.items()}, unit)

        def ratio(side: str, key: str) -> float:
            base = _bench.median(figures["baseline"][key])
            return _bench.median(figures[side][key]) / base

        for side in ("cold", "cached"):
            print(
                f"{side}: time to the first batch {ratio(side, 'seconds'):.2f}x the baseline's, "
                f"peak RSS {ratio(side, 'peak_mib'):.2f}x"
            )
        memory = ratio("cached", "peak_mib")
        verdict = "met" if memory <= MEMORY_TARGET else "NOT met"
        print(f"target: cached peak RSS ratio <= {MEMORY_TARGET:.2f} ({verdict})")
        _bench.final_line(NAME, ratio("cached", "seconds"), TIME_TARGET)


if __name__ == "__main__":
    main()
