"""No error finding for a working setup, whatever error text comes with it (issue 11:
"never call a working setup broken"). The pastes are in tests/data/healthy_pastes/."""

from __future__ import annotations

from pathlib import Path

import pytest

from envcheck.services.doctor import DoctorRequest, read_report, run_doctor

PASTES = Path(__file__).resolve().parent.parent / "data" / "healthy_pastes"


@pytest.mark.parametrize("paste", sorted(PASTES.glob("*.txt")), ids=lambda path: path.stem)
def test_a_working_setup_gets_no_error(paste: Path) -> None:
    error = paste.with_suffix(".err")
    error_text = error.read_text(encoding="utf-8") if error.exists() else None
    # Each paste holds facts: "no environment facts found" would be a miss, not a pass.
    reading = read_report(paste.read_text(encoding="utf-8"), error_text,
                          taken_at="2026-12-03T00:00:00Z", envcheck_version="0")
    report = reading.report
    result = run_doctor(DoctorRequest(snapshot=report.snapshot, error_text=reading.error_text,
                                      missing=report.missing, report=report))
    errors = [f"{f.id}: {f.summary}" for f in result.findings if f.severity == "error"]
    assert errors == []
    assert not any(cause.verdict == "confirmed" for cause in result.causes)


def test_the_set_is_there() -> None:
    assert len(list(PASTES.glob("*.txt"))) >= 60
