"""`envcheck doctor`."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envcheck.cli.app import app, now_utc, read_text_input
from envcheck.cli.real_host import build_host
from envcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from envcheck.fit import FitRequest
    from envcheck.reports.build import ReportSnapshot
    from envcheck.services.doctor import ProjectLock
    from envcheck.snapshot import Snapshot


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    github = "github"
    junit = "junit"


def _snapshot_and_missing(
    *, snapshot_file: str | None, from_report: str | None, python: str | None, deep: bool,
    timeout: float | None, show_progress: bool, error_text: str | None = None,
) -> tuple[Snapshot, tuple[str, ...], ReportSnapshot | None, str | None]:
    """The Snapshot, what a report did not say, the report read, and the error to judge."""
    from envcheck import __version__

    if snapshot_file is not None and from_report is not None:
        raise UsageError("--snapshot and --from-report are two sources; give one")
    if snapshot_file is not None:
        from envcheck.snapshot import snapshot_from_json

        text = read_text_input(snapshot_file, "--snapshot")
        return snapshot_from_json(text, origin=snapshot_file), (), None, error_text
    if from_report is not None:
        from envcheck.services.doctor import read_report

        text = read_text_input(from_report, "--from-report")
        # The error output belongs to the same machine: torch's messages in it carry facts
        # (a GPU's capability, the arch list, the driver's CUDA version); a traceback pasted
        # in the report is the error to judge when --error is not given.
        reading = read_report(text, error_text, taken_at=now_utc(),
                              envcheck_version=__version__)
        report = reading.report
        return report.snapshot, report.missing, report, reading.error_text
    from envcheck.services.inspect import InspectRequest, inspect_environment

    host = build_host()
    if timeout is not None:
        host = replace(host, limits=host.limits.capped(timeout))
    request = InspectRequest(python=python, deep=deep)
    if not show_progress:
        return inspect_environment(host, request), (), None, error_text
    from envcheck.cli.progress import ProbeProgress

    with ProbeProgress() as reporter:
        return inspect_environment(host, request, reporter), (), None, error_text


def _read_lock(lock_file: str) -> ProjectLock:
    from envcheck.lockfile import parse_lockfile
    from envcheck.services.doctor import ProjectLock

    lock = parse_lockfile(read_text_input(lock_file, "--lock"), origin=lock_file)
    return ProjectLock(lock=lock, path=lock_file)


def _project_lock(snapshot: Snapshot) -> ProjectLock:
    """Without --lock: the lock of the project the current folder is in (found upward, as
    every project command finds it), for a live environment; none outside a project."""
    from envcheck.project import ProjectError, find_project_root
    from envcheck.services.doctor import ProjectLock, find_project_lock

    if snapshot.python.status != "ok":
        return ProjectLock()
    try:
        root = find_project_root(Path.cwd())
    except ProjectError:
        return ProjectLock()  # doctor works anywhere; outside a project there is no lock
    found = find_project_lock(root, snapshot.python.version)
    if found.path is None or root == Path.cwd():
        return found
    # From a subfolder, name the lockfile as the user can reach it from here.
    return replace(found, path=os.path.relpath(root / found.path))


def _fit_request(model: str, *, method: str, batch: int, seq: int, precision: str,
                 optimizer: str, lora_rank: int, grad_checkpointing: bool) -> FitRequest:
    from typing import cast, get_args

    from envcheck.fit import FitRequest, Method, Optimizer, Precision
    from envcheck.fit_model import load_model

    for flag, value, allowed in (("--fit-method", method, get_args(Method)),
                                 ("--fit-precision", precision, get_args(Precision)),
                                 ("--fit-optimizer", optimizer, get_args(Optimizer))):
        if value not in allowed:
            raise UsageError(f"{flag} {value!r}: choose one of {', '.join(allowed)}")
    # Checked against the Literal sets just above.
    return FitRequest(model=load_model(model, cwd=Path.cwd()), method=cast(Method, method),
                      batch=batch, seq=seq, precision=cast(Precision, precision),
                      optimizer=cast(Optimizer, optimizer), lora_rank=lora_rank,
                      grad_checkpointing=grad_checkpointing)


@app.command()
def doctor(
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print {findings, snapshot, ...} as JSON (same as --format json).")] = False,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", help="table (default), json, github (Actions annotations) or junit "
        "(XML for any CI).")] = OutputFormat.table,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE",
        help="Write the chosen format to FILE (atomically) instead of standard output.")] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Warnings count as errors for the exit code.")] = False,
    snapshot_file: Annotated[str | None, typer.Option(
        "--snapshot", metavar="FILE",
        help="Diagnose a saved Snapshot (envcheck inspect --json) instead of this machine.",
    )] = None,
    from_report: Annotated[str | None, typer.Option(
        "--from-report", metavar="FILE",
        help="Diagnose what a user pasted (collect_env, nvidia-smi, nvcc --version, pip or "
        "conda lists, ldd; a mixture is fine); - reads standard input.")] = None,
    error: Annotated[str | None, typer.Option(
        "--error", metavar="TEXT", help="The error message seen: rank its likely causes "
        "and confirm or rule out each against the environment.")] = None,
    error_file: Annotated[str | None, typer.Option(
        "--error-file", metavar="FILE", help="Like --error, read from FILE.")] = None,
    plan: Annotated[str | None, typer.Option(
        "--plan", metavar="SPEC", help="Would this build work here? torch==2.7.1+cu128, "
        "torch==2.7.1, cu128 or cpu.")] = None,
    python: Annotated[str | None, typer.Option(
        "--python", metavar="PATH", help="The interpreter to inspect (default: the active "
        "environment).")] = None,
    deep: Annotated[bool, typer.Option(
        "--deep", help="Import torch (time-limited, cached) to measure CUDA availability.")
    ] = False,
    timeout: Annotated[float | None, typer.Option(
        "--timeout", min=0.5, metavar="SECONDS", help="Limit for any single outside call.")
    ] = None,
    max_temp: Annotated[int, typer.Option(
        "--max-temp", metavar="C", help="GPU temperature that counts as hot.")] = 85,
    min_free_disk: Annotated[float, typer.Option(
        "--min-free-disk", metavar="GIB", help="Free disk below this is a warning.")] = 20.0,
    lock: Annotated[str | None, typer.Option(
        "--lock", metavar="FILE", help="The lockfile the environment should match (default: "
        "the lock of the one target for this Python in the project found upward from here); "
        "drift is a warning.")
    ] = None,
    fit: Annotated[str | None, typer.Option(
        "--fit", metavar="MODEL", help="A planned run's model (7B, 350M or a config.json): an "
        "error when it fits on no visible GPU. With --fit-method, --fit-batch, --fit-seq, "
        "--fit-precision, --fit-optimizer, --fit-lora-rank, --fit-grad-checkpointing, as "
        "`envcheck fit` takes them.")] = None,
    fit_method: Annotated[str, typer.Option("--fit-method", metavar="full|lora|qlora|inference"
                                            )] = "full",
    fit_batch: Annotated[int, typer.Option("--fit-batch", metavar="N")] = 1,
    fit_seq: Annotated[int, typer.Option("--fit-seq", metavar="N")] = 2048,
    fit_precision: Annotated[str, typer.Option("--fit-precision", metavar="fp32|bf16|fp16")
                             ] = "bf16",
    fit_optimizer: Annotated[str, typer.Option("--fit-optimizer",
                                               metavar="adamw|adamw8bit|sgd")] = "adamw",
    fit_lora_rank: Annotated[int, typer.Option("--fit-lora-rank", metavar="R")] = 16,
    fit_grad_checkpointing: Annotated[bool, typer.Option("--fit-grad-checkpointing")] = False,
    compiles: Annotated[bool, typer.Option(
        "--compiles", help="The run builds CUDA code (flash-attn, apex, a cpp_extension): the "
        "toolkit's CUDA must then match torch's build. Found by itself in a report or error "
        "text that shows nvcc, cpp_extension or CMake's CUDA language.")] = False,
) -> None:
    """Diagnose this machine (or a saved Snapshot, or a pasted report): every mismatch with
    the measured values and a concrete fix. Exit 0 when no errors, 3 when there are."""
    from envcheck.plan import resolve_plan
    from envcheck.rules.context import Thresholds
    from envcheck.services.doctor import DoctorRequest, run_doctor

    if error is not None and error_file is not None:
        raise UsageError("--error and --error-file are two sources; give one")
    fmt = OutputFormat.json if json_output else output_format
    planned = resolve_plan(plan) if plan else None
    fit_request = _fit_request(fit, method=fit_method, batch=fit_batch, seq=fit_seq,
                               precision=fit_precision, optimizer=fit_optimizer,
                               lora_rank=fit_lora_rank,
                               grad_checkpointing=fit_grad_checkpointing) if fit else None
    error_text = read_text_input(error_file, "--error-file") if error_file else error
    # Read first: a lockfile that is not one is a usage error before minutes of probing.
    given_lock = _read_lock(lock) if lock is not None else None
    snapshot, missing, report, judged_error = _snapshot_and_missing(
        snapshot_file=snapshot_file, from_report=from_report, python=python, deep=deep,
        timeout=timeout, error_text=error_text,
        show_progress=fmt is OutputFormat.table and output is None)
    thresholds = Thresholds(max_temp_c=max_temp, min_free_disk_gib=min_free_disk,
                            builds_cuda_code=compiles)
    live = snapshot_file is None and from_report is None
    project_lock = given_lock or (_project_lock(snapshot) if live else None)
    result = run_doctor(DoctorRequest(
        snapshot=snapshot, error_text=judged_error, plan=planned, thresholds=thresholds,
        report=report,
        missing=missing, lock=project_lock.lock if project_lock else None,
        lock_path=project_lock.path if project_lock else None,
        lock_findings=project_lock.findings if project_lock else (), fit=fit_request))
    text: str | None = None
    if fmt is OutputFormat.json:
        from envcheck.doctor_output import render_json

        text = render_json(result, strict=strict)
    elif fmt is OutputFormat.github:
        from envcheck.doctor_output import render_github

        text = render_github(result)
    elif fmt is OutputFormat.junit:
        from envcheck.doctor_output import render_junit

        text = render_junit(result, strict=strict)
    if text is None:
        from envcheck.cli.render_doctor import render_doctor

        render_doctor(result, strict=strict)
    elif output is not None:
        from envcheck.adapters.filesystem import write_text_atomic

        if output.is_dir():
            raise UsageError(f"-o {output} is a folder; give a file name")
        try:
            write_text_atomic(output, text)
        except OSError as e:
            raise UsageError(f"cannot write {output}: {e.strerror or e}") from e
    else:
        sys.stdout.write(text)
    if result.failed(strict=strict):
        raise typer.Exit(int(ExitCode.FINDINGS))
