"""`envcheck fingerprint` and `compare` on the real engine, with images built for the test.

The images are the registry-free base plus numpy unpacked from a wheel made on the host;
the "GPU hosts" are the stand-in libnvidia-ml.so.1 bind-mounted with two scenarios.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import docker
import pytest

from envcheck.adapters.engine import BuildRequest, ContainerMount, DockerEngine
from envcheck.compare import compare_fingerprints
from envcheck.errors import ContainerRunError
from envcheck.fingerprint_io import fingerprint_from_json, fingerprint_to_json
from envcheck.fingerprint_model import Fingerprint
from envcheck.services.fingerprint import ContainerOptions, fingerprint_image
from envcheck.services.promote import Endpoint, PromoteRequest, promote
from tests.engine import REPO_ROOT
from tests.standin_nvml.build import LIBRARY_NAME

pytestmark = pytest.mark.engine

NUMPY_WHEELS = REPO_ROOT / ".cache" / "wheels-numpy"
NVML_SCENARIOS = REPO_ROOT / "tests" / "data" / "nvml"
CONTAINER_NVML = f"/usr/lib/x86_64-linux-gnu/{LIBRARY_NAME}"
CONTAINER_SCENARIO = "/etc/envcheck/nvml.scenario"
SITE = "/usr/local/lib/python3.11/dist-packages"
FAKE_TORCH = (
    f"RUN mkdir -p {SITE}/torch {SITE}/torch-2.9.0+cu130.dist-info && "
    f"printf '__version__ = \"2.9.0+cu130\"\\ncuda = \"13.0\"\\n' > {SITE}/torch/version.py && "
    f"printf 'Metadata-Version: 2.1\\nName: torch\\nVersion: 2.9.0+cu130\\n' "
    f"> {SITE}/torch-2.9.0+cu130.dist-info/METADATA\n"
    "LABEL org.envcheck.cuda=13.0 org.envcheck.min-driver=580.65.06\n"
)
# A python3 that hangs after a word, ahead of the real one on PATH.
HANGING_PYTHON = (
    "RUN printf '#!/bin/sh\\necho probe starting\\nexec sleep 600\\n' "
    "> /usr/local/bin/python3 && chmod +x /usr/local/bin/python3\n"
)


def _numpy_wheel(version: str) -> Path:
    NUMPY_WHEELS.mkdir(parents=True, exist_ok=True)
    found = sorted(NUMPY_WHEELS.glob(f"numpy-{version}-cp311-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--only-binary=:all:",
                        "--python-version", "3.11", "--implementation", "cp",
                        "--platform", "manylinux_2_17_x86_64", "-d", str(NUMPY_WHEELS),
                        f"numpy=={version}"], check=True, capture_output=True, timeout=300)
        found = sorted(NUMPY_WHEELS.glob(f"numpy-{version}-cp311-*.whl"))
    return found[0]


def _build(engine: DockerEngine, base: str, context: Path, numpy_version: str, tag: str, *,
           extra: str = "") -> str:
    wheel = _numpy_wheel(numpy_version)
    context.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, context / wheel.name)
    dockerfile = (
        f"FROM {base}\nCOPY {wheel.name} /tmp/\n"
        f"RUN python3 -c \"import zipfile; zipfile.ZipFile('/tmp/{wheel.name}')"
        f".extractall('{SITE}')\" && rm /tmp/{wheel.name}\n{extra}"
        "LABEL org.envcheck.schema=envcheck.image/1\n")
    return engine.build(BuildRequest(dockerfile=dockerfile, context=context, tag=tag,
                                     network_mode="none"))


@pytest.fixture(scope="module")
def engine(docker_client: docker.DockerClient) -> Iterator[DockerEngine]:
    opened = DockerEngine({"DOCKER_HOST": docker_client.api.base_url.replace(
        "http+docker://localhost", "unix:///var/run/docker.sock")})
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def numpy_image(engine: DockerEngine, base_image: str,
                tmp_path_factory: pytest.TempPathFactory) -> str:
    return _build(engine, base_image, tmp_path_factory.mktemp("np"), "2.2.6",
                  "envcheck-test/parity-numpy:1")


def _fingerprint(engine: DockerEngine, image: str, **options: object) -> Fingerprint:
    taken = fingerprint_image(engine, image, engine_url=engine.host,
                              options=ContainerOptions(**{  # type: ignore[arg-type]
                                  "timeout": 300, "workload_timeout": 60, **options}),
                              clock=lambda: datetime.now(timezone.utc))
    # Every fingerprint goes through its JSON form, as between two hosts.
    return fingerprint_from_json(fingerprint_to_json(taken), origin=image)


def _gpu_host(standin_nvml_dir: Path, scenario: str) -> dict[str, object]:
    return {
        "mounts": (ContainerMount(source=str(standin_nvml_dir / LIBRARY_NAME),
                                  target=CONTAINER_NVML, read_only=True),
                   ContainerMount(source=str(NVML_SCENARIOS / scenario),
                                  target=CONTAINER_SCENARIO, read_only=True)),
        "env": {"ENVCHECK_NVML_SCENARIO": CONTAINER_SCENARIO},
    }


def test_same_image_twice_promotes(engine: DockerEngine, numpy_image: str) -> None:
    first, second = _fingerprint(engine, numpy_image), _fingerprint(engine, numpy_image)

    assert first.snapshot.source == "container"
    assert first.venv_sha256 is not None
    assert first.venv_sha256 == second.venv_sha256
    assert first.snapshot.python.version is not None
    assert {w.name for w in first.behaviour} >= {"matmul_fp32", "mlp_steps"}
    assert all(w.status == "ok" and w.device == "cpu" for w in first.behaviour)
    assert any("openblas" in lib for w in first.behaviour for lib in w.libraries)
    report = compare_fingerprints(first, second)
    assert report.verdict == "promote", report.reasons
    behaviour = next(s for s in report.sections if s.name == "behaviour")
    assert behaviour.state == "identical"


def test_perturbed_workload_blocks_with_the_error_measured(
        engine: DockerEngine, numpy_image: str) -> None:
    reference = _fingerprint(engine, numpy_image)
    perturbed = _fingerprint(engine, numpy_image,
                             env={"ENVCHECK_BEHAVIOUR_PERTURB": "matmul_fp32:0.001"})

    report = compare_fingerprints(reference, perturbed)
    assert report.verdict == "block"
    assert report.reasons[0].startswith("matmul_fp32: output beyond tolerance: max abs error")


def test_a_changed_package_in_a_rebuilt_image_blocks(
        engine: DockerEngine, numpy_image: str, base_image: str,
        tmp_path: Path) -> None:
    rebuilt = _build(engine, base_image, tmp_path / "ctx", "2.1.3",
                     "envcheck-test/parity-numpy:2")

    report = compare_fingerprints(_fingerprint(engine, numpy_image),
                                  _fingerprint(engine, rebuilt))
    assert report.verdict == "block"
    assert "package changed: numpy 2.2.6 -> 2.1.3" in report.reasons


@pytest.fixture(scope="module")
def cuda_image(engine: DockerEngine, base_image: str,
               tmp_path_factory: pytest.TempPathFactory) -> str:
    return _build(engine, base_image, tmp_path_factory.mktemp("cu"), "2.2.6",
                  "envcheck-test/parity-cu130:1", extra=FAKE_TORCH)


def test_a_cuda_image_on_an_old_driver_blocks(
        engine: DockerEngine, cuda_image: str, standin_nvml_dir: Path) -> None:
    image = cuda_image

    local = _fingerprint(engine, image, **_gpu_host(standin_nvml_dir,
                                                    "rtx4090_driver550.scenario"))
    cloud = _fingerprint(engine, image, **_gpu_host(standin_nvml_dir,
                                                    "a100_driver525.scenario"))
    assert str(local.snapshot.driver.version) == "550.54.15"
    assert str(cloud.snapshot.driver.version) == "525.147.05"
    report = compare_fingerprints(local, cloud)
    assert report.verdict == "block"
    assert "driver-too-old-for-torch-cuda" in report.reasons[0], report.reasons


def test_compare_cli_exits_7_on_block_and_names_a_bad_file(
        engine: DockerEngine, numpy_image: str, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(fingerprint_to_json(_fingerprint(engine, numpy_image)))
    b.write_text(fingerprint_to_json(_fingerprint(
        engine, numpy_image, env={"ENVCHECK_BEHAVIOUR_PERTURB": "svd_fp32:0.01"})))
    cli = [sys.executable, "-m", "envcheck.cli.main"]

    blocked = subprocess.run([*cli, "compare", "--json", str(a), str(b)],
                             capture_output=True, text=True, check=False, timeout=60)
    assert blocked.returncode == 7, blocked.stderr
    assert json.loads(blocked.stdout)["verdict"] == "block"
    same = subprocess.run([*cli, "compare", str(a), str(a)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert same.returncode == 0
    assert same.stdout.startswith("verdict: promote")
    b.write_text(a.read_text()[:200])
    bad = subprocess.run([*cli, "compare", str(a), str(b)],
                         capture_output=True, text=True, check=False, timeout=60)
    assert bad.returncode == 2
    assert f"{b} is not JSON (the file looks truncated)" in bad.stderr


def test_promote_blocks_on_the_labels_before_any_workload_runs(
        engine: DockerEngine, cuda_image: str, standin_nvml_dir: Path,
        tmp_path: Path) -> None:
    here = Endpoint(engine=engine, url=engine.host)
    cloud = ContainerOptions(timeout=300, **_gpu_host(  # type: ignore[arg-type]
        standin_nvml_dir, "a100_driver525.scenario"))
    outcome = promote(here, here, PromoteRequest(image=cuda_image, out_dir=tmp_path,
                                                 remote_options=cloud),
                      clock=lambda: datetime.now(timezone.utc))

    assert outcome.report.verdict == "block"
    assert outcome.report.reasons[0] == (
        "driver 525.147.05 there is older than 580.65.06, the oldest that runs the "
        "image's CUDA 13.0")
    assert (outcome.local, outcome.remote) == (None, None)
    assert [p.name for p in outcome.written] == ["report.json"]


def test_a_hanging_container_fails_with_its_step_and_log_tail(
        engine: DockerEngine, base_image: str, tmp_path: Path) -> None:
    image = _build(engine, base_image, tmp_path / "ctx", "2.2.6",
                   "envcheck-test/parity-hang:1", extra=HANGING_PYTHON)

    with pytest.raises(ContainerRunError) as caught:
        fingerprint_image(engine, image, engine_url=engine.host,
                          options=ContainerOptions(timeout=5),
                          clock=lambda: datetime.now(timezone.utc))
    assert caught.value.step == "run"
    assert "still running after 5 s and was killed" in caught.value.message
    assert caught.value.log_tail == "probe starting"


def test_workloads_time_out_one_by_one_and_are_recorded(
        engine: DockerEngine, numpy_image: str) -> None:
    taken = _fingerprint(engine, numpy_image, workload_timeout=0.001)

    assert len(taken.behaviour) == 5
    assert all(w.status == "error" for w in taken.behaviour)
    assert all(w.detail == "did not finish within 0.001 s" for w in taken.behaviour)
    assert taken.problems[0] == "behaviour workload matmul_fp32: did not finish within 0.001 s"
    report = compare_fingerprints(taken, taken)
    assert report.verdict == "block"


def test_fingerprint_cli_writes_the_image_fingerprint(
        docker_client: docker.DockerClient, numpy_image: str, tmp_path: Path) -> None:
    output = tmp_path / "fp.json"
    done = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "fingerprint", "--image", numpy_image,
         "--env", "OMP_NUM_THREADS=1", "--shm-size", "256m", "-o", str(output)],
        capture_output=True, text=True, check=False, timeout=300)

    assert done.returncode == 0, done.stderr
    taken = fingerprint_from_json(output.read_text(), origin=str(output))
    assert taken.where == "container"
    assert taken.engine is not None
    assert taken.engine.shm_mib == 256
    assert taken.snapshot.system.env["OMP_NUM_THREADS"] == "1"
    assert taken.image is not None
    assert taken.image.id == docker_client.images.get(numpy_image).id


def test_fingerprint_here_runs_the_torch_suite(torch_cpu_python: Path,
                                               tmp_path: Path) -> None:
    output = tmp_path / "here.json"
    done = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "fingerprint", "--python",
         str(torch_cpu_python), "-o", str(output)],
        capture_output=True, text=True, check=False, timeout=600)

    assert done.returncode == 0, done.stderr
    taken = fingerprint_from_json(output.read_text(), origin=str(output))
    assert taken.where == "here"
    assert str(taken.snapshot.torch.version) == "2.13.0+cpu"
    found = {w.name: w for w in taken.behaviour}
    assert set(found) == {"matmul_fp32", "matmul_tf32", "matmul_bf16", "conv2d", "sdpa",
                          "mlp_steps", "allreduce"}
    assert found["matmul_bf16"].dtype == "bfloat16"
    assert found["allreduce"].status == "absent"
    assert all(w.status == "ok" and w.device == "cpu" for n, w in found.items()
               if n != "allreduce")
    assert taken.problems == ()


def test_a_missing_image_is_named(docker_client: docker.DockerClient) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "envcheck.cli.main", "fingerprint", "--image",
         "envcheck-test/no-such-image:0"],
        capture_output=True, text=True, check=False, timeout=120)

    assert done.returncode == 2
    assert "no image envcheck-test/no-such-image:0 in the engine at" in done.stderr
    assert done.stdout == ""
