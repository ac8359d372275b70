"""`envcheck matrix`: the CI matrix of targets by runners that can work."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.app import app
from envcheck.cli.project_dir import PROJECT_HELP, project_root
from envcheck.errors import ExitCode


class MatrixFormat(str, Enum):
    table = "table"
    json = "json"
    github = "github"


@app.command()
def matrix(
    output_format: Annotated[MatrixFormat, typer.Option(
        "--format", help="table (default: targets by runners, and why a combination is left "
        "out), json, or github (the object for strategy.matrix with fromJSON: an include "
        "list of {target, runner, profile, image}).")] = MatrixFormat.table,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Every combination with its findings (same as --format json).")
    ] = False,
    check: Annotated[bool, typer.Option(
        "--check", help="Exit 3 when a target can run on no runner, or a combination of "
        "[[tool.envcheck.require]] cannot run.")] = False,
    project_dir: Annotated[Path | None, typer.Option(
        "--project", metavar="DIR", help=PROJECT_HELP)] = None,
) -> None:
    """Plan CI across GPUs: each target's lock judged on each runner of
    [tool.envcheck.runners] with the doctor's rules; only the combinations that can work
    are scheduled."""
    from envcheck.project import load_project
    from envcheck.services.matrix import (
        github_matrix,
        matrix_json,
        plan_matrix,
        read_locks,
        render_matrix_text,
    )

    project = load_project(project_root(project_dir))
    plan = plan_matrix(project, read_locks(project))
    fmt = MatrixFormat.json if json_output else output_format
    if fmt is MatrixFormat.github:
        # One line, for `echo "matrix=$(envcheck matrix --format github)" >> $GITHUB_OUTPUT`.
        sys.stdout.write(json.dumps(github_matrix(plan), separators=(",", ":")) + "\n")
        for cell in plan.excluded:
            reasons = "; ".join(f.summary for f in cell.errors)
            sys.stderr.write(f"left out: {cell.target} on {cell.runner}: {reasons}\n")
    elif fmt is MatrixFormat.json:
        sys.stdout.write(json.dumps(matrix_json(plan), indent=2) + "\n")
    else:
        sys.stdout.write(render_matrix_text(plan))
    if check and not plan.passed:
        for target in plan.stranded:
            sys.stderr.write(f"envcheck matrix --check: no runner can run target {target}\n")
        for unmet in plan.unmet:
            sys.stderr.write(f"envcheck matrix --check: {unmet.required.target} on "
                             f"{unmet.required.runner} is required and cannot run\n")
        raise typer.Exit(int(ExitCode.FINDINGS))
