"""Fault trial, kill -9: `lock`, `inspect -o`, `target add` and `profile save` killed (the
whole process group, resolver included) at many moments of their run. After every kill the
file they write is the old one, whole, or the new one, whole: never a half (issue 13).

The moments are spread over the command's own measured run time, so the kills land in
startup, in the work, and around the write; the lock resolves a flat index made here
(tests/flat_index.py), offline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from envcheck.lockfile import parse_lockfile
from envcheck.project import parse_project
from envcheck.snapshot import snapshot_from_json
from tests.flat_index import OFFLINE_ENV, index_table, make_flat_index
from tests.integration.conftest import SCENARIOS, base_env

MOMENTS = 14
PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.envcheck.targets.small]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
requirements = "requirements.in"
"""


@dataclass(frozen=True, kw_only=True)
class Trial:
    argv: tuple[str, ...]
    written: Path
    is_new: Callable[[str], bool]
    """Whether the text is the command's complete result (it parses and has the change)."""


@dataclass(kw_only=True)
class Tally:
    kills: int = 0
    old: int = 0
    new: int = 0
    stray_temporaries: int = 0


def _start(argv: tuple[str, ...], cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "envcheck.cli.main", *argv], cwd=cwd,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _kill_at(argv: tuple[str, ...], cwd: Path, env: dict[str, str], delay: float) -> None:
    process = _start(argv, cwd, env)
    time.sleep(delay)
    with contextlib.suppress(ProcessLookupError):  # it had finished
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)


def _run_trial(trial: Trial, cwd: Path, env: dict[str, str],
               reset: Callable[[], None]) -> Tally:
    reset()
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-m", "envcheck.cli.main", *trial.argv],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
    duration = time.monotonic() - started
    assert finished.returncode == 0, finished.stderr
    assert trial.is_new(trial.written.read_text())
    tally = Tally()
    for moment in range(MOMENTS):
        reset()
        old = trial.written.read_bytes()
        _kill_at(trial.argv, cwd, env, duration * (moment + 0.5) / MOMENTS * 1.1)
        tally.kills += 1
        now = trial.written.read_bytes()
        if now == old:
            tally.old += 1
        else:
            assert trial.is_new(now.decode("utf-8")), (moment, now[-200:])
            tally.new += 1
        strays = list(trial.written.parent.glob(f".{trial.written.name}.*.tmp"))
        tally.stray_temporaries += len(strays)
        for stray in strays:
            stray.unlink()
    return tally


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    wheels = make_flat_index(tmp_path / "wheels")
    (root / "pyproject.toml").write_text(PYPROJECT + index_table(wheels))
    (root / "requirements.in").write_text("ec-app==1.0\n")
    return root


def _report(name: str, tally: Tally) -> None:
    # Read by whoever updates docs/reliability.md (pytest -s shows it).
    print(f"\nkill -9 {name}: {tally}")


def test_kill_during_lock_leaves_the_old_lockfile_or_the_new(project: Path,
                                                             tmp_path: Path) -> None:
    env = {**base_env(tmp_path), **OFFLINE_ENV}
    first = subprocess.run([sys.executable, "-m", "envcheck.cli.main", "lock"], cwd=project,
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert first.returncode == 0, first.stderr
    lockfile = project / "lockfiles" / "small.txt"
    old = lockfile.read_bytes()

    def reset() -> None:
        lockfile.write_bytes(old)
        (project / "requirements.in").write_text("ec-app==1.0\nec-six\n")

    def is_new(text: str) -> bool:
        lock = parse_lockfile(text, origin=str(lockfile))
        return "ec-six" in {p.name for p in lock.packages}

    tally = _run_trial(Trial(argv=("lock",), written=lockfile, is_new=is_new), project, env,
                       reset)
    _report("lock", tally)
    assert tally.kills == tally.old + tally.new == MOMENTS
    assert sorted(p.name for p in lockfile.parent.iterdir()) == ["small.txt"]


def test_kill_during_inspect_output_leaves_the_old_snapshot_or_the_new(tmp_path: Path) -> None:
    env = base_env(tmp_path)
    output = tmp_path / "snapshot.json"
    old = '{"not": "a snapshot yet, but whole"}\n'

    def reset() -> None:
        output.write_text(old)

    def is_new(text: str) -> bool:
        return snapshot_from_json(text, origin=str(output)).schema == "envcheck.snapshot/1"

    tally = _run_trial(Trial(argv=("inspect", "-o", str(output)), written=output,
                             is_new=is_new), tmp_path, env, reset)
    _report("inspect -o", tally)
    assert tally.kills == tally.old + tally.new == MOMENTS


def test_kill_during_target_add_and_profile_save_leaves_pyproject_whole(
        project: Path, tmp_path: Path, standin_nvml_dir: Path) -> None:
    env = base_env(tmp_path)
    pyproject = project / "pyproject.toml"
    old = pyproject.read_text()
    # A machine with a driver and a GPU to save: the stand-in NVML's RTX 4090.
    snapshot = tmp_path / "box.json"
    inspected = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "inspect", "-o", str(snapshot)],
        env={**env, "LD_LIBRARY_PATH": str(standin_nvml_dir),
             "ENVCHECK_NVML_SCENARIO": str(SCENARIOS / "rtx4090_driver550.scenario")},
        capture_output=True, text=True, timeout=120, check=False)
    assert inspected.returncode == 0, inspected.stderr

    def reset() -> None:
        pyproject.write_text(old)

    def has(kind: str, name: str) -> Callable[[str], bool]:
        def check(text: str) -> bool:
            parsed = parse_project(text, root=project)
            return name in (parsed.targets if kind == "target" else parsed.profiles)
        return check

    trials = {
        "target add": Trial(argv=("target", "add", "gpu", "--python", "3.11", "--cuda",
                                  "cu128", "--torch", "==2.10.0"),
                            written=pyproject, is_new=has("target", "gpu")),
        "profile save": Trial(argv=("profile", "save", "box", "--snapshot", str(snapshot)),
                              written=pyproject, is_new=has("profile", "box")),
    }
    for name, trial in trials.items():
        tally = _run_trial(trial, project, env, reset)
        _report(name, tally)
        assert tally.kills == tally.old + tally.new == MOMENTS, name
