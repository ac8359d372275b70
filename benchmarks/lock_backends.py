"""`envcheck lock` with uv against pip-compile, same torch target, same run.

The target: torch==2.14.1 (PyPI's default build is CUDA 13.0) with hashes, Python 3.11,
linux/x86_64. uv runs with a cold cache (a fresh folder) and then warm (the same folder);
pip-compile runs once (minutes: it downloads wheels to read their metadata). Targets (issue
4): uv at most 1/20 of pip-compile's time; `envcheck lock --check` on an unchanged project
under 200 ms. Results go to docs/benchmarks.md, section "lock_backends".

Usage: python -m benchmarks.lock_backends [--runs N]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import write_section
from envcheck.adapters.runner import SubprocessRunner
from envcheck.lockfile_model import Lockfile
from envcheck.project_model import Project, Target
from envcheck.services.lock import LockContext, LockRequest, check_locks, lock_targets

PYPROJECT = """\
[project]
name = "bench"
version = "0"

[tool.envcheck.targets.cloud]
python = "3.11"
platform = "linux/x86_64"
cuda = "cu130"
torch = "==2.14.1"
requirements = "requirements.in"
"""
TARGET = Target(name="cloud", python="3.11", platform="linux/x86_64", cuda="cu130",
                torch="==2.14.1", requirements="requirements.in")


def lock_once(project: Project, resolver: str, env: dict[str, str]) -> tuple[float, Lockfile]:
    context = LockContext(runner=SubprocessRunner(), env=env,
                          bin_dirs=(Path(sys.executable).parent,), machine_python="3.11",
                          machine_platform="linux/x86_64")
    start = time.perf_counter()
    [outcome] = lock_targets(project, LockRequest(resolver=resolver),  # type: ignore[arg-type]
                             context)
    return time.perf_counter() - start, outcome.lockfile


def cli_seconds(args: list[str], cwd: Path, ok_codes: tuple[int, ...] = (0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok_codes:
        raise SystemExit(f"envcheck {' '.join(args)} failed ({proc.returncode}): "
                         f"{proc.stderr[-500:]}")
    return elapsed


def median_of(runs: int, once: object) -> float:
    assert callable(once)
    once()
    return statistics.median(float(once()) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9, help="runs of each fast measurement")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-lock-") as scratch:
        root = Path(scratch) / "project"
        root.mkdir()
        (root / "pyproject.toml").write_text(PYPROJECT)
        (root / "requirements.in").write_text("")
        project = Project(root=root, pyproject=root / "pyproject.toml",
                          targets={"cloud": TARGET})
        uv_env = {**os.environ, "UV_CACHE_DIR": str(Path(scratch) / "uv-cache")}
        uv_cold, uv_lock = lock_once(project, "uv", uv_env)
        uv_warm, _ = lock_once(project, "uv", uv_env)
        pip_compile, pt_lock = lock_once(project, "pip-tools", dict(os.environ))
        # Leave a uv lock in place for --check (the header names the resolver).
        lock_once(project, "uv", uv_env)
        check_cli = median_of(args.runs, lambda: cli_seconds(["lock", "--check"], root))
        help_cli = median_of(args.runs, lambda: cli_seconds(["--help"], root))

        def check_in_process() -> float:
            start = time.perf_counter()
            statuses = check_locks(project)
            assert [s.state for s in statuses] == ["fresh"]
            return time.perf_counter() - start

        check_service = median_of(args.runs, check_in_process)
    uv_versions = {p.name: p.version for p in uv_lock.packages}
    pt_versions = {p.name: p.version for p in pt_lock.packages}
    same = sorted(name for name in uv_versions if pt_versions.get(name) == uv_versions[name])
    body = f"""## lock_backends: `envcheck lock` with uv vs pip-compile

Written by `benchmarks/lock_backends.py`, {time.strftime('%Y-%m-%d')}, on {platform.node()}
({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}), uv
{uv_lock.header.resolver_version}, pip-tools {pt_lock.header.resolver_version}. Target:
`torch==2.14.1` (cu130) with `--generate-hashes`, Python 3.11, linux/x86_64; each resolver run
once through `envcheck.services.lock.lock_targets` (resolve, parse, CUDA check, render, write).

| measurement | seconds |
|---|---|
| uv, cold cache (fresh `UV_CACHE_DIR`) | {uv_cold:.2f} |
| uv, warm cache | {uv_warm:.2f} |
| pip-compile (pip's own cache as the machine has it) | {pip_compile:.2f} |
| **ratio uv cold / pip-compile** (target ≤ 0.05) | **{uv_cold / pip_compile:.3f}** |
| ratio uv warm / pip-compile | {uv_warm / pip_compile:.3f} |
| `envcheck lock --check`, unchanged, CLI, median of {args.runs} (target < 0.2) | {check_cli:.3f} |
| `envcheck --help` (the CLI's floor, same runs) | {help_cli:.3f} |
| `check_locks()` in process (median of {args.runs}) | {check_service:.4f} |

Both locks hold {len(uv_versions)} / {len(pt_versions)} packages; {len(same)} pinned to the
same version by both. `--check` runs no resolver: it reads the lockfile header and compares
its inputs hash.
"""
    write_section("lock_backends", body)
    sys.stdout.write(body)


if __name__ == "__main__":
    main()
