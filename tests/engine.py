"""The real Docker engine, for integration tests: find it, and run one container to completion.

Test-only: envcheck itself reaches the engine through envcheck/adapters/engine.py. These
helpers stay small on purpose so a failing test shows the engine's own answer.
"""

from __future__ import annotations

import io
import os
import tarfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import requests.exceptions
from docker.models.containers import Container
from docker.types import Mount

from envcheck.adapters.engine import DEFAULT_SOCKET, unix_socket_answers

BASE_IMAGE = "envcheck-test/bookworm-python:2"
REPO_ROOT = Path(__file__).resolve().parent.parent
MAKE_BASE_IMAGE = REPO_ROOT / "scripts" / "make-base-image.sh"
START_ENGINE = REPO_ROOT / ".ci" / "engine.sh"
# Lets a test session, or a person, find and remove containers a crashed run left behind.
TEST_LABEL = "envcheck-test"


@dataclass(frozen=True, kw_only=True)
class ContainerRun:
    exit_code: int
    stdout: str
    stderr: str


def engine_client(
    environment: Mapping[str, str] | None = None, timeout_s: int = 30
) -> docker.DockerClient | None:
    """A client for the engine that DOCKER_HOST (or the default socket) names, or None."""
    environment = os.environ if environment is None else environment
    host = environment.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    if host.startswith("unix://") and not unix_socket_answers(host.removeprefix("unix://")):
        return None
    try:
        client = docker.from_env(environment=dict(environment), timeout=timeout_s)
    except docker.errors.DockerException:
        # from_env asks the engine for its API version, so "nothing answers" ends up here.
        return None
    try:
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException):
        client.close()
        return None
    return client


def read_only_bind(source: Path, target: str) -> Mount:
    return Mount(target=target, source=str(source), type="bind", read_only=True)


def _tar_of(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            member = tarfile.TarInfo(name.lstrip("/"))
            member.size = len(content)
            member.mode = 0o644
            member.mtime = int(time.time())
            archive.addfile(member, io.BytesIO(content))
    return buffer.getvalue()


def _wait(container: Container, timeout_s: float) -> int:
    try:
        status = container.wait(timeout=timeout_s)
    except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout) as e:
        # Over the unix socket the SDK reports a wait that outlived its timeout as
        # ConnectionError (wrapping urllib3's ReadTimeoutError); over TCP as ReadTimeout.
        container.kill()
        logs = container.logs(stdout=True, stderr=True).decode(errors="replace")
        msg = f"container {container.short_id} still running after {timeout_s}s; output:\n{logs}"
        raise TimeoutError(msg) from e
    return int(status["StatusCode"])


def run_container(
    client: docker.DockerClient,
    image: str,
    command: Sequence[str],
    *,
    files: Mapping[str, bytes] | None = None,
    mounts: Sequence[Mount] = (),
    environment: Mapping[str, str] | None = None,
    timeout_s: float = 60,
) -> ContainerRun:
    """Run ``command`` in a fresh container of ``image`` and remove the container afterwards.

    ``files`` (absolute path in the container -> content) are copied in before the start, the
    way envcheck ships its probe into an image; ``mounts`` are bind mounts from this host.
    """
    container = client.containers.create(
        image,
        list(command),
        environment=dict(environment or {}),
        mounts=list(mounts),
        labels={TEST_LABEL: "1"},
    )
    try:
        if files:
            container.put_archive("/", _tar_of(files))
        container.start()
        exit_code = _wait(container, timeout_s)
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
        return ContainerRun(exit_code=exit_code, stdout=stdout, stderr=stderr)
    finally:
        container.remove(force=True)
