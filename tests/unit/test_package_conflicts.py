"""Packages that do not fit together, read as a maintainer reads them: the resolver's and the
import system's own statements, two distributions of one module, framework builds a platform
does not have (real lines, each cited where it was seen)."""

from __future__ import annotations

from envcheck.diagnosis import likely_causes
from envcheck.services.doctor import DoctorRequest, DoctorResult, read_report, run_doctor


def _doctor(report: str, error: str | None = None) -> DoctorResult:
    reading = read_report(report, error, taken_at="2026-01-01T00:00:00Z", envcheck_version="0")
    return run_doctor(DoctorRequest(snapshot=reading.report.snapshot,
                                    error_text=reading.error_text,
                                    missing=reading.report.missing, report=reading.report))


def _verdict(result: DoctorResult, category: str) -> str | None:
    return next((c.verdict for c in result.causes if c.category == category), None)


def _first(result: DoctorResult) -> str | None:
    ranked = likely_causes(result.causes, result.findings)
    return ranked[0] if ranked else None


# https://github.com/modelscope/modelscope/issues/1050
MISSING_NAME = "cannot import name 'OfflineModeIsEnabled' from 'datasets.utils.file_utils'"


def test_a_name_missing_from_a_package_module_is_stated() -> None:
    result = _doctor("* OS: `Ubuntu 20.04`", MISSING_NAME)
    assert _verdict(result, "broken_requirements") == "confirmed"


def test_a_circular_import_is_not_a_version_mismatch() -> None:
    # The wording Python 3.8+ adds for a partially initialised module.
    error = ("ImportError: cannot import name 'Tensor' from partially initialized module "
             "'torch.tensor' (most likely due to a circular import)")
    result = _doctor("* OS: `Ubuntu 20.04`", error)
    assert _verdict(result, "broken_requirements") != "confirmed"
    error = "cannot import name 'x' from 'mypkg.utils' (most likely due to a circular import)"
    result = _doctor("* OS: `Ubuntu 20.04`", error)
    assert _verdict(result, "broken_requirements") != "confirmed"


def test_the_resolvers_no_solution_is_stated() -> None:
    # https://github.com/rdyro/torch2jax/issues/29 (uv) and
    # https://github.com/oemof/oemof-tabular/issues/133 (pip's ResolutionImpossible)
    uv = ("  \u00d7 No solution found when resolving dependencies:\n  ╰─▶ Because torch>=2.2.0,"
          "<=2.3.1 depends on nvidia-cudnn-cu12==8.9.2.26")
    pip = ("ERROR: Cannot install oemof-tabular==0.0.3 and oemof-tabular==0.0.4 because these "
           "package versions have conflicting dependencies.")
    for error in (uv, pip):
        result = _doctor("Python 3.12.7", error)
        assert _verdict(result, "broken_requirements") == "confirmed"
        assert _first(result) == "broken_requirements"


def test_a_submodule_missing_from_an_installed_package_is_stated() -> None:
    # https://github.com/open-mmlab/mmdetection/issues/3807
    report = "mmcv                      1.1.2                    pypi_0    pypi"
    result = _doctor(report, "ModuleNotFoundError: No module named 'mmcv.cnn.weight_init'")
    assert _verdict(result, "broken_requirements") == "confirmed"
