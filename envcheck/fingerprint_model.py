"""A Fingerprint (`envcheck.fingerprint/1`): what one host really saw and computed when it
ran an image, so that two hosts can be compared before a job is promoted.

Written by `envcheck fingerprint`, read by `envcheck compare`, `promote` and `report`;
serialized with envcheck/jsoncodec.py like the Snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from envcheck.snapshot import Snapshot, Status

FINGERPRINT_SCHEMA: Literal["envcheck.fingerprint/1"] = "envcheck.fingerprint/1"


@dataclass(frozen=True, kw_only=True)
class ImageFacts:
    id: str
    repo_digests: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EngineFacts:
    """The host as the container sees it, and the engine that ran it."""

    engine_url: str | None = None
    server_version: str | None = None
    runtime: str | None = None
    """The OCI runtime used (runc, nvidia)."""
    gpus_requested: str | None = None
    shm_mib: int | None = None
    hostname: str | None = None


@dataclass(frozen=True, kw_only=True)
class WorkloadStats:
    sum: float
    max_abs: float
    samples: tuple[float, ...]
    """A few fixed positions of the flattened output."""


@dataclass(frozen=True, kw_only=True)
class WorkloadResult:
    name: str
    """"matmul_fp32", "matmul_tf32", "matmul_bf16", "conv2d", "sdpa", "mlp_steps",
    "allreduce", or the numpy equivalents."""
    status: Status
    detail: str | None = None
    device: str | None = None
    """"cuda:0", "cpu"."""
    dtype: str | None = None
    digest: str | None = None
    """sha256 of the output bytes."""
    stats: WorkloadStats | None = None
    libraries: tuple[str, ...] = ()
    """cuBLAS/cuDNN/NCCL (and BLAS) paths from the process's memory map."""
    seconds: float | None = None


@dataclass(frozen=True, kw_only=True)
class Fingerprint:
    schema: Literal["envcheck.fingerprint/1"] = FINGERPRINT_SCHEMA
    envcheck_version: str
    taken_at: str
    where: Literal["here", "container"]
    image: ImageFacts | None = None
    engine: EngineFacts | None = None
    snapshot: Snapshot
    packages_sha256: str | None = None
    """Hash of the sorted name==version list of installed distributions."""
    venv_sha256: str | None = None
    """Content hash of the Python environment (the image's label when envcheck built it)."""
    behaviour: tuple[WorkloadResult, ...] = ()
    problems: tuple[str, ...] = ()
    """Steps that failed part way: recorded, never silently dropped."""


Verdict = Literal["promote", "block"]
SectionState = Literal["identical", "equivalent", "different"]


@dataclass(frozen=True, kw_only=True)
class ParitySection:
    name: Literal["image", "packages", "cuda_stack", "host_compatibility", "behaviour",
                  "performance"]
    state: SectionState
    blocking: bool
    reasons: tuple[str, ...] = ()
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    time_ratios: Mapping[str, float] = field(default_factory=dict)
    """workload -> B's seconds / A's seconds (performance section)."""


@dataclass(frozen=True, kw_only=True)
class ParityReport:
    verdict: Verdict
    reasons: tuple[str, ...]
    """The blocking reasons first, then the rest."""
    sections: tuple[ParitySection, ...]
