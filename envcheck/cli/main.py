"""The `envcheck` command: the application, its commands, and the one error handler."""

from __future__ import annotations

import sys
import traceback

from envcheck.errors import EnvcheckError, ExitCode


def _debugging() -> bool:
    app_module = sys.modules.get("envcheck.cli.app")
    return bool(app_module and app_module.state["debug"])


def _dispatch(argv: list[str]) -> None:
    from envcheck.cli.lock_check import parse_fast_lock_check, report_lock_check

    fast = parse_fast_lock_check(argv)
    if fast is not None:
        project, names, json_output = fast
        sys.exit(report_lock_check(project, names, json_output=json_output))
    from envcheck.cli import (  # noqa: F401 - each module registers its commands
        compat_command,
        doctor_command,
        fit_command,
        guard_command,
        image_command,
        inspect_command,
        lock_command,
        matrix_command,
        parity_commands,
        project_commands,
        report_command,
        verify_command,
    )
    from envcheck.cli.app import app

    app(prog_name="envcheck")


def _tolerate_narrow_encodings() -> None:
    """An ASCII or Latin-1 terminal (PYTHONIOENCODING=ascii, LANG=en_US.ISO-8859-1) cannot
    print ✔ or °C: print a replacement rather than end in UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors == "strict":
            reconfigure(errors="replace")


def run() -> None:
    """Console-script entry point: one place maps errors to exit codes.

    Usage errors are click's (exit 2, message on stderr); envcheck's own errors carry their
    exit code; anything else is a bug and says so.
    """
    _tolerate_narrow_encodings()
    try:
        _dispatch(sys.argv[1:])
    except EnvcheckError as e:
        if _debugging():
            traceback.print_exc()
        sys.stderr.write(f"envcheck: error: {e}\n")
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if _debugging():
            traceback.print_exc()
        else:
            sys.stderr.write(
                f"envcheck: internal error: {type(e).__name__}: {e}\n"
                "  This is a bug in envcheck; rerun with --debug and report the traceback.\n")
        sys.exit(int(ExitCode.INTERNAL))


if __name__ == "__main__":
    run()
