"""`envcheck fingerprint` and `envcheck compare`: the same container, the same behaviour?"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from envcheck.cli.app import app, read_text_input
from envcheck.errors import ExitCode, UsageError

if TYPE_CHECKING:
    from envcheck.adapters.engine import ContainerMount
    from envcheck.compare import Tolerances
    from envcheck.fingerprint_model import Fingerprint, ParityReport


class _StderrSteps:
    """Progress as plain lines on stderr, so stdout stays the result."""

    def step(self, text: str) -> None:
        sys.stderr.write(f"envcheck: {text}\n")
        sys.stderr.flush()


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} {value!r} is not KEY=VALUE")
        found[key] = rest
    return found


def _mounts(values: list[str]) -> tuple[ContainerMount, ...]:
    from envcheck.adapters.engine import ContainerMount

    mounts = []
    for value in values:
        parts = value.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("ro", "rw")):
            raise UsageError(f"--mount {value!r} is not SRC:DST[:ro]")
        source = str(Path(parts[0]).resolve())
        mounts.append(ContainerMount(source=source, target=parts[1],
                                     read_only=len(parts) == 3 and parts[2] == "ro"))
    return tuple(mounts)


@app.command()
def fingerprint(
    image: Annotated[str | None, typer.Option("--image", metavar="IMAGE", help="Fingerprint "
                     "a container of this image (it needs only a python3).")] = None,
    engine: Annotated[str | None, typer.Option("--engine", metavar="URL", help="The Docker "
                      "engine: unix://..., tcp://host:2376, ssh://user@host "
                      "(default: DOCKER_HOST or the local socket).")] = None,
    gpus: Annotated[str | None, typer.Option("--gpus", help="Like `docker run --gpus`.")
                    ] = None,
    env: Annotated[list[str] | None, typer.Option("--env", metavar="K=V",
                   help="An environment variable for the container (repeatable).")] = None,
    mount: Annotated[list[str] | None, typer.Option("--mount", metavar="SRC:DST[:ro]",
                     help="A bind mount into the container (repeatable).")] = None,
    shm_size: Annotated[str | None, typer.Option("--shm-size", help="Like `docker run "
                        "--shm-size`, e.g. 8g.")] = None,
    runtime: Annotated[str | None, typer.Option("--runtime", help="The OCI runtime, e.g. "
                       "nvidia.")] = None,
    python: Annotated[str | None, typer.Option("--python", help="Here only: the interpreter "
                      "to fingerprint.")] = None,
    workload_timeout: Annotated[float, typer.Option("--workload-timeout", help="Seconds each "
                                "behaviour workload may take.")] = 120.0,
    output: Annotated[Path | None, typer.Option("-o", "--output", metavar="FILE",
                      help="Write the fingerprint JSON here (atomically) instead of "
                      "stdout.")] = None,
) -> None:
    """Record the environment and a fixed numerical behaviour suite, here or in a container
    of IMAGE, as an envcheck.fingerprint/1 document."""
    from envcheck.adapters.filesystem import write_text_atomic
    from envcheck.fingerprint_io import fingerprint_to_json
    from envcheck.services.fingerprint import ContainerOptions, fingerprint_here

    reporter = _StderrSteps()
    if image is None:
        if engine or gpus or env or mount or shm_size or runtime:
            raise UsageError("--engine, --gpus, --env, --mount, --shm-size and --runtime "
                             "need --image")
        from envcheck.cli.real_host import build_host

        taken = fingerprint_here(build_host(), python=python,
                                 workload_timeout=workload_timeout, reporter=reporter)
    else:
        options = ContainerOptions(gpus=gpus, env=_pairs(env or [], "--env"),
                                   mounts=_mounts(mount or []), shm_size=shm_size,
                                   runtime=runtime, workload_timeout=workload_timeout)
        taken = _fingerprint_image(image, engine, options, reporter)
    text = fingerprint_to_json(taken)
    if output is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(output, text)
        reporter.step(f"fingerprint written to {output}")
    for problem in taken.problems:
        reporter.step(f"incomplete: {problem}")


def _fingerprint_image(image: str, engine_url: str | None, options: object,
                       reporter: _StderrSteps) -> Fingerprint:
    from envcheck.adapters.engine import DockerEngine
    from envcheck.services.fingerprint import ContainerOptions, fingerprint_image

    assert isinstance(options, ContainerOptions)
    environment = dict(os.environ)
    if engine_url:
        environment["DOCKER_HOST"] = engine_url
    docker_engine = DockerEngine(environment)
    try:
        return fingerprint_image(docker_engine, image, engine_url=docker_engine.host,
                                 options=options, clock=lambda: datetime.now(timezone.utc),
                                 reporter=reporter)
    finally:
        docker_engine.close()


def _tolerances(values: list[str], cross_arch_factor: float | None) -> Tolerances:
    from envcheck.compare import Tolerance, Tolerances

    defaults = Tolerances()
    by_dtype = dict(defaults.by_dtype)
    for value in values:
        dtype, sep, numbers = value.partition("=")
        rtol_text, _, atol_text = numbers.partition(",")
        try:
            rtol = float(rtol_text)
            atol = float(atol_text) if atol_text else by_dtype.get(
                dtype, defaults.fallback).atol
        except ValueError as e:
            raise UsageError(f"--tolerance {value!r} is not DTYPE=RTOL[,ATOL]") from e
        if not sep or not dtype:
            raise UsageError(f"--tolerance {value!r} is not DTYPE=RTOL[,ATOL]")
        by_dtype[dtype] = Tolerance(rtol=rtol, atol=atol)
    return Tolerances(by_dtype=by_dtype, cross_arch_factor=cross_arch_factor
                      if cross_arch_factor is not None else defaults.cross_arch_factor)


def report_to_json(report: ParityReport) -> str:
    from envcheck.jsoncodec import encode

    return json.dumps(encode(report), indent=2) + "\n"


def render_report(report: ParityReport) -> str:
    lines = [f"verdict: {report.verdict}"]
    blocking = [r for s in report.sections if s.blocking for r in s.reasons]
    lines.extend(f"  blocks: {r}" for r in blocking)
    for section in report.sections:
        lines.append(f"{section.name}: {section.state}"
                     + (" (blocking)" if section.blocking else ""))
        lines.extend(f"  {r}" for r in section.reasons if r not in blocking)
    return "\n".join(lines) + "\n"


@app.command()
def compare(
    here: Annotated[str, typer.Argument(metavar="A.json", help="The reference fingerprint.")],
    there: Annotated[str, typer.Argument(metavar="B.json", help="The candidate's.")],
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                           ] = False,
    tolerance: Annotated[list[str] | None, typer.Option("--tolerance", metavar="DTYPE=RTOL"
                         "[,ATOL]", help="Override a dtype's tolerance (repeatable).")] = None,
    cross_arch_factor: Annotated[float | None, typer.Option(
        "--cross-arch-factor", help="Loosen tolerances by this factor across GPU "
        "architectures (default 10).")] = None,
    max_slowdown: Annotated[float | None, typer.Option("--max-slowdown", help="Block when a "
                            "workload is this many times slower in B.")] = None,
) -> None:
    """Compare two fingerprints section by section: promote (exit 0) or block (exit 7)."""
    from envcheck.compare import compare_fingerprints
    from envcheck.fingerprint_io import fingerprint_from_json

    a = fingerprint_from_json(read_text_input(here, "fingerprint"), origin=here)
    b = fingerprint_from_json(read_text_input(there, "fingerprint"), origin=there)
    report = compare_fingerprints(a, b, _tolerances(tolerance or [], cross_arch_factor),
                                  max_slowdown)
    sys.stdout.write(report_to_json(report) if json_output else render_report(report))
    if report.verdict == "block":
        raise typer.Exit(int(ExitCode.PARITY_BLOCK))


@app.command()
def promote(
    image: Annotated[str, typer.Argument(metavar="IMAGE", help="The image on the local "
                                         "engine.")],
    remote: Annotated[str, typer.Option("--remote", metavar="URL", help="The engine of the "
                      "host to promote to (unix://, tcp://, ssh://).")],
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Where both fingerprints "
                   "and the report are written.")],
    local: Annotated[str | None, typer.Option("--local", metavar="URL", help="The local "
                     "engine (default: DOCKER_HOST or the local socket).")] = None,
    registry: Annotated[str | None, typer.Option("--registry", metavar="HOST:PORT",
                        help="Move the image through this registry (push, pull); default: "
                        "stream it with save and load.")] = None,
    gpus: Annotated[str | None, typer.Option("--gpus", help="Like `docker run --gpus`.")
                    ] = None,
    env: Annotated[list[str] | None, typer.Option("--env", metavar="K=V")] = None,
    mount: Annotated[list[str] | None, typer.Option("--mount", metavar="SRC:DST[:ro]")
                     ] = None,
    shm_size: Annotated[str | None, typer.Option("--shm-size")] = None,
    runtime: Annotated[str | None, typer.Option("--runtime")] = None,
    workload_timeout: Annotated[float, typer.Option("--workload-timeout")] = 120.0,
    max_slowdown: Annotated[float | None, typer.Option("--max-slowdown")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")
                           ] = False,
) -> None:
    """Gate IMAGE for the remote host: labels against its driver first, move the image,
    fingerprint on both engines, compare. Exit 0 promote, 7 block."""
    from envcheck.adapters.engine import DockerEngine
    from envcheck.services.fingerprint import ContainerOptions
    from envcheck.services.promote import Endpoint, PromoteRequest
    from envcheck.services.promote import promote as run_promote

    options = ContainerOptions(gpus=gpus, env=_pairs(env or [], "--env"),
                               mounts=_mounts(mount or []), shm_size=shm_size,
                               runtime=runtime, workload_timeout=workload_timeout)
    reporter = _StderrSteps()
    engines: list[DockerEngine] = []
    try:
        endpoints = []
        for url, role in ((local, "local"), (remote, "remote")):
            reporter.step(f"connecting to the {role} engine")
            environment = dict(os.environ)
            if url:
                environment["DOCKER_HOST"] = url
            engines.append(DockerEngine(environment))
            endpoints.append(Endpoint(engine=engines[-1], url=engines[-1].host))
        outcome = run_promote(endpoints[0], endpoints[1], PromoteRequest(
            image=image, out_dir=out, registry=registry, options=options,
            max_slowdown=max_slowdown), clock=lambda: datetime.now(timezone.utc),
            reporter=reporter)
    finally:
        for opened in engines:
            opened.close()
    for path in outcome.written:
        reporter.step(f"written {path}")
    sys.stdout.write(report_to_json(outcome.report) if json_output
                     else render_report(outcome.report))
    if outcome.report.verdict == "block":
        raise typer.Exit(int(ExitCode.PARITY_BLOCK))
