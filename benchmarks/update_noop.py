"""`trainerforge update PROJECT` on a project already at the installed template (target 3 s).

The project is made with `trainerforge new-project --defaults` in a temporary directory; every
update must leave it untouched (same commit, clean work tree), which is checked after each run.
The baseline is the fixed 3 s target: ratio = median(update) / 3 s. For scale, `trainerforge
--version` (interpreter and CLI start-up, the floor of any command) is timed in the same rounds.
Exits non-zero, saying so, when this trainerforge has no `update` command.

    python benchmarks/update_noop.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "update_noop"
TARGET_SECONDS = 3.0


def last_message(output: str) -> str:
    """The last line of a command's output that says something, without rich's box drawing."""
    lines = [line.strip(" \u2502\u256d\u256e\u2570\u256f\u2500") for line in output.splitlines()]
    return next((line for line in reversed(lines) if line), "no output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="Measured rounds (default 9).")
    parser.add_argument("--warmup", type=int, default=2, help="Unmeasured updates first.")
    options = parser.parse_args()

    with _bench.workspace(NAME, pycache_prefix=True) as (tmp, env):
        trainerforge = _bench.console_script("trainerforge")
        _, probe = _bench.run([trainerforge, "update", "--help"], env, check=False)
        if probe.returncode != 0:
            detail = last_message(probe.stderr)
            print(
                f"error: `{trainerforge} update` is not available in this trainerforge "
                f"(`update --help` exited with {probe.returncode}: {detail}); "
                "nothing to measure",
                file=sys.stderr,
            )
            sys.exit(2)

        project = tmp / "my-project"
        _bench.run([trainerforge, "new-project", str(project), "--defaults"], env)

        def git(*args: str) -> str:
            return _bench.run(["git", "-C", str(project), *args], env, capture=True)[1].stdout

        head = git("rev-parse", "HEAD").strip()

        def update() -> float:
            seconds, _ = _bench.run([trainerforge, "update", str(project)], env, capture=True)
            changed = git("status", "--porcelain")
            if git("rev-parse", "HEAD").strip() != head or changed:
                sys.exit(f"error: the update changed the current project:\n{changed}")
            return seconds

        def floor() -> float:
            return _bench.run([trainerforge, "--version"], env)[0]

        print(f"{trainerforge} update {project}")
        print(f"trainerforge imported: {_bench.trainerforge_in_use(env)}")
        print(_bench.load_note())
        for _ in range(options.warmup):
            update()
            floor()
        _, result = _bench.run([trainerforge, "update", str(project)], env, capture=True)
        print(f"its output: {result.stdout.strip() or result.stderr.strip()}")
        figures = _bench.interleaved(
            options.rounds, {"trainerforge update": update, "trainerforge --version": floor}
        )
    _bench.print_raw(figures)
    measured = _bench.median(figures["trainerforge update"])
    print(f"trainerforge update (no-op) {measured:.3f} s")
    _bench.final_line_against_seconds(NAME, measured, TARGET_SECONDS)


if __name__ == "__main__":
    main()
