"""The `envcheck` command. Thin: parse options, build a request, call a service, render.

The only layer that reads os.environ and the working directory, prints, or exits. Heavy
modules (rich's renderers, docker, pynvml) are imported inside the commands so that
`envcheck --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from envcheck import __version__
from envcheck.errors import EnvcheckError, ExitCode, UsageError
from envcheck.host import Host

app = typer.Typer(
    name="envcheck",
    help="Will this training job run, here and there, the same way? "
    "Inspect this machine's NVIDIA driver, GPUs, CUDA stack, Python and torch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: rich's help renderer alone costs ~60 ms on every `--help`.
    rich_markup_mode=None,
)

_state = {"debug": False}


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
    _state["debug"] = debug


def build_host() -> Host:
    """The real outside world: this machine, its environment, its clock."""
    from importlib.resources import files

    from envcheck.adapters.filesystem import RootedFileSystem
    from envcheck.adapters.nvml import PynvmlNvml
    from envcheck.adapters.runner import SubprocessRunner

    env = dict(os.environ)
    cache_root = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Host(
        env=env,
        cwd=str(Path.cwd()),
        fs=RootedFileSystem(Path("/")),
        runner=SubprocessRunner(),
        nvml=PynvmlNvml(),
        clock=lambda: datetime.now(timezone.utc),
        cache_dir=None if env.get("ENVCHECK_NO_CACHE") else Path(cache_root) / "envcheck",
        own_python=sys.executable,
        probe_script=Path(str(files("envcheck.probe") / "envprobe.py")),
    )


@app.command()
def inspect(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the Snapshot (envcheck.snapshot/1) as JSON.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Also write the Snapshot JSON to FILE (atomically).",
                     metavar="FILE"),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option("--python", help="The interpreter to inspect (default: the active "
                     "environment: VIRTUAL_ENV, CONDA_PREFIX, then python3 on PATH).",
                     metavar="PATH"),
    ] = None,
    deep: Annotated[
        bool,
        typer.Option("--deep", help="Import torch (in a subprocess, time-limited, cached) to "
                     "measure cuda_available, the real arch list and the CUDA error text."),
    ] = False,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.5, metavar="SECONDS",
                     help="No single outside call (nvidia-smi, nvcc, the torch import) may "
                     "take longer than this; a call that does is reported as an error."),
    ] = None,
) -> None:
    """Describe this machine: driver, GPUs, CUDA toolkits and libraries, Python, torch."""
    from envcheck.adapters.filesystem import write_text_atomic
    from envcheck.services.inspect import InspectRequest, inspect_environment
    from envcheck.snapshot import snapshot_to_json

    if output is not None and output.is_dir():
        raise UsageError(f"-o {output} is a folder; give a file name such as {output}/env.json")
    host = build_host()
    if timeout is not None:
        host = replace(host, limits=host.limits.capped(timeout))
    request = InspectRequest(python=python, deep=deep)
    if json_output:
        snapshot = inspect_environment(host, request)
    else:
        from envcheck.cli.progress import ProbeProgress

        with ProbeProgress() as reporter:
            snapshot = inspect_environment(host, request, reporter)
    text = snapshot_to_json(snapshot)
    if output is not None:
        try:
            write_text_atomic(output, text)
        except OSError as e:
            raise UsageError(f"cannot write {output}: {e.strerror or e}") from e
    if json_output:
        sys.stdout.write(text)
    else:
        from envcheck.cli.render_inspect import render_snapshot

        render_snapshot(snapshot)
        if output is not None:
            typer.echo(f"Snapshot written to {output}")


def run() -> None:
    """Console-script entry point: one place maps errors to exit codes.

    Usage errors are click's (exit 2, message on stderr); envcheck's own errors carry their
    exit code; anything else is a bug and says so.
    """
    try:
        app(prog_name="envcheck")
    except EnvcheckError as e:
        if _state["debug"]:
            traceback.print_exc()
        typer.echo(f"envcheck: error: {e}", err=True)
        sys.exit(int(e.exit_code))
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as e:
        if _state["debug"]:
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
