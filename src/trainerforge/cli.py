"""The `trainerforge` command line: commands and options only; the work lives in other modules.

copier is imported inside the commands, so that `--help` and `--version` stay fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from trainerforge import __version__
from trainerforge._output import colour_wanted
from trainerforge.errors import TrainerforgeError


class _Group(TyperGroup):
    """Turns every command's known errors into one line on stderr and exit status 1.

    The line is red on a terminal, and plain in a pipe, a log or with NO_COLOR set.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TrainerforgeError as error:
            colour = colour_wanted(sys.stderr)
            typer.secho(f"Error: {error}", fg=typer.colors.RED, err=True, color=colour)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=_Group,
    name="trainerforge",
    help="Generate ready-to-train PyTorch / Hugging Face Trainer projects.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rendering it with rich costs more than all of the rest of `--help`.
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"trainerforge {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Generate ready-to-train PyTorch / Hugging Face Trainer projects."""


def _data_option(help_text: str) -> Any:
    """The repeatable `--data/-d KEY=VALUE` option of both commands."""
    return typer.Option("--data", "-d", metavar="KEY=VALUE", help=help_text)


@app.command()
def new_project(
    dest: Annotated[
        Path, typer.Argument(metavar="DEST", help="Directory to create the project in.")
    ],
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Accept every default; ask no questions.")
    ] = False,
    data: Annotated[
        list[str] | None,
        _data_option("Answer a question, e.g. -d task=binary (repeatable; wins over --data-file)."),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option("--data-file", metavar="FILE.yml", help="YAML mapping of question: answer."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", metavar="SRC", help="Copier template (path or git URL) to use instead."
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option("--vcs-ref", metavar="REF", help="Git ref of --template to render."),
    ] = None,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would be written; write nothing.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Render into a non-empty DEST, replacing files.")
    ] = False,
) -> None:
    """Create a new training project in DEST."""
    from trainerforge.generate import new_project as generate

    generate(
        dest,
        data=data or [],
        data_file=data_file,
        defaults=defaults,
        template=template,
        vcs_ref=vcs_ref,
        pretend=pretend,
        overwrite=overwrite,
    )


@app.command()
def update(
    project_dir: Annotated[
        Path,
        typer.Argument(
            metavar="PROJECT_DIR", help="The project to update (default: the current directory)."
        ),
    ] = Path("."),
    data: Annotated[
        list[str] | None,
        _data_option("Change an answer, e.g. -d scheduler=cosine (repeatable); others are kept."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            metavar="SRC",
            help="Git repository (path, URL or bundle) to take the project's template version "
            "from, when this machine's template history lacks it.",
        ),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            metavar="COMMIT",
            help="The template history's commit the project was made from, where update "
            "cannot tell (it says so).",
        ),
    ] = None,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would change; write nothing.")
    ] = False,
) -> None:
    """Update a project to this trainerforge's template version, keeping your changes.

    Nothing is committed: review the changes with git diff, then commit them.

    Conflicts are left as <<<<<<< markers and listed, and the exit status is 1.
    """
    from trainerforge.update import update_project

    update_project(project_dir, data=data or [], template=template, base=base, pretend=pretend)
