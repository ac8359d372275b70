"""The doctor's machine-readable outputs: JSON, GitHub Actions annotations, JUnit XML.

Pure renderers over a DoctorResult; every string passes through the redaction the
Snapshot gets, since these outputs end up in CI logs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from envcheck.jsoncodec import encode
from envcheck.redaction import redact_json, redact_text
from envcheck.rules import RULES
from envcheck.services.doctor import DoctorResult

_GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render_json(result: DoctorResult, *, strict: bool) -> str:
    document = {
        "verdict": "fail" if result.failed(strict=strict) else "pass",
        "counts": {s: result.count(s) for s in ("error", "warning", "info")},
        "findings": encode(result.findings),
        "causes": encode(result.causes),
        "messages": encode(result.messages),
        "missing": list(result.missing),
        "read_from_report": encode(result.read),
        "environment_consistent": result.consistent,
        "builds_cuda_code": result.builds_cuda_code,
        "plan": result.plan.label if result.plan else None,
        "snapshot": encode(result.snapshot),
    }
    return json.dumps(redact_json(document), indent=2) + "\n"


def _escape_data(text: str) -> str:
    # GitHub's workflow-command escaping: https://github.com/actions/toolkit (command.ts)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(result: DoctorResult) -> str:
    lines = []
    for finding in result.findings:
        body = finding.summary + (f"\nFix: {finding.fix}" if finding.fix else "")
        title = f"envcheck {finding.id}"
        lines.append(f"::{_GITHUB_LEVEL[finding.severity]} title={_escape_property(title)}::"
                     f"{_escape_data(redact_text(body))}")
    for cause in result.causes:
        lines.append(f"::notice title={_escape_property('envcheck cause ' + cause.category)}::"
                     f"{_escape_data(redact_text(f'{cause.verdict}: {cause.reason}'))}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_junit(result: DoctorResult, *, strict: bool) -> str:
    """One test case per rule; a rule with errors (or warnings, when strict) fails."""
    failing = {"error", "warning"} if strict else {"error"}
    suite = ET.Element("testsuite", name="envcheck doctor")
    failures = 0
    for rule in RULES:
        case = ET.SubElement(suite, "testcase", classname=f"envcheck.{rule.category}",
                             name=rule.id)
        produced = [f for f in result.findings if f.rule == rule.id]
        bad = [f for f in produced if f.severity in failing]
        if bad:
            failures += 1
            failure = ET.SubElement(case, "failure", message=redact_text(bad[0].summary),
                                    type=bad[0].id)
            failure.text = redact_text("\n\n".join(
                f"{f.summary}\n{f.explanation}" + (f"\nFix: {f.fix}" if f.fix else "")
                for f in bad))
        notes = [f for f in produced if f not in bad]
        if notes:
            out = ET.SubElement(case, "system-out")
            out.text = redact_text("\n".join(f"{f.severity}: {f.summary}" for f in notes))
    # Findings from checks outside the rule registry (drift from the lock) get a case each.
    registered = {rule.id for rule in RULES}
    extra = [f for f in result.findings if f.rule not in registered]
    for finding in extra:
        case = ET.SubElement(suite, "testcase", classname=f"envcheck.{finding.category}",
                             name=finding.id)
        if finding.severity in failing:
            failures += 1
            failure = ET.SubElement(case, "failure", message=redact_text(finding.summary),
                                    type=finding.id)
            failure.text = redact_text(f"{finding.summary}\n{finding.explanation}"
                                       + (f"\nFix: {finding.fix}" if finding.fix else ""))
        else:
            out = ET.SubElement(case, "system-out")
            out.text = redact_text(f"{finding.severity}: {finding.summary}")
    suite.set("tests", str(len(RULES) + len(extra)))
    suite.set("failures", str(failures))
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        suites, encoding="unicode") + "\n"

