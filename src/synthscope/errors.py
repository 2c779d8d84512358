"""Exceptions that map to the CLI's exit codes (2: usage or input error, 3: internal error)."""


class SynthscopeError(Exception):
    """Base class of the errors synthscope reports to users in one line."""

    exit_code = 3


class InputError(SynthscopeError):
    """Bad input: a missing file or column, an unreadable or truncated file, an unknown format."""

    exit_code = 2


class UsageError(SynthscopeError):
    """Options that do not fit together."""

    exit_code = 2


class Terminated(BaseException):
    """Raised in the main process when it receives SIGTERM, so that temporary and spill files are
    removed on the way out (a BaseException, like KeyboardInterrupt: no `except Exception` stops it)."""
