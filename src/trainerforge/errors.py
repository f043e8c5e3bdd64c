"""User-facing errors: the CLI prints their message on one line and exits with status 1."""


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
