"""Gate verdicts for people and for machines: the doctor's findings, per profile."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape

from envcheck.cli.console import output_console
from envcheck.jsoncodec import encode
from envcheck.redaction import redact_json, redact_text
from envcheck.services.gate import ProfileVerdict

_MARKS = {"error": "[bold red]✘[/]", "warning": "[yellow]![/]", "info": "[blue]i[/]"}


def gate_json(target: str, lockfile: str, verdicts: tuple[ProfileVerdict, ...]
              ) -> dict[str, Any]:
    document = {
        "target": target,
        "lockfile": lockfile,
        "verdict": "fail" if any(v.errors for v in verdicts) else "pass",
        "profiles": {v.profile: encode(v.findings) for v in verdicts},
    }
    result = redact_json(document)
    assert isinstance(result, dict)
    return result


def render_gate(target: str, verdicts: tuple[ProfileVerdict, ...],
                console: Console | None = None) -> None:
    console = console or output_console(stderr=True)
    for verdict in verdicts:
        errors = verdict.errors
        head = "[bold red]✘[/]" if errors else "[bold green]✔[/]"
        console.print(f"{head} {escape(target)} on profile {escape(verdict.profile)}: "
                      f"{errors} error{'s' if errors != 1 else ''}", highlight=False)
        for finding in verdict.findings:
            console.print(f"    {_MARKS[finding.severity]} "
                          f"{escape(redact_text(finding.summary))}", highlight=False)
            if finding.fix:
                console.print(f"        [dim]fix:[/] {escape(redact_text(finding.fix))}",
                              highlight=False)
            elif finding.severity == "info" and finding.explanation:
                # A pass with a condition (a driver that runs the build only through CUDA
                # minor-version compatibility, so PTX JIT is unavailable) must be said in
                # text too, not only in --json (issue 14).
                console.print(f"        [dim]note:[/] {escape(redact_text(finding.explanation))}",
                              highlight=False)
