"""The errors the domain raises for a person to read.

Every error carries the place it is about (a dotted request field such as ``patient.weight``, or a
settings file and key) and one sentence in the lab's words saying what is wrong and what to do.
Callers (the command line, the window) decide how to show them; nothing here touches a screen.
"""

from __future__ import annotations


class DoseprepError(Exception):
    """Base of every error the domain raises for a user to read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(DoseprepError):
    """A value in a preparation request is missing, malformed or out of range.

    ``field`` is the dotted path of the request field (``product.cd3_percent``), which the window
    uses to mark the widget and the command line prints.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidRequestError(InputError):
    """Several fields are wrong at once: ``errors`` holds each (the first per field, in the
    order of the request), and the exception reads as the first, so a caller that reports one
    error still reports the right one. ``parsed`` holds what did parse, by field."""

    def __init__(self, errors: tuple[InputError, ...], parsed: dict | None = None) -> None:
        super().__init__(errors[0].field, errors[0].message)
        self.errors = errors
        self.parsed = parsed or {}


class SettingsError(DoseprepError):
    """A protocol or lab settings file cannot be used as it is."""

    def __init__(self, source: str, key: str, message: str) -> None:
        super().__init__(message)
        self.source = source
        self.key = key

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"
