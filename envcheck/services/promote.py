"""`promote`: the whole gate for one image, from the local engine to a remote one.

Steps, each announced before it starts so a failure names its step: read the image's
labels; make the image available on the remote (push and pull through a registry, or
stream `docker save` into `docker load`); probe the remote's environment in the image and
check it against the labels (a driver too old blocks before any workload runs there);
fingerprint on both engines; compare; write both fingerprints and the report.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from envcheck.adapters.engine import ContainerEngine, ImageDetails, ImageNotFoundError
from envcheck.adapters.filesystem import write_text_atomic
from envcheck.compare import Tolerances, compare_fingerprints
from envcheck.errors import EnvcheckError
from envcheck.fingerprint_io import fingerprint_to_json
from envcheck.fingerprint_model import Fingerprint, ParityReport, ParitySection
from envcheck.jsoncodec import dumps
from envcheck.rules import run_rules
from envcheck.services.fingerprint import (
    ContainerOptions,
    FingerprintReporter,
    SilentFingerprintReporter,
    environment_in_image,
    fingerprint_image,
)
from envcheck.services.image_labels import CUDA, MIN_DRIVER, NO_CUDA
from envcheck.snapshot import DriverVersion, Snapshot


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    engine: ContainerEngine
    url: str


@dataclass(frozen=True, kw_only=True)
class PromoteRequest:
    image: str
    out_dir: Path
    registry: str | None = None
    """host:port of a registry both engines reach; None streams save -> load."""
    options: ContainerOptions = field(default_factory=ContainerOptions)
    remote_options: ContainerOptions | None = None
    """The remote's container options when they differ (another --gpus, mounts)."""
    tolerances: Tolerances | None = None
    max_slowdown: float | None = None


@dataclass(frozen=True, kw_only=True)
class PromoteOutcome:
    report: ParityReport
    local: Fingerprint | None
    remote: Fingerprint | None
    written: tuple[Path, ...]


def label_gate(labels: Mapping[str, str], snapshot: Snapshot) -> tuple[str, ...]:
    """Why an image (by its envcheck labels) cannot run on the host a Snapshot describes.
    Empty when nothing blocks."""
    reasons = []
    needed = labels.get(MIN_DRIVER)
    driver = snapshot.driver
    if needed and needed not in (NO_CUDA, "unknown"):
        try:
            minimum: DriverVersion | None = DriverVersion(needed)
        except ValueError:
            minimum = None
        if driver.status != "ok" or driver.version is None:
            reasons.append(f"the image needs CUDA {labels.get(CUDA, '?')} (driver {needed} or "
                           f"newer) and there is no usable NVIDIA driver there: "
                           f"{driver.detail or driver.status}")
        elif minimum is not None and driver.version.key < minimum.key:
            reasons.append(f"driver {driver.version} there is older than {needed}, the "
                           f"oldest that runs the image's CUDA {labels.get(CUDA, '?')}")
    reasons.extend(f"there: {f.summary} [{f.id}]" for f in run_rules(snapshot)
                   if f.severity == "error")
    return tuple(reasons)


def _registry_reference(registry: str, image: str, details: ImageDetails) -> str:
    name = next((t for t in details.tags), image).rsplit("/", 1)[-1]
    repository, _, tag = name.partition(":")
    return f"{registry}/{repository}:{tag or 'latest'}"


def make_available(local: Endpoint, remote: Endpoint, image: str, registry: str | None,
                   reporter: FingerprintReporter) -> str:
    """The reference under which the remote engine has the very same image (same ID)."""
    details = local.engine.image(image)
    try:
        if remote.engine.image(details.id).id == details.id and registry is None:
            reporter.step(f"{remote.url} already has image {details.id[:19]}")
            return details.id
    except ImageNotFoundError:
        pass
    if registry is not None:
        reference = _registry_reference(registry, image, details)
        reporter.step(f"pushing {image} to {reference}")
        local.engine.tag(details.id, reference)
        digest = local.engine.push(reference)
        pinned = f"{reference.rsplit(':', 1)[0]}@{digest}"
        reporter.step(f"pulling {pinned} on {remote.url}")
        remote.engine.pull(pinned)
        pulled = remote.engine.image(pinned).id
        reference = pinned
    else:
        reporter.step(f"streaming {image} from {local.url} to {remote.url} (save, load)")
        with tempfile.TemporaryFile() as stream:
            local.engine.save(details.id, stream)
            stream.seek(0)
            pulled = remote.engine.load(stream)
        reference = pulled
    if pulled != details.id:
        raise EnvcheckError(f"{remote.url} holds {pulled[:19]} after the move, not "
                            f"{details.id[:19]}: the image changed on the way")
    return reference


def _gate_report(reasons: tuple[str, ...]) -> ParityReport:
    section = ParitySection(name="host_compatibility", state="different", blocking=True,
                            reasons=reasons)
    return ParityReport(verdict="block", reasons=reasons, sections=(section,))


def promote(local: Endpoint, remote: Endpoint, request: PromoteRequest, *,
            clock: Callable[[], datetime],
            reporter: FingerprintReporter | None = None) -> PromoteOutcome:
    reporter = reporter or SilentFingerprintReporter()
    reporter.step(f"reading the labels of {request.image} on {local.url}")
    labels = local.engine.image(request.image).labels
    reference = make_available(local, remote, request.image, request.registry, reporter)
    remote_options = request.remote_options or request.options
    there = environment_in_image(remote.engine, reference, engine_url=remote.url,
                                 options=remote_options, clock=clock, reporter=reporter)
    reporter.step("checking the remote host against the image's labels")
    blocked = label_gate(labels, there.snapshot)
    local_fp: Fingerprint | None = None
    remote_fp: Fingerprint | None = None
    if blocked:
        report = _gate_report(blocked)
    else:
        local_fp = fingerprint_image(local.engine, request.image, engine_url=local.url,
                                     options=request.options, clock=clock, reporter=reporter)
        remote_fp = fingerprint_image(remote.engine, reference, engine_url=remote.url,
                                      options=remote_options, clock=clock, reporter=reporter,
                                      environment=there)
        reporter.step("comparing the two fingerprints")
        report = compare_fingerprints(local_fp, remote_fp, request.tolerances,
                                      request.max_slowdown)
    written = []
    for name, fingerprint in (("local.json", local_fp), ("remote.json", remote_fp)):
        if fingerprint is not None:
            write_text_atomic(request.out_dir / name, fingerprint_to_json(fingerprint))
            written.append(request.out_dir / name)
    write_text_atomic(request.out_dir / "report.json", dumps(report))
    written.append(request.out_dir / "report.json")
    return PromoteOutcome(report=report, local=local_fp, remote=remote_fp,
                          written=tuple(written))
