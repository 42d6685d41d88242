"""One error style for every ``faramesh-cloud`` command.

A command that cannot do what was asked prints one line on stderr, ``error: <what went
wrong, and what to do>``, and exits with a code that says whose move it is:

* **2**, the input was refused: a usage error (click's own, with the usage line above it),
  a value that is not allowed (a stack name, slug, key, duration or setting), an
  organisation, stack, member or key that does not exist, a name already taken, a file that
  cannot be read as asked. Nothing was changed.
* **1**, the command ran and found a problem (``verify`` findings, entries ``import-wal``
  parked, a corrupt WAL), or could not reach what it needs (the database, the log, a port,
  another import of the same file running). Run it again once that is fixed.
* **0**, done.

:class:`CliGroup` (the ``faramesh-cloud`` group) formats click's own errors the same way;
commands raise :class:`Refused` (2) or :class:`Failed` (1).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import IO, Any, NoReturn

import click

PREFIX = "error: "


class Refused(click.ClickException):
    """The input was refused (exit code 2)."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        show(self, file)


class Failed(click.ClickException):
    """The command ran and found a problem, or cannot reach what it needs (exit code 1)."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        show(self, file)


def show(exc: click.ClickException, file: IO[Any] | None = None) -> None:
    """``exc`` in the one style: click's usage line first for a usage error. A group run
    without a command is not an error to word: its help is shown, as click does."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show(file)
        return
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        ctx = exc.ctx
        hint = ""
        if ctx.command.get_help_option(ctx) is not None:
            hint = f"Try '{ctx.command_path} {max(ctx.command.get_help_option_names(ctx), key=len)}' for help.\n"
        click.echo(f"{ctx.get_usage()}\n{hint}", file=file, err=file is None)
    click.echo(PREFIX + exc.format_message(), file=file, err=file is None)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` in the one style and exit with ``code``."""
    click.echo(PREFIX + message, err=True)
    sys.exit(code)


class CliGroup(click.Group):
    """A group whose errors, its own and its commands', all read ``error: ...``."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,  # type: ignore[override]
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            show(exc)
            sys.exit(exc.exit_code)
        except click.Abort:
            fail("aborted; nothing was changed")
        sys.exit(result if isinstance(result, int) else 0)
