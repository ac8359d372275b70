"""A framework's GPU build against the driver read from the same paste.

A Paddle "post107" wheel is built with CUDA 10.0, an onnxruntime-gpu 1.16 package with CUDA
11.8 (envcheck/knowledge/data/framework_builds.toml): like torch's CUDA build, it runs only on
a driver that meets that CUDA's minimum, or, from CUDA 11 on, the major's minor-version
compatibility floor (cuda_drivers.toml). A build the table gives only as a major ("12.x") is
judged by that floor alone. The error is raised only when the build and the driver are both
read; an ambiguous "CUDA 9.0" is not taken as the driver's here.
"""

from __future__ import annotations

from collections.abc import Iterator

from packaging.version import Version

from envcheck.findings import Finding
from envcheck.knowledge.cuda_tables import driver_runs_cuda, min_driver_for_cuda, minor_compat_floor
from envcheck.knowledge.framework_builds import FrameworkBuild, builds_for
from envcheck.reports.library_facts import FrameworkMention, LibraryFacts
from envcheck.rules.facts import driver_platform
from envcheck.snapshot import DriverVersion, Snapshot


def framework_driver_findings(facts: LibraryFacts, snapshot: Snapshot) -> list[Finding]:
    driver = snapshot.driver
    if driver.status != "ok" or (driver.version is None and driver.cuda_driver_api is None):
        return []
    found = list(_too_old(facts, snapshot))
    return found[:1]  # one is the answer; the others say the same


def _too_old(facts: LibraryFacts, snapshot: Snapshot) -> Iterator[Finding]:
    for mention in facts.frameworks:
        rows = builds_for(mention.framework, mention.version, cuda_major=mention.cuda_major,
                          tag=mention.tag)
        cudas = {row.cuda for row in rows}
        if len(cudas) != 1:
            continue  # not in the table, or its builds differ and the name does not say which
        row = rows[0]
        minimum = _minimum(row, snapshot)
        if minimum is not None and not _runs(row, minimum, snapshot):
            yield _finding(mention, row, minimum, snapshot)


def _minimum(row: FrameworkBuild, snapshot: Snapshot) -> DriverVersion | None:
    platform = driver_platform(snapshot)
    if row.cuda.endswith(".x"):
        return minor_compat_floor(row.cuda_major, platform)
    cuda = Version(row.cuda)
    return minor_compat_floor(cuda.major, platform) or min_driver_for_cuda(cuda, platform)


def _runs(row: FrameworkBuild, minimum: DriverVersion, snapshot: Snapshot) -> bool:
    driver = snapshot.driver
    if driver.version is not None:
        if row.cuda.endswith(".x"):
            return driver.version.key >= minimum.key
        return driver_runs_cuda(driver.version, Version(row.cuda),
                                driver_platform(snapshot)) != "no"
    api = driver.cuda_driver_api
    assert api is not None
    if row.cuda.endswith(".x") or row.cuda_major >= 11:
        return api.major >= row.cuda_major  # minor-version compatibility within a major
    return api >= Version(row.cuda)


def _finding(mention: FrameworkMention, row: FrameworkBuild, minimum: DriverVersion,
             snapshot: Snapshot) -> Finding:
    driver = snapshot.driver
    found = (str(driver.version) if driver.version is not None
             else f"supporting CUDA up to {driver.cuda_driver_api}")
    named = mention.text if mention.tag or mention.cuda_major else (
        f"{mention.framework} {mention.version}")
    return Finding(
        id="driver-too-old-for-framework-build", category="driver_too_old", severity="error",
        summary=f"{named} is built with CUDA {row.cuda}: NVIDIA driver {found} cannot run it "
                f"(needs ≥ {minimum})",
        explanation="A framework's GPU build runs only on a driver that meets its CUDA's "
                    "minimum (from CUDA 11 on, the major's minor-version compatibility floor); "
                    "with an older one CUDA fails to start and the framework falls back to the "
                    f"CPU or fails its GPU check. The build's CUDA: {row.source.title} "
                    f"({row.source.url}).",
        fix=f"upgrade the NVIDIA driver to {minimum} or newer, or install a build of "
            f"{mention.framework} made for a CUDA this driver runs",
        evidence={"framework": mention.framework, "version": str(mention.version),
                  "build_cuda": row.cuda, "driver": found, "min_driver": str(minimum),
                  "source": row.source.url},
        rule="framework-build-driver")
