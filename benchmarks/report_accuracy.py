"""How well `envcheck doctor --from-report` diagnoses the evidence corpus (tests/data/reports).

Each folder is a real report from a public thread with the cause the thread established
(expected.toml: category, form, language). The report and its error text are read as
`envcheck doctor --from-report report.txt --error-file error.txt` reads them (without an
error file, a known error message inside the report is the error judged).

Measured over the whole set, per category and per form (formal / prose / mixed):
- top-1: the positives whose established category `likely_causes` ranks first;
- confirmed-or-likely: the positives whose established cause the facts confirm, or make
  likely under a stated assumption (an error finding of that category counts as confirmed);
- false errors: the healthy reports (category "none") with any error finding or confirmed cause.
Targets (issue 11): top-1 >= 90 %, confirmed-or-likely >= 75 % of the positives, zero false
errors. The first 39 reports (tests/data/reports/INDEX.md's original rows) get their own row.

Speed: two 5 MB pastes read by `snapshot_from_report` (target < 1 s): the corpus itself
repeated (prose, where most lines hold a fact's name: the hardest case), and tool output (the
recorded collect_env, nvidia-smi, conda and pip lists of tests/data/report_formats, repeated:
what a long paste usually is). The baseline is the floor of any line reader: splitting the
same text into lines and running one regular expression over each. Both pastes repeat their
pieces, and the line readers read each window of lines once (a long paste repeats lines, as a
log repeats its warnings: envcheck.reports.segments.find_line_facts), so a third row reads
the corpus once and scales its time to 5 MB: the cost of a paste in which no line repeats.

Usage: python -m benchmarks.report_accuracy [--runs N] [--list]
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from benchmarks.report import write_section
from envcheck.diagnosis import likely_causes
from envcheck.errors import ParseError
from envcheck.knowledge.signatures import match_error
from envcheck.reports.build import snapshot_from_report
from envcheck.reports.word_filters import lower_cased
from envcheck.services.doctor import DoctorRequest, read_report, run_doctor

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "tests" / "data" / "reports"
FIVE_MB = 5_000_000
# The corpus as it stood before issue 11 (its 39 reports must not get worse).
ORIGINAL_COUNT = 39


@dataclass(frozen=True, kw_only=True)
class Outcome:
    slug: str
    category: str
    form: str
    language: str
    top1: bool
    decided: bool
    """Positives: confirmed or likely. Healthy ones: a false error."""
    ranked: tuple[str, ...]
    verdict: str


def diagnose(folder: Path) -> Outcome:
    expected = _toml((folder / "expected.toml").read_text())
    error_file = folder / "error.txt"
    error = error_file.read_text() if error_file.exists() else None
    category = str(expected["category"])
    try:
        reading = read_report((folder / "report.txt").read_text(), error,
                              taken_at="2026-01-01T00:00:00Z", envcheck_version="bench")
    except ParseError:
        # "no environment facts found": the doctor answers nothing (no false error either).
        return Outcome(slug=folder.name, category=category, form=str(expected.get("form", "?")),
                       language=str(expected.get("language", "?")), top1=category == "none",
                       decided=False, ranked=(), verdict="no facts")
    report = reading.report
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                      missing=report.missing, report=report))
    ranked = likely_causes(result.causes, result.findings)
    errors = {f.category for f in result.findings if f.severity == "error"}
    verdicts: dict[str, str] = {c.category: c.verdict for c in result.causes}
    if category == "none":
        false_error = bool(errors) or "confirmed" in verdicts.values()
        return Outcome(slug=folder.name, category=category, form=str(expected.get("form", "?")),
                       language=str(expected.get("language", "?")), top1=not false_error,
                       decided=false_error, ranked=ranked,
                       verdict="false error" if false_error else "clean")
    verdict = "confirmed" if category in errors else verdicts.get(category, "not ranked")
    return Outcome(slug=folder.name, category=category, form=str(expected.get("form", "?")),
                   language=str(expected.get("language", "?")),
                   top1=bool(ranked) and ranked[0] == category,
                   decided=verdict in ("confirmed", "likely"), ranked=ranked, verdict=verdict)


def _toml(text: str) -> dict[str, object]:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    import tomlkit

    return dict(tomlkit.parse(text).unwrap())


def original_slugs() -> set[str]:
    rows = [line for line in (REPORTS / "INDEX.md").read_text().splitlines()
            if line.startswith("| `")]
    return {row.split("`")[1] for row in rows[:ORIGINAL_COUNT]}


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f} %)" if whole else "-"


def _row(name: str, outcomes: list[Outcome]) -> str:
    positives = [o for o in outcomes if o.category != "none"]
    healthy = [o for o in outcomes if o.category == "none"]
    return (f"| {name} | {len(outcomes)} | {_share(sum(o.top1 for o in positives), len(positives))}"
            f" | {_share(sum(o.decided for o in positives), len(positives))}"
            f" | {sum(o.decided for o in healthy)} of {len(healthy)} |")


def corpus_once() -> str:
    pieces = [(folder / "report.txt").read_text() for folder in sorted(REPORTS.iterdir())
              if folder.is_dir()]
    return "\n\n".join(pieces) + "\n\n"


def paste_of(size: int) -> str:
    once = corpus_once()
    text = ""
    while len(text) < size:
        text += once
    return text[:size]


def tool_output_paste(size: int) -> str:
    from benchmarks.report_parse import build_report

    text = build_report()
    while len(text) < size:
        text += text
    return text[:size]


def training_log_paste(size: int) -> str:
    """A long training log with no line repeated (step, loss, throughput, batch lines with
    their own numbers), between two copies of a real report: what a user pastes when the run
    died after hours. Seeded, so every run reads the same text."""
    rng = random.Random(11)
    report = (REPORTS / "pytorch-112553-torch210-cu121-driver470" / "report.txt").read_text(
        encoding="utf-8")
    lines: list[str] = []
    length, step = 2 * len(report), 0
    while length < size:
        step += 1
        line = (
            f"2024-05-01 12:{step // 60 % 60:02d}:{step % 60:02d},{step % 1000:03d} INFO "
            f"trainer.py:{200 + step % 50} epoch {step // 5000} step {step} "
            f"loss={rng.random():.4f} lr={rng.random() * 1e-3:.2e}",
            f"[rank{step % 8}]: iteration {step} | consumed samples: {step * 64} | elapsed "
            f"time per iteration (ms): {rng.random() * 900 + 100:.1f} | tokens/s/gpu "
            f"{rng.random() * 300:.2f}",
            f"{step:>8} {rng.random():.6f} {rng.random():.6f} {rng.randint(0, 10**9)} ok",
            f"Processed batch {step} of shard-{step % 97:05d}.tar: {rng.randint(1, 512)} "
            f"samples in {rng.random():.3f}s (gpu mem {rng.randint(1000, 80000)} MiB)",
        )[step % 4]
        lines.append(line)
        length += len(line) + 1
    return report + "\n".join(lines) + "\n" + report


def time_reading(text: str, runs: int) -> tuple[float, float]:
    """(best seconds of snapshot_from_report, best seconds of the line-split floor)."""
    floor_pattern = re.compile(r"driver|cuda|torch", re.IGNORECASE)
    best, floor = float("inf"), float("inf")
    for _ in range(runs):
        match_error.cache_clear()  # each run reads the paste afresh
        lower_cased.cache_clear()
        start = time.perf_counter()
        snapshot_from_report(text, taken_at="bench", envcheck_version="bench")
        best = min(best, time.perf_counter() - start)
        start = time.perf_counter()
        for line in text.split("\n"):
            floor_pattern.search(line)
        floor = min(floor, time.perf_counter() - start)
    return best, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--list", action="store_true", help="print every report's outcome")
    args = parser.parse_args()
    folders = sorted(path for path in REPORTS.iterdir() if path.is_dir())
    outcomes = [diagnose(folder) for folder in folders]
    if args.list:
        for o in outcomes:
            mark = "ok " if o.top1 else "BAD"
            print(f"{mark} {o.verdict:11s} {o.slug:70s} {o.category:28s} {','.join(o.ranked[:3])}")
    original = original_slugs()
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    by_form: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_category[o.category].append(o)
        by_form[o.form].append(o)
    text = paste_of(FIVE_MB)
    seconds, floor = time_reading(text, args.runs)
    tools = tool_output_paste(FIVE_MB)
    tool_seconds, tool_floor = time_reading(tools, args.runs)
    once = corpus_once()
    scale = FIVE_MB / len(once)
    once_seconds, once_floor = (scale * t for t in time_reading(once, max(args.runs, 5)))
    log = training_log_paste(FIVE_MB)
    log_seconds, log_floor = time_reading(log, args.runs)
    header = ("| set | reports | top-1 (positives) | confirmed or likely (positives) "
              "| false errors (healthy) |\n|---|---|---|---|---|\n")
    rows = [_row("**all**", outcomes),
            _row(f"the first {ORIGINAL_COUNT}", [o for o in outcomes if o.slug in original]),
            _row("not in English", [o for o in outcomes if o.language != "en"])]
    rows += [_row(f"form: {form}", by_form[form]) for form in sorted(by_form)]
    rows += [_row(f"`{category}`", by_category[category]) for category in sorted(by_category)]
    misses = [o for o in outcomes if not o.top1]
    body = (
        "## Diagnosing the evidence corpus (`benchmarks/report_accuracy.py`)\n\n"
        f"Machine: {platform.machine()}, Python {platform.python_version()}. "
        f"{len(outcomes)} real reports from public threads (tests/data/reports), each read "
        "with its error text as `doctor --from-report FILE --error-file FILE` reads it. "
        "Targets: top-1 ≥ 90 %, confirmed or likely ≥ 75 % of the positives, no false error "
        "on a healthy report.\n\n" + header + "\n".join(rows) + "\n\n"
        "Reading a 5 MB paste (best of " + str(args.runs) + " runs; target < 1 s; baseline: "
        "split the same text into lines and run one regex over each):\n\n"
        "| paste | lines | read | baseline | ratio | target |\n|---|---|---|---|---|---|\n"
        f"| the corpus repeated (prose) | {text.count(chr(10))} | {seconds:.2f} s | "
        f"{floor:.2f} s | {seconds / floor:.1f}x | {'met' if seconds < 1 else '**not met**'} |\n"
        f"| tool output repeated | {tools.count(chr(10))} | {tool_seconds:.2f} s | "
        f"{tool_floor:.2f} s | {tool_seconds / tool_floor:.1f}x | "
        f"{'met' if tool_seconds < 1 else '**not met**'} |\n"
        f"| the corpus once, scaled to 5 MB (no line repeated) | {once.count(chr(10))} x "
        f"{scale:.0f} | {once_seconds:.2f} s | {once_floor:.2f} s | "
        f"{once_seconds / once_floor:.1f}x | {'met' if once_seconds < 1 else '**not met**'} |\n"
        f"| a training log, no line repeated (generated, a real report at each end) | "
        f"{log.count(chr(10))} | {log_seconds:.2f} s | {log_floor:.2f} s | "
        f"{log_seconds / log_floor:.1f}x | {'met' if log_seconds < 1 else '**not met**'} |\n\n"
        + ("Not ranked first: " + ", ".join(f"`{o.slug}` ({o.ranked[0] if o.ranked else 'nothing'})"
                                           for o in misses) + "\n" if misses else "")
    )
    print(body)
    write_section("report_accuracy", body)


if __name__ == "__main__":
    main()
