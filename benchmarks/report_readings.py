"""Record everything `snapshot_from_report` reads from the recorded reports, to prove a change
to the readers' machinery (speed work, issue 11) changes no reading.

For every report in tests/data/reports (report.txt with its error.txt, joined as
`doctor --from-report FILE --error-file FILE` joins them), every paste in
tests/data/report_formats, and the two 5 MB pastes of benchmarks.report_accuracy, the whole
ReportSnapshot is written as JSON: the Snapshot, what was recognised and missing, every fact
read with its line and text, the other readings. A paste without facts records its ParseError.

Usage:
    python -m benchmarks.report_readings record FILE    # before the change
    python -m benchmarks.report_readings compare FILE   # after: lists every paste that differs
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from packaging.specifiers import SpecifierSet

from envcheck.errors import ParseError
from envcheck.jsoncodec import encode
from envcheck.reports.build import snapshot_from_report

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "tests" / "data" / "reports"
FORMATS = REPO / "tests" / "data" / "report_formats"


def pastes(*, large: bool) -> Iterator[tuple[str, str]]:
    """(name, text) of every recorded paste, and with `large` the two 5 MB pastes."""
    for folder in sorted(path for path in REPORTS.iterdir() if path.is_dir()):
        text = (folder / "report.txt").read_text()
        error = folder / "error.txt"
        if error.exists():
            yield f"reports/{folder.name}/report.txt", text
            yield f"reports/{folder.name}/report+error", f"{text}\n{error.read_text()}"
        else:
            yield f"reports/{folder.name}", text
    for path in sorted(FORMATS.glob("*.txt")):
        yield f"report_formats/{path.name}", path.read_text()
    if large:
        from benchmarks.report_accuracy import FIVE_MB, paste_of, tool_output_paste

        yield "5 MB corpus paste", paste_of(FIVE_MB)
        yield "5 MB tool output paste", tool_output_paste(FIVE_MB)


def reading_of(text: str) -> object:
    """The whole ReportSnapshot as JSON values (or the ParseError's message)."""
    try:
        report = snapshot_from_report(text, taken_at="record", envcheck_version="record")
    except ParseError as e:
        return {"ParseError": e.message}
    return _encoded(report)


def _encoded(value: object) -> object:
    """`encode`, a compiled pattern (a remedy row's) as its source and a version range (a
    stated requirement's) as its text: the readings hold table rows, which are not
    documents the codec writes."""
    if isinstance(value, re.Pattern):
        return value.pattern
    if isinstance(value, SpecifierSet):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encoded(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_encoded(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _encoded(v) for k, v in value.items()}
    return encode(value)


def record(*, large: bool) -> dict[str, object]:
    readings: dict[str, object] = {}
    for name, text in pastes(large=large):
        reading = reading_of(text)
        if len(text) > 1_000_000:
            # The 5 MB pastes' full reading is ~100 MB of JSON: its digest is as good a witness.
            reading = hashlib.sha256(json.dumps(reading).encode()).hexdigest()
        readings[name] = reading
    return readings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("record", "compare"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--small", action="store_true", help="leave out the 5 MB pastes")
    args = parser.parse_args()
    readings = record(large=not args.small)
    if args.action == "record":
        args.file.write_text(json.dumps(readings, indent=1, sort_keys=True) + "\n")
        print(f"recorded {len(readings)} pastes in {args.file}")
        return
    before = json.loads(args.file.read_text())
    now = json.loads(json.dumps(readings))
    differ = [name for name in sorted(set(before) | set(now))
              if before.get(name) != now.get(name)]
    for name in differ:
        print(f"differs: {name}")
    print(f"{len(now) - len(differ)} of {len(set(before) | set(now))} pastes read the same")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
