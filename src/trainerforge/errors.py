"""User-facing errors: the CLI prints their message on one line and exits with status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class TrainerforgeError(Exception):
    """Base class of the errors a user can fix; the message says how."""


class InvalidAnswerError(TrainerforgeError):
    """An answer (from --data, --data-file or the template's validators) is not acceptable."""


class DestinationError(TrainerforgeError):
    """The destination directory cannot receive a new project."""


class TemplateSourceError(TrainerforgeError):
    """The template cannot be found, registered or rendered."""


class ProjectError(TrainerforgeError):
    """The directory is not a project that `update` can work on, or not in a state it can."""


class TemplateVersionError(TemplateSourceError):
    """The project's template version cannot be updated from (unknown here, or newer)."""


class UpdateConflictError(TrainerforgeError):
    """The update finished but left conflict markers for the user to resolve."""


def one_line(error: BaseException) -> str:
    """An exception's message with its whitespace, newlines included, collapsed."""
    return " ".join(str(error).split()) or type(error).__name__


@contextmanager
def copier_errors(context: str) -> Iterator[None]:
    """Turn what copier raises into trainerforge errors; `context` starts a failed command's line.

    Copier is imported here, not at the top, so that importing this module stays cheap.
    """
    from copier.errors import CopierAnswersInterrupt, CopierError, InvalidTypeError
    from plumbum import ProcessExecutionError

    try:
        yield
    except (ValueError, InvalidTypeError) as error:  # a refused answer
        raise InvalidAnswerError(one_line(error)) from None
    except CopierAnswersInterrupt:  # Ctrl-C at a question: an interrupt, not a template error
        raise KeyboardInterrupt from None
    except CopierError as error:
        raise TemplateSourceError(one_line(error)) from None
    except ProcessExecutionError as error:  # git, run by copier
        stderr = [line for line in str(error.stderr).splitlines() if line.strip()]
        detail = stderr[-1].strip() if stderr else one_line(error)
        raise TemplateSourceError(f"{context}: {detail}") from None
