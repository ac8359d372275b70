"""Gating a lock against hardware profiles, with the doctor's rules."""

from __future__ import annotations

from packaging.version import Version

from envcheck.knowledge.cuda_tables import min_driver_for_cuda
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project_model import Profile, ProfileGpu, Target
from envcheck.services.gate import gate, target_command, torch_from_lock
from envcheck.snapshot import DriverVersion

TARGET = Target(name="train", python="3.11", platform="linux/x86_64", cuda="cu130",
                torch="==2.14.1", profiles=("workstation", "old-box", "pascal", "new-box"))


def _lock(*pins: tuple[str, str]) -> Lockfile:
    header = LockHeader(schema="envcheck.lock/1", target="train", python="3.11",
                        platform="linux/x86_64", cuda="cu130", resolver="uv",
                        resolver_version="0.13.9", inputs_sha256="0" * 64)
    return Lockfile(header=header, packages=tuple(
        LockedPackage(name=name, version=version, hashes=("sha256:" + "1" * 64,))
        for name, version in pins))


LOCK = _lock(("torch", "2.14.1"), ("nvidia-cudnn-cu13", "9.24.0.43"), ("filelock", "3.20.0"))
CU130_MINIMUM = min_driver_for_cuda(Version("13.0"))
assert CU130_MINIMUM is not None

PROFILES = {
    "workstation": Profile(name="workstation", driver=DriverVersion("550.54.15"),
                           gpus=(ProfileGpu(name="NVIDIA GeForce RTX 4090",
                                            compute_capability="8.9", memory_mib=24564),)),
    "old-box": Profile(name="old-box", driver=DriverVersion("535.104.05"),
                       gpus=(ProfileGpu(name="Tesla T4", compute_capability="7.5"),)),
    "pascal": Profile(name="pascal", driver=CU130_MINIMUM,
                      gpus=(ProfileGpu(name="NVIDIA GeForce GTX 1080",
                                       compute_capability="6.1", count=2),)),
    "new-box": Profile(name="new-box", driver=CU130_MINIMUM,
                       gpus=(ProfileGpu(name="NVIDIA H100 80GB HBM3",
                                        compute_capability="9.0", count=8),)),
}


def test_lock_facts_come_from_the_pins_and_the_tables() -> None:
    torch = torch_from_lock(LOCK)
    assert torch.version == Version("2.14.1")
    assert torch.cuda == Version("13.0")
    assert torch.cudnn == Version("9.24.0.43")
    assert "sm_90" in torch.arch_list


def test_each_profile_gets_the_doctors_verdict() -> None:
    verdicts = {v.profile: v for v in gate(LOCK, TARGET, PROFILES)}
    assert "driver-too-old-for-torch-cuda" in {f.id for f in verdicts["workstation"].findings}
    assert "driver-too-old-for-torch-cuda" in {f.id for f in verdicts["old-box"].findings}
    pascal = [f for f in verdicts["pascal"].findings if f.id == "gpu-arch-not-in-torch-build"]
    assert len(pascal) == 2  # both GTX 1080s
    assert verdicts["new-box"].errors == 0


def test_a_lock_without_torch_has_nothing_to_gate() -> None:
    verdicts = gate(_lock(("requests", "2.32.3")), TARGET, PROFILES)
    assert all(v.errors == 0 for v in verdicts)


def test_a_lock_is_fixed_by_changing_the_target_not_by_pip() -> None:
    verdicts = {v.profile: v for v in gate(LOCK, TARGET, PROFILES)}
    (too_old,) = [f for f in verdicts["workstation"].findings
                  if f.id == "driver-too-old-for-torch-cuda"]
    assert too_old.fix is not None
    assert "pip install" not in too_old.fix
    # Driver 550 runs 2.14.1's cu126 build (minor-version compatibility); the target keeps its
    # torch pin, Python and profiles, and only its CUDA variant changes.
    assert too_old.fix.startswith(
        "envcheck target add train --python 3.11 --cuda cu126 --torch ==2.14.1 "
        "--profile workstation --profile old-box --profile pascal --profile new-box --replace"
        " && envcheck lock train")
    # 2.14.1's cu126 arch list comes from RELEASE.md's CUDA Support Matrix: no caveat.
    assert "arch list is not recorded" not in too_old.fix
    # GTX 1080s (sm_61): the cu130 build has no code for them; nvcc 12.6 does target sm_61.
    pascal = [f for f in verdicts["pascal"].findings if f.id == "gpu-arch-not-in-torch-build"]
    assert all(f.fix is not None and "--cuda cu126" in f.fix for f in pascal)


def test_retarget_changes_the_torch_pin_only_when_no_allowed_release_runs() -> None:
    old = Target(name="train", python="3.11", platform="linux/x86_64", cuda="cu130",
                 torch="==2.15.0", profiles=("old-box",))
    (verdict,) = gate(_lock(("torch", "2.15.0")), old, PROFILES)
    (too_old,) = [f for f in verdict.findings if f.id == "driver-too-old-for-torch-cuda"]
    assert too_old.fix is not None
    # 2.15.0 is built for CUDA 13.2 only; on 535 the newest build that runs is 2.14.1 cu126.
    assert "--cuda cu126 --torch ==2.14.1 " in too_old.fix


def test_target_command_quotes_and_keeps_every_field() -> None:
    target = Target(name="cloud", python="3.12", platform="linux/aarch64", cuda="cu130",
                    torch=">=2.7,<2.8", requirements="req.in", base_image="img:1",
                    profiles=("a",))
    assert target_command(target, "cu128", target.torch) == (
        "envcheck target add cloud --python 3.12 --cuda cu128 --torch '>=2.7,<2.8' "
        "--platform linux/aarch64 --requirements req.in --base-image img:1 --profile a "
        "--replace")
