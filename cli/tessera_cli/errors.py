"""Exit codes that scripts can rely on, and the error that carries one."""

import enum

import click


class ExitCode(enum.IntEnum):
    OK = 0
    ERROR = 1  # anything else: the server failed, an answer made no sense
    USAGE = 2  # bad flags or arguments, or a request the server refused as invalid (400)
    UNAUTHENTICATED = 3  # not signed in, token expired or revoked, wrong credentials (401)
    FORBIDDEN = 4  # the access rules do not allow it (403)
    NOT_FOUND = 5  # no such project, workload, cluster... or not visible to the caller (404)
    CONFLICT = 6  # the name is taken, or the request clashes with the object's state (409)
    UNREACHABLE = 7  # the server did not answer


EXIT_CODES_HELP = """\b
Exit codes:
  0  success
  1  other error (the server failed)
  2  usage error, or input the server refused as invalid
  3  not signed in, token expired or revoked, wrong credentials
  4  forbidden by the access rules
  5  not found
  6  conflict (name taken, or not possible in the object's state)
  7  the server could not be reached
  With --wait, submit exits with the workload's own exit status."""


class CliError(click.ClickException):
    """A failure the user should read, with the exit code that says what kind it is."""

    def __init__(self, message: str, exit_code: int = ExitCode.ERROR) -> None:
        super().__init__(message)
        self.exit_code = int(exit_code)
