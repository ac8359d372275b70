"""What a project declares in pyproject.toml under [tool.envcheck]: targets (what to build),
profiles (the machines it must run on), package indexes (where CUDA builds of torch come
from) and CI runners. Parsed by envcheck/project.py; edited by envcheck/project_edit.py."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.version import Version

from envcheck.snapshot import DriverVersion

TargetPlatform = Literal["linux/x86_64", "linux/aarch64"]
ContainerRuntime = Literal["docker", "docker+nvidia", "podman", "none"]
IndexFormat = Literal["simple", "flat"]


@dataclass(frozen=True, kw_only=True)
class Target:
    name: str
    python: str
    """A CPython minor version, "3.11"."""
    platform: TargetPlatform
    cuda: str
    """A torch variant: "cu126", "cu128", "cu130" or "cpu"."""
    torch: str | None = None
    """A PEP 440 specifier for torch (">=2.7,<2.8"); None: the target has no torch."""
    requirements: str | None = None
    """A requirements.in-style file relative to the project root; None: [project].dependencies."""
    base_image: str | None = None
    profiles: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProfileGpu:
    name: str | None = None
    compute_capability: str | None = None
    memory_mib: int | None = None
    count: int = 1


@dataclass(frozen=True, kw_only=True)
class Profile:
    """A machine a target must run on, as measured there (`envcheck profile save`)."""

    name: str
    driver: DriverVersion
    cuda_driver_api: Version | None = None
    gpus: tuple[ProfileGpu, ...] = ()
    runtime: ContainerRuntime = "docker+nvidia"
    glibc: Version | None = None
    os: str | None = None


@dataclass(frozen=True, kw_only=True)
class PackageIndex:
    name: str
    url: str
    """May name credentials as ${VARIABLE}; never written with their values."""
    variants: tuple[str, ...] = ()
    """The torch variants it serves ("cu126", "cpu", ...)."""
    format: IndexFormat = "simple"
    """"simple": a PEP 503 index; "flat": a folder or page of wheel links, what pip calls
    --find-links and uv a flat index (a local wheel mirror, a CI artifact folder)."""


@dataclass(frozen=True, kw_only=True)
class RequiredRun:
    """A combination CI must be able to run (`[[tool.envcheck.require]]`): `envcheck matrix
    --check` fails when this target's lock cannot run on this runner's profile."""

    target: str
    runner: str


@dataclass(frozen=True, kw_only=True)
class Project:
    root: Path
    pyproject: Path
    dependencies: tuple[str, ...] = ()
    targets: Mapping[str, Target] = field(default_factory=dict)
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    indexes: tuple[PackageIndex, ...] = ()
    runners: Mapping[str, str] = field(default_factory=dict)
    """CI runner label -> profile name."""
    requires: tuple[RequiredRun, ...] = ()
