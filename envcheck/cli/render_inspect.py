"""The human summary of a Snapshot: driver, GPUs, CUDA stack, torch, the interpreter."""

from __future__ import annotations

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from envcheck.cli.console import output_console
from envcheck.redaction import redact_text
from envcheck.snapshot import Gpu, Snapshot, Status

_MARK = {"ok": "[green]✔[/]", "absent": "[yellow]-[/]", "error": "[red]✘[/]",
         "unknown": "[dim]?[/]"}


def _mark(status: Status) -> str:
    return _MARK[status]


def _or_unknown(value: object) -> str:
    return "unknown" if value is None else str(value)


def memory_bar(used: int | None, total: int | None, width: int = 20) -> Text:
    if used is None or not total:
        return Text("memory unknown", style="dim")
    fraction = min(1.0, max(0.0, used / total))
    filled = round(fraction * width)
    style = "red" if fraction >= 0.9 else "yellow" if fraction >= 0.6 else "green"
    bar = Text("█" * filled, style=style) + Text("░" * (width - filled), style="dim")
    return bar + Text(f" {used:,}/{total:,} MiB ({fraction:.0%})")


def _gpu_table(gpus: tuple[Gpu, ...]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for column in ("#", "GPU", "CC", "memory", "temp", "power", "notes"):
        table.add_column(column)
    for gpu in gpus:
        notes = []
        if gpu.throttle_reasons:
            notes.append("throttle: " + ", ".join(gpu.throttle_reasons))
        if gpu.mig_mode:
            notes.append("MIG on")
        if gpu.processes:
            notes.append(f"{len(gpu.processes)} process(es)")
        if gpu.ecc_uncorrected:
            notes.append(f"{gpu.ecc_uncorrected} ECC errors")
        temp = f"{gpu.temperature_c} °C" if gpu.temperature_c is not None else "?"
        if gpu.power_w is not None and gpu.power_limit_w:
            power = f"{gpu.power_w:.0f}/{gpu.power_limit_w:.0f} W"
        else:
            power = "?"
        table.add_row(
            str(gpu.index), gpu.name, _or_unknown(gpu.compute_capability),
            memory_bar(gpu.memory_used_mib, gpu.memory_total_mib), temp, power,
            "; ".join(notes),
        )
    return table


def _driver_section(snapshot: Snapshot) -> RenderableType:
    driver = snapshot.driver
    if driver.status == "ok":
        head = (f"{_mark('ok')} NVIDIA driver {driver.version} "
                f"(supports CUDA ≤ {_or_unknown(driver.cuda_driver_api)}, via {driver.source})")
    else:
        head = f"{_mark(driver.status)} NVIDIA driver: {driver.detail or driver.status}"
    parts: list[RenderableType] = [Text.from_markup(head)]
    if snapshot.gpus:
        parts.append(_gpu_table(snapshot.gpus))
    elif driver.status == "ok":
        parts.append(Text("no GPUs visible", style="yellow"))
    return Panel(Group(*parts), title="Driver and GPUs", title_align="left")


def _cuda_section(snapshot: Snapshot) -> RenderableType:
    lines: list[RenderableType] = []
    if not snapshot.toolkits:
        lines.append(Text.from_markup(f"{_mark('absent')} no CUDA toolkit (nvcc) found"))
    for toolkit in snapshot.toolkits:
        version = f"nvcc {toolkit.nvcc_version}" if toolkit.nvcc_version else "nvcc ?"
        via = ", ".join(toolkit.sources)
        detail = f" — {toolkit.detail}" if toolkit.detail else ""
        lines.append(Text(f"toolkit {toolkit.path}: {version} (found via {via}){detail}"))
    if snapshot.cuda_libraries:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("library", "version", "origin", "path"):
            table.add_column(column)
        for library in snapshot.cuda_libraries:
            table.add_row(library.name, _or_unknown(library.version),
                          f"{library.origin} ({', '.join(library.found_via)})", library.path)
        lines.append(table)
    else:
        lines.append(Text("no CUDA runtime libraries found", style="dim"))
    return Panel(Group(*lines), title="CUDA stack", title_align="left")


def _python_section(snapshot: Snapshot) -> RenderableType:
    python, torch = snapshot.python, snapshot.torch
    lines: list[RenderableType] = []
    if python.status == "ok":
        lines.append(Text.from_markup(
            f"{_mark('ok')} Python {python.version} ({python.kind}) {python.executable}"
            f" [dim](chosen by {python.selected_by})[/]"
        ))
        lines.append(Text(f"{len(snapshot.packages)} distributions installed", style="dim"))
    else:
        lines.append(Text.from_markup(f"{_mark(python.status)} Python: {python.detail}"))
    if torch.status == "ok":
        build = f"CUDA {torch.cuda}" if torch.cuda else "CPU-only build"
        lines.append(Text.from_markup(f"{_mark('ok')} torch {torch.version} ({build})"))
        facts = []
        if torch.cudnn:
            facts.append(f"cuDNN {torch.cudnn}")
        if torch.nccl:
            facts.append(f"NCCL {torch.nccl}")
        if torch.arch_list:
            facts.append("archs " + " ".join(torch.arch_list))
        if facts:
            lines.append(Text("  " + ", ".join(facts)))
        if torch.cuda_available is not None:
            # A CPU-only build is never available: that is its nature, not a fault.
            available = ("[green]yes[/]" if torch.cuda_available else
                         "[dim]no (a CPU-only build)[/]" if torch.cuda is None and not torch.hip
                         else "[red]no[/]")
            lines.append(Text.from_markup(f"  torch.cuda.is_available(): {available}"))
        if torch.cuda_error:
            lines.append(Text(f"  CUDA error: {torch.cuda_error}", style="red"))
        if torch.detail:
            lines.append(Text(f"  {torch.detail}", style="yellow"))
    else:
        lines.append(Text.from_markup(f"{_mark(torch.status)} torch: {torch.detail}"))
    return Panel(Group(*lines), title="Python and torch", title_align="left")


def _system_section(snapshot: Snapshot) -> RenderableType:
    system = snapshot.system
    where = "container" if system.in_container else "WSL" if system.wsl else "host"
    memory = (f"{system.memory_available_mib:,}/{system.memory_total_mib:,} MiB free"
              if system.memory_total_mib and system.memory_available_mib is not None else "?")
    text = (f"{_or_unknown(system.os)}, kernel {_or_unknown(system.kernel)}, glibc "
            f"{_or_unknown(system.glibc)}, {_or_unknown(system.arch)}, {where}; memory {memory}")
    lines: list[RenderableType] = [Text(text)]
    for disk in system.disks:
        lines.append(Text(f"  {disk.role}: {disk.free_gib:.1f} of {disk.total_gib:.1f} GiB free"
                          f" ({disk.path})", style="dim"))
    return Panel(Group(*lines), title="System", title_align="left")


def _problems(snapshot: Snapshot) -> RenderableType | None:
    failed = [run for run in snapshot.probes if run.status == "error"]
    if not failed:
        return None
    lines = [Text(f"probe {run.name}: {run.detail or 'error'}", style="red") for run in failed]
    return Panel(Group(*lines), title="Probes that failed", title_align="left")


def render_snapshot(snapshot: Snapshot, console: Console | None = None) -> None:
    console = console or output_console()
    sections = [_driver_section(snapshot), _cuda_section(snapshot), _python_section(snapshot),
                _system_section(snapshot)]
    problems = _problems(snapshot)
    if problems is not None:
        sections.append(problems)
    # The summary is printed, so it is scrubbed like the JSON is.
    with console.capture() as capture:
        for section in sections:
            console.print(section)
    console.print(Text.from_ansi(redact_text(capture.get())), end="")
