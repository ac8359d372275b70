"""The doctor's report for people: one line per finding with its fix, then a verdict."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from envcheck.cli.console import output_console
from envcheck.redaction import redact_text
from envcheck.services.doctor import DoctorResult

_MARKS = {"error": "[bold red]✘[/]", "warning": "[yellow]![/]", "info": "[blue]i[/]"}
_VERDICT_MARKS = {"confirmed": "[bold red]confirmed[/]", "likely": "[red]likely[/]",
                  "possible": "[yellow]possible[/]", "ruled_out": "[green]ruled out[/]"}
# The table under the verdict is a summary; --json carries every fact read.
_READ_ROWS = 14
# A traceback can match many signatures; the first few (in the order they occur) say enough.
_MESSAGES = 3


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
        for message in result.messages[:_MESSAGES]:
            say(f"  [dim]the message ({escape(message.signature)}):[/] "
                f"{escape(message.explanation)}")
        if result.consistent:
            say("  [green]the environment's facts look consistent[/]: nothing above is "
                "confirmed, the causes of this error are likely in the code or data that ran")
    elif result.causes == () and result.findings == ():
        say("[green]✔[/] no problems found")
    if result.read:
        _read_table(result, say)
    if result.missing:
        say(f"\n[dim]Not in the report: {escape(', '.join(result.missing))}[/]")
    errors, warnings = result.count("error"), result.count("warning")
    if result.failed(strict=strict):
        say(f"\n[bold red]✘ {_plural(errors, 'error')}, {_plural(warnings, 'warning')}:[/] "
            "fix these before starting the run")
    else:
        likely = [c.category for c in result.causes if c.verdict == "likely"]
        note = (f"; likely: {', '.join(likely)} (under the assumption stated above)"
                if likely else "")
        say(f"\n[bold green]✔ no errors[/] ({_plural(warnings, 'warning')}{escape(note)})")


def _read_table(result: DoctorResult, say: Callable[[str], None]) -> None:
    """What the report said, one row per fact, with the line it came from."""
    first: dict[tuple[str, str], int] = {}
    for read in result.read:
        first.setdefault((read.fact, read.value), read.line)
    rows = [(fact, value[:60], line) for (fact, value), line in first.items()]
    say("\n[bold]Read from the report[/]")
    width = max(len(fact) for fact, _, _ in rows[:_READ_ROWS])
    value_width = max(len(value) for _, value, _ in rows[:_READ_ROWS])
    for fact, value, line in rows[:_READ_ROWS]:
        where = f"line {line}" if line else "envcheck's tables"
        say(f"  {escape(fact.ljust(width))}  {escape(value.ljust(value_width))}  "
            f"[dim]{where}[/]")
    if len(rows) > _READ_ROWS:
        say(f"  [dim]… {len(rows) - _READ_ROWS} more (--json lists every one)[/]")
