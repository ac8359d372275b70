"""Other readings of a report: what an ambiguous fact may mean, and what a missing one usually is.

The Snapshot built from a report holds only what the report decides. Some facts are there
but ambiguous, some are missing in a way a maintainer would fill in without asking:

- "CUDA 11.7" in prose with nothing around it to say whose CUDA it is: the driver's newest
  CUDA, the toolkit's or torch's build. Each reading is tried (kind "reading").
- "driver 470": the branch only. The branch's lowest and highest releases are tried; when both
  give the same answer, the branch decides (kind "reading").
- torch's version without its build label ("torch 2.1.0", `torch  2.14.1`): taken to be the
  build `pip install torch==X` gets from PyPI, the release's default CUDA build on Linux and
  the CPU build on Windows and macOS, where PyPI has no CUDA wheels (kind "assumption").
- "Torch not compiled with CUDA enabled" without any GPU fact: the code asked for CUDA, so
  the machine is taken to have an NVIDIA GPU (kind "assumption").
- a `docker run` line without `--gpus` or `--runtime=nvidia`, or `nvidia-smi: not found` next
  to a working nvidia-smi: the code ran in a container without GPU access (kind "assumption":
  Docker's default runtime could be nvidia).

A rule decided by every reading of a group is decided by the report (confirmed); decided by
some reading, or under an assumption, it is likely, and the doctor says which reading.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from packaging.version import Version

from envcheck.knowledge.gpu_floors import cited_urls, legacy_torch
from envcheck.knowledge.model import Category
from envcheck.knowledge.torch_tables import find_release, parse_variant_name, torch_releases
from envcheck.reports.line_facts import LineFacts
from envcheck.reports.segments import SegmentKind
from envcheck.snapshot import Disk, Driver, DriverVersion, Gpu, Snapshot, System, Toolkit
from envcheck.versions import version_or_none

ReadingKind = Literal["reading", "assumption"]
_UNNAMED_GPU = "NVIDIA GPU (not named in the report)"


@dataclass(frozen=True, kw_only=True)
class Reading:
    snapshot: Snapshot
    says: str
    """The reading or assumption, for the user: "taking 'CUDA 11.7' as the toolkit's"."""


@dataclass(frozen=True, kw_only=True)
class ReadingGroup:
    kind: ReadingKind
    subject: str
    """What is ambiguous or missing: "'CUDA 11.7' (line 4)"."""
    readings: tuple[Reading, ...]
    categories: tuple[Category, ...] | None = None
    """The causes this group can speak for; None: any."""


NumberedFacts = tuple[tuple[SegmentKind, int, LineFacts], ...]
"""Line facts with the line they came from, in paste order."""


def other_readings(snapshot: Snapshot, items: NumberedFacts) -> tuple[ReadingGroup, ...]:
    """The groups of other readings of `snapshot`; `items` are the line facts with their line
    numbers, in paste order."""
    groups: list[ReadingGroup] = []
    base = snapshot
    default = _default_build(snapshot)
    if default is not None:
        groups.append(default)
    readings = [*_cuda_readings(base, items)]
    branch = _branch_readings(base, items)
    if branch is not None:
        readings.append(branch)
    groups += readings
    if default is not None:
        # The same readings once more with torch taken as its default build: whatever
        # they decide then holds under that assumption too (likely, never confirmed).
        assumed, says = default.readings[0].snapshot, default.readings[0].says
        again = [*_cuda_readings(assumed, items)]
        branch = _branch_readings(assumed, items)
        if branch is not None:
            again.append(branch)
        groups += [ReadingGroup(kind="assumption", subject=group.subject,
                                categories=group.categories,
                                readings=tuple(Reading(snapshot=r.snapshot,
                                                       says=f"{r.says}; {says}")
                                               for r in group.readings))
                   for group in again]
    gpu = _gpu_assumption(base)
    if gpu is not None:
        groups.append(gpu)
    container = _container_assumption(base, items)
    if container is not None:
        groups.append(container)
    shm = _shm_assumption(base, items)
    if shm is not None:
        groups.append(shm)
    companions = _companion_builds(base)
    if companions is not None:
        groups.append(companions)
    from envcheck.reports.wanted_torch import wanted_torch_reading

    wanted = wanted_torch_reading(base, items)
    if wanted is not None:
        groups.append(wanted)
    return tuple(groups)


_COMPANIONS = ("torchvision", "torchaudio")


def _companion_builds(snapshot: Snapshot) -> ReadingGroup | None:
    """torch has a build label (+cpu, +cu121) and a companion has none: the companion is
    taken to be PyPI's default build of its release (pip installs it from PyPI when the
    command gives no index), which is a CUDA build on Linux."""
    torch = snapshot.torch
    local = torch.version.local if torch.status == "ok" and torch.version else None
    if local is None or "windows" in (snapshot.system.os or "").lower():
        return None
    packages = list(snapshot.packages)
    notes: list[str] = []
    for position, package in enumerate(packages):
        name = package.name.lower()
        version = version_or_none(package.version)
        if name not in _COMPANIONS or version is None or version.local:
            continue
        paired = next((r for r in torch_releases()
                       if getattr(r, name) is not None and getattr(r, name) == version), None)
        if paired is None or paired.pypi_default == local:
            continue
        packages[position] = replace(package, version=f"{version}+{paired.pypi_default}")
        notes.append(f"{name} {version} with no build label is taken to be PyPI's default "
                     f"build ({paired.pypi_default})")
    if not notes:
        return None
    return ReadingGroup(kind="assumption", subject="the companions' builds",
                        categories=("torchvision_mismatch",),
                        readings=(Reading(snapshot=replace(snapshot, packages=tuple(packages)),
                                          says="; ".join(notes)),))


# Docker gives a container a 64 MiB /dev/shm unless --shm-size or --ipc=host says otherwise
# (docker run reference, --shm-size: "If you omit the unit, the system uses bytes. If you omit
# the size entirely, the system uses 64m").
_DOCKER_DEFAULT_SHM_GIB = 64 / 1024


def _shm_assumption(snapshot: Snapshot, items: NumberedFacts) -> ReadingGroup | None:
    runs = [(line, facts.docker_run) for _, line, facts in items if facts.docker_run]
    if not runs or any(disk.role == "shm" for disk in snapshot.system.disks):
        return None
    line, run = runs[-1]
    if run.ipc_host or run.shm_size:
        return None
    shm = Disk(path="/dev/shm", role="shm", total_gib=_DOCKER_DEFAULT_SHM_GIB,
               free_gib=_DOCKER_DEFAULT_SHM_GIB)
    system = replace(snapshot.system, in_container=True,
                     disks=(*snapshot.system.disks, shm))
    torch = snapshot.torch
    if torch.status == "ok" and torch.cuda is None and "cuda" not in torch.provenance:
        # The shm rule judges runs that use the GPU; NCCL's error says this one does. The
        # placeholder CUDA stays inside this reading (its findings are only nccl's).
        torch = replace(torch, cuda=Version("0"))
    return ReadingGroup(
        kind="assumption", subject="the container's /dev/shm", categories=("nccl",),
        readings=(Reading(snapshot=replace(snapshot, system=system, torch=torch),
                          says=f"the `docker run` on line {line} gives neither --shm-size nor "
                               "--ipc=host: the container has Docker's default 64 MiB "
                               "/dev/shm"),))


def with_default_build(snapshot: Snapshot) -> tuple[Snapshot, str] | None:
    """The Snapshot with torch taken as its release's PyPI build, and the words for it."""
    torch = snapshot.torch
    if torch.status != "ok" or torch.version is None or "cuda" in torch.provenance:
        return None
    release = find_release(torch.version)
    os_name = (snapshot.system.os or "").lower()
    platform = snapshot.python.platform or ""
    if "windows" in os_name or platform.startswith("win") or "macos" in os_name:
        cuda, name = None, "the CPU build (PyPI has no CUDA builds of torch for Windows or macOS)"
    elif release is None:
        legacy = legacy_torch(torch.version)  # before 1.13: envcheck's gpu_floors.toml
        if legacy is None or legacy.default_cuda is None:
            return None
        cuda = legacy.default_cuda
        name = (f"its CUDA {cuda} build, the one pip installed without a build label "
                f"({cited_urls(legacy.sources)})")
    else:
        cuda = parse_variant_name(release.pypi_default)
        name = f"PyPI's default Linux build ({release.pypi_default})"
    assumed = replace(torch, cuda=cuda, provenance={**torch.provenance, "cuda": "derived"})
    says = f"torch {torch.version} with no build label is taken to be {name}"
    result = replace(snapshot, torch=assumed)
    if cuda is None and not snapshot.gpus and snapshot.driver.status == "unknown":
        # A CPU build is a problem only next to a GPU; asking for CUDA says there is one.
        result = replace(result, gpus=(Gpu(index=0, name=_UNNAMED_GPU),))
        says += ", on a machine with an NVIDIA GPU (the code asked for CUDA)"
    return result, says


def _default_build(snapshot: Snapshot) -> ReadingGroup | None:
    found = with_default_build(snapshot)
    if found is None:
        return None
    assumed, says = found
    return ReadingGroup(kind="assumption", subject=f"torch {snapshot.torch.version}'s build",
                        readings=(Reading(snapshot=assumed, says=says),))


def _cuda_readings(snapshot: Snapshot, items: NumberedFacts
                   ) -> Iterator[ReadingGroup]:
    seen: set[Version] = set()
    for kind, line, facts in items:
        if kind != "prose":
            continue
        for mention in facts.cuda_mentions:
            if mention.role != "unknown" or mention.version in seen:
                continue
            seen.add(mention.version)
            readings = list(_cuda_as_each(snapshot, mention.version))
            if readings:
                yield ReadingGroup(kind="reading",
                                   subject=f"'CUDA {mention.version}' (line {line})",
                                   readings=tuple(readings))


def _cuda_as_each(snapshot: Snapshot, cuda: Version) -> Iterator[Reading]:
    driver = snapshot.driver
    if driver.status in ("unknown", "ok") and driver.cuda_driver_api is None:
        as_driver = replace(driver, status="ok", cuda_driver_api=cuda, source="report",
                            detail=driver.detail or "from the report: a CUDA version in the text")
        yield Reading(snapshot=replace(snapshot, driver=as_driver),
                      says=f"taking 'CUDA {cuda}' as the newest CUDA the driver supports "
                           "(what nvidia-smi shows)")
    if not snapshot.toolkits:
        toolkit = Toolkit(path="", nvcc_version=cuda,
                          detail="from the report: a CUDA version in the text, read as nvcc's")
        yield Reading(snapshot=replace(snapshot, toolkits=(toolkit,)),
                      says=f"taking 'CUDA {cuda}' as the installed toolkit (nvcc)")
    torch = snapshot.torch
    if torch.status == "ok" and torch.version is not None and "cuda" not in torch.provenance:
        as_torch = replace(torch, cuda=cuda, provenance={**torch.provenance, "cuda": "derived"})
        yield Reading(snapshot=replace(snapshot, torch=as_torch),
                      says=f"taking 'CUDA {cuda}' as torch's CUDA build")


def _branch_readings(snapshot: Snapshot, items: NumberedFacts
                     ) -> ReadingGroup | None:
    if snapshot.driver.version is not None:
        return None
    found = [(line, facts.driver_branch) for _, line, facts in items if facts.driver_branch]
    if not found:
        return None
    line, branch = found[-1]
    # The branch's releases lie between these two (NVIDIA numbers them branch.minor.patch).
    ends = (DriverVersion(f"{branch}.0"), DriverVersion(f"{branch}.999.99"))
    readings = tuple(
        Reading(snapshot=replace(snapshot, driver=replace(
            snapshot.driver, status="ok", version=end, source="report",
            detail=f"from the report: driver branch {branch}")),
            says=f"driver branch {branch} ('driver {branch}', line {line}), any release of it")
        for end in ends)
    return ReadingGroup(kind="reading", subject=f"driver {branch} (line {line})",
                        readings=readings)


def _gpu_assumption(snapshot: Snapshot) -> ReadingGroup | None:
    torch = snapshot.torch
    # measured (torch said so) or derived from what selected the build (conda's variant
    # selector, a +cpu label): the group speaks only for a message that asked for CUDA
    cpu_build = (torch.status == "ok" and torch.cuda is None and not torch.hip
                 and torch.provenance.get("cuda") in ("measured", "derived"))
    if not cpu_build or snapshot.gpus or snapshot.driver.status in ("ok", "absent"):
        return None
    assumed = replace(snapshot, gpus=(Gpu(index=0, name=_UNNAMED_GPU),))
    return ReadingGroup(kind="assumption", subject="whether the machine has an NVIDIA GPU",
                        categories=("cpu_only_wheel",),
                        readings=(Reading(snapshot=assumed,
                                          says="the code asked for CUDA, so the machine is "
                                               "taken to have an NVIDIA GPU"),))


def _container_assumption(snapshot: Snapshot,
                          items: NumberedFacts
                          ) -> ReadingGroup | None:
    if snapshot.system.in_container is not None:
        return None
    runs = [(line, facts.docker_run) for _, line, facts in items if facts.docker_run]
    missing_smi = [line for _, line, facts in items if facts.nvidia_smi_missing]
    hosted = [(line, facts.managed_runtime) for _, line, facts in items if facts.managed_runtime]
    says = None
    if hosted and snapshot.driver.status != "ok":
        line, name = hosted[-1]
        says = (f"the code ran in {name} (line {line}), a container whose GPU is attached by "
                "the notebook's settings: with no driver found, the runtime is taken to have "
                "no GPU (Runtime > Change runtime type)")
    elif runs and not runs[-1][1].gpus and not runs[-1][1].nvidia_runtime:
        says = (f"the `docker run` on line {runs[-1][0]} has no --gpus and no "
                "--runtime=nvidia: the container is taken to have no GPU access (unless "
                "Docker's default runtime is nvidia)")
    elif missing_smi and (snapshot.driver.status == "ok" or runs):
        says = (f"nvidia-smi is not found on line {missing_smi[-1]} while the host's works: "
                "taken as run inside a container without GPU access")
    if says is None:
        return None
    system: System = replace(snapshot.system, in_container=True, nvidia_devices=())
    driver = Driver(status="absent", detail="inside the container (assumed)")
    return ReadingGroup(kind="assumption", subject="whether the code ran in a container",
                        categories=("no_gpu_in_container",),
                        readings=(Reading(snapshot=replace(snapshot, system=system,
                                                           driver=driver), says=says),))
