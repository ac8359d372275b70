"""`envcheck inspect --json` against `python -m torch.utils.collect_env`, same environment.

Targets: the default path at most 0.3x collect_env's median wall time, cold `--deep` at
most 0.8x, `envcheck --help` under 150 ms (issue 2); `envcheck doctor --json` at most 0.35x
(issue 3). Results go to docs/benchmarks.md.

Usage: python benchmarks/inspect_vs_collect_env.py [--runs N] [--python PATH]
The default target interpreter is a venv with torch 2.13.0 (CPU build), made on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Callable
from pathlib import Path

from benchmarks.report import write_section

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ENV = REPO / ".cache" / "test-envs" / "torch-2.13.0-cpu"
ENVCHECK = [sys.executable, "-m", "envcheck.cli.main"]


def torch_python(requested: str | None) -> Path:
    if requested:
        return Path(requested)
    python = DEFAULT_ENV / "bin" / "python"
    if not (DEFAULT_ENV / ".envcheck-ready").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(DEFAULT_ENV)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"], check=True)
        (DEFAULT_ENV / ".envcheck-ready").write_text("torch==2.13.0")
    return python


def timed(argv: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def median_of(runs: int, once: Callable[[], float]) -> float:
    once()  # warm the page cache and the interpreter's pyc files; not counted
    return statistics.median(once() for _ in range(runs))


def facts_reported(python: Path, env: dict[str, str]) -> tuple[int, int]:
    """Rough "reports more": lines of collect_env vs leaf values in the Snapshot."""
    collect = subprocess.run([str(python), "-m", "torch.utils.collect_env"], env=env,
                             capture_output=True, text=True, check=True).stdout
    snapshot = json.loads(subprocess.run([*ENVCHECK, "inspect", "--json", "--python",
                                          str(python)], env=env, capture_output=True,
                                         text=True, check=True).stdout)

    def leaves(value: object) -> int:
        if isinstance(value, dict):
            return sum(leaves(v) for v in value.values())
        if isinstance(value, list):
            return sum(leaves(v) for v in value)
        return 0 if value is None else 1

    return sum(1 for line in collect.splitlines() if ":" in line), leaves(snapshot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python")
    args = parser.parse_args()
    python = torch_python(args.python)
    base_env = dict(os.environ)
    cache = Path(tempfile.mkdtemp(prefix="envcheck-bench-"))
    warm_env = {**base_env, "XDG_CACHE_HOME": str(cache / "warm")}
    target = ["--python", str(python)]

    def cold_deep() -> float:
        cold = cache / f"cold-{time.monotonic_ns()}"
        return timed([*ENVCHECK, "inspect", "--json", "--deep", *target],
                     {**base_env, "XDG_CACHE_HOME": str(cold)})

    collect_env = median_of(args.runs, lambda: timed(
        [str(python), "-m", "torch.utils.collect_env"], base_env))
    default = median_of(args.runs, lambda: timed(
        [*ENVCHECK, "inspect", "--json", *target], warm_env))
    doctor = median_of(args.runs, lambda: timed(
        [*ENVCHECK, "doctor", "--json", *target], warm_env, ok_codes=(0, 3)))
    deep_cold = median_of(args.runs, cold_deep)
    deep_warm = median_of(args.runs, lambda: timed(
        [*ENVCHECK, "inspect", "--json", "--deep", *target], warm_env))
    import_only = median_of(args.runs, lambda: timed(
        [str(python), "-c", "import torch"], base_env))
    help_time = median_of(args.runs, lambda: timed([*ENVCHECK, "--help"], base_env))
    collect_lines, snapshot_facts = facts_reported(python, base_env)
    shutil.rmtree(cache, ignore_errors=True)

    rows = [
        ("`envcheck inspect --json` (default, no torch import)", default, 0.3),
        ("`envcheck doctor --json` (inspect, then every rule)", doctor, 0.35),
        ("`envcheck inspect --json --deep`, cold cache", deep_cold, 0.8),
        ("`envcheck inspect --json --deep`, warm cache", deep_warm, None),
        ("`python -c 'import torch'` alone: the floor for any measured torch fact",
         import_only, None),
    ]
    lines = [
        "## inspect vs collect_env (`benchmarks/inspect_vs_collect_env.py`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; target: `{python}` (torch 2.13.0 CPU build); "
        f"median of {args.runs} runs after one warm-up.",
        "",
        f"Baseline `python -m torch.utils.collect_env`: **{collect_env * 1000:.0f} ms** "
        f"({collect_lines} `key: value` lines). The default Snapshot holds "
        f"{snapshot_facts} non-null facts.",
        "",
        "| command | median | ratio to collect_env | target | met |",
        "|---|---|---|---|---|",
    ]
    for name, seconds, target_ratio in rows:
        ratio = seconds / collect_env
        target_text = f"≤ {target_ratio}x" if target_ratio else "-"
        met = "-" if target_ratio is None else ("yes" if ratio <= target_ratio else "**no**")
        lines.append(f"| {name} | {seconds * 1000:.0f} ms | {ratio:.2f}x | {target_text} | "
                     f"{met} |")
    lines.append(f"| `envcheck --help` | {help_time * 1000:.0f} ms | - | < 150 ms | "
                 f"{'yes' if help_time < 0.150 else '**no**'} |")
    body = "\n".join(lines) + "\n"
    write_section("inspect_vs_collect_env", body)
    print(body)


if __name__ == "__main__":
    main()
