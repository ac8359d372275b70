"""`envcheck lock`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envcheck.cli.app import app
from envcheck.cli.project_dir import PROJECT_HELP, project_root
from envcheck.errors import ExitCode

if TYPE_CHECKING:
    from envcheck.services.lock import LockContext, LockOutcome


class _EchoReporter:
    """Progress on standard error, so standard output stays the result."""

    def resolving(self, target: str, resolver: str) -> None:
        typer.echo(f"locking {target} with {resolver} ...", err=True)

    def locked(self, outcome: LockOutcome) -> None:
        what = "written" if outcome.changed else "unchanged"
        typer.echo(f"  {outcome.path} {what} ({len(outcome.lockfile.packages)} packages)",
                   err=True)


def _machine_platform() -> str | None:
    import platform

    if not sys.platform.startswith("linux"):
        return None
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine().lower(),
                                                          platform.machine().lower())
    return f"linux/{machine}"


def resolver_bin_dirs() -> tuple[Path, ...]:
    """Where uv and pip-compile are looked for before PATH: next to envcheck's interpreter,
    then where the `uv` package envcheck depends on put its binary (`pip install --user`
    puts it in ~/.local/bin, which need not be on PATH)."""
    dirs = [Path(sys.executable).parent]
    try:
        from uv import find_uv_bin

        dirs.append(Path(find_uv_bin()).parent)
    except (ImportError, FileNotFoundError):
        pass  # no uv package: PATH, then the adapter's message saying what to install
    return tuple(dict.fromkeys(dirs))


def _context() -> LockContext:
    from envcheck.adapters.runner import SubprocessRunner
    from envcheck.services.lock import LockContext

    return LockContext(
        runner=SubprocessRunner(),
        env=dict(os.environ),
        bin_dirs=resolver_bin_dirs(),
        machine_python=f"{sys.version_info.major}.{sys.version_info.minor}",
        machine_platform=_machine_platform(),
    )


def _outcome_json(outcome: LockOutcome) -> dict[str, object]:
    header = outcome.lockfile.header
    return {"target": outcome.target, "path": str(outcome.path), "changed": outcome.changed,
            "resolver": header.resolver, "resolver_version": header.resolver_version,
            "inputs_sha256": header.inputs_sha256, "indexes": list(header.indexes),
            "packages": [{"name": p.name, "version": p.version, "hashes": len(p.hashes)}
                         for p in outcome.lockfile.packages]}


@app.command()
def lock(
    targets: Annotated[list[str] | None, typer.Argument(
        metavar="[TARGET]...", help="Targets to lock (default: every target).")] = None,
    resolver: Annotated[str | None, typer.Option(
        "--resolver", metavar="uv|pip-tools", help="uv (default when installed; locks any "
        "platform) or pip-tools (this machine's platform and Python only).")] = None,
    check: Annotated[bool, typer.Option(
        "--check", help="Resolve nothing: exit 3 when a lockfile is missing or its inputs "
        "changed since it was written (the CI gate).")] = False,
    upgrade_packages: Annotated[list[str] | None, typer.Option(
        "--upgrade-package", "-P", metavar="NAME", help="Re-resolve this package, keep every "
        "other pin of the existing lockfile (repeatable).")] = None,
    project_dir: Annotated[Path | None, typer.Option(
        "--project", metavar="DIR", help=PROJECT_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")
    ] = False,
) -> None:
    """Resolve each target to lockfiles/<target>.txt: every package pinned with ==, with
    sha256 hashes, and a header recording the inputs. Exit 5 when the resolver finds no
    solution (the previous lockfile stays as it was)."""
    from envcheck.cli.lock_check import report_lock_check
    from envcheck.errors import UsageError
    from envcheck.project import load_project

    if resolver is not None and resolver not in ("uv", "pip-tools"):
        raise UsageError(f"--resolver {resolver!r}: choose uv or pip-tools")
    if check and upgrade_packages:
        raise UsageError("--check resolves nothing; it cannot --upgrade-package")
    names = tuple(targets or ())
    if check:
        code = report_lock_check(project_dir, names, json_output=json_output)
        if code:
            raise typer.Exit(code)
        return
    project = load_project(project_root(project_dir))
    from envcheck.services.lock import LockRequest, lock_targets

    request = LockRequest(
        targets=names,
        resolver="uv" if resolver == "uv" else "pip-tools" if resolver == "pip-tools" else None,
        upgrade_packages=tuple(upgrade_packages or ()))
    outcomes = lock_targets(project, request, _context(),
                            None if json_output else _EchoReporter())
    # Gate each new lock against the machines its target must run on, before anything is
    # installed or built: the doctor's findings for that lock on that profile.
    from envcheck.cli.render_gate import gate_json, render_gate
    from envcheck.services.gate import gate

    failed = False
    documents = []
    for outcome in outcomes:
        target = project.targets[outcome.target]
        verdicts = gate(outcome.lockfile, target, project.profiles)
        failed = failed or any(v.errors for v in verdicts)
        document = _outcome_json(outcome)
        document["gate"] = gate_json(target.name, str(outcome.path), verdicts)
        documents.append(document)
        if not json_output:
            render_gate(target.name, verdicts)
    if json_output:
        sys.stdout.write(json.dumps(documents, indent=2) + "\n")
    if failed:
        raise typer.Exit(int(ExitCode.FINDINGS))


@app.command("check-lock")
def check_lock(
    lockfile: Annotated[Path, typer.Argument(metavar="LOCKFILE",
                                             help="A lockfile written by envcheck lock.")],
    profiles: Annotated[list[str] | None, typer.Option(
        "--profile", metavar="NAME", help="A profile of [tool.envcheck.profiles] (repeatable; "
        "default: the lock's target's profiles).")] = None,
    project_dir: Annotated[Path | None, typer.Option(
        "--project", metavar="DIR", help=PROJECT_HELP)] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Findings per profile as JSON.")
    ] = False,
) -> None:
    """Would this lock run on those machines? The pinned torch build against each profile's
    driver and GPUs, with the doctor's rules, before anything is installed. Exit 3 when a
    profile has errors."""
    from dataclasses import replace

    from envcheck.cli.app import read_text_input
    from envcheck.cli.render_gate import gate_json, render_gate
    from envcheck.errors import UsageError
    from envcheck.lockfile import parse_lockfile
    from envcheck.project import load_project
    from envcheck.project_model import Target, TargetPlatform
    from envcheck.services.gate import gate

    lock = parse_lockfile(read_text_input(str(lockfile), "lockfile"), origin=str(lockfile))
    project = load_project(project_root(project_dir))
    header = lock.header
    declared = project.targets.get(header.target)
    names = tuple(profiles or (declared.profiles if declared else ()))
    if not names:
        raise UsageError(f"{lockfile}: name the machines to check with --profile "
                         f"(known profiles: {', '.join(project.profiles) or 'none'})")
    unknown = [n for n in names if n not in project.profiles]
    if unknown:
        raise UsageError(f"no profile named {', '.join(unknown)} in {project.pyproject}",
                         hint=f"Known: {', '.join(project.profiles) or 'none'}; save one "
                              "with `envcheck profile save NAME`.")
    from envcheck.cli.console import output_console

    platform: TargetPlatform = (
        "linux/aarch64" if header.platform.endswith("aarch64") else "linux/x86_64")
    target = Target(name=header.target, python=header.python, platform=platform,
                    cuda=header.cuda, profiles=names)
    if declared is not None:
        target = replace(declared, profiles=names)
    verdicts = gate(lock, target, project.profiles)
    if json_output:
        sys.stdout.write(json.dumps(gate_json(target.name, str(lockfile), verdicts),
                                    indent=2) + "\n")
    else:
        render_gate(target.name, verdicts, output_console())
    if any(v.errors for v in verdicts):
        raise typer.Exit(int(ExitCode.FINDINGS))
