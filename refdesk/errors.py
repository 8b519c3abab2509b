"""One base exception for the package; the command line turns any of them into `Error: ...`.

Messages are written for the person at the keyboard: they name the place (a file, a key,
`Providers!F12`) and the fix. They never carry a client's health information.
"""

from __future__ import annotations


class RefdeskError(Exception):
    """Anything refdesk reports to the user instead of a traceback."""

    exit_code = 2

    def __init__(self, message: str, *, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details or [])

    def lines(self) -> list[str]:
        return [self.message, *self.details]


class ConfigError(RefdeskError):
    """config.toml is missing, not valid TOML, or holds an unknown key or a wrong type."""


class SourceError(RefdeskError):
    """The workbook cannot be opened or read: missing, not a workbook, encrypted, damaged."""


class HeaderError(SourceError):
    """The workbook opened but its sheets or header rows do not match the schema."""


class InitError(RefdeskError):
    """A new workbook cannot be created where asked."""


class OutputError(RefdeskError):
    """A file refdesk makes (a document, a report, a copy) cannot be written where asked."""


class WriteError(RefdeskError):
    """A change to the workbook cannot be made safely; nothing was written."""


class WorkbookBusyError(WriteError):
    """The workbook is open in Excel or LibreOffice, or changed since refdesk read it."""

    exit_code = 1
