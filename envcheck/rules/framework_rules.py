"""Frameworks beside torch: a TensorFlow whose platform has no GPU build of it, and two
distributions of one module installed together (the CPU one hides the CUDA build).

The facts are in envcheck/knowledge/data/framework_packaging.toml (envcheck.knowledge.frameworks).
"""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.knowledge.frameworks import (
    NoGpuBuild,
    SharedModule,
    no_gpu_builds,
    normalized,
    shared_modules,
)
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Package, Snapshot
from envcheck.versions import version_or_none


def _native_windows(snapshot: Snapshot) -> bool:
    """Windows itself, not WSL2 (Linux wheels, with the GPU) nor an unknown system."""
    return "windows" in (snapshot.system.os or "").lower() and not snapshot.system.wsl


def _wants_gpu(snapshot: Snapshot) -> bool:
    """Something on the machine is there for a GPU: a GPU, a driver, a toolkit, cuDNN."""
    return (bool(snapshot.gpus) or snapshot.driver.status == "ok" or bool(snapshot.toolkits)
            or bool(snapshot.cuda_libraries))


def _installed(snapshot: Snapshot, name: str) -> Package | None:
    return next((p for p in snapshot.packages if normalized(p.name) == name), None)


def check_gpu_build_on_platform(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    if not _native_windows(snapshot):
        return
    for limit in no_gpu_builds():
        installed = _installed(snapshot, limit.distribution)
        version = version_or_none(installed.version) if installed else None
        if installed is None or version is None or version < limit.from_version:
            continue
        yield _no_gpu_build(limit, installed, wants_gpu=_wants_gpu(snapshot))


def _no_gpu_build(limit: NoGpuBuild, installed: Package, *, wants_gpu: bool) -> Finding:
    return Finding(
        id=f"{limit.distribution}-has-no-gpu-build-on-{limit.platform}",
        category="cpu_only_wheel",
        # A CPU-only TensorFlow is a fine choice; it is the error only where the machine is
        # set up for a GPU (a GPU, a driver, CUDA or cuDNN installed for it).
        severity="error" if wants_gpu else "warning",
        summary=f"{limit.distribution} {installed.version} on native Windows is CPU-only: "
                f"{limit.last_gpu_version} was the last release with GPU support there",
        explanation=f"From {limit.from_version} on, {limit.distribution} publishes no CUDA "
                    "build for native Windows, so it never lists a GPU "
                    "(tf.config.list_physical_devices('GPU') is empty) whatever CUDA and cuDNN "
                    f"are installed. Source: {limit.source}",
        fix=limit.fix,
        evidence={"package": installed.name, "version": installed.version,
                  "platform": "native Windows"},
    )


def _knows_gpu_build_on_platform(snapshot: Snapshot) -> bool:
    # Only a framework the snapshot names can be checked; with none named there is nothing
    # for this rule to decide (torch's own build is torch-has-cuda's).
    named = any(_installed(snapshot, limit.distribution) for limit in no_gpu_builds())
    return not named or bool(snapshot.system.os)


def _providers(snapshot: Snapshot, row: SharedModule) -> list[Package]:
    return [p for p in snapshot.packages if row.provides(p.name)]


def check_one_distribution_per_module(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    for row in shared_modules():
        providers = _providers(snapshot, row)
        if len({normalized(p.name) for p in providers}) < 2:
            continue
        yield _shared_module(row, providers)


def _shared_module(row: SharedModule, providers: list[Package]) -> Finding:
    names = [p.name for p in providers]
    gpu = [p.name for p in providers if row.is_gpu(p.name)]
    keep = gpu[0] if gpu else names[0]
    return Finding(
        id="several-distributions-of-one-module",
        category="broken_requirements",
        severity="error",
        summary=f"{' and '.join(names)} are installed together: they "
                f"{'both' if len(names) == 2 else 'all'} install the `{row.module}` module, "
                "so one hides the other",
        explanation="pip treats them as unrelated distributions and lets them overwrite each "
                    "other's files: the module that imports is whichever was installed last, "
                    "often the CPU build, so the CUDA build's GPU support is missing (only "
                    "the CPU provider or device is listed). Removing just one of them also "
                    f"removes shared files the other needs. Source: {row.source}",
        fix=f"pip uninstall -y {' '.join(names)} && pip install {keep}   # repeat the "
            f"uninstall until pip says {row.module} is not installed",
        evidence={"module": row.module, "distributions": ", ".join(names)},
    )


def _knows_one_distribution(snapshot: Snapshot) -> bool:
    # A paste names some packages, never all: one that names a distribution of a shared
    # module cannot show that no other is installed; a measured package list can.
    if snapshot.source != "report":
        return True
    return not any(_providers(snapshot, row) for row in shared_modules())


def shadowed_gpu_build_findings(text: str, snapshot: Snapshot) -> list[Finding]:
    """The CUDA build of a module is installed, yet the message is one only its CPU build
    prints ("Device API cuda is not enabled" with dgl-cu111 installed): another distribution
    of the same module is installed too and is the one that imports."""
    found: list[Finding] = []
    for row in shared_modules():
        if row.cpu_message is None or (match := row.cpu_message.search(text)) is None:
            continue
        gpu = [p.name for p in _providers(snapshot, row) if row.is_gpu(p.name)]
        if not gpu:
            continue
        found.append(Finding(
            id="cpu-distribution-hides-gpu-build",
            category="broken_requirements",
            severity="error",
            summary=f"{', '.join(gpu)} (a CUDA build of `{row.module}`) is installed, yet the "
                    f"`{row.module}` that runs is a CPU build ('{match.group(0)}')",
            explanation=f"The CUDA build does not print this; a second distribution of the "
                        f"same module ({', '.join(row.cpu)} or another CUDA build) is "
                        "installed as well and its files are the ones imported. Uninstalling "
                        "only one of them leaves the module broken, since they share files. "
                        f"Source: {row.source}",
            fix=f"pip freeze | grep -i {row.module}; pip uninstall each of them until pip "
                f"says {row.module} is not installed, then pip install {gpu[0]} alone",
            evidence={"module": row.module, "installed": ", ".join(gpu),
                      "message": match.group(0)},
            rule="error-message"))
    return found


RULES = (
    Rule(id="framework-gpu-build-on-platform", category="cpu_only_wheel",
         check=check_gpu_build_on_platform, knows=_knows_gpu_build_on_platform,
         needs="the framework's version and the operating system"),
    Rule(id="one-distribution-per-module", category="broken_requirements",
         check=check_one_distribution_per_module, knows=_knows_one_distribution,
         needs="the complete list of installed distributions"),
)
