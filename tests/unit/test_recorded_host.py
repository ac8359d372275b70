"""The Snapshot assembled from `envprobe.py --host-facts` raw facts, and the label gate."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from packaging.version import Version

from envcheck.probes.recorded_host import recorded_host
from envcheck.services.inspect import InspectRequest, inspect_environment
from envcheck.services.promote import label_gate
from envcheck.snapshot import Snapshot

SMI_XML = """<?xml version="1.0" ?>
<nvidia_smi_log><driver_version>550.54.15</driver_version><cuda_version>12.4</cuda_version>
<attached_gpus>1</attached_gpus><gpu id="00000000:01:00.0">
<product_name>NVIDIA GeForce RTX 4090</product_name><uuid>GPU-1</uuid>
</gpu></nvidia_smi_log>"""


def _facts(nvml: dict[str, Any]) -> dict[str, Any]:
    return {
        "probe": "envcheck.envprobe/1",
        "python": {"executable": "/usr/bin/python3", "version": "3.11.2",
                   "implementation": "CPython", "platform": "linux-x86_64",
                   "machine": "x86_64", "prefix": "/usr", "kind": "system",
                   "libc": "glibc", "libc_version": "2.36"},
        "packages": [{"name": "numpy", "version": "2.2.6", "requires": []}],
        "wheel_libraries": [], "conda_libraries": [],
        "torch": {"status": "ok", "distribution_version": "2.9.0+cu130",
                  "version": "2.9.0+cu130", "cuda": "13.0",
                  "location": "/usr/lib/python3/dist-packages/torch"},
        "host": {
            "env": {"PATH": "/usr/bin", "HOME": "/root", "OMP_NUM_THREADS": "1"},
            "cwd": "/",
            "files": {"/etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
                      "/proc/meminfo": "MemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n",
                      "/proc/1/cgroup": "0::/\n"},
            "paths": {"/.dockerenv": {"dir": False, "real": "/.dockerenv"},
                      "/usr/bin/python3": {"dir": False, "real": "/usr/bin/python3.11"},
                      "/dev/shm": {"dir": True, "real": "/dev/shm", "entries": [],
                                   "disk": [64 * 2**20, 64 * 2**20]},
                      "/dev": {"dir": True, "real": "/dev", "entries": ["null", "shm"]}},
            "commands": {"ldconfig -p": {"found": True, "returncode": 0, "stdout": "",
                                         "stderr": ""},
                         "nvidia-smi -q -x": {"found": True, "returncode": 0,
                                              "stdout": SMI_XML, "stderr": ""}},
            "nvml": nvml,
        },
    }


def _snapshot(nvml: dict[str, Any]) -> Snapshot:
    host = recorded_host(_facts(nvml), lambda: datetime(2026, 1, 1, tzinfo=timezone.utc))
    return inspect_environment(host, InspectRequest())


def test_nvml_facts_become_the_driver_and_gpus() -> None:
    snapshot = _snapshot({"driver_version": "525.147.05", "cuda_driver_version": 12000,
                          "devices": [{"index": 0, "name": "NVIDIA A100-SXM4-80GB",
                                       "compute_capability": [8, 0],
                                       "memory_total_bytes": 80 * 2**30}]})

    assert snapshot.source == "container"
    assert snapshot.system.container_evidence == ("/.dockerenv exists",)
    assert str(snapshot.driver.version) == "525.147.05"
    assert snapshot.driver.cuda_driver_api == Version("12.0")
    assert [(g.name, g.compute_capability) for g in snapshot.gpus] == [
        ("NVIDIA A100-SXM4-80GB", "8.0")]
    assert snapshot.python.executable == "/usr/bin/python3"
    assert [p.name for p in snapshot.packages] == ["numpy"]
    assert snapshot.torch.cuda == Version("13.0")
    assert snapshot.system.env == {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin"}
    assert next(d for d in snapshot.system.disks if d.role == "shm").total_gib == 0.06


def test_without_nvml_the_recorded_nvidia_smi_answers() -> None:
    snapshot = _snapshot({"error": "NVML_ERROR_LIBRARY_NOT_FOUND", "detail": "no library"})

    assert snapshot.driver.source == "nvidia-smi"
    assert str(snapshot.driver.version) == "550.54.15"
    assert [g.name for g in snapshot.gpus] == ["NVIDIA GeForce RTX 4090"]


def test_label_gate_blocks_an_old_driver_by_label_and_by_rule() -> None:
    snapshot = _snapshot({"driver_version": "525.147.05", "cuda_driver_version": 12000,
                          "devices": []})
    labels = {"org.envcheck.cuda": "13.0", "org.envcheck.min-driver": "580.65.06"}

    reasons = label_gate(labels, snapshot)
    assert reasons[0] == ("driver 525.147.05 there is older than 580.65.06, the oldest that "
                          "runs the image's CUDA 13.0")
    # Without labels the doctor's rules still see the torch build in the image.
    unlabelled = label_gate({}, _snapshot({"error": "NVML_ERROR_LIBRARY_NOT_FOUND"}))
    assert unlabelled == (
        "there: NVIDIA driver 550.54.15 is too old for torch 2.9.0+cu130's CUDA 13.0 build "
        "(needs ≥ 580.65.06) [driver-too-old-for-torch-cuda]",)
