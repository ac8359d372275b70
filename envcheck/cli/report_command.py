"""`envcheck report`: the fingerprints of a CI matrix as one table of targets by runners."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from envcheck.cli.app import app
from envcheck.errors import ExitCode, UsageError


@app.command()
def report(
    fingerprints: Annotated[list[str], typer.Argument(
        metavar="FINGERPRINT", help="Fingerprint files, named <target>--<runner>.json "
        "(the target may also come from the image's org.envcheck.target label).")],
    reference: Annotated[str | None, typer.Option(
        "--reference", metavar="RUNNER_OR_FILE", help="The runner every other runner is "
        "compared with (or a fingerprint file, whose runner it is); default: the first "
        "runner in sorted order that has a fingerprint of the target.")] = None,
    markdown: Annotated[Path | None, typer.Option(
        "--markdown", metavar="FILE", help="Append the Markdown summary to FILE (as "
        "$GITHUB_STEP_SUMMARY expects).")] = None,
    html_file: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE", help="Write an HTML page with the table and a chart of "
        "the time ratios.")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="Print the report as JSON (envcheck.report/1) instead of "
        "Markdown.")] = False,
) -> None:
    """Judge each target's fingerprints against its reference runner's: verdict, max
    numerical error and time ratio per runner. Exit 7 when any cell blocks."""
    from envcheck.adapters.filesystem import write_text_atomic
    from envcheck.report_render import render_html, render_markdown
    from envcheck.services.report import build_report, load_fingerprints, report_json

    paths = list(fingerprints)
    reference_runner = reference
    if reference is not None and (reference.endswith(".json") or Path(reference).is_file()):
        known = {str(Path(p).resolve()) for p in paths}
        if str(Path(reference).resolve()) not in known:
            paths.append(reference)
        named = load_fingerprints(paths)
        reference_runner = next(n.runner for n in named
                                if Path(n.origin).resolve() == Path(reference).resolve())
    else:
        named = load_fingerprints(paths)
    result = build_report(named, reference=reference_runner)
    text = render_markdown(result)
    if json_output:
        sys.stdout.write(json.dumps(report_json(result), indent=2) + "\n")
    else:
        sys.stdout.write(text)
    if markdown is not None:
        try:
            with markdown.open("a", encoding="utf-8") as summary:
                summary.write(text)
        except OSError as e:
            raise UsageError(f"cannot append to --markdown {markdown}: "
                             f"{e.strerror or e}") from e
    if html_file is not None:
        write_text_atomic(html_file, render_html(result))
    if result.verdict == "block":
        for cell in result.blocked:
            sys.stderr.write(f"envcheck report: {cell.target} on {cell.runner} blocks: "
                             f"{cell.blocking[0] if cell.blocking else 'see the report'}\n")
        raise typer.Exit(int(ExitCode.PARITY_BLOCK))
