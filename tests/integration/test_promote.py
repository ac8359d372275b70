"""`envcheck promote` between two real engines: this one, and a second dockerd as the cloud.

The second engine has its own socket, data root, exec root and pid file, its own bridge and
no iptables rules, and pulls from the loopback registry; it is started once per session with
a bounded wait and removed afterwards.

Not `--bridge none`: a dockerd started with it deletes the host's `docker0` interface
(moby daemon_unix.go, removeDefaultBridgeInterface), which is the first engine's bridge, so
every later container with the default network fails to start there.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import docker
import pytest

from envcheck.adapters.engine import DockerEngine
from envcheck.fingerprint_io import fingerprint_from_json
from envcheck.services.fingerprint import ContainerOptions
from envcheck.services.promote import Endpoint, PromoteRequest, promote
from tests.engine import engine_client
from tests.integration.test_parity import _build

pytestmark = pytest.mark.engine

DOCKERD = "/usr/sbin/dockerd"
IP = "/usr/sbin/ip"
START_WAIT_S = 60


@contextlib.contextmanager
def _own_bridge() -> Iterator[str]:
    """A bridge interface for the second engine alone, deleted afterwards."""
    name = f"ecbr{os.getpid() % 100000}"
    subnet_octet = os.getpid() % 200 + 20
    commands = [[IP, "link", "add", name, "type", "bridge"],
                [IP, "addr", "add", f"10.213.{subnet_octet}.1/24", "dev", name],
                [IP, "link", "set", name, "up"]]
    try:
        for command in commands:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        yield name
    finally:
        subprocess.run([IP, "link", "delete", name], check=False, capture_output=True,
                       timeout=30)


@pytest.fixture(scope="session")
def cloud_engine(docker_client: docker.DockerClient, registry: str,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DOCKER_HOST of a second dockerd beside the first."""
    if not Path(DOCKERD).is_file() or not Path(IP).is_file():
        pytest.fail(f"{DOCKERD} or {IP} is missing: bash .ci/engine.sh installs docker.io "
                    "and iproute2")
    data = tmp_path_factory.mktemp("cloud-engine")
    # Socket paths are limited to ~108 bytes; keep the exec root (containerd's sockets) short.
    short = Path(tempfile.mkdtemp(prefix="ec2-", dir="/tmp"))
    socket = short / "docker.sock"
    storage = str(docker_client.info().get("Driver") or "vfs")
    stack = contextlib.ExitStack()
    bridge = stack.enter_context(_own_bridge())
    log = stack.enter_context((data / "dockerd.log").open("w"))
    process = subprocess.Popen(
        [DOCKERD, "--host", f"unix://{socket}", "--data-root", str(data / "root"),
         "--exec-root", str(short / "exec"), "--pidfile", str(short / "docker.pid"),
         "--bridge", bridge, "--iptables=false", "--ip-masq=false",
         "--storage-driver", storage, "--insecure-registry", registry],
        stdout=log, stderr=log)
    url = f"unix://{socket}"
    try:
        deadline = time.monotonic() + START_WAIT_S
        while True:
            client = engine_client({"DOCKER_HOST": url}, timeout_s=10)
            if client is not None:
                client.close()
                break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the second dockerd did not answer within {START_WAIT_S}s:\n"
                            f"{(data / 'dockerd.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        stack.close()
        shutil.rmtree(short, ignore_errors=True)
        with contextlib.suppress(OSError):
            shutil.rmtree(data / "root", ignore_errors=True)


@pytest.fixture(scope="module")
def numpy_image(docker_client: docker.DockerClient, base_image: str,
                tmp_path_factory: pytest.TempPathFactory) -> str:
    engine = DockerEngine({"DOCKER_HOST": "unix:///var/run/docker.sock"})
    try:
        return _build(engine, base_image, tmp_path_factory.mktemp("np"), "2.2.6",
                      "envcheck-test/parity-numpy:1")
    finally:
        engine.close()


@pytest.fixture
def endpoints(cloud_engine: str) -> Iterator[tuple[Endpoint, Endpoint]]:
    local = DockerEngine({"DOCKER_HOST": "unix:///var/run/docker.sock"})
    remote = DockerEngine({"DOCKER_HOST": cloud_engine})
    yield Endpoint(engine=local, url=local.host), Endpoint(engine=remote, url=remote.host)
    local.close()
    remote.close()


def _request(image: str, out: Path, registry: str | None) -> PromoteRequest:
    return PromoteRequest(image=image, out_dir=out, registry=registry,
                          options=ContainerOptions(timeout=300, workload_timeout=60))


def test_promote_through_the_registry_to_a_second_engine(
        endpoints: tuple[Endpoint, Endpoint], numpy_image: str, registry: str,
        tmp_path: Path) -> None:
    local, remote = endpoints
    outcome = promote(local, remote, _request(numpy_image, tmp_path, registry),
                      clock=lambda: datetime.now(timezone.utc))

    assert outcome.report.verdict == "promote", outcome.report.reasons
    assert outcome.local is not None
    assert outcome.remote is not None
    assert outcome.local.image is not None
    assert outcome.remote.image is not None
    assert outcome.local.image.id == outcome.remote.image.id
    pushed = {d for d in outcome.local.image.repo_digests if d.startswith(registry)}
    assert pushed
    assert pushed == {d for d in outcome.remote.image.repo_digests if d.startswith(registry)}
    assert outcome.remote.engine is not None
    assert outcome.remote.engine.engine_url == remote.url
    written = fingerprint_from_json((tmp_path / "remote.json").read_text(),
                                    origin="remote.json")
    assert written.image == outcome.remote.image
    assert json.loads((tmp_path / "report.json").read_text())["verdict"] == "promote"


def test_promote_cli_streams_without_a_registry_and_exits_0(
        cloud_engine: str, numpy_image: str, tmp_path: Path) -> None:
    remote = docker.DockerClient(base_url=cloud_engine)
    with contextlib.suppress(docker.errors.ImageNotFound):
        remote.images.remove(numpy_image, force=True)
    remote.close()
    done = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "promote", numpy_image,
         "--remote", cloud_engine, "--out", str(tmp_path), "--workload-timeout", "60"],
        capture_output=True, text=True, check=False, timeout=600)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("verdict: promote")
    assert "streaming" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.json", "remote.json",
                                                           "report.json"]


def test_an_unreachable_remote_names_the_step_and_prints_no_verdict(
        numpy_image: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "promote", numpy_image,
         "--remote", f"unix://{tmp_path}/nothing.sock", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, timeout=120)

    assert done.returncode == 4
    assert "connecting to the remote engine" in done.stderr
    assert "no Docker engine answers" in done.stderr
    assert "verdict" not in done.stdout
