"""`envcheck --help` against `python -c pass`, the interpreter's own start-up, same run.

Target (issue 14): `envcheck --help` under 100 ms. The ratio to `python -c pass` says how much
of that is envcheck's own: the root help comes from a static table (envcheck/cli/
command_table.py), without importing typer or any command module. Also measured, for
context: the installed console script, `--version`, and the help of one command (imports
typer and that command's module only).
Results go to docs/benchmarks.md.

Usage: python -m benchmarks.help_startup [--runs N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import write_section

ENVCHECK = [sys.executable, "-m", "envcheck.cli.main"]
SCRIPT = Path(sys.executable).parent / "envcheck"
TARGET_SECONDS = 0.100


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def median_of(runs: int, once: Callable[[], float]) -> float:
    once()  # warm the page cache and the pyc files; not counted
    return statistics.median(once() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="runs of each command")
    args = parser.parse_args()

    rows: list[tuple[str, list[str]]] = [
        ("`python -c pass` (baseline)", [sys.executable, "-c", "pass"]),
        ("`envcheck --help` (python -m envcheck.cli.main)", [*ENVCHECK, "--help"]),
        ("`envcheck --version`", [*ENVCHECK, "--version"]),
        ("`envcheck lock --help` (typer + one command module)", [*ENVCHECK, "lock", "--help"]),
    ]
    if SCRIPT.exists():
        rows.insert(2, ("`envcheck --help` (the console script)", [str(SCRIPT), "--help"]))
    # Interleave the commands run by run so a noisy neighbour on the shared machine hits all
    # of them alike; the median of each is what is reported.
    samples: dict[str, list[float]] = {label: [] for label, _ in rows}
    for _label, argv in rows:
        timed(argv)  # warm-up, not counted
    for _ in range(args.runs):
        for label, argv in rows:
            samples[label].append(timed(argv))
    medians = {label: statistics.median(values) for label, values in samples.items()}
    baseline = medians[rows[0][0]]
    help_seconds = medians[rows[1][0]]

    lines = [
        "## `envcheck --help` start-up (`benchmarks/help_startup.py`)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}; median of "
        f"{args.runs} interleaved runs after one warm-up each. Baseline: `python -c pass` "
        f"(**{baseline * 1000:.0f} ms**), the interpreter's own start-up.",
        "",
        "| command | median | ratio to `python -c pass` | target | met |",
        "|---|---|---|---|---|",
    ]
    for label, _argv in rows:
        seconds = medians[label]
        target, met = "-", "-"
        if label == rows[1][0]:
            target = "< 100 ms"
            met = "yes" if seconds < TARGET_SECONDS else "**no**"
        lines.append(f"| {label} | {seconds * 1000:.0f} ms | {seconds / baseline:.2f}x | "
                     f"{target} | {met} |")
    lines += ["", "Before issue 14 typer imported and built every command for `envcheck "
              "--help`: 220 ms on this machine unloaded (the issue measured 190-260 ms), "
              "about 7x `python -c pass`. The absolute numbers move with the load of the "
              "shared machine; the ratio is the comparison that holds."]
    write_section("help_startup", "\n".join(lines))
    print("\n".join(lines))
    print(f"\nenvcheck --help: {help_seconds * 1000:.0f} ms "
          f"({help_seconds / baseline:.2f}x python -c pass)")


if __name__ == "__main__":
    main()
