"""`trainerforge --help` against `copier --help`: wall time of the console scripts (target <= 0.30).

Both are the console scripts installed next to this Python, started the same way, output
discarded. The ratio is median(trainerforge) / median(copier).

    python benchmarks/cli_startup.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys

sys.dont_write_bytecode = True  # no benchmarks/__pycache__ in the repository
import _bench  # noqa: E402

NAME = "cli_startup"
TARGET = 0.30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="Measured rounds (default 21).")
    parser.add_argument("--warmup", type=int, default=3, help="Unmeasured runs of each first.")
    options = parser.parse_args()

    with _bench.workspace(NAME, pycache_prefix=True) as (_, env):
        commands = {
            "trainerforge --help": [_bench.console_script("trainerforge"), "--help"],
            "copier --help": [_bench.console_script("copier"), "--help"],
        }
        for name, command in commands.items():
            print(f"{name}: {' '.join(command)}")
        print(f"trainerforge imported: {_bench.trainerforge_in_use(env)}")
        print(_bench.load_note())
        # The first runs compile bytecode into the temporary prefix: not measured.
        for _ in range(options.warmup):
            for command in commands.values():
                _bench.run(command, env)

        def measure(command: list[str]):
            return lambda: _bench.run(command, env)[0]

        figures = _bench.interleaved(
            options.rounds, {name: measure(command) for name, command in commands.items()}
        )
    _bench.print_raw(figures)
    ours, theirs = (_bench.median(values) for values in figures.values())
    ratio = ours / theirs
    print(f"trainerforge --help {ours * 1000:.0f} ms vs copier --help {theirs * 1000:.0f} ms")
    _bench.final_line(NAME, ratio, TARGET)


if __name__ == "__main__":
    main()
