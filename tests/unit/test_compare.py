"""compare_fingerprints and the fingerprint JSON codec, on hand-made fingerprints."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from envcheck.compare import Tolerance, Tolerances, compare_fingerprints
from envcheck.errors import FingerprintFormatError
from envcheck.fingerprint_io import fingerprint_from_json, fingerprint_to_json
from envcheck.fingerprint_model import Fingerprint, WorkloadResult, WorkloadStats
from envcheck.snapshot import Driver, Package, PythonEnv, Snapshot, System, Torch


def _digest(label: str) -> str:
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def _fingerprint(samples: tuple[float, ...] = (1.0, 2.0, 3.0), digest: str = "a",
                 numpy: str = "2.2.6", seconds: float = 1.0) -> Fingerprint:
    snapshot = Snapshot(envcheck_version="0", taken_at="t", source="container",
                        system=System(), driver=Driver(status="absent"),
                        python=PythonEnv(status="ok"), torch=Torch(status="absent"),
                        packages=(Package(name="numpy", version=numpy),))
    workload = WorkloadResult(name="matmul_fp32", status="ok", device="cpu", dtype="float32",
                              digest=_digest(digest), seconds=seconds,
                              stats=WorkloadStats(sum=sum(samples), max_abs=max(samples),
                                                  samples=samples))
    return Fingerprint(envcheck_version="0", taken_at="t", where="here", snapshot=snapshot,
                       packages_sha256=_digest(numpy), behaviour=(workload,))


def test_identical_fingerprints_promote() -> None:
    report = compare_fingerprints(_fingerprint(), _fingerprint())
    assert report.verdict == "promote"


def test_other_bits_within_tolerance_are_equivalent() -> None:
    b = _fingerprint(samples=(1.0, 2.0, 3.0000001), digest="b")
    report = compare_fingerprints(_fingerprint(), b)
    behaviour = next(s for s in report.sections if s.name == "behaviour")
    assert report.verdict == "promote"
    assert behaviour.state == "equivalent"
    assert behaviour.max_abs_error == pytest.approx(1e-7, rel=0.5)


def test_stats_beyond_tolerance_block_whatever_the_digest() -> None:
    b = _fingerprint(samples=(1.0, 2.0, 3.01))
    report = compare_fingerprints(_fingerprint(), replace(b, behaviour=tuple(
        replace(w, digest=_digest("b")) for w in b.behaviour)))
    assert report.verdict == "block"
    assert report.reasons[0].startswith("matmul_fp32: output beyond tolerance")


def test_a_looser_tolerance_accepts_the_same_difference() -> None:
    b = _fingerprint(samples=(1.0, 2.0, 3.01), digest="b")
    loose = Tolerances(by_dtype={"float32": Tolerance(rtol=0.01, atol=0.01)})
    assert compare_fingerprints(_fingerprint(), b, loose).verdict == "promote"


def test_a_changed_package_blocks_and_is_named() -> None:
    report = compare_fingerprints(_fingerprint(), _fingerprint(numpy="2.1.3"))
    assert report.verdict == "block"
    assert "package changed: numpy 2.2.6 -> 2.1.3" in report.reasons


def test_slowdown_is_information_unless_limited() -> None:
    slow = _fingerprint(seconds=3.0)
    assert compare_fingerprints(_fingerprint(), slow).verdict == "promote"
    limited = compare_fingerprints(_fingerprint(), slow, max_slowdown=2.0)
    assert limited.verdict == "block"
    assert "3x slower" in limited.reasons[0]


def test_fingerprint_json_round_trips() -> None:
    taken = _fingerprint()
    assert fingerprint_from_json(fingerprint_to_json(taken), origin="a.json") == taken


def test_other_schema_and_truncated_files_name_the_file() -> None:
    text = fingerprint_to_json(_fingerprint())
    with pytest.raises(FingerprintFormatError, match=r"b\.json is not JSON \(the file looks "
                       "truncated"):
        fingerprint_from_json(text[:100], origin="b.json")
    with pytest.raises(FingerprintFormatError, match=r"c\.json has schema 'envcheck\."
                       "fingerprint/2'"):
        fingerprint_from_json(text.replace("envcheck.fingerprint/1", "envcheck.fingerprint/2"),
                              origin="c.json")


def test_equal_digests_with_different_stats_are_a_contradiction_that_blocks() -> None:
    """The same output bytes always give the same statistics: an edited or corrupt file."""
    edited = _fingerprint(samples=(1.0, 2.0, 3.5))
    report = compare_fingerprints(_fingerprint(), edited)
    assert report.verdict == "block"
    assert report.reasons[0].startswith(
        "matmul_fp32: contradiction: the same output digest here and there but different "
        "statistics (sum 6 here, 6.5 there; max_abs 3 here, 3.5 there)")
    assert "edited or is corrupt" in report.reasons[0]


@pytest.mark.parametrize(("old", "new", "problem"), [
    ('"digest": "sha256:', '"digest": "md5:', r"behaviour\[0\] \(matmul_fp32\)\.digest 'md5:"),
    ('"packages_sha256": "sha256:', '"packages_sha256": "', r"packages_sha256 '[0-9a-f]{10}"),
    ('"max_abs": 3.0', '"max_abs": 2.0', r"stats: sample 3 is larger in magnitude than max_abs 2"),
    ('"max_abs": 3.0', '"max_abs": -3.0', r"max_abs is -3, a magnitude cannot be negative"),
    ('"samples": [', '"samples": {"a": 1}, "x": [', r"samples"),
    ('"sum": 6.0', '"sum": "6"', r"sum"),
])
def test_the_schema_check_catches_digest_form_and_stats_shape(old: str, new: str,
                                                             problem: str) -> None:
    text = fingerprint_to_json(_fingerprint())
    assert old in text
    with pytest.raises(FingerprintFormatError, match=r"d\.json is not a valid fingerprint: .*"
                       + problem):
        fingerprint_from_json(text.replace(old, new, 1), origin="d.json")
