"""The doctor's report for people: one line per finding with its fix, then a verdict."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from envcheck.cli.console import output_console
from envcheck.redaction import redact_text
from envcheck.services.doctor import DoctorResult

_MARKS = {"error": "[bold red]✘[/]", "warning": "[yellow]![/]", "info": "[blue]i[/]"}
_VERDICT_MARKS = {"confirmed": "[bold red]confirmed[/]", "possible": "[yellow]possible[/]",
                  "ruled_out": "[green]ruled out[/]"}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_doctor(result: DoctorResult, *, strict: bool, console: Console | None = None
                  ) -> None:
    console = console or output_console()

    def say(markup: str) -> None:
        console.print(redact_text(markup), highlight=False)

    snapshot = result.snapshot
    where = {"host": "this machine", "container": "this container",
             "report": "the pasted report", "profile": "the profile"}[snapshot.source]
    title = f"envcheck doctor: {where}"
    if result.plan is not None:
        title += f", planning {result.plan.label}"
    say(f"[bold]{escape(title)}[/]")
    for finding in result.findings:
        say(f"{_MARKS[finding.severity]} {escape(finding.summary)}")
        if finding.fix:
            say(f"    [dim]fix:[/] {escape(finding.fix)}")
    if result.causes:
        say("\n[bold]Likely causes of the error you saw[/]")
        for cause in result.causes:
            say(f"  {_VERDICT_MARKS[cause.verdict]} {cause.category}: {escape(cause.reason)}")
    elif result.causes == () and result.findings == ():
        say("[green]✔[/] no problems found")
    if result.missing:
        say(f"\n[dim]Not in the report: {escape(', '.join(result.missing))}[/]")
    errors, warnings = result.count("error"), result.count("warning")
    if result.failed(strict=strict):
        say(f"\n[bold red]✘ {_plural(errors, 'error')}, {_plural(warnings, 'warning')}:[/] "
            "fix these before starting the run")
    else:
        say(f"\n[bold green]✔ no errors[/] ({_plural(warnings, 'warning')})")
