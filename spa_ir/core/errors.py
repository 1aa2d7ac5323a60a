"""User-facing errors: one line that names the place (file, op, location), never a traceback."""

from __future__ import annotations

from xdsl.utils.exceptions import ParseError


class SpaError(Exception):
    """A user-facing error: one line, naming the place (file, op, location)."""

    def __init__(self, message: str, *, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def first_line(e: BaseException, *, named: bool = False) -> str:
    """The first line of an exception's message, for a one-line SpaError; `named` puts the exception's type
    in front (`ModuleNotFoundError: No module named 'x'`) where the message alone would not say what failed.
    An empty message gives the type's name."""
    lines = str(e).strip().splitlines()
    if not lines:
        return type(e).__name__
    return f"{type(e).__name__}: {lines[0]}" if named else lines[0]


def located_parse_error(e: ParseError) -> SpaError:
    """xDSL's parse error (a message with a caret drawing) as one line at `file:line:col`."""
    loc = e.span.get_location()
    message = e.msg.splitlines()[0] if e.msg else "parse error"
    return SpaError(message, where=f"{loc.file}:{loc.line}:{loc.col}")
