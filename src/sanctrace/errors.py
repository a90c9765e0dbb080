"""What can go wrong, by meaning. Every interface maps these once: the API to an HTTP status,
the CLI to an exit code (docs/cli.md).

| error | meaning | HTTP | exit |
|---|---|---|---|
| ``BadRequest`` (also plain ``SanctraceError``) | the input is malformed or invalid | 422 | 2 |
| ``NotFound`` | the subject asked about is not known | 404 | 2 |
| ``Conflict`` | the request clashes with the stored state | 409 | 2 |
| ``Unavailable`` | nothing to answer with: no lists loaded, database unreachable | 503 | 3 |

The message is one line that names the file, line or field concerned.
"""

from __future__ import annotations

__all__ = [
    "BadRequest",
    "Conflict",
    "NotFound",
    "SanctraceError",
    "Unavailable",
    "http_status",
    "exit_code",
]


class SanctraceError(Exception):
    """A user-facing failure; without a more precise kind, a bad request.

    ``problems`` optionally lists the single findings behind the one-line message (bad records
    of a batch, say); the API returns them beside ``detail``."""

    http_status = 422
    exit_code = 2

    def __init__(self, message: str = "", *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems or [])


class BadRequest(SanctraceError):
    """The input is malformed or names something invalid."""


class NotFound(SanctraceError):
    """The transaction, address, snapshot or record asked about is not known."""

    http_status = 404


class Conflict(SanctraceError):
    """The request clashes with what is stored (a concurrent change, a duplicate)."""

    http_status = 409


class Unavailable(SanctraceError):
    """Nothing to answer with: no lists loaded, no chain data, the database unreachable."""

    http_status = 503
    exit_code = 3


def http_status(error: SanctraceError) -> int:
    """The HTTP status an API answers ``error`` with."""
    return error.http_status


def exit_code(error: SanctraceError) -> int:
    """The exit code a command ends with on ``error``."""
    return error.exit_code
