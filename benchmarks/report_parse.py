"""Median time of `snapshot_from_report` on a ~5,000-line report built from the real samples.

The report repeats the recorded pastes in tests/data/report_formats (collect_env of each era,
nvidia-smi tables, -L, nvcc, ldd, a conda list and a pip list) plus one `nvidia-smi -q -x`
document, until it is about 5,000 lines long: the size of a bug report with a long
`conda list` and `pip freeze` pasted in full. Target: under 100 ms. Results go to
docs/benchmarks.md.

Usage: python -m benchmarks.report_parse [--runs N]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

from benchmarks.report import write_section
from envcheck.reports.build import snapshot_from_report

REPO = Path(__file__).resolve().parents[1]
FORMATS = REPO / "tests" / "data" / "report_formats"
XML = REPO / "tests" / "data" / "rtx4090-driver535" / "nvidia-smi-q-x.xml"
TARGET_LINES = 5_000


def build_report() -> str:
    pieces = [path.read_text() for path in sorted(FORMATS.glob("*.txt"))]
    pieces.append("```xml\n" + XML.read_text() + "\n```")
    text = ""
    while text.count("\n") < TARGET_LINES:
        text += "\n\n".join(pieces) + "\n\n"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    text = build_report()
    lines = text.count("\n")
    snapshot_from_report(text, taken_at="bench", envcheck_version="bench")  # warm up
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        result = snapshot_from_report(text, taken_at="bench", envcheck_version="bench")
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1000
    verdict = "meets" if median_ms < 100 else "MISSES"
    body = (
        "## Parsing a pasted report (`snapshot_from_report`)\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}, "
        f"{platform.system()}.\n\n"
        f"| report | runs | median | target |\n| --- | --- | --- | --- |\n"
        f"| {lines} lines, {len(text) // 1024} KiB; formats: {', '.join(result.recognised)} "
        f"| {args.runs} | {median_ms:.1f} ms | < 100 ms ({verdict}) |\n"
    )
    print(body)
    write_section("report_parse", body)


if __name__ == "__main__":
    main()
