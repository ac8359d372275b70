"""The `envcheck` command: the application, its commands, and the one error handler."""

from __future__ import annotations

import os
import sys

from envcheck.errors import EnvcheckError, ExitCode


def _debugging() -> bool:
    app_module = sys.modules.get("envcheck.cli.app")
    return bool(app_module and app_module.state["debug"])


def _answer_without_typer(argv: list[str]) -> int | None:
    """The exit code for the calls answered from static text (`envcheck`, `--help`,
    `--version`, the plain `lock --check` gate); None for everything else.

    These run on every CI push and every first try, so they skip typer and the command
    modules entirely (issue 14: `envcheck --help` under 100 ms)."""
    if "_ENVCHECK_COMPLETE" in os.environ:
        return None  # the shell asks for completions with no arguments: typer answers
    if argv in ([], ["--help"]):
        from envcheck.cli.command_table import root_help

        # No arguments is a usage mistake (exit 2, help on stderr), as click does it.
        (sys.stdout if argv else sys.stderr).write(root_help())
        return int(ExitCode.OK) if argv else int(ExitCode.USAGE)
    if argv == ["--version"]:
        from envcheck import __version__

        sys.stdout.write(f"envcheck {__version__}\n")
        return int(ExitCode.OK)
    from envcheck.cli.lock_check import parse_fast_lock_check, report_lock_check

    fast = parse_fast_lock_check(argv)
    if fast is not None:
        project, names, json_output = fast
        return report_lock_check(project, names, json_output=json_output)
    return None


def _usage_error_line(error: Exception) -> str:
    """click's usage error (usage block, blank line, message) as one line with the way out."""
    from typer._click.exceptions import UsageError

    assert isinstance(error, UsageError)
    command_path = error.ctx.command_path if error.ctx is not None else "envcheck"
    message = " ".join(error.format_message().split())
    if not message.endswith((".", "?", "!")):
        message += "."
    return f"envcheck: error: {message} See `{command_path} --help`.\n"


def _os_error_line(error: OSError) -> str:
    where = f" {error.filename}" if error.filename else ""
    reason = error.strerror or str(error)
    return (f"envcheck: error: cannot use{where}: {reason}\n"
            "  check that the path exists and is writable by this user, and the disk has room\n"
            if where else f"envcheck: error: {reason}\n")


def _dispatch(argv: list[str]) -> int:
    fast = _answer_without_typer(argv)
    if fast is not None:
        return fast
    from typer import Abort
    from typer._click.exceptions import NoArgsIsHelpError, UsageError

    from envcheck.cli.app import app

    try:
        # standalone_mode=False: errors come back here, to be printed in one line.
        code = app(args=argv, prog_name="envcheck", standalone_mode=False)
    except NoArgsIsHelpError as e:
        # `envcheck image` alone: that group's help, as a usage mistake.
        e.show()
        return int(ExitCode.USAGE)
    except UsageError as e:
        sys.stderr.write(_usage_error_line(e))
        return int(ExitCode.USAGE)
    except Abort:
        sys.stderr.write("\n")
        return 130
    return code if isinstance(code, int) else int(ExitCode.OK)


def _print_traceback() -> None:
    import traceback  # not at the top: it costs ~20 ms of every `envcheck --help`

    traceback.print_exc()


def _tolerate_narrow_encodings() -> None:
    """An ASCII or Latin-1 terminal (PYTHONIOENCODING=ascii, LANG=en_US.ISO-8859-1) cannot
    print ✔ or °C: print a replacement rather than end in UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="replace")


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point: one place maps errors to exit codes.

    Usage errors exit 2 with one line on stderr; envcheck's own errors carry their exit
    code; anything else is a bug and says so.
    """
    _tolerate_narrow_encodings()
    try:
        sys.exit(_dispatch(sys.argv[1:] if argv is None else argv))
    except EnvcheckError as e:
        if _debugging():
            _print_traceback()
        sys.stderr.write(f"envcheck: error: {e}\n")
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as e:
        if _debugging():
            _print_traceback()
        sys.stderr.write(_os_error_line(e))
        # A path the user named that cannot be read or written is theirs to fix (2); a
        # socket or a pipe that failed is the outside world's (4). Neither is a bug.
        sys.exit(int(ExitCode.USAGE if e.filename else ExitCode.ENGINE))
    except Exception as e:
        if _debugging():
            _print_traceback()
        else:
            sys.stderr.write(
                f"envcheck: internal error: {type(e).__name__}: {e}\n"
                "  This is a bug in envcheck; rerun with --debug and report the traceback.\n")
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":
    run()
