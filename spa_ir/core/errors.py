"""User-facing errors: one line that names the place (file, op, location), never a traceback."""

from __future__ import annotations


class SpaError(Exception):
    """A user-facing error: one line, naming the place (file, op, location)."""

    def __init__(self, message: str, *, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)
