"""Drift from a lockfile: the pure comparison, the verify service on a recorded probe
answer, and doctor's versions-only finding."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from envcheck.drift import (
    Drift,
    ExtraPackage,
    InstalledDistribution,
    MissingPackage,
    RecordCheck,
    TamperedPackage,
    VersionChange,
    compare,
    marker_applies,
    pip_command,
    summarize,
    sync_command,
)
from envcheck.lockfile import parse_lockfile, render_lockfile
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.services.doctor import (
    DRIFT_FINDING,
    DoctorRequest,
    find_project_lock,
    run_doctor,
    snapshot_markers,
)
from envcheck.services.verify import (
    TargetPythonError,
    VerifyRequest,
    distributions_from_report,
    verify_environment,
)
from envcheck.snapshot import Package
from tests.fakes import FakeRunner, make_host, ok
from tests.snapshots import healthy

HASH = "sha256:" + "0" * 64
LINUX_311 = {"python_version": "3.11", "python_full_version": "3.11.9",
             "sys_platform": "linux", "platform_machine": "x86_64",
             "implementation_name": "cpython", "platform_system": "Linux", "os_name": "posix"}


def make_lock(*pins: str, target: str = "train", python: str = "3.11") -> Lockfile:
    packages = []
    for pin in pins:
        requirement, _, marker = pin.partition(";")
        name, version = requirement.strip().split("==")
        packages.append(LockedPackage(name=name, version=version, hashes=(HASH,),
                                      marker=marker.strip() or None))
    header = LockHeader(schema="envcheck.lock/1", target=target, python=python,
                        platform="linux/x86_64", cuda="cpu", resolver="uv",
                        resolver_version="0.13.9", inputs_sha256="a" * 64)
    return Lockfile(header=header, packages=tuple(packages))


def installed(*pins: str, record: RecordCheck | None = None) -> list[InstalledDistribution]:
    return [InstalledDistribution(name=pin.split("==")[0], version=pin.split("==")[1],
                                  record=record) for pin in pins]


# --- compare -----------------------------------------------------------------------------------


def test_identical_environment() -> None:
    lock = make_lock("requests==2.32.3", "idna==3.10")
    drift = compare(lock, installed("requests==2.32.3", "idna==3.10"))
    assert drift.identical
    assert drift == Drift(locked_count=2, installed_count=2)
    assert sync_command("lockfiles/train.txt", drift) is None


def test_changed_missing_and_extra_are_each_named() -> None:
    lock = make_lock("requests==2.32.3", "idna==3.10", "six==1.17.0")
    drift = compare(lock, installed("requests==2.32.3", "six==1.16.0", "tomli==2.2.1"))
    assert drift.different == (VersionChange(name="six", locked="1.17.0", installed="1.16.0"),)
    assert drift.missing == (MissingPackage(name="idna", locked="3.10"),)
    assert drift.extra == (ExtraPackage(name="tomli", installed="2.2.1"),)
    assert not drift.identical
    assert summarize(drift) == "1 different, 1 missing, 1 extra (six, idna, tomli)"


def test_names_compare_canonicalized() -> None:
    lock = make_lock("pyyaml==6.0.3", "charset-normalizer==3.4.0", "zope.interface==7.0")
    drift = compare(lock, installed("PyYAML==6.0.3", "charset_normalizer==3.4.0",
                                    "Zope-Interface==7.0"))
    assert drift.identical


@pytest.mark.parametrize(("locked", "found", "same"), [
    ("2.7.1+cu128", "2.7.1+cu128", True),
    ("2.7.1+cu128", "2.7.1+cu126", False),   # the local label is the CUDA build
    ("2.7.1", "2.7.1+cu126", False),
    ("1.0", "1.0.0", True),                   # PEP 440 equality, not text
    ("2024.1", "2024.01", True),
])
def test_versions_compare_with_the_local_label(locked: str, found: str, same: bool) -> None:
    drift = compare(make_lock(f"torch=={locked}"), installed(f"torch=={found}"))
    assert drift.identical is same


def test_installer_tools_are_not_extra_unless_pinned() -> None:
    lock = make_lock("six==1.17.0")
    drift = compare(lock, installed("six==1.17.0", "pip==24.0", "setuptools==65.5.0"))
    assert drift.identical
    assert [p.name for p in drift.tools_ignored] == ["pip", "setuptools"]
    pinned = compare(make_lock("six==1.17.0", "pip==25.1"),
                     installed("six==1.17.0", "pip==24.0", "wheel==0.45.0"))
    assert pinned.different == (VersionChange(name="pip", locked="25.1", installed="24.0"),)
    assert [p.name for p in pinned.tools_ignored] == ["wheel"]


def test_a_pin_whose_marker_does_not_hold_is_not_missing() -> None:
    lock = make_lock("six==1.17.0", 'tomli==2.2.1 ; python_version < "3.11"',
                     "uvloop==0.21.0 ; sys_platform == 'win32'")
    drift = compare(lock, installed("six==1.17.0"), markers=LINUX_311)
    assert drift.identical
    on_310 = compare(lock, installed("six==1.17.0"),
                     markers={**LINUX_311, "python_version": "3.10"})
    assert on_310.missing == (MissingPackage(name="tomli", locked="2.2.1"),)


def test_markers_unknown_never_make_a_pin_missing() -> None:
    assert marker_applies("python_version < '3.11'", None) is None
    assert marker_applies(None, None) is True
    lock = make_lock("six==1.17.0", 'tomli==2.2.1 ; python_version < "3.11"')
    assert compare(lock, installed("six==1.17.0")).identical
    # Installed anyway: its version is still compared.
    assert compare(lock, installed("six==1.17.0", "tomli==2.0.0")).different


def test_edited_and_deleted_files_make_a_package_tampered() -> None:
    edited = RecordCheck(state="ok", files_checked=12, modified=("yaml/__init__.py",),
                         missing=("yaml/py.typed",))
    clean = RecordCheck(state="ok", files_checked=30)
    distributions = [InstalledDistribution(name="PyYAML", version="6.0.3", record=edited),
                     InstalledDistribution(name="six", version="1.17.0", record=clean),
                     InstalledDistribution(name="legacy", version="1.0",
                                           record=RecordCheck(state="no-hashes"))]
    drift = compare(make_lock("pyyaml==6.0.3", "six==1.17.0", "legacy==1.0"), distributions,
                    records_checked=True)
    assert drift.tampered == (TamperedPackage(name="pyyaml", version="6.0.3",
                                              modified=("yaml/__init__.py",),
                                              missing=("yaml/py.typed",)),)
    assert drift.unverified == ("legacy",)
    assert drift.files_checked == 42
    assert not drift.identical
    assert sync_command("lockfiles/t.txt", drift, python="/v/bin/python") == (
        "uv pip sync lockfiles/t.txt --python /v/bin/python --reinstall-package pyyaml")
    assert pip_command("lockfiles/t.txt", drift) == (
        "pip install --require-hashes -r lockfiles/t.txt --force-reinstall")


# --- the verify service, on a recorded probe answer --------------------------------------------


def _probe_answer(*, records: bool) -> str:
    report = {
        "probe": "envcheck.envprobe/1",
        "python": {"executable": "/v/bin/python", "version": "3.12.3",
                   "platform": "linux-x86_64"},
        "markers": {**LINUX_311, "python_version": "3.12", "python_full_version": "3.12.3"},
        "packages": [{"name": "PyYAML", "version": "6.0.3", "requires": []},
                     {"name": "pip", "version": "24.0", "requires": []}],
        "records": [
            {"name": "PyYAML", "version": "6.0.3", "record": "ok", "files_checked": 40,
             "modified": ["yaml/__init__.py"], "missing": [], "unreadable": []},
            {"name": "pip", "version": "24.0", "record": "ok", "files_checked": 800,
             "modified": [], "missing": [], "unreadable": []},
        ] if records else None,
    }
    return json.dumps(report) + "\n"


def test_verify_runs_the_probe_in_the_target_and_compares(tmp_path: Path) -> None:
    runner = FakeRunner({("/v/bin/python",): ok(_probe_answer(records=True))})
    host = replace(make_host(tmp_path / "root", runner=runner),
                   probe_script=Path("/opt/envprobe.py"))
    (tmp_path / "root" / "v" / "bin").mkdir(parents=True)
    (tmp_path / "root" / "v" / "bin" / "python").write_text("")
    result = verify_environment(host, VerifyRequest(
        lock=make_lock("pyyaml==6.0.3", "six==1.17.0"), lock_path="lockfiles/train.txt",
        python="/v/bin/python"))
    assert runner.calls == [("/v/bin/python", "/opt/envprobe.py", "--verify-records")]
    assert result.drift.missing == (MissingPackage(name="six", locked="1.17.0"),)
    assert [p.name for p in result.drift.tampered] == ["pyyaml"]
    assert result.drift.files_checked == 840
    assert result.python_version == "3.12.3"
    assert result.notes == ("the lock is for Python 3.11; this interpreter is Python 3.12.3, "
                            "so some pins may not apply to it",)


def test_quick_verify_hashes_nothing(tmp_path: Path) -> None:
    runner = FakeRunner({("/v/bin/python",): ok(_probe_answer(records=False))})
    host = replace(make_host(tmp_path, runner=runner, env={"VIRTUAL_ENV": "/v"}),
                   probe_script=Path("/opt/envprobe.py"))
    (tmp_path / "v" / "bin").mkdir(parents=True)
    (tmp_path / "v" / "bin" / "python").write_text("")
    result = verify_environment(host, VerifyRequest(
        lock=make_lock("pyyaml==6.0.3", python="3.12"), lock_path="l.txt", quick=True))
    assert runner.calls[0][-2:] == ("--verify-records", "--quick")
    assert result.selected_by == "VIRTUAL_ENV"
    assert result.drift.identical
    assert not result.drift.records_checked
    assert result.notes == ()


def test_verify_refuses_a_python_that_does_not_exist(tmp_path: Path) -> None:
    host = replace(make_host(tmp_path), probe_script=Path("/opt/envprobe.py"))
    with pytest.raises(TargetPythonError, match="--python /nowhere/bin/python does not exist"):
        verify_environment(host, VerifyRequest(lock=make_lock("six==1.17.0"), lock_path="l",
                                               python="/nowhere/bin/python"))


def test_distributions_from_report_joins_records_by_canonical_name() -> None:
    report = json.loads(_probe_answer(records=True))
    report["records"][0]["name"] = "pyyaml"
    [yaml, pip] = distributions_from_report(report)
    assert yaml.record is not None
    assert yaml.record.modified == ("yaml/__init__.py",)
    assert pip.record == RecordCheck(state="ok", files_checked=800)


# --- doctor: versions only ---------------------------------------------------------------------


def test_doctor_warns_when_the_environment_drifted_from_the_lock() -> None:
    snapshot = healthy(packages=(Package(name="torch", version="2.5.1"),
                                 Package(name="filelock", version="3.16.0"),
                                 Package(name="pip", version="24.0"),
                                 Package(name="rich", version="13.9.4")))
    lock = make_lock("torch==2.5.1", "filelock==3.13.1", "torchvision==0.20.1")
    result = run_doctor(DoctorRequest(snapshot=snapshot, lock=lock,
                                      lock_path="lockfiles/train.txt"))
    [finding] = [f for f in result.findings if f.id == DRIFT_FINDING]
    assert (finding.category, finding.severity) == ("other", "warning")
    assert finding.summary == ("the environment has drifted from lockfiles/train.txt: "
                               "1 different, 1 missing, 1 extra (filelock, torchvision, rich)")
    assert finding.fix == ("uv pip sync lockfiles/train.txt   # or: pip install "
                           "--require-hashes -r lockfiles/train.txt")
    assert "filelock 3.16.0 installed, 3.13.1 locked" in finding.explanation
    assert finding.evidence["different"] == "filelock 3.13.1 -> 3.16.0"
    # Warnings first among equals is kept: the errors of the rules still lead.
    severities = [f.severity for f in result.findings]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)


def test_doctor_is_silent_when_the_environment_matches_its_lock() -> None:
    lock = make_lock("torch==2.5.1", "filelock==3.13.1", "torchvision==0.20.1")
    without = run_doctor(DoctorRequest(snapshot=healthy()))
    with_lock = run_doctor(DoctorRequest(snapshot=healthy(), lock=lock))
    assert with_lock.findings == without.findings


def test_doctor_names_the_python_it_was_told_to_inspect_in_the_fix() -> None:
    snapshot = healthy()
    snapshot = replace(snapshot, python=replace(snapshot.python, selected_by="--python"))
    result = run_doctor(DoctorRequest(snapshot=snapshot, lock=make_lock("torch==2.5.0"),
                                      lock_path="l.txt"))
    [finding] = [f for f in result.findings if f.id == DRIFT_FINDING]
    assert finding.fix is not None
    assert finding.fix.startswith("uv pip sync l.txt --python /home/ada/venv/bin/python ")


def test_doctor_never_suggests_a_sync_that_uninstalls_envcheck() -> None:
    # doctor run from the training venv itself: envcheck is there and the lock does not pin it.
    snapshot = healthy(packages=(Package(name="torch", version="2.5.0"),
                                 Package(name="envcheck", version="0.1.0")))
    result = run_doctor(DoctorRequest(snapshot=snapshot, lock=make_lock("torch==2.5.1"),
                                      lock_path="l.txt"))
    [finding] = [f for f in result.findings if f.id == DRIFT_FINDING]
    assert finding.fix is not None
    assert "uv pip sync" not in finding.fix
    assert finding.fix.startswith("uv pip install --require-hashes -r l.txt")


def test_snapshot_markers_describe_the_inspected_interpreter() -> None:
    markers = snapshot_markers(healthy())
    assert markers is not None
    assert {k: markers[k] for k in ("python_version", "sys_platform", "platform_machine")} == {
        "python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64"}


def _project(root: Path, targets: dict[str, str], locks: tuple[str, ...]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    text = '[project]\nname = "demo"\nversion = "0"\n'
    for name, python in targets.items():
        text += f'\n[tool.envcheck.targets.{name}]\npython = "{python}"\ncuda = "cpu"\n'
    (root / "pyproject.toml").write_text(text)
    (root / "lockfiles").mkdir(exist_ok=True)
    for name in locks:
        lock = make_lock("six==1.17.0", target=name, python=targets[name])
        (root / "lockfiles" / f"{name}.txt").write_text(render_lockfile(lock))


def test_project_lock_is_the_one_target_for_this_python(tmp_path: Path) -> None:
    from packaging.version import Version

    _project(tmp_path, {"train": "3.11", "old": "3.10", "serve": "3.11"}, ("train", "old"))
    found = find_project_lock(tmp_path, Version("3.11.9"))
    assert found.path == "lockfiles/train.txt"
    assert found.lock is not None
    assert found.lock == parse_lockfile(
        (tmp_path / "lockfiles" / "train.txt").read_text(), origin="x")
    assert find_project_lock(tmp_path, Version("3.12.1")).lock is None
    assert find_project_lock(tmp_path, Version("3.12.1")).findings == ()


def test_project_lock_with_two_fitting_targets_says_so(tmp_path: Path) -> None:
    from packaging.version import Version

    _project(tmp_path, {"train": "3.11", "serve": "3.11"}, ("train", "serve"))
    found = find_project_lock(tmp_path, Version("3.11.9"))
    assert found.lock is None
    [finding] = found.findings
    assert finding.severity == "info"
    assert finding.summary == ("2 targets have a lockfile for Python 3.11 (serve, train): "
                               "drift from a lock not checked")
    assert finding.fix == "envcheck doctor --lock lockfiles/serve.txt"
    result = run_doctor(DoctorRequest(snapshot=healthy(), lock_findings=found.findings))
    assert finding in result.findings


def test_project_lock_that_is_not_a_lockfile_is_an_info_finding(tmp_path: Path) -> None:
    from packaging.version import Version

    _project(tmp_path, {"train": "3.11"}, ())
    (tmp_path / "lockfiles" / "train.txt").write_text("six>=1\n")
    [finding] = find_project_lock(tmp_path, Version("3.11.9")).findings
    assert "lockfiles/train.txt" in finding.summary
    assert finding.fix == "envcheck lock train"
