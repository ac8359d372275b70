"""`--plan`: would installing that torch build work here? The same rules, on the planned
build instead of the installed one."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from packaging.version import InvalidVersion, Version

from envcheck.errors import UsageError
from envcheck.knowledge.model import TorchRelease, TorchVariant
from envcheck.knowledge.torch_tables import find_release, torch_releases
from envcheck.snapshot import Package, Provenance, Snapshot, Torch

_SPEC = re.compile(r"^(?:torch\s*==\s*)?(?P<version>\d+(?:\.\d+)*)(?:\+(?P<variant>\w+))?$")
_VARIANT = re.compile(r"^(?:cu\d+|cpu|rocm[\d.]+)$")


@dataclass(frozen=True, kw_only=True)
class PlannedBuild:
    release: TorchRelease
    variant: TorchVariant

    @property
    def label(self) -> str:
        return f"torch=={self.release.version}+{self.variant.name}"


def resolve_plan(text: str) -> PlannedBuild:
    """`torch==2.7.1+cu128`, `2.7.1`, `cu128` or `cpu` -> a known release and variant."""
    spec = text.strip()
    if _VARIANT.match(spec):
        for release in reversed(torch_releases()):
            variant = next((v for v in release.variants if v.name == spec), None)
            if variant is not None:
                return PlannedBuild(release=release, variant=variant)
        raise UsageError(f"--plan {spec}: no torch release in envcheck's knowledge has a "
                         f"{spec} build",
                         hint="`envcheck compat torch VERSION` lists a release's variants.")
    match = _SPEC.match(spec)
    if match is None:
        raise UsageError(f"--plan {text!r} is not understood",
                         hint="Give torch==2.7.1+cu128, torch==2.7.1, cu128 or cpu.")
    try:
        version = Version(match.group("version"))
    except InvalidVersion as e:
        raise UsageError(f"--plan {text!r}: {match.group('version')} is not a version") from e
    found = find_release(version)
    if found is None:
        known = ", ".join(str(r.version) for r in torch_releases()[-5:])
        raise UsageError(f"--plan {text}: torch {version} is not in envcheck's knowledge",
                         hint=f"Newest known releases: {known}. Newer envcheck releases know "
                              "newer torch releases: pip install -U envcheck.")
    release = found
    name = match.group("variant") or release.pypi_default
    variant = next((v for v in release.variants if v.name == name), None)
    if variant is None:
        names = ", ".join(v.name for v in release.variants)
        raise UsageError(f"--plan {text}: torch {release.version} has no {name} build",
                         hint=f"It was built as: {names}.")
    return PlannedBuild(release=release, variant=variant)


def apply_plan(snapshot: Snapshot, plan: PlannedBuild) -> Snapshot:
    """The Snapshot as it would be after installing the planned build (from the tables)."""
    variant, release = plan.variant, plan.release
    derived: Provenance = "derived"
    local = "" if variant.name == release.pypi_default else f"+{variant.name}"
    torch = Torch(
        status="ok",
        detail=f"planned: {plan.label} (facts from envcheck's knowledge)",
        version=Version(f"{release.version}{local}"),
        cuda=variant.cuda,
        cudnn=variant.cudnn,
        arch_list=variant.arch_list,
        provenance={"version": derived, "cuda": derived, "cudnn": derived,
                    "arch_list": derived},
    )
    packages = tuple(
        Package(name=p.name, version=str(torch.version)) if p.name.lower() == "torch" else p
        for p in snapshot.packages
    )
    # The wheels that come with the planned build replace the installed ones.
    libraries = tuple(lib for lib in snapshot.cuda_libraries if lib.origin != "pip")
    return replace(snapshot, torch=torch, packages=packages, cuda_libraries=libraries)
