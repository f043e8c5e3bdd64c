"""`trainerforge new-project X --defaults` against `copier copy --defaults REPO X` (target <= 1.3).

trainerforge's time includes everything it does: checking the answers, registering the template in
its history (a no-op once registered: the first, cold run is reported but not measured), rendering
through copier, `git init` and the first commit, and moving the project into place. The baseline
renders the same template, straight from this repository, into an empty directory. Each run
writes a fresh project; output is discarded. The ratio is median(trainerforge) / median(copier).

    python benchmarks/generation.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "generation"
TARGET = 1.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="Measured rounds (default 9).")
    parser.add_argument("--warmup", type=int, default=2, help="Unmeasured runs of each first.")
    options = parser.parse_args()

    with _bench.workspace(NAME, pycache_prefix=True) as (tmp, env):
        trainerforge = _bench.console_script("trainerforge")
        copier = _bench.console_script("copier")
        count = {"n": 0}

        def destination():
            count["n"] += 1
            return tmp / "projects" / f"p{count['n']}" / "my-project"

        def ours() -> float:
            project = destination()
            seconds, _ = _bench.run([trainerforge, "new-project", str(project), "--defaults"], env)
            head = _bench.run(["git", "-C", str(project), "rev-parse", "HEAD"], env, check=False)
            if head[1].returncode != 0:
                sys.exit(f"error: trainerforge made no git commit in {project}")
            return seconds

        def baseline() -> float:
            project = destination()
            project.mkdir(parents=True)
            command = [copier, "copy", "--defaults", str(_bench.REPO_ROOT), str(project)]
            seconds, _ = _bench.run(command, env)
            if not (project / ".copier-answers.yml").is_file():
                sys.exit(f"error: copier rendered nothing into {project}")
            return seconds

        print(f"trainerforge: {trainerforge} new-project DEST --defaults")
        print(f"copier:       {copier} copy --defaults {_bench.REPO_ROOT} DEST")
        print(f"trainerforge imported: {_bench.trainerforge_in_use(env)}")
        print(_bench.load_note())
        cold = ours()  # registers the template in TRAINERFORGE_HOME
        print(f"first trainerforge run (registers the template; not measured): {cold:.3f} s")
        for _ in range(options.warmup):
            ours()
            baseline()
        figures = _bench.interleaved(
            options.rounds, {"trainerforge new-project": ours, "copier copy": baseline}
        )
    _bench.print_raw(figures)
    ours_median, baseline_median = (_bench.median(values) for values in figures.values())
    ratio = ours_median / baseline_median
    print(
        f"trainerforge new-project {ours_median:.3f} s vs copier copy {baseline_median:.3f} s "
        f"({ours_median - baseline_median:+.3f} s)"
    )
    _bench.final_line(NAME, ratio, TARGET)


if __name__ == "__main__":
    main()
