"""`envcheck guard`'s own CPU time per sample, against the stand-in NVML.

guard's real loop (`envcheck.guard.guard`) runs with the real NVML binding loaded against the
stand-in libnvidia-ml.so.1 (tests/standin_nvml), a child that never sleeps (so the loop runs
its samples back to back) and a JSON-lines log written to a real file. Measured: process CPU
seconds per 1,000 samples, for one session per watch (what guard does) and, as the baseline
in the same run, nvmlInit/nvmlShutdown and every static read per sample (what guard did
before issue 13). Target (issue 13): under 1% of one core at a 1 s interval, that is under
10 ms of CPU per sample. The stand-in answers from memory, so this is guard's and the
binding's cost, not a driver's. Results go to docs/benchmarks.md, section "guard_overhead".

Usage: python -m benchmarks.guard_overhead [--samples N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.report import write_section

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ("rtx4090_driver550", "h100x8_driver535_mig")
TABLE_HEAD = ("| scenario | CPU per 1,000 samples | % of one core at 1 s interval | "
              "baseline per 1,000 | baseline / session | target < 1% |\n"
              "| --- | --- | --- | --- | --- | --- |")


def inner(samples: int, mode: str, log_path: Path) -> float:
    """Runs in a child whose LD_LIBRARY_PATH holds the stand-in; CPU seconds of the run."""
    from envcheck.adapters.nvml import NvmlReading, NvmlSampler, PynvmlNvml
    from envcheck.guard import GuardSettings, GuardWorld, guard

    class BackToBack:
        """A child that is still running for `samples` waits, then exits 0."""

        pid = 0

        def __init__(self) -> None:
            self.waits = 0

        def wait(self, timeout: float | None) -> int | None:
            self.waits += 1
            return 0 if self.waits >= samples else None

        def send_signal(self, signum: int) -> None:
            raise AssertionError(f"no threshold is set, yet guard sent signal {signum}")

    class InitPerSample:
        """The baseline: a whole NVML session (init, handles, names, shutdown) per sample."""

        def __init__(self) -> None:
            self.nvml = PynvmlNvml()

        @contextmanager
        def session(self) -> Iterator[NvmlSampler]:
            yield self

        def sample(self) -> NvmlReading:
            return self.nvml.read()

    nvml = PynvmlNvml() if mode == "session" else InitPerSample()
    with log_path.open("a", encoding="utf-8") as stream:
        def log(record: object) -> None:
            stream.write(json.dumps(record) + "\n")

        world = GuardWorld(nvml=nvml, monotonic=time.monotonic, wall_time=lambda: "T",
                           log=log)
        settings = GuardSettings(interval=1.0, max_temp_c=1000)
        started = time.process_time()
        result = guard(BackToBack(), settings, world)
        spent = time.process_time() - started
    if result.samples != samples or not result.watched:
        raise SystemExit(f"expected {samples} watched samples, got {result.samples} "
                         f"({result.unwatched_reason})")
    return spent


def measure(library: Path, scenario: str, mode: str, samples: int, scratch: Path) -> float:
    env = {**os.environ, "LD_LIBRARY_PATH": str(library),
           "ENVCHECK_NVML_SCENARIO": str(REPO / "tests" / "data" / "nvml" /
                                         f"{scenario}.scenario")}
    env.pop("ENVCHECK_NVML_CALL_LOG", None)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.guard_overhead", "--inner", mode,
         "--samples", str(samples), "--log", str(scratch / f"{scenario}-{mode}.jsonl")],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} run on {scenario} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--inner", choices=["session", "init-per-sample"])
    parser.add_argument("--log", type=Path)
    args = parser.parse_args()
    if args.inner:
        print(inner(args.samples, args.inner, args.log))
        return
    from tests.standin_nvml.build import build_standin_nvml

    rows = []
    with tempfile.TemporaryDirectory(prefix="envcheck-bench-guard-") as folder:
        scratch = Path(folder)
        library = build_standin_nvml(scratch / "standin")
        for scenario in SCENARIOS:
            session = measure(library, scenario, "session", args.samples, scratch)
            baseline = measure(library, scenario, "init-per-sample", args.samples, scratch)
            per_1000 = session * 1000 / args.samples
            base_per_1000 = baseline * 1000 / args.samples
            # At a 1 s interval a sample is due every second: CPU per sample / 1 s.
            core_pct = per_1000 / 1000 * 100
            rows.append(f"| `{scenario}` | {per_1000:.3f} s | {core_pct:.3f}% | "
                        f"{base_per_1000:.3f} s | {base_per_1000 / per_1000:.1f}x | "
                        f"{'met' if core_pct < 1 else 'NOT met'} |")
    body = f"""\
## guard's own CPU time (`benchmarks/guard_overhead.py`)

guard's real loop with the real NVML binding against the stand-in libnvidia-ml.so.1,
samples back to back, every sample logged as a JSON line; {args.samples} samples per run,
Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores (shared).
Baseline in the same run: a whole NVML session (init, handles, names, shutdown) per sample,
as guard did before issue 13. The stand-in answers from memory: a real driver's calls cost
more, and an init without persistence mode much more.

{TABLE_HEAD}
{chr(10).join(rows)}
"""
    write_section("guard_overhead", body)
    print(body)


if __name__ == "__main__":
    main()
