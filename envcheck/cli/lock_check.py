"""`envcheck lock --check`, the CI gate, with no dependency on the Typer application.

It runs on every push, so it answers without building the CLI (whose option parsing
imports pydantic, about 100 ms on these machines): envcheck/cli/main.py calls it directly
for the plain forms, and the `lock` command calls it for everything else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from envcheck.cli.project_dir import project_root
from envcheck.errors import ExitCode


def report_lock_check(project_dir: Path | None, names: tuple[str, ...], *,
                      json_output: bool) -> int:
    """Print each target's lock state; the exit code is 3 when any is missing or stale."""
    from envcheck.project import load_project
    from envcheck.services.lock import check_locks

    project = load_project(project_root(project_dir))
    statuses = check_locks(project, names)
    if json_output:
        document = [{"target": s.target, "path": str(s.path), "state": s.state,
                     "detail": s.detail} for s in statuses]
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        for status in statuses:
            sys.stdout.write(f"{status.state:<7} {status.target}: {status.detail}\n")
    stale = any(status.state != "fresh" for status in statuses)
    return int(ExitCode.FINDINGS) if stale else int(ExitCode.OK)


def parse_fast_lock_check(argv: list[str]) -> tuple[Path | None, tuple[str, ...], bool] | None:
    """(project, targets, json) for `lock --check [TARGET...] [--project DIR] [--json]`;
    None for anything else, which the full CLI then parses (and explains when wrong)."""
    if not argv or argv[0] != "lock" or "--check" not in argv:
        return None
    project: Path | None = None
    names: list[str] = []
    json_output = False
    rest = iter(argv[1:])
    for word in rest:
        if word == "--check":
            continue
        if word == "--json":
            json_output = True
        elif word == "--project":
            value = next(rest, None)
            if value is None:
                return None
            project = Path(value)
        elif word.startswith("--project="):
            project = Path(word.split("=", 1)[1])
        elif word.startswith("-"):
            return None
        else:
            names.append(word)
    return project, tuple(names), json_output
