"""The `envcheck` command: the application, its commands, and the one error handler."""

from __future__ import annotations

import sys
import traceback

import typer

from envcheck.cli import compat_command, doctor_command, inspect_command  # noqa: F401
from envcheck.cli.app import app, state
from envcheck.errors import EnvcheckError, ExitCode


def run() -> None:
    """Console-script entry point: one place maps errors to exit codes.

    Usage errors are click's (exit 2, message on stderr); envcheck's own errors carry their
    exit code; anything else is a bug and says so.
    """
    try:
        app(prog_name="envcheck")
    except EnvcheckError as e:
        if state["debug"]:
            traceback.print_exc()
        typer.echo(f"envcheck: error: {e}", err=True)
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if state["debug"]:
            traceback.print_exc()
        else:
            typer.echo(
                f"envcheck: internal error: {type(e).__name__}: {e}\n"
                "  This is a bug in envcheck; rerun with --debug and report the traceback.",
                err=True,
            )
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":
    run()
