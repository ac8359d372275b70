"""`envcheck report` as text: Markdown for `$GITHUB_STEP_SUMMARY`, and a self-contained HTML
page with the same table and an inline SVG bar chart of the time ratios.

Pure functions of a MatrixReport. Target and runner names and the reasons come from files,
so every one of them is escaped for the format it lands in.
"""

from __future__ import annotations

import html

from envcheck.services.report import MatrixReport, ReportCell, TargetRow

_NOT_RUN = "—"


def _error_text(cell: ReportCell) -> str:
    if cell.behaviour == "identical":
        return "bit-identical"
    if cell.max_abs_error is None or cell.max_rel_error is None:
        return "no error measured"
    return f"max error abs {cell.max_abs_error:.2g}, rel {cell.max_rel_error:.2g}"


def _ratio_text(ratio: float | None) -> str:
    return "time ratio —" if ratio is None else f"time x{ratio:.2f}"


def _summary(report: MatrixReport) -> str:
    compared, blocked = report.compared, report.blocked
    if blocked:
        return (f"{len(blocked)} of {len(compared)} compared "
                f"cell{'s' if len(compared) != 1 else ''} block")
    return f"all {len(compared)} compared cell{'s' if len(compared) != 1 else ''} promote"


# --- Markdown ----------------------------------------------------------------------------------

_MD_SPECIAL = "\\`*_[]|#"


def md_escape(text: str) -> str:
    """Text for a Markdown table cell: HTML-escaped (GitHub renders HTML) and Markdown's
    special characters backslash-escaped, so a name can neither break the table nor inject."""
    escaped = html.escape(text, quote=False)
    return "".join(f"\\{c}" if c in _MD_SPECIAL else c for c in escaped)


def _md_cell(cell: ReportCell | None) -> str:
    if cell is None:
        return _NOT_RUN
    if cell.reference:
        return "**reference**"
    mark = "❌ **block**" if cell.verdict == "block" else "✅ promote"
    return "<br>".join((mark, _error_text(cell), _ratio_text(cell.time_ratio)))


def render_markdown(report: MatrixReport) -> str:
    lines = [f"## envcheck report: {len(report.rows)} target"
             f"{'s' if len(report.rows) != 1 else ''} x {len(report.runners)} runner"
             f"{'s' if len(report.runners) != 1 else ''}", "",
             f"**{report.verdict}**: {_summary(report)}. Each runner is compared with the "
             "target's reference runner; the time ratio is the median over the workloads of "
             "its seconds over the reference's.", ""]
    lines.append("| target | " + " | ".join(md_escape(r) for r in report.runners) + " |")
    lines.append("|---" * (len(report.runners) + 1) + "|")
    for row in report.rows:
        lines.append(f"| {md_escape(row.target)} | "
                     + " | ".join(_md_cell(row.cells.get(r)) for r in report.runners) + " |")
    lines.append("")
    lines.append(f"{_NOT_RUN}: no fingerprint (the matrix did not run it there).")
    if report.blocked:
        lines.extend(["", "### Blocking", ""])
        for cell in report.blocked:
            row = _row(report, cell.target)
            lines.append(f"- **{md_escape(cell.target)}** on **{md_escape(cell.runner)}** "
                         f"(against {md_escape(row.reference)}):")
            lines.extend(f"  - {md_escape(reason)}" for reason in cell.blocking)
    notes = _notes(report)
    if notes:
        lines.extend(["", "### Notes", ""])
        lines.extend(f"- {md_escape(note)}" for note in notes)
    return "\n".join(lines) + "\n"


def _row(report: MatrixReport, target: str) -> TargetRow:
    return next(row for row in report.rows if row.target == target)


def _notes(report: MatrixReport) -> list[str]:
    notes = [f"{row.target}: {row.note}" for row in report.rows if row.note]
    notes.extend(f"{c.target} on {c.runner}: image built again on the runner (another "
                 "image ID, same lock and content hash)" for c in report.cells if c.rebuilt)
    return notes


# --- HTML --------------------------------------------------------------------------------------

_STYLE = """\
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.4em 0.8em; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td.block { background: #ffebe9; }
td.promote { background: #dafbe1; }
td.reference { background: #ddf4ff; font-weight: bold; }
td.absent { color: #8c959f; }
.verdict-block { color: #cf222e; }
.verdict-pass { color: #1a7f37; }"""


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(cell: ReportCell | None) -> str:
    if cell is None:
        return f'<td class="absent">{_NOT_RUN}</td>'
    if cell.reference:
        return '<td class="reference">reference</td>'
    verdict = cell.verdict or "promote"
    body = "<br>".join(_e(t) for t in (verdict, _error_text(cell), _ratio_text(cell.time_ratio)))
    return f'<td class="{_e(verdict)}">{body}</td>'


_BAR_HEIGHT = 22
_LABEL_WIDTH = 220
_PLOT_WIDTH = 400
_TOP = 24
_BOTTOM = 28


def render_time_chart(report: MatrixReport) -> str:
    """A horizontal bar per compared cell with a time ratio; a line marks 1.0 (as fast as
    the reference). Self-contained SVG, no script."""
    bars = [c for c in report.compared if c.time_ratio is not None]
    if not bars:
        return "<p>No time ratios: no compared cell has workload times on both sides.</p>"
    top_ratio = max(1.0, *(c.time_ratio or 0.0 for c in bars)) * 1.1
    scale = _PLOT_WIDTH / top_ratio
    height = _TOP + len(bars) * _BAR_HEIGHT + _BOTTOM
    width = _LABEL_WIDTH + _PLOT_WIDTH + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="chart-title">',
           '<title id="chart-title">Median time ratio against the reference runner</title>',
           f'<text x="{_LABEL_WIDTH}" y="14" font-size="12">median time ratio '
           '(runner / reference; 1.0 = as fast)</text>']
    for i, cell in enumerate(bars):
        ratio = cell.time_ratio or 0.0
        y = _TOP + i * _BAR_HEIGHT
        label = f"{cell.target} on {cell.runner}"
        colour = "#cf222e" if cell.verdict == "block" else "#2da44e"
        out.append(f'<text x="{_LABEL_WIDTH - 6}" y="{y + 15}" font-size="12" '
                   f'text-anchor="end">{_e(label)}</text>')
        out.append(f'<rect x="{_LABEL_WIDTH}" y="{y + 3}" width="{ratio * scale:.1f}" '
                   f'height="{_BAR_HEIGHT - 6}" fill="{colour}">'
                   f'<title>{_e(label)}: x{ratio:.3g}</title></rect>')
        out.append(f'<text x="{_LABEL_WIDTH + ratio * scale + 4:.1f}" y="{y + 15}" '
                   f'font-size="12">x{ratio:.2f}</text>')
    one = _LABEL_WIDTH + scale
    axis_y = _TOP + len(bars) * _BAR_HEIGHT
    out.append(f'<line x1="{one:.1f}" y1="{_TOP - 2}" x2="{one:.1f}" y2="{axis_y + 4}" '
               'stroke="#57606a" stroke-dasharray="4 3"/>')
    out.append(f'<text x="{one:.1f}" y="{axis_y + 18}" font-size="11" '
               'text-anchor="middle">1.0</text>')
    out.append("</svg>")
    return "\n".join(out)


def render_html(report: MatrixReport) -> str:
    title = "envcheck report"
    head = ["<tr><th>target</th>" + "".join(f"<th>{_e(r)}</th>" for r in report.runners)
            + "</tr>"]
    rows = [f"<tr><th>{_e(row.target)}</th>"
            + "".join(_html_cell(row.cells.get(r)) for r in report.runners) + "</tr>"
            for row in report.rows]
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{title}</title>", f"<style>\n{_STYLE}\n</style>", "</head>", "<body>",
             f"<h1>{title}: {len(report.rows)} targets x {len(report.runners)} runners</h1>",
             f'<p class="verdict-{report.verdict}"><strong>{report.verdict}</strong>: '
             f"{_e(_summary(report))}.</p>",
             "<table>", "<thead>", *head, "</thead>", "<tbody>", *rows, "</tbody>",
             "</table>", f"<p>{_NOT_RUN}: no fingerprint (the matrix did not run it "
             "there).</p>", "<h2>Time ratios</h2>", render_time_chart(report)]
    if report.blocked:
        parts.append("<h2>Blocking</h2>")
        parts.append("<ul>")
        for cell in report.blocked:
            reference = _row(report, cell.target).reference
            reasons = "".join(f"<li>{_e(r)}</li>" for r in cell.blocking)
            parts.append(f"<li><strong>{_e(cell.target)}</strong> on "
                         f"<strong>{_e(cell.runner)}</strong> (against {_e(reference)}):"
                         f"<ul>{reasons}</ul></li>")
        parts.append("</ul>")
    notes = _notes(report)
    if notes:
        parts.extend(["<h2>Notes</h2>", "<ul>", *(f"<li>{_e(n)}</li>" for n in notes),
                      "</ul>"])
    parts.extend(["</body>", "</html>"])
    return "\n".join(parts) + "\n"
