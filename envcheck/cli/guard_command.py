"""`envcheck guard -- COMMAND`: run a training command and watch its GPUs."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from envcheck.cli.app import app
from envcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from envcheck.guard import Breach, GuardResult, Sample


class LiveReporter:
    """One status line on stderr, rewritten in place on a terminal; warnings on their own
    lines. The child's own output keeps stdout."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.live = self.console.is_terminal

    def sampled(self, sample: Sample) -> None:
        parts = []
        for gpu in sample.gpus:
            temp = f"{gpu.temperature_c}°C" if gpu.temperature_c is not None else "?°C"
            power = f"{gpu.power_w:.0f}W" if gpu.power_w is not None else "?W"
            memory = (f"{gpu.memory_used_mib:,}/{gpu.memory_total_mib:,}MiB"
                      if gpu.memory_used_mib is not None and gpu.memory_total_mib else "?MiB")
            util = f"{gpu.utilization_pct}%" if gpu.utilization_pct is not None else "?%"
            throttle = f" [yellow]{'+'.join(gpu.throttle_reasons)}[/yellow]" \
                if gpu.throttle_reasons else ""
            parts.append(f"GPU{gpu.index} {temp} {power} {memory} {util}{throttle}")
        line = f"guard {sample.seconds:6.0f}s  " + " | ".join(parts)
        if self.live:
            self.console.print(line, end="\r", soft_wrap=True, overflow="crop")

    def warned(self, breach: Breach, *, seconds: float) -> None:
        self.console.print(f"[yellow]! envcheck guard: {breach.detail} for "
                           f"{seconds:.0f} s[/yellow]")

    def stopping(self, breach: Breach | None, signal_name: str) -> None:
        why = f" because {breach.detail}" if breach else ""
        self.console.print(f"[red]✘ envcheck guard: sending {signal_name} to the "
                           f"command{why}[/red]")

    def unwatched(self, reason: str) -> None:
        self.console.print(f"[yellow]! envcheck guard: {reason}; running the command "
                           "unwatched[/yellow]")


class JsonlLog:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def __call__(self, record: Mapping[str, Any]) -> None:
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()


@app.command(context_settings={"allow_interspersed_args": False})
def guard(
    command: Annotated[list[str], typer.Argument(
        metavar="-- COMMAND [ARGS...]", help="The training command, after --.")],
    interval: Annotated[float, typer.Option(
        "--interval", min=0.05, metavar="SECONDS", help="Seconds between samples.")] = 2.0,
    max_temp: Annotated[int, typer.Option(
        "--max-temp", metavar="C", help="Temperature that counts as too hot.")] = 85,
    max_throttle_seconds: Annotated[float | None, typer.Option(
        "--max-throttle-seconds", metavar="SECONDS",
        help="Cumulative thermal/power throttling allowed per GPU.")] = None,
    min_free_mib: Annotated[int | None, typer.Option(
        "--min-free-mib", metavar="MIB", help="Free GPU memory below this is a breach.")
    ] = None,
    grace: Annotated[float, typer.Option(
        "--grace", min=0, metavar="SECONDS", help="How long a breach must last to count.")
    ] = 10.0,
    abort: Annotated[bool, typer.Option(
        "--abort", help="Stop the command on a breach: SIGINT, then SIGTERM, then SIGKILL.")
    ] = False,
    kill_after: Annotated[float, typer.Option(
        "--kill-after", min=0, metavar="SECONDS",
        help="Seconds between SIGINT and SIGTERM (and SIGTERM and SIGKILL).")] = 30.0,
    log: Annotated[Path | None, typer.Option(
        "--log", metavar="FILE", help="Append every sample to FILE as JSON lines.")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the summary as JSON on stdout at the end.")] = False,
) -> None:
    """Run COMMAND and watch the GPUs (temperature, power, memory, throttling, processes)
    until it ends; warn, or with --abort stop it, when a threshold is exceeded. Exits with
    the command's status; 8 when guard stopped it."""
    from envcheck.adapters.child import SubprocessLauncher
    from envcheck.adapters.nvml import PynvmlNvml
    from envcheck.guard import GuardSettings, GuardWorld
    from envcheck.guard import guard as run_guard

    if not command:
        raise UsageError("no command to run", hint="envcheck guard -- python train.py")
    if max_throttle_seconds is not None and max_throttle_seconds < 0:
        raise UsageError(f"--max-throttle-seconds must not be negative, got "
                         f"{max_throttle_seconds:g}")
    if min_free_mib is not None and min_free_mib < 0:
        raise UsageError(f"--min-free-mib must not be negative, got {min_free_mib}")
    settings = GuardSettings(interval=interval, max_temp_c=max_temp,
                             max_throttle_seconds=max_throttle_seconds,
                             min_free_mib=min_free_mib, grace=grace, abort=abort,
                             kill_after=kill_after)
    stream = _open_log(log)
    try:
        world = GuardWorld(
            nvml=PynvmlNvml(), monotonic=time.monotonic,
            wall_time=lambda: datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            log=JsonlLog(stream) if stream is not None else None)
        reporter = LiveReporter()
        child = SubprocessLauncher().start(command, env=dict(os.environ))
        result = run_guard(child, settings, world, reporter)
    finally:
        if stream is not None:
            stream.close()
    if reporter.live:
        reporter.console.print()
    if json_output:
        sys.stdout.write(json.dumps(summary_document(result), indent=2) + "\n")
    else:
        _render_summary(result, reporter)
    if result.stopped_by_guard is not None:
        raise typer.Exit(int(ExitCode.GUARD_STOPPED))
    raise typer.Exit(result.child_status)


def _open_log(path: Path | None) -> IO[str] | None:
    if path is None:
        return None
    if path.is_dir():
        raise UsageError(f"--log {path} is a folder; give a file name")
    try:
        return path.open("a", encoding="utf-8")
    except OSError as e:
        raise UsageError(f"cannot write --log {path}: {e.strerror or e}") from e


def summary_document(result: GuardResult) -> dict[str, Any]:
    return {
        "status": result.child_status,
        "returncode": result.returncode,
        "stopped_by_guard": result.stopped_by_guard.detail if result.stopped_by_guard else None,
        "signals_sent": list(result.signals_sent),
        "seconds": round(result.seconds, 3),
        "samples": result.samples,
        "watched": result.watched,
        "unwatched_reason": result.unwatched_reason,
        "warnings": [b.detail for b in result.warnings],
        "gpus": [{"index": g.index, "name": g.name,
                  "peak_temperature_c": g.peak_temperature_c,
                  "peak_memory_used_mib": g.peak_memory_used_mib,
                  "memory_total_mib": g.memory_total_mib, "peak_power_w": g.peak_power_w,
                  "throttled_seconds": {k: round(v, 3) for k, v in g.throttled_seconds.items()}}
                 for g in result.gpus],
    }


def _render_summary(result: GuardResult, reporter: LiveReporter) -> None:
    console = reporter.console
    how = (f"exited {result.child_status}" if result.returncode >= 0
           else f"ended by a signal (status {result.child_status})")
    console.print(f"envcheck guard: the command {how} after {result.seconds:.0f} s, "
                  f"{result.samples} samples")
    if not result.watched:
        console.print(f"  not watched: {result.unwatched_reason}")
    for gpu in result.gpus:
        throttled = ", ".join(f"{reason} {seconds:.0f} s"
                              for reason, seconds in gpu.throttled_seconds.items() if seconds)
        memory = (f"{gpu.peak_memory_used_mib:,} of {gpu.memory_total_mib:,} MiB"
                  if gpu.peak_memory_used_mib is not None and gpu.memory_total_mib else "?")
        console.print(f"  GPU {gpu.index} ({gpu.name}): peak {gpu.peak_temperature_c} °C, "
                      f"peak memory {memory}, throttled: {throttled or 'never'}")
    if result.stopped_by_guard is not None:
        console.print(f"[red]✘ stopped by guard: {result.stopped_by_guard.detail} "
                      f"({', '.join(result.signals_sent)})[/red]")
