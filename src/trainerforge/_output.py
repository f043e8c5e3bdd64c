"""Colour only where it reads well: on a terminal, and never when NO_COLOR is set.

Standard library only, so that the CLI can import it and `--help` stays fast.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator
from typing import Any, TextIO

# CSI sequences (colours, bold, cursor movement) and the OSC hyperlinks of some terminals.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def colour_wanted(stream: TextIO) -> bool:
    """Whether to colour what goes to `stream`: a terminal, and no NO_COLOR (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class _Plain:
    """A text stream that drops ANSI escape codes on their way to `stream`."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(strip_ansi(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextlib.contextmanager
def plain_stderr() -> Iterator[None]:
    """Strip the colour codes others write to stderr (copier colours always) unless wanted."""
    if colour_wanted(sys.stderr):
        yield
        return
    original = sys.stderr
    sys.stderr = _Plain(original)  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stderr = original
