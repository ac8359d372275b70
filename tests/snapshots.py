"""Snapshots for rule tests: a healthy GPU workstation, changed one fact at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from packaging.version import Version

from envcheck.snapshot import (
    CudaLibrary,
    Disk,
    Driver,
    DriverVersion,
    Gpu,
    Package,
    PythonEnv,
    Snapshot,
    System,
    Toolkit,
    Torch,
)

SITE = "/home/ada/venv/lib/python3.11/site-packages"


def healthy(**changes: Any) -> Snapshot:
    """An RTX 4090 on driver 550.54.15 with torch 2.5.1 (cu124) from PyPI, all in order."""
    snapshot = Snapshot(
        envcheck_version="0.1.0",
        taken_at="2026-11-22T12:00:00+00:00",
        source="host",
        system=System(
            os="Ubuntu 22.04.4 LTS", kernel="6.5.0-35-generic", glibc=Version("2.35"),
            arch="x86_64", memory_total_mib=64000, memory_available_mib=60000, cpu_count=16,
            in_container=False, wsl=False, nvidia_devices=("/dev/nvidia0", "/dev/nvidiactl"),
            disks=(Disk(path="/home/ada/run", role="cwd", total_gib=1800.0, free_gib=900.0),
                   Disk(path="/dev/shm", role="shm", total_gib=31.0, free_gib=31.0)),
            env={"PATH": "/usr/bin", "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"},
        ),
        driver=Driver(status="ok", version=DriverVersion("550.54.15"),
                      cuda_driver_api=Version("12.4"), source="nvml"),
        gpus=(Gpu(index=0, name="NVIDIA GeForce RTX 4090", uuid="GPU-1",
                  compute_capability="8.9", memory_total_mib=24564, memory_used_mib=300,
                  temperature_c=41, power_w=30.0, power_limit_w=450.0),),
        toolkits=(Toolkit(path="/usr/local/cuda-12.4", nvcc_version=Version("12.4"),
                          nvcc_build="V12.4.131", sources=("PATH", "default")),),
        cuda_libraries=(
            CudaLibrary(name="cudnn", version="9.1.0.70",
                        path=f"{SITE}/nvidia/cudnn/lib/libcudnn.so.9", origin="pip",
                        found_via=("wheel",), distribution="nvidia-cudnn-cu12"),
            CudaLibrary(name="nvjitlink", version="12.4.127",
                        path=f"{SITE}/nvidia/nvjitlink/lib/libnvJitLink.so.12", origin="pip",
                        found_via=("wheel",), distribution="nvidia-nvjitlink-cu12"),
        ),
        python=PythonEnv(status="ok", executable="/home/ada/venv/bin/python",
                         version=Version("3.11.9"), implementation="CPython",
                         platform="linux-x86_64", kind="venv", selected_by="VIRTUAL_ENV"),
        torch=Torch(status="ok", version=Version("2.5.1"), cuda=Version("12.4"),
                    cudnn=Version("9.1.0.70"), location=f"{SITE}/torch",
                    provenance={"version": "derived", "cuda": "derived"}),
        packages=(
            Package(name="torch", version="2.5.1", requires=("filelock",)),
            Package(name="filelock", version="3.13.1"),
            Package(name="torchvision", version="0.20.1", requires=("torch==2.5.1",)),
        ),
    )
    return replace(snapshot, **changes)


def with_torch(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return replace(snapshot, torch=replace(snapshot.torch, **changes))


def with_gpu(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return replace(snapshot, gpus=(replace(snapshot.gpus[0], **changes),))


def with_system(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return replace(snapshot, system=replace(snapshot.system, **changes))


def with_driver(snapshot: Snapshot, **changes: Any) -> Snapshot:
    return replace(snapshot, driver=replace(snapshot.driver, **changes))
