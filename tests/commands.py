"""Running commands, building trainerforge's wheel and making virtual environments to install it,
and reading the commands a README shows."""

from __future__ import annotations

import re
import shlex
import site
import subprocess
import sys
from pathlib import Path


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run a command; fail the test with its output unless it succeeds; return its stdout."""
    result = subprocess.run(
        [str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def build_wheel(source: Path, dist: Path) -> Path:
    """Build trainerforge's wheel from `source` into the new directory `dist`."""
    dist.mkdir(parents=True, exist_ok=True)
    # --no-isolation: build with the installed hatchling, so no network is needed.
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, source]
    run(*build, cwd=dist)
    (built,) = dist.glob("trainerforge-*.whl")
    return built


def make_venv(path: Path) -> Path:
    """Create a virtual environment that sees this interpreter's packages; return its python.

    `venv --system-site-packages` would show the base interpreter's packages, and from inside a
    virtual environment those are not this interpreter's (no hatchling, no typer). A .pth file
    adds this interpreter's site directories, with their own .pth files (editable installs),
    behind the new environment's, so that what is installed into it comes first. It has no pip
    of its own: this interpreter's serves, and installs into it, without the network.
    """
    run(sys.executable, "-m", "venv", "--without-pip", path, cwd=path.parent)
    python = path / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=path)
    directories = site.getsitepackages()
    if site.ENABLE_USER_SITE:
        directories.append(site.getusersitepackages())
    lines = [f"import site; site.addsitedir({d!r})" for d in directories if Path(d).is_dir()]
    # .pth files run in name order: this one last, after the paths of its own editable installs.
    (Path(purelib.strip()) / "zzz_outer_site_packages.pth").write_text("\n".join(lines) + "\n")
    return python


def shell_blocks(markdown: str) -> list[list[list[str]]]:
    """The commands of each ```bash block of a README, as words, in order.

    Lines continued with a backslash are joined, comments dropped, and `a && b` is two commands.
    """
    blocks = []
    for block in re.findall(r"^```bash\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL):
        commands: list[list[str]] = []
        for line in block.replace("\\\n", " ").splitlines():
            command: list[str] = []
            for word in [*shlex.split(line, comments=True), "&&"]:
                if word != "&&":
                    command.append(word)
                elif command:
                    commands.append(command)
                    command = []
        blocks.append(commands)
    return blocks
