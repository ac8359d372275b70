"""`envcheck image build` on the real engine: real locks, a real registry, real images run.

The base is the registry-free Debian image (scripts/make-base-image.sh), pushed to Debian's
docker-registry on a loopback port so that the Dockerfile's FROM is pinned by a digest the
registry really served. Builds run with network_mode="none": the Python install needs no
index. Everything created carries the test label and is removed at the end of the session.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
import pytest

from envcheck.adapters.engine import BuildRequest, DockerEngine
from envcheck.adapters.runner import SubprocessRunner
from envcheck.dockerfile import ignore_patterns
from envcheck.errors import ImageBuildError, UsageError
from envcheck.lockfile import parse_lockfile
from envcheck.project import load_project
from envcheck.services.image import (
    BuildOptions,
    BuiltImage,
    ImageContext,
    ImageOptions,
    build_image,
    inspect_on_profile,
    render_image_files,
)
from envcheck.services.lock import LockContext, LockRequest, lock_targets
from envcheck.services.wheelhouse import PREFLIGHT_PACKAGES, PreflightSource
from tests.engine import REPO_ROOT, TEST_LABEL, run_container

pytestmark = pytest.mark.engine

TORCH_WHEEL = Path("/opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl")
PYPROJECT = """\
[project]
name = "demo"
version = "0"

[tool.envcheck.targets.small]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
requirements = "requirements.in"

[tool.envcheck.targets.torchcpu]
python = "3.11"
platform = "linux/x86_64"
cuda = "cpu"
torch = "==2.13.0"
requirements = "empty.in"

[tool.envcheck.profiles.gpu-box]
driver = "580.65.06"
gpus = [{ name = "NVIDIA H100 80GB HBM3", compute_capability = "9.0" }]

[tool.envcheck.indexes.local-wheels]
url = "/opt/wheels"
format = "flat"
variants = ["cpu"]
"""
# Pure-Python (six, idna) and binary (markupsafe, pyyaml) wheels, each pinned: the lock is
# resolved live from the package index, and a new release there must not change the test.
REQUIREMENTS = "six==1.17.0\nidna==3.10\nmarkupsafe==3.0.2\npyyaml==6.0.2\n"


@pytest.fixture(scope="session")
def pinned_base(docker_client: docker.DockerClient, base_image: str, registry: str) -> str:
    """The base image pushed to the loopback registry: name:tag@digest, as served."""
    repository = f"{registry}/envcheck-test/bookworm-python"
    image = docker_client.images.get(base_image)
    image.tag(repository, "2")
    for event in docker_client.images.push(repository, tag="2", stream=True, decode=True):
        assert "error" not in event, event
    digest = next(d for d in docker_client.images.get(f"{repository}:2").attrs["RepoDigests"]
                  if d.startswith(repository))
    return f"{repository}:2@{digest.split('@', 1)[1]}"


@dataclass(frozen=True)
class Built:
    project: Path
    image: BuiltImage


def _context(engine: DockerEngine) -> ImageContext:
    from importlib.metadata import version

    return ImageContext(engine=engine, runner=SubprocessRunner(), env=dict(os.environ),
                        pip=(sys.executable, "-m", "pip"),
                        preflight=PreflightSource(envcheck_source=REPO_ROOT, pins={
                            name: version(name) for name in PREFLIGHT_PACKAGES}))


@pytest.fixture(scope="session")
def engine(docker_client: docker.DockerClient) -> Iterator[DockerEngine]:
    engine = DockerEngine(dict(os.environ))
    yield engine
    for image in docker_client.images.list(filters={"label": f"{TEST_LABEL}=images"}):
        with contextlib.suppress(docker.errors.APIError):
            docker_client.images.remove(str(image.id), force=True)
    engine.close()


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("image-project")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "requirements.in").write_text(REQUIREMENTS)
    (root / "empty.in").write_text("")
    (root / "train.py").write_text("import sys\nprint('training with', sys.executable)\n")
    # What must never reach an image.
    (root / ".env").write_text("API_TOKEN=s3cret\n")
    (root / "server.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (root / "credentials.json").write_text("{}\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[core]\n")
    lock_targets(load_project(root), LockRequest(resolver="uv"), LockContext(
        runner=SubprocessRunner(), env=dict(os.environ), bin_dirs=(Path(sys.executable).parent,),
        machine_python="3.11", machine_platform="linux/x86_64"))
    return root


def _build(engine: DockerEngine, project: Path, target: str, base: str, *,
           no_cache: bool = False) -> BuiltImage:
    return build_image(load_project(project), target, BuildOptions(
        image=ImageOptions(base=base), no_cache=no_cache, network_mode="none",
        extra_labels={TEST_LABEL: "images"}), _context(engine))


@pytest.fixture(scope="session")
def small(engine: DockerEngine, project: Path, pinned_base: str) -> BuiltImage:
    return _build(engine, project, "small", pinned_base)


def _run(client: docker.DockerClient, image: str, *command: str) -> str:
    run = run_container(client, image, list(command), timeout_s=300)
    assert run.exit_code == 0, f"{command} exited {run.exit_code}:\n{run.stderr}{run.stdout}"
    return run.stdout


def test_small_image_runs_the_locked_packages_as_a_user(
        small: BuiltImage, docker_client: docker.DockerClient, project: Path) -> None:
    out = _run(docker_client, small.tag, "python", "-c",
               "import os, sys, yaml, markupsafe, six, idna; "
               "print(sys.executable, yaml.__version__, os.getuid())")
    # The image holds what the lock says, read from the lockfile rather than restated here.
    locked = {package.name: package.version for package in parse_lockfile(
        (project / "lockfiles" / "small.txt").read_text(), origin="small.txt").packages}
    assert out.split() == ["/opt/venv/bin/python", locked["pyyaml"], "10001"]
    assert _run(docker_client, small.tag, "python", "train.py").startswith("training with")
    listing = _run(docker_client, small.tag, "sh", "-c",
                   "ls -A /app; ls /opt/venv/lib/python3.11/site-packages").split()
    for secret in (".env", "server.pem", "credentials.json", ".git", "images"):
        assert secret not in listing
    assert "pip" not in listing  # the training environment is the lock, nothing else
    assert small.tag.startswith("envcheck/small:")
    assert len(small.tag.split(":")[1]) == 12


def test_labels_state_the_lock_and_the_base(small: BuiltImage, project: Path,
                                            pinned_base: str) -> None:
    import hashlib

    lock_text = (project / "lockfiles" / "small.txt").read_bytes()
    labels = small.labels
    assert labels["org.envcheck.lock-sha256"] == hashlib.sha256(lock_text).hexdigest()
    assert labels["org.envcheck.target"] == "small"
    assert labels["org.envcheck.torch"] == "none"
    assert labels["org.envcheck.compute-capabilities"] == "none (cpu build)"
    assert labels["org.opencontainers.image.base.digest"] == pinned_base.split("@")[1]
    assert labels["org.envcheck.venv-sha256"] == small.content_sha256


def test_a_rebuild_from_the_same_lock_has_the_same_content(
        small: BuiltImage, engine: DockerEngine, project: Path, pinned_base: str) -> None:
    again = _build(engine, project, "small", pinned_base, no_cache=True)
    assert again.content_sha256 == small.content_sha256
    assert not again.wheelhouse.downloaded


def test_a_tampered_wheel_fails_the_build_inside_the_engine(
        small: BuiltImage, engine: DockerEngine, project: Path, tmp_path: Path,
        pinned_base: str) -> None:
    # A copy of the project whose wheelhouse changed after envcheck checked it: the image's
    # own --require-hashes install must refuse it, whatever the host did.
    copy = tmp_path / "p"
    shutil.copytree(project, copy)
    wheel = next((copy / "images" / "small" / "wheelhouse" / "training").glob("six-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    rendered = render_image_files(load_project(copy), "small", ImageOptions(base=pinned_base))
    with pytest.raises(ImageBuildError) as raised:
        engine.build(BuildRequest(
            dockerfile=rendered.dockerfile.read_text(), context=copy,
            ignore=ignore_patterns(rendered.dockerignore.read_text()), network_mode="none",
            labels={TEST_LABEL: "images"}))
    message = str(raised.value)
    assert "python3.11 -m venv --without-pip /opt/venv" in message  # the step's name
    assert "DO NOT MATCH THE HASHES" in raised.value.log_tail


def test_torch_image_imports_torch_without_network(
        engine: DockerEngine, project: Path, pinned_base: str,
        docker_client: docker.DockerClient) -> None:
    if not TORCH_WHEEL.is_file():
        pytest.fail(f"{TORCH_WHEEL} is missing (the machine's local wheel mirror)")
    lock = (project / "lockfiles" / "torchcpu.txt").read_text()
    assert "torch==2.13.0+cpu" in lock
    assert TORCH_WHEEL_SHA256() in lock
    built = _build(engine, project, "torchcpu", pinned_base)
    out = _run(docker_client, built.tag, "python", "-c",
               "import torch; print(torch.__version__, int(torch.arange(4).sum()))")
    assert out.split()[-2:] == ["2.13.0+cpu", "6"]
    assert built.labels["org.envcheck.torch"] == "2.13.0+cpu"
    assert built.labels["org.envcheck.cuda"] == "none"
    verdict = inspect_on_profile(engine, built.tag, load_project(project), "gpu-box")
    assert verdict.facts.torch is not None
    assert str(verdict.facts.torch) == "2.13.0+cpu"
    assert any(f.category == "cpu_only_wheel" for f in verdict.findings)


def TORCH_WHEEL_SHA256() -> str:  # noqa: N802 - reads like the constant it is
    import hashlib

    return hashlib.sha256(TORCH_WHEEL.read_bytes()).hexdigest()


def _cli(*args: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "envcheck.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False,
                          env={**os.environ, **(env or {})})


def test_a_stale_lock_is_refused(project: Path, tmp_path: Path, pinned_base: str) -> None:
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("images"))
    (copy / "requirements.in").write_text(REQUIREMENTS + "packaging==24.2\n")
    result = _cli("image", "build", "small", "--base", pinned_base, cwd=copy)
    assert result.returncode == 2, result.stderr
    assert "stale" in result.stderr
    assert "envcheck lock small" in result.stderr
    (copy / "lockfiles" / "small.txt").unlink()
    with pytest.raises(UsageError, match="missing"):
        render_image_files(load_project(copy), "small", ImageOptions(base=pinned_base))


def test_no_engine_exits_4_with_how_to_start_one(project: Path, tmp_path: Path) -> None:
    result = _cli("image", "build", "small", cwd=project,
                  env={"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert result.returncode == 4, result.stderr
    assert "no Docker engine answers" in result.stderr
    assert "dockerd" in result.stderr


def test_pin_base_records_the_registry_digest(project: Path, tmp_path: Path,
                                              pinned_base: str) -> None:
    copy = tmp_path / "p"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("images"))
    tagged = pinned_base.split("@", maxsplit=1)[0]
    result = _cli("image", "pin-base", "small", tagged, cwd=copy)
    assert result.returncode == 0, result.stderr
    assert f'base_image = "{pinned_base}"' in (copy / "pyproject.toml").read_text()
    assert load_project(copy).targets["small"].base_image == pinned_base
