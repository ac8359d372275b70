"""envcheck's foundation against a real Docker engine and a real container.

The probe is copied into a container of the registry-free base image and run by the image's
own python3, the way envcheck inspects an image; its answers are checked against what the
image itself says. The network test pins the assumption the image builds rest on, and the
stand-in NVML test shows that one bind-mounted library makes a container look like a GPU host.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import certifi
import docker
import pytest

from tests.engine import REPO_ROOT, ContainerRun, read_only_bind, run_container
from tests.standin_nvml.build import LIBRARY_NAME, build_standin_nvml

pytestmark = pytest.mark.engine

PROBE = REPO_ROOT / "envcheck" / "probe" / "envprobe.py"
NVML_SCENARIOS = REPO_ROOT / "tests" / "data" / "nvml"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
PACKAGE_INDEX = "https://pypi.org/simple/pip/"
# Where the NVIDIA container toolkit puts the host's driver library in a container.
CONTAINER_NVML = f"/usr/lib/x86_64-linux-gnu/{LIBRARY_NAME}"
CONTAINER_SCENARIO = "/etc/envcheck/nvml.scenario"


def _checked(run: ContainerRun) -> str:
    assert run.exit_code == 0, f"container exited {run.exit_code}:\n{run.stderr}{run.stdout}"
    return run.stdout


def _json_line(run: ContainerRun) -> Any:
    return json.loads(_checked(run).strip().splitlines()[-1])


def test_probe_reports_the_python_and_libc_of_the_image(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    image_says = _checked(
        run_container(
            docker_client, base_image, ["sh", "-c", "python3 --version; getconf GNU_LIBC_VERSION"]
        )
    ).splitlines()
    report = _json_line(
        run_container(
            docker_client,
            base_image,
            ["python3", "/probe/envprobe.py"],
            files={"/probe/envprobe.py": PROBE.read_bytes()},
        )
    )

    python = report["python"]
    assert report["probe"] == "envcheck.envprobe/1"
    assert image_says[0] == f"Python {python['version']}"
    assert python["version"].startswith("3.11.")  # Debian bookworm's python3
    assert python["implementation"] == "CPython"
    assert python["kind"] == "system"
    assert python["prefix"] == "/usr"
    assert python["machine"] == "x86_64"
    assert image_says[1] == f"glibc {python['libc_version']}"
    assert (python["libc"], python["libc_version"]) == ("glibc", "2.36")
    assert isinstance(report["packages"], list)
    assert all(set(package) == {"name", "version"} for package in report["packages"])
    assert report["wheel_libraries"] == []
    assert report["conda_libraries"] == []
    assert report["torch"]["status"] == "absent"


# Fetches the mirror's Release file and the package index with the public CA store that pip
# itself ships (certifi), and prints what happened as one JSON line.
NETWORK_SNIPPET = r"""
import json, ssl, sys, urllib.request
mirror, index, ca_file = sys.argv[1:4]
found = {}
try:
    with urllib.request.urlopen(mirror + "/dists/bookworm/Release", timeout=20) as response:
        found["mirror"] = {"status": response.status, "text": response.read(4096).decode()}
except Exception as e:
    found["mirror"] = {"error": type(e).__name__, "detail": str(e)}
try:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(index, timeout=20, context=context) as response:
        found["index"] = {"status": response.status}
except Exception as e:
    reason = getattr(e, "reason", e)
    found["index"] = {"error": type(reason).__name__, "detail": str(reason)}
print(json.dumps(found))
"""


def test_containers_reach_the_debian_mirror_but_not_the_package_index(
    docker_client: docker.DockerClient, base_image: str
) -> None:
    """Image builds may apt-get from the mirror; they must not count on pip reaching an index.

    On these machines HTTPS leaves through an interception proxy whose CA only the host
    trusts, so pip in a container (public CA store) fails certificate checks: builds install
    from a hash-checked wheelhouse made on the host instead. Where a container does reach the
    index this test skips, since nothing here relies on that either way.
    """
    found = _json_line(
        run_container(
            docker_client,
            base_image,
            ["python3", "-c", NETWORK_SNIPPET, DEBIAN_MIRROR, PACKAGE_INDEX, "/probe/ca.pem"],
            files={"/probe/ca.pem": Path(certifi.where()).read_bytes()},
            timeout_s=90,
        )
    )

    assert found["mirror"].get("status") == 200, f"Debian mirror from a container: {found}"
    assert "Codename: bookworm" in found["mirror"]["text"]
    if "status" in found["index"]:
        pytest.skip(f"containers here reach {PACKAGE_INDEX} with the public CA store")
    assert found["index"]["error"] == "SSLCertVerificationError", found["index"]


@pytest.fixture(scope="module")
def standin_nvml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_standin_nvml(tmp_path_factory.mktemp("standin-nvml")) / LIBRARY_NAME


# Calls NVML through ctypes, the way pynvml does, and reports which file the loader used.
NVML_SNIPPET = r"""
import ctypes, json
nvml = ctypes.CDLL("libnvidia-ml.so.1")
found = {"init": nvml.nvmlInit_v2()}
if found["init"] == 0:
    version = ctypes.create_string_buffer(80)
    found["driver_rc"] = nvml.nvmlSystemGetDriverVersion(version, ctypes.c_uint(80))
    found["driver_version"] = version.value.decode()
    count = ctypes.c_uint(0)
    found["count_rc"] = nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
    found["device_count"] = count.value
    found["shutdown"] = nvml.nvmlShutdown()
with open("/proc/self/maps") as maps:
    found["loaded"] = sorted({line.split()[-1] for line in maps if "libnvidia-ml" in line})
print(json.dumps(found))
"""


@pytest.mark.parametrize(
    ("scenario", "driver_and_count"),
    [
        ("rtx4090_driver550.scenario", ("550.54.15", 1)),
        ("h100x8_driver535_mig.scenario", ("535.104.05", 8)),
    ],
)
def test_mounted_standin_nvml_makes_the_container_a_gpu_host(
    docker_client: docker.DockerClient,
    base_image: str,
    standin_nvml: Path,
    scenario: str,
    driver_and_count: tuple[str, int],
) -> None:
    driver_version, device_count = driver_and_count
    found = _json_line(
        run_container(
            docker_client,
            base_image,
            ["python3", "-c", NVML_SNIPPET],
            mounts=[
                read_only_bind(standin_nvml, CONTAINER_NVML),
                read_only_bind(NVML_SCENARIOS / scenario, CONTAINER_SCENARIO),
            ],
            environment={"ENVCHECK_NVML_SCENARIO": CONTAINER_SCENARIO},
        )
    )

    assert found["loaded"] == [CONTAINER_NVML]
    assert found["init"] == 0
    assert (found["driver_rc"], found["driver_version"]) == (0, driver_version)
    assert (found["count_rc"], found["device_count"]) == (0, device_count)
    assert found["shutdown"] == 0


def test_mounted_standin_nvml_reports_a_driver_library_mismatch(
    docker_client: docker.DockerClient, base_image: str, standin_nvml: Path
) -> None:
    found = _json_line(
        run_container(
            docker_client,
            base_image,
            ["python3", "-c", NVML_SNIPPET],
            mounts=[
                read_only_bind(standin_nvml, CONTAINER_NVML),
                read_only_bind(
                    NVML_SCENARIOS / "driver_library_mismatch.scenario", CONTAINER_SCENARIO
                ),
            ],
            environment={"ENVCHECK_NVML_SCENARIO": CONTAINER_SCENARIO},
        )
    )

    # NVML_ERROR_LIB_RM_VERSION_MISMATCH in nvml.h: the kernel module and library disagree.
    assert found["init"] == 18
    assert found["loaded"] == [CONTAINER_NVML]
