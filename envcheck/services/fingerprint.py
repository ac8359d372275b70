"""`fingerprint`: the environment and the behaviour probe, here or in a container of an image.

In a container, nothing of envcheck is expected in the image: envprobe.py (with
`--host-facts`) and behaviour.py are copied in and run by the image's python3, and the
Snapshot is assembled outside from the raw facts by the same probes `inspect` uses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from envcheck import __version__
from envcheck.adapters.engine import (
    ContainerEngine,
    ContainerMount,
    ImageDetails,
    ProbeContainerRequest,
    ProbeContainerResult,
)
from envcheck.errors import CommandNotFoundError, CommandTimeoutError, ContainerRunError
from envcheck.fingerprint_model import (
    EngineFacts,
    Fingerprint,
    ImageFacts,
    WorkloadResult,
    WorkloadStats,
)
from envcheck.host import Host
from envcheck.probes.python_env import select_python
from envcheck.probes.recorded_host import recorded_host
from envcheck.services.image_labels import CONTENT_SHA256
from envcheck.services.inspect import InspectRequest, inspect_environment
from envcheck.snapshot import Package, Snapshot

PROBE_DIR = Path(__file__).resolve().parent.parent / "probe"
ENVPROBE = PROBE_DIR / "envprobe.py"
BEHAVIOUR = PROBE_DIR / "behaviour.py"
TREE_HASH = PROBE_DIR / "tree_hash.py"
_IN_CONTAINER = "/envcheck"


class FingerprintReporter(Protocol):
    def step(self, text: str) -> None: ...


class SilentFingerprintReporter:
    def step(self, text: str) -> None:
        pass


@dataclass(frozen=True, kw_only=True)
class ContainerOptions:
    """The `docker run` options users need for the job's container."""

    gpus: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    mounts: tuple[ContainerMount, ...] = ()
    shm_size: str | None = None
    runtime: str | None = None
    timeout: float = 600.0
    workload_timeout: float = 120.0


def packages_sha256(packages: tuple[Package, ...]) -> str:
    lines = sorted(f"{p.name.lower()}=={p.version}" for p in packages)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def workloads_from_report(report: Mapping[str, Any]) -> tuple[WorkloadResult, ...]:
    """behaviour.py's JSON into records; a malformed entry becomes an error, not a crash."""
    results = []
    for raw in report.get("workloads") or ():
        name = str(raw.get("name") or "unknown")
        status = raw.get("status")
        stats = raw.get("stats")
        try:
            parsed = WorkloadStats(sum=float(stats["sum"]), max_abs=float(stats["max_abs"]),
                                   samples=tuple(float(v) for v in stats["samples"])
                                   ) if isinstance(stats, dict) else None
        except (KeyError, TypeError, ValueError):
            parsed, status = None, "error"
        results.append(WorkloadResult(
            name=name, status=status if status in ("ok", "absent", "error") else "error",
            detail=raw.get("detail"), device=raw.get("device"), dtype=raw.get("dtype"),
            digest=raw.get("digest"), stats=parsed,
            libraries=tuple(str(p) for p in raw.get("libraries") or ()),
            seconds=float(raw["seconds"]) if isinstance(raw.get("seconds"), int | float)
            else None))
    return tuple(results)


def _last_json(stdout: str) -> dict[str, Any] | None:
    lines = stdout.strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else None
    except (json.JSONDecodeError, RecursionError):  # a container printing garbage
        return None
    return found if isinstance(found, dict) else None


def _behaviour_problem(report: Mapping[str, Any] | None) -> list[str]:
    if report is None:
        return ["the behaviour probe printed no report"]
    # No torch and no numpy is a fact about the image, not a failed step.
    return [f"behaviour workload {w.get('name')}: {w.get('detail')}"
            for w in report.get("workloads") or () if w.get("status") == "error"]


def fingerprint_here(host: Host, *, python: str | None = None,
                     workload_timeout: float = 120.0,
                     reporter: FingerprintReporter | None = None) -> Fingerprint:
    reporter = reporter or SilentFingerprintReporter()
    reporter.step("inspecting this environment")
    snapshot = inspect_environment(host, InspectRequest(python=python))
    problems: list[str] = []
    executable, _why = select_python(host, python)
    behaviour: tuple[WorkloadResult, ...] = ()
    if executable is None:
        problems.append("no Python interpreter to run the behaviour probe")
    else:
        reporter.step("running the behaviour probe")
        try:
            result = host.runner.run(
                [executable, str(BEHAVIOUR), "--timeout", f"{workload_timeout:g}"],
                timeout=workload_timeout * 8 + 30, env=host.env)
            report = _last_json(result.stdout)
            if report is None:
                problems.append(f"behaviour probe: {result.describe_failure()}")
            else:
                behaviour = workloads_from_report(report)
                problems.extend(_behaviour_problem(report))
        except (CommandNotFoundError, CommandTimeoutError) as e:
            problems.append(f"behaviour probe: {e.message}")
    venv_sha256 = None
    if executable is not None:
        reporter.step("hashing the Python environment's files")
        try:
            result = host.runner.run([executable, str(TREE_HASH), "--site"],
                                     timeout=600, env=host.env)
            venv_sha256 = _content_hash(result.stdout) if result.ok else None
            if venv_sha256 is None:
                problems.append(f"content hash: {result.describe_failure()}")
        except (CommandNotFoundError, CommandTimeoutError) as e:
            problems.append(f"content hash: {e.message}")
    return Fingerprint(envcheck_version=__version__,
                       taken_at=host.clock().isoformat(timespec="seconds"), where="here",
                       snapshot=snapshot, packages_sha256=packages_sha256(snapshot.packages),
                       venv_sha256=venv_sha256, behaviour=behaviour,
                       problems=tuple(problems))


def _content_hash(stdout: str) -> str | None:
    lines = stdout.strip().splitlines()
    return lines[-1] if lines and lines[-1].startswith("sha256:") else None


def _run_in_image(engine: ContainerEngine, image: str, script: Path, args: tuple[str, ...],
                  options: ContainerOptions, *, timeout: float) -> ProbeContainerResult:
    target = f"{_IN_CONTAINER}/{script.name}"
    return engine.run_script(ProbeContainerRequest(
        image=image, command=("python3", target, *args),
        files={target: script.read_bytes()}, env=options.env, mounts=options.mounts,
        gpus=options.gpus, shm_size=options.shm_size, runtime=options.runtime,
        timeout=timeout))


def _shm_mib(snapshot: Snapshot) -> int | None:
    shm = next((d for d in snapshot.system.disks if d.role == "shm"), None)
    return round(shm.total_gib * 1024) if shm else None


@dataclass(frozen=True, kw_only=True)
class ImageEnvironment:
    """The first half of a fingerprint in a container: the image and its Snapshot."""

    details: ImageDetails
    snapshot: Snapshot


def environment_in_image(engine: ContainerEngine, image: str, *, engine_url: str,
                         options: ContainerOptions, clock: Callable[[], datetime],
                         reporter: FingerprintReporter | None = None) -> ImageEnvironment:
    """Run the environment probe in a container of `image`; ContainerRunError (with the log
    tail) when it fails, since without it there is nothing worth comparing."""
    reporter = reporter or SilentFingerprintReporter()
    details = engine.image(image)
    reporter.step(f"probing the environment in a container of {image} ({engine_url})")
    run = _run_in_image(engine, details.id, ENVPROBE, ("--host-facts",), options,
                        timeout=options.timeout)
    facts = _last_json(run.stdout)
    if run.exit_code != 0 or facts is None or "host" not in facts:
        tail = "\n".join((run.stderr + run.stdout).strip().splitlines()[-20:])
        raise ContainerRunError(
            f"the environment probe in {image} on {engine_url} exited {run.exit_code} "
            f"without a report; last lines of its log:\n{tail}",
            step="environment probe", log_tail=tail,
            hint="the image needs a python3 (3.8 or newer) on its PATH")
    snapshot = inspect_environment(recorded_host(facts, clock), InspectRequest())
    return ImageEnvironment(details=details, snapshot=snapshot)


def fingerprint_image(engine: ContainerEngine, image: str, *, engine_url: str,
                      options: ContainerOptions, clock: Callable[[], datetime],
                      reporter: FingerprintReporter | None = None,
                      environment: ImageEnvironment | None = None) -> Fingerprint:
    """Fingerprint a container of `image` (reusing `environment` when already probed);
    a failing behaviour probe is recorded in `problems`, not raised."""
    reporter = reporter or SilentFingerprintReporter()
    if environment is None:
        environment = environment_in_image(engine, image, engine_url=engine_url,
                                           options=options, clock=clock, reporter=reporter)
    details, snapshot = environment.details, environment.snapshot
    reporter.step(f"running the behaviour probe in a container of {image} ({engine_url})")
    problems: list[str] = []
    behaviour: tuple[WorkloadResult, ...] = ()
    try:
        run = _run_in_image(engine, details.id, BEHAVIOUR,
                            ("--timeout", f"{options.workload_timeout:g}"), options,
                            timeout=options.timeout)
        report = _last_json(run.stdout)
        if report is None:
            tail = " | ".join(run.stderr.strip().splitlines()[-3:])
            problems.append(f"behaviour probe exited {run.exit_code}: {tail}")
        else:
            behaviour = workloads_from_report(report)
            problems.extend(_behaviour_problem(report))
    except ContainerRunError as e:
        problems.append(f"behaviour probe: {e.message}")
    venv_sha256 = details.labels.get(CONTENT_SHA256)
    if venv_sha256 is None:
        reporter.step(f"hashing the Python environment's files in {image}")
        try:
            run = _run_in_image(engine, details.id, TREE_HASH, ("--site",), options,
                                timeout=options.timeout)
            venv_sha256 = _content_hash(run.stdout)
            if venv_sha256 is None:
                problems.append(f"content hash exited {run.exit_code}: "
                                f"{' | '.join(run.stderr.strip().splitlines()[-3:])}")
        except ContainerRunError as e:
            problems.append(f"content hash: {e.message}")
    return Fingerprint(
        envcheck_version=__version__, taken_at=clock().isoformat(timespec="seconds"),
        where="container",
        image=ImageFacts(id=details.id, repo_digests=details.repo_digests,
                         labels=dict(details.labels)),
        engine=EngineFacts(engine_url=engine_url, server_version=engine.server_version(),
                           runtime=options.runtime, gpus_requested=options.gpus,
                           shm_mib=_shm_mib(snapshot)),
        snapshot=snapshot, packages_sha256=packages_sha256(snapshot.packages),
        venv_sha256=venv_sha256, behaviour=behaviour,
        problems=tuple(problems))
