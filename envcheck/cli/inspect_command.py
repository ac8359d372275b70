"""`envcheck inspect`."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.app import app
from envcheck.cli.real_host import build_host
from envcheck.errors import UsageError


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
