"""Session fixtures for tests that need the real Docker engine.

tests/integration/conftest.py imports them. Without an engine such tests skip, except
when ENVCHECK_REQUIRE_DOCKER=1 (CI sets it): then they fail, so a CI machine whose engine
did not start cannot pass by skipping everything that matters.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.engine import BASE_IMAGE, MAKE_BASE_IMAGE, START_ENGINE, engine_client

# debootstrap of a cold cache took about a minute here; leave room for a slow mirror.
BASE_IMAGE_BUILD_TIMEOUT_S = 900
REGISTRY = "/usr/bin/docker-registry"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    client = engine_client()
    if client is None:
        msg = (
            "no Docker engine answers (DOCKER_HOST or /var/run/docker.sock); "
            f"start one with `bash {START_ENGINE}` "
            "(as root on Debian it installs docker.io and starts dockerd)"
        )
        if os.environ.get("ENVCHECK_REQUIRE_DOCKER") == "1":
            pytest.fail(f"ENVCHECK_REQUIRE_DOCKER=1 but {msg}")
        pytest.skip(msg)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(docker_client: docker.DockerClient) -> str:
    """The tag of the registry-free Debian bookworm + python3 image, built if missing."""
    try:
        completed = subprocess.run(
            ["bash", str(MAKE_BASE_IMAGE)],
            capture_output=True,
            text=True,
            timeout=BASE_IMAGE_BUILD_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        # On a timeout the captured output stays bytes even with text=True.
        stderr = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        pytest.fail(f"{MAKE_BASE_IMAGE} did not finish within {e.timeout}s; output:\n{stderr}")
    if completed.returncode != 0:
        pytest.fail(
            f"{MAKE_BASE_IMAGE} exited {completed.returncode}:\n{completed.stderr}"
            f"{completed.stdout}"
        )
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        # The script's docker CLI and this SDK client answered from different engines.
        pytest.fail(
            f"{MAKE_BASE_IMAGE} succeeded but {BASE_IMAGE} is not in the engine the tests use; "
            "check that DOCKER_HOST is the same for both"
        )
    return BASE_IMAGE


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's docker-registry on a free loopback port, no auth, storage in a tmp dir."""
    if not Path(REGISTRY).is_file():
        pytest.fail(f"{REGISTRY} is missing: apt-get install docker-registry (.ci/engine.sh)")
    folder = tmp_path_factory.mktemp("registry")
    port = _free_port()
    config = folder / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {folder}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n")
    log = (folder / "registry.log").open("w")
    process = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=log, stderr=log)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://{address}/v2/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"docker-registry did not answer: "
                                f"{(folder / 'registry.log').read_text()}")
                time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()
