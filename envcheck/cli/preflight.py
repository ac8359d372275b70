"""The training image's entrypoint: check the host can run this image, then run the job.

`docker run IMAGE python train.py` runs `python -m envcheck.cli.preflight python train.py`:
it inspects the image's training environment as this host presents it (driver, GPUs,
container runtime), applies the doctor's rules, and stops with the findings when any is an
error; otherwise it replaces itself with the command, the training environment's `bin`
first on PATH. It needs only the standard library, `packaging` and (to read GPUs)
`nvidia-ml-py`, so it lives in a small environment of its own beside the training one.

ENVCHECK_PREFLIGHT=0 skips the check; ENVCHECK_PREFLIGHT=warn reports but never stops.
ENVCHECK_TRAINING_PYTHON names the training interpreter (the image sets it).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from envcheck.errors import ExitCode
from envcheck.findings import Finding

_MARKS = {"error": "x", "warning": "!", "info": "i"}


def format_findings(findings: Sequence[Finding]) -> str:
    lines = []
    for finding in findings:
        lines.append(f"  [{_MARKS[finding.severity]}] {finding.summary}")
        if finding.fix:
            lines.append(f"      fix: {finding.fix}")
    return "\n".join(lines)


def check_host(training_python: str | None) -> tuple[Finding, ...]:
    from envcheck.cli.real_host import build_host
    from envcheck.rules import run_rules
    from envcheck.services.inspect import InspectRequest, inspect_environment

    snapshot = inspect_environment(build_host(), InspectRequest(python=training_python))
    return run_rules(snapshot)


def main(argv: Sequence[str]) -> int:
    mode = os.environ.get("ENVCHECK_PREFLIGHT", "1").lower()
    if mode not in ("0", "off", "false"):
        findings = check_host(os.environ.get("ENVCHECK_TRAINING_PYTHON"))
        errors = [f for f in findings if f.severity == "error"]
        shown = [f for f in findings if f.severity != "info"]
        if shown:
            sys.stderr.write("envcheck pre-flight:\n" + format_findings(shown) + "\n")
        if errors and mode != "warn":
            sys.stderr.write(
                f"envcheck pre-flight: this host cannot run this image ({len(errors)} "
                "error(s)); set ENVCHECK_PREFLIGHT=0 to start anyway\n")
            return int(ExitCode.FINDINGS)
    if not argv:
        sys.stderr.write("envcheck pre-flight: no command given\n")
        return int(ExitCode.USAGE)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(argv[0], list(argv))
    except OSError as e:
        sys.stderr.write(f"envcheck pre-flight: cannot run {argv[0]}: {e.strerror}\n")
        return 127
    return 0  # not reached: exec replaced this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
