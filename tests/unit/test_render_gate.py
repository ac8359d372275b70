"""The gate's text says what --json says: a pass through minor-version compatibility."""

from __future__ import annotations

import io

from rich.console import Console

from envcheck.cli.render_gate import render_gate
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project_model import Profile, ProfileGpu, Target
from envcheck.services.gate import gate
from envcheck.snapshot import DriverVersion

TARGET = Target(name="train", python="3.11", platform="linux/x86_64", cuda="cu128",
                torch="==2.10.0", profiles=("old-box",))
LOCK = Lockfile(
    header=LockHeader(schema="envcheck.lock/1", target="train", python="3.11",
                      platform="linux/x86_64", cuda="cu128", resolver="uv",
                      resolver_version="0.13.9", inputs_sha256="0" * 64),
    packages=(LockedPackage(name="torch", version="2.10.0+cu128",
                            hashes=("sha256:" + "1" * 64,)),))
PROFILES = {"old-box": Profile(name="old-box", driver=DriverVersion("535.104.05"),
                               gpus=(ProfileGpu(name="NVIDIA GeForce RTX 3090",
                                                compute_capability="8.6"),))}


def _text() -> str:
    verdicts = gate(LOCK, TARGET, PROFILES)
    assert verdicts[0].errors == 0
    out = io.StringIO()
    render_gate("train", verdicts, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_a_cu128_lock_on_driver_535_says_it_runs_only_through_minor_compatibility() -> None:
    text = _text()
    assert "✔ train on profile old-box: 0 errors" in text
    assert "minor-version compatibility" in text
    assert "PTX" in text
    note = next(line for line in text.splitlines() if "note:" in line)
    assert "PTX" in note
