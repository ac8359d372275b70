"""The Typer application and the options every command shares.

The CLI is the only layer that reads os.environ and the working directory, prints, or
exits. The root is a LazyGroup: a command's module is imported only when that command runs,
and heavy modules (rich's renderers, docker, pynvml) are imported inside the commands.
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from envcheck import __version__
from envcheck.cli.command_table import APP_HELP
from envcheck.cli.lazy_group import LazyGroup

app = typer.Typer(
    name="envcheck",
    cls=LazyGroup,
    help=APP_HELP,
    no_args_is_help=True,
    # typer's own --install-completion / --show-completion (bash, zsh, fish, PowerShell).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help text: rich's help renderer alone costs ~60 ms on every `--help`.
    rich_markup_mode=None,
)

state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"envcheck {__version__}")
        raise typer.Exit(0)


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    state["debug"] = debug


def read_text_input(path: str, what: str) -> str:
    """A file the user named (or `-` for standard input), as text; bytes that are not UTF-8
    become U+FFFD whatever the locale (a strict one made stdin raise), and no more than
    MAX_INPUT_BYTES is read (/dev/zero never ends)."""
    from envcheck.adapters.filesystem import read_input_bytes, read_input_text
    from envcheck.errors import UsageError

    try:
        if path == "-":
            return read_input_bytes(sys.stdin.buffer).decode("utf-8", errors="replace")
        return read_input_text(Path(path))
    except FileNotFoundError as e:
        raise UsageError(f"{what} {path} does not exist") from e
    except IsADirectoryError as e:
        raise UsageError(f"{what} {path} is a folder, not a file") from e
    except OSError as e:
        raise UsageError(f"cannot read {what} {path}: {e.strerror or e}") from e


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
