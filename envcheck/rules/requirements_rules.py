"""`pip check`, from the Snapshot: every installed distribution's requirements are met."""

from __future__ import annotations

from collections.abc import Iterator

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from envcheck.findings import Finding
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Package, Snapshot
from envcheck.versions import version_or_none


def marker_environment(snapshot: Snapshot) -> dict[str, str]:
    """PEP 508 marker values of the *target* interpreter, not envcheck's own."""
    version = snapshot.python.version
    platform = snapshot.python.platform or "linux-x86_64"
    machine = snapshot.system.arch or platform.rsplit("-", 1)[-1]
    return {
        "python_version": f"{version.major}.{version.minor}" if version else "",
        "python_full_version": str(version) if version else "",
        "implementation_name": (snapshot.python.implementation or "cpython").lower(),
        "platform_python_implementation": snapshot.python.implementation or "CPython",
        "sys_platform": "linux" if platform.startswith("linux") else platform.split("-")[0],
        "platform_system": "Linux" if platform.startswith("linux") else "",
        "os_name": "posix",
        "platform_machine": machine,
        "extra": "",
    }


def _without_marker(requirement: Requirement) -> str:
    """What to type after `pip install`: name, extras and versions, no environment marker."""
    extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
    return f"{requirement.name}{extras}{requirement.specifier}"


def unmet_requirements(snapshot: Snapshot, package: Package
                       ) -> tuple[list[Requirement], list[tuple[Requirement, str]]]:
    """(missing, conflicting with the installed version) among one package's requirements."""
    installed = {canonicalize_name(p.name): p for p in snapshot.packages}
    environment = marker_environment(snapshot)
    missing: list[Requirement] = []
    conflicting: list[tuple[Requirement, str]] = []
    for line in package.requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            continue
        try:
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
        except UndefinedEnvironmentName:
            continue
        wanted = installed.get(canonicalize_name(requirement.name))
        if wanted is None:
            missing.append(requirement)
            continue
        version = version_or_none(wanted.version)
        if (version is not None and requirement.specifier
                and not requirement.specifier.contains(version, prereleases=True)):
            conflicting.append((requirement, wanted.version))
    return missing, conflicting


def check_requirements(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    for package in snapshot.packages:
        missing, conflicting = unmet_requirements(snapshot, package)
        if missing:
            names = ", ".join(_without_marker(r) for r in missing)
            yield Finding(
                id="requirement-missing",
                category="broken_requirements",
                severity="error",
                summary=f"{package.name} {package.version} requires {names}, "
                        f"{'which is' if len(missing) == 1 else 'which are'} not installed",
                explanation="Importing it fails, or fails later at the first use of the "
                            "missing dependency (often after a --no-deps install).",
                fix="pip install " + " ".join(f"'{_without_marker(r)}'" for r in missing),
                evidence={"package": package.name,
                          "requirements": "; ".join(str(r) for r in missing)},
            )
        if conflicting:
            listed = ", ".join(f"{_without_marker(r)} ({version} installed)"
                               for r, version in conflicting)
            yield Finding(
                id="requirement-version-conflict",
                category="broken_requirements",
                severity="error",
                summary=f"{package.name} {package.version} requires {listed}",
                explanation="A later install replaced a dependency with a version this "
                            "package does not support (pip warns: 'pip's dependency "
                            "resolver does not currently take into account...').",
                fix="pip install " + " ".join(f"'{_without_marker(r)}'"
                                              for r, _ in conflicting)
                    + f"   # or upgrade {package.name}",
                evidence={"package": package.name,
                          "requirements": "; ".join(str(r) for r, _ in conflicting)},
            )


RULES = (
    Rule(id="requirements-met", category="broken_requirements", check=check_requirements,
         knows=lambda s: any(p.requires for p in s.packages),
         needs="the installed distributions and their requirements"),
)
