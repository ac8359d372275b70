"""`envcheck verify`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from envcheck.cli.app import app, read_text_input
from envcheck.cli.real_host import build_host
from envcheck.errors import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from envcheck.drift import Drift
    from envcheck.services.verify import VerifyResult

VERIFY_SCHEMA = "envcheck.verify/1"
_FILES_SHOWN = 5


@app.command()
def verify(
    lock: Annotated[str, typer.Option(
        "--lock", metavar="FILE", help="The lockfile the environment should match "
        "(lockfiles/<target>.txt, written by `envcheck lock`).")],
    python: Annotated[str | None, typer.Option(
        "--python", metavar="PATH", help="The interpreter whose environment to verify "
        "(default: the active environment: VIRTUAL_ENV, CONDA_PREFIX, then python3 on PATH).")
    ] = None,
    quick: Annotated[bool, typer.Option(
        "--quick", help="Versions only: do not re-hash installed files against their RECORD "
        "(a CUDA torch install is gigabytes).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the drift as JSON.")
    ] = False,
    timeout: Annotated[float, typer.Option(
        "--timeout", min=1.0, metavar="SECONDS", help="Limit for the check in the target "
        "interpreter.")] = 600.0,
) -> None:
    """Compare the installed environment to a lockfile: missing, extra and different-version
    packages, and installed files edited since installation (RECORD hashes). Exit 0 when
    identical, 3 when drifted."""
    from envcheck.lockfile import parse_lockfile
    from envcheck.services.verify import VerifyRequest, verify_environment

    lockfile = parse_lockfile(read_text_input(lock, "--lock"), origin=lock)
    result = verify_environment(build_host(), VerifyRequest(
        lock=lockfile, lock_path=lock, python=python, quick=quick, timeout=timeout))
    if json_output:
        sys.stdout.write(json.dumps(verify_json(result), indent=2) + "\n")
    else:
        render_verify(result)
    if not result.drift.identical:
        raise typer.Exit(int(ExitCode.FINDINGS))


def verify_json(result: VerifyResult) -> dict[str, object]:
    drift = result.drift
    return {
        "schema": VERIFY_SCHEMA,
        "lock": result.lock_path,
        "target": result.lock.header.target,
        "python": {"executable": result.executable, "selected_by": result.selected_by,
                   "version": result.python_version},
        "identical": drift.identical,
        "records_checked": drift.records_checked,
        "counts": {"locked": drift.locked_count, "installed": drift.installed_count,
                   "different": len(drift.different), "missing": len(drift.missing),
                   "extra": len(drift.extra), "tampered": len(drift.tampered),
                   "files_checked": drift.files_checked},
        "different": [{"name": p.name, "locked": p.locked, "installed": p.installed}
                      for p in drift.different],
        "missing": [{"name": p.name, "locked": p.locked} for p in drift.missing],
        "extra": [{"name": p.name, "installed": p.installed} for p in drift.extra],
        "tampered": [{"name": p.name, "version": p.version, "modified": list(p.modified),
                      "missing": list(p.missing)} for p in drift.tampered],
        "tools_ignored": [{"name": p.name, "installed": p.installed}
                          for p in drift.tools_ignored],
        "unverified": list(drift.unverified),
        "notes": list(result.notes),
        "fix": result.fix,
        "fix_with_pip": result.fix_with_pip,
        "seconds": round(result.seconds, 3),
    }


def _files(paths: tuple[str, ...]) -> str:
    shown = ", ".join(paths[:_FILES_SHOWN])
    more = len(paths) - _FILES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def drift_lines(drift: Drift) -> list[tuple[str, str]]:
    """(severity, line) for each difference, in the order they are worth reading."""
    lines = [("error", f"{p.name}: {p.installed} installed, the lock pins {p.locked}")
             for p in drift.different]
    lines += [("error", f"{p.name}: not installed, the lock pins {p.locked}")
              for p in drift.missing]
    lines += [("error", f"{p.name} {p.installed}: installed, not in the lock")
              for p in drift.extra]
    for package in drift.tampered:
        if package.modified:
            lines.append(("error", f"{package.name} {package.version}: "
                          f"{_plural(len(package.modified), 'file')} edited since "
                          f"installation (RECORD hash differs): {_files(package.modified)}"))
        if package.missing:
            lines.append(("error", f"{package.name} {package.version}: "
                          f"{_plural(len(package.missing), 'file')} listed in RECORD "
                          f"deleted: {_files(package.missing)}"))
    if drift.tools_ignored:
        tools = ", ".join(f"{p.name} {p.installed}" for p in drift.tools_ignored)
        lines.append(("info", f"{tools}: installed, not in the lock, not counted as extra "
                      "(the installer's own tools; pin them in the lock to check them)"))
    if drift.unverified:
        lines.append(("info", f"files not checked (no hashed RECORD): "
                      f"{', '.join(drift.unverified)}"))
    return lines


def render_verify(result: VerifyResult, console: Console | None = None) -> None:
    from rich.markup import escape

    from envcheck.cli.console import output_console

    console = console or output_console()
    marks = {"error": "[bold red]✘[/]", "info": "[blue]i[/]"}
    drift = result.drift
    version = f", Python {result.python_version}" if result.python_version else ""
    console.print(f"[bold]envcheck verify:[/] {escape(result.executable)} "
                  f"({escape(result.selected_by)}{version}) against {escape(result.lock_path)}"
                  f" (target {escape(result.lock.header.target)}, "
                  f"{_plural(drift.locked_count, 'package')} pinned)")
    for severity, line in drift_lines(drift):
        console.print(f"{marks[severity]} {escape(line)}")
    for note in result.notes:
        console.print(f"{marks['info']} note: {escape(note)}")
    checked = (f"{_plural(drift.files_checked, 'installed file')} match their RECORD hashes"
               if drift.records_checked else "files not checked (--quick)")
    if drift.identical:
        console.print(f"\n[bold green]✔[/] identical: every pinned package at its locked "
                      f"version, nothing extra; {checked}")
        return
    counts = [(len(drift.different), "different"), (len(drift.missing), "missing"),
              (len(drift.extra), "extra"), (len(drift.tampered), "edited in place")]
    summary = ", ".join(f"{count} {what}" for count, what in counts if count)
    if not drift.tampered:
        summary += f"; {checked}"
    console.print(f"\n[bold red]✘ drifted from {escape(result.lock_path)}:[/] "
                  f"{escape(summary)}")
    if result.fix and result.fix_with_pip:
        console.print(f"    [dim]fix:[/] {escape(result.fix)}")
        console.print(f"    [dim]or, leaving extras installed:[/] {escape(result.fix_with_pip)}")
