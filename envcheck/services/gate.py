"""Gating a lock against the machines it must run on, before anything is installed.

A profile (driver, GPUs, runtime) and the lock's pinned torch build become a Snapshot of
"this lock on that machine"; the doctor's rules judge it, so `envcheck lock` and
`envcheck check-lock` print exactly the findings `envcheck doctor` would print there.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, replace

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from envcheck import __version__
from envcheck.findings import Finding
from envcheck.knowledge.model import TorchRelease, TorchVariant
from envcheck.knowledge.torch_tables import find_variant, torch_releases
from envcheck.lockfile_model import Lockfile
from envcheck.project_model import Profile, Target
from envcheck.rules import run_rules
from envcheck.rules.facts import (
    driver_platform,
    gpu_capability,
    newest_runnable_build,
    python_minor,
)
from envcheck.snapshot import (
    Driver,
    Gpu,
    Package,
    Provenance,
    PythonEnv,
    Snapshot,
    System,
    Torch,
)
from envcheck.versions import version_or_none


@dataclass(frozen=True, kw_only=True)
class ProfileVerdict:
    profile: str
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")


def locked_version(lock: Lockfile, name: str) -> str | None:
    wanted = canonicalize_name(name)
    return next((p.version for p in lock.packages if canonicalize_name(p.name) == wanted), None)


def _cudnn_from_lock(lock: Lockfile) -> Version | None:
    for package in lock.packages:
        if canonicalize_name(package.name).startswith("nvidia-cudnn"):
            return version_or_none(package.version)
    return None


def torch_from_lock(lock: Lockfile) -> Torch:
    """The pinned torch build, its facts from the lock and the knowledge tables."""
    text = locked_version(lock, "torch")
    if text is None:
        return Torch(status="absent", detail="the lock pins no torch")
    version = version_or_none(text)
    if version is None:
        return Torch(status="error", detail=f"the lock pins torch {text!r}, not a version")
    found = find_variant(version)
    derived: Provenance = "derived"
    if found is None:
        return Torch(status="ok", version=version, detail="not in envcheck's knowledge",
                     provenance={"version": derived})
    _release, variant = found
    cudnn = _cudnn_from_lock(lock) or variant.cudnn
    provenance: dict[str, Provenance] = {"version": derived, "cuda": derived}
    if variant.arch_list:
        provenance["arch_list"] = derived
    return Torch(status="ok", version=version, cuda=variant.cuda, cudnn=cudnn,
                 arch_list=variant.arch_list, provenance=provenance,
                 detail=f"pinned by the lock ({variant.name} build)")


def snapshot_for(profile: Profile, target: Target, lock: Lockfile) -> Snapshot:
    gpus: list[Gpu] = []
    for entry in profile.gpus:
        for _ in range(entry.count):
            gpus.append(Gpu(index=len(gpus), name=entry.name or f"sm_{entry.compute_capability}",
                            compute_capability=entry.compute_capability,
                            memory_total_mib=entry.memory_mib))
    packages = tuple(Package(name=p.name, version=p.version) for p in lock.packages)
    arch = target.platform.split("/", 1)[1]
    return Snapshot(
        envcheck_version=__version__,
        taken_at="",
        source="profile",
        system=System(os=profile.os, glibc=profile.glibc, arch=arch),
        driver=Driver(status="ok", version=profile.driver,
                      cuda_driver_api=profile.cuda_driver_api, source="report"),
        gpus=tuple(gpus),
        python=PythonEnv(status="ok", version=Version(target.python),
                         platform=f"linux-{arch}", implementation="CPython"),
        torch=torch_from_lock(lock),
        packages=packages,
    )


# Findings whose fix is "install another torch build": in a lock, the build comes from the
# target, so the fix is to change the target and lock again, not to pip install.
_BUILD_CATEGORIES = frozenset({"driver_too_old", "arch_not_in_wheel", "cpu_only_wheel"})


def _allowed(target: Target) -> SpecifierSet | None:
    try:
        return SpecifierSet(target.torch) if target.torch else None
    except InvalidSpecifier:
        return None


def _runnable_for_target(snapshot: Snapshot, target: Target
                         ) -> tuple[TorchRelease, TorchVariant, bool] | None:
    """The newest build that runs on this profile, releases the target's torch specifier
    allows first; the flag says whether the specifier must change too. The same search as
    the doctor's fixes (rules.facts.newest_runnable_build)."""
    allowed = _allowed(target)
    preferred = tuple(r for r in reversed(torch_releases())
                      if allowed is not None and r.version in allowed)
    found = newest_runnable_build(
        driver=snapshot.driver.version if snapshot.driver.status == "ok" else None,
        platform=driver_platform(snapshot),
        capabilities=tuple(gpu_capability(g) for g in snapshot.gpus),
        python=python_minor(snapshot), prefer=preferred)
    if found is None:
        return None
    release, variant = found
    return release, variant, allowed is not None and release.version not in allowed


def target_command(target: Target, cuda: str, torch: str | None) -> str:
    """`envcheck target add` that rewrites this target with another variant (and torch
    specifier), keeping every other field."""
    parts = ["envcheck", "target", "add", target.name, "--python", target.python,
             "--cuda", cuda]
    if torch:
        parts += ["--torch", torch]
    if target.platform != "linux/x86_64":
        parts += ["--platform", target.platform]
    if target.requirements:
        parts += ["--requirements", target.requirements]
    if target.base_image:
        parts += ["--base-image", target.base_image]
    for profile in target.profiles:
        parts += ["--profile", profile]
    parts.append("--replace")
    return " ".join(shlex.quote(part) for part in parts)


def _retarget(finding: Finding, snapshot: Snapshot, target: Target) -> Finding:
    if finding.category not in _BUILD_CATEGORIES or finding.severity != "error":
        return finding
    found = _runnable_for_target(snapshot, target)
    if found is None:
        return finding
    release, variant, new_spec = found
    torch = f"=={release.version}" if new_spec else target.torch
    command = target_command(target, variant.name, torch)
    note = f"torch {release.version}+{variant.name} runs on this profile"
    if not variant.arch_list:
        note += ("; its arch list is not recorded, only bounded by its CUDA toolkit: check "
                 "torch.cuda.get_arch_list() after installing")
    return replace(finding, fix=f"{command} && envcheck lock {shlex.quote(target.name)}   "
                                f"# {note}")


def gate(lock: Lockfile, target: Target, profiles: Mapping[str, Profile]
         ) -> tuple[ProfileVerdict, ...]:
    """The doctor's findings for this lock on each profile the target names."""
    verdicts = []
    for name in target.profiles:
        profile = profiles[name]
        snapshot = snapshot_for(profile, target, lock)
        findings = tuple(_retarget(f, snapshot, target) for f in run_rules(snapshot))
        verdicts.append(ProfileVerdict(profile=name, findings=findings))
    return tuple(verdicts)
