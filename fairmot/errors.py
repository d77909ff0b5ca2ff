"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class FairMOTError(Exception):
    """A mistake the user can fix (bad input file, bad parameter, missing data).

    The message names the file, line or key at fault and what to do about it.
    """


class ConfigError(FairMOTError):
    """A params file that does not match the schema."""


class DataError(FairMOTError):
    """A dataset, label or result file that is missing or malformed."""


class OutputError(FairMOTError):
    """An output location that cannot or must not be written (user files, the project, read-only, full)."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
