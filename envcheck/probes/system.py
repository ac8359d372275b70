"""The operating system around the job: OS, kernel, memory, disks, container, environment.

Everything is read through the Host's filesystem, so the same code describes this machine,
a recorded tree, or (through an engine-backed Host) a container.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from envcheck.host import Host
from envcheck.parsers.os_release import parse_meminfo, parse_os_release
from envcheck.redaction import redact_env
from envcheck.snapshot import Disk, DiskRole, System

# The variables that change what CUDA, torch and NCCL do. Snapshots travel, so only these
# are kept (plus NCCL_*), never the whole environment.
ENV_ALLOWLIST = (
    "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "CUDA_HOME", "CUDA_PATH",
    "CUDA_LAUNCH_BLOCKING", "CUDA_MODULE_LOADING", "LD_LIBRARY_PATH", "LD_PRELOAD", "PATH",
    "PYTORCH_CUDA_ALLOC_CONF", "PYTORCH_ALLOC_CONF", "TORCH_CUDA_ARCH_LIST",
    "NVIDIA_VISIBLE_DEVICES", "NVIDIA_DRIVER_CAPABILITIES", "NVIDIA_REQUIRE_CUDA",
    "NVIDIA_DISABLE_REQUIRE", "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV",
    "HF_HOME", "HF_HUB_CACHE", "TRANSFORMERS_CACHE", "OMP_NUM_THREADS",
)
_ENV_PREFIXES = ("NCCL_",)
_CGROUP_MARKERS = ("docker", "kubepods", "containerd", "libpod", "lxc", "buildkit")


def allowed_env(env: Mapping[str, str]) -> dict[str, str]:
    kept = {k: v for k, v in env.items() if k in ENV_ALLOWLIST or k.startswith(_ENV_PREFIXES)}
    return dict(sorted(redact_env(kept).items()))


def container_evidence(host: Host) -> tuple[str, ...]:
    evidence = []
    if host.fs.exists("/.dockerenv"):
        evidence.append("/.dockerenv exists")
    if host.fs.exists("/run/.containerenv"):
        evidence.append("/run/.containerenv exists (podman)")
    cgroup = host.fs.read_text("/proc/1/cgroup") or ""
    markers = sorted({m for m in _CGROUP_MARKERS if m in cgroup})
    if markers:
        evidence.append(f"/proc/1/cgroup mentions {', '.join(markers)}")
    if host.env.get("container"):
        evidence.append(f"container={host.env['container']} in the environment")
    if host.env.get("KUBERNETES_SERVICE_HOST"):
        evidence.append("KUBERNETES_SERVICE_HOST is set")
    return tuple(evidence)


def _kernel(host: Host) -> str | None:
    text = host.fs.read_text("/proc/sys/kernel/osrelease")
    return text.strip() or None if text else None


def _cpu_count(host: Host) -> int | None:
    text = host.fs.read_text("/proc/cpuinfo")
    if not text:
        return None
    count = len(re.findall(r"^processor\s*:", text, flags=re.MULTILINE))
    return count or None


def _disk_paths(host: Host) -> list[tuple[DiskRole, str]]:
    home = host.env.get("HOME")
    hf_home = host.env.get("HF_HOME") or (
        posixpath.join(home, ".cache", "huggingface") if home else None
    )
    hf_cache = host.env.get("HF_HUB_CACHE") or (
        posixpath.join(hf_home, "hub") if hf_home else None
    )
    wanted: list[tuple[DiskRole, str | None]] = [
        ("cwd", host.cwd), ("home", home), ("hf_cache", hf_cache), ("tmp", "/tmp"),
        ("shm", "/dev/shm"),
    ]
    return [(role, path) for role, path in wanted if path]


def _nearest_existing(host: Host, path: str) -> str:
    # The Hugging Face cache may not exist yet; the disk it will be created on matters.
    current = posixpath.normpath(path)
    while current != "/" and not host.fs.exists(current):
        current = posixpath.dirname(current)
    return current


def _disks(host: Host) -> tuple[Disk, ...]:
    disks = []
    for role, path in _disk_paths(host):
        usage = host.fs.disk_usage(_nearest_existing(host, path))
        if usage is None:
            continue
        disks.append(
            Disk(
                path=path,
                role=role,
                total_gib=round(usage.total_bytes / 2**30, 2),
                free_gib=round(usage.free_bytes / 2**30, 2),
            )
        )
    return tuple(disks)


def probe_system(host: Host) -> System:
    os_release = parse_os_release(host.fs.read_text("/etc/os-release") or "")
    kernel = _kernel(host)
    total, available = parse_meminfo(host.fs.read_text("/proc/meminfo") or "")
    evidence = container_evidence(host)
    wsl = bool(kernel and re.search(r"microsoft|wsl", kernel, re.IGNORECASE)) or host.fs.exists(
        "/dev/dxg"
    )
    return System(
        os=os_release.get("PRETTY_NAME") or os_release.get("NAME"),
        kernel=kernel,
        memory_total_mib=total,
        memory_available_mib=available,
        cpu_count=_cpu_count(host),
        in_container=bool(evidence),
        container_evidence=evidence,
        wsl=wsl,
        nvidia_devices=tuple(
            f"/dev/{name}" for name in host.fs.list_dir("/dev") if name.startswith("nvidia")
        ),
        disks=_disks(host),
        env=allowed_env(host.env),
    )
