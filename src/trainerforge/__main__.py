"""`python -m trainerforge` runs the command line."""

from trainerforge.cli import app

if __name__ == "__main__":
    app(prog_name="trainerforge")
