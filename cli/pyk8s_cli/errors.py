"""Errors the CLI reports as one line on stderr, each with its own exit code."""

from typing import IO, Any

import click

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_FAILED = 5

EXIT_CODES = {
    EXIT_ERROR: "generic error (conflict, validation, server or network problem)",
    EXIT_USAGE: "usage error (bad option or argument)",
    EXIT_AUTH: "not signed in, wrong credentials, or the session expired",
    EXIT_NOT_FOUND: "not found or forbidden",
    EXIT_FAILED: "the cluster failed or did not reach the wanted state in time",
}


class CliError(click.ClickException):
    """An expected failure: printed as `Error: <message>` and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        from .terminal import Terminal

        Terminal().error(self.format_message())


class ApiError(CliError):
    """A problem+json answer from the gateway."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail, exit_code=exit_code_for(status))
        self.status = status
        self.code = code
        self.detail = detail


def exit_code_for(status: int) -> int:
    if status == 401:
        return EXIT_AUTH
    if status in (403, 404, 410):
        return EXIT_NOT_FOUND
    return EXIT_ERROR


class NotSignedIn(CliError):
    def __init__(self, message: str = "not signed in: run `pyk8s login`") -> None:
        super().__init__(message, exit_code=EXIT_AUTH)
