"""The host around the job: the container's view of the GPU, shared memory for NCCL, GPU
health right before a run, memory advice, and free disk."""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding, Severity
from envcheck.rules.context import Thresholds
from envcheck.rules.registry import Rule
from envcheck.snapshot import Disk, Snapshot
from envcheck.throttle import THERMAL_THROTTLES

_NO_DEVICES = {"", "void", "none"}


def _wants_gpu(snapshot: Snapshot) -> bool:
    torch = snapshot.torch
    return torch.status == "ok" and torch.cuda is not None


def check_container_gpu(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    system = snapshot.system
    if not system.in_container or snapshot.driver.status == "ok":
        return
    env = system.env
    severity: Severity = "error" if _wants_gpu(snapshot) else "info"
    capabilities = env.get("NVIDIA_DRIVER_CAPABILITIES")
    visible = env.get("NVIDIA_VISIBLE_DEVICES")
    if capabilities is not None and capabilities.strip() and not (
            {"compute", "all"} & {c.strip() for c in capabilities.split(",")}):
        yield Finding(
            id="container-lacks-compute-capability",
            category="no_gpu_in_container",
            severity=severity,
            summary=f"NVIDIA_DRIVER_CAPABILITIES={capabilities} does not include compute, so "
                    "the container runtime mounts no CUDA driver library",
            explanation="The NVIDIA Container Toolkit only mounts the driver libraries for the "
                        "capabilities listed; without `compute` CUDA cannot start.",
            fix="docker run --gpus all -e NVIDIA_DRIVER_CAPABILITIES=compute,utility ...",
            evidence={"NVIDIA_DRIVER_CAPABILITIES": capabilities},
        )
        return
    devices = system.nvidia_devices
    if devices == () or (visible is not None and visible.strip().lower() in _NO_DEVICES):
        yield Finding(
            id="container-sees-no-gpu",
            category="no_gpu_in_container",
            severity=severity,
            summary="This container sees no NVIDIA GPU (no /dev/nvidia* devices"
                    + (f", NVIDIA_VISIBLE_DEVICES={visible}" if visible is not None else "")
                    + ")",
            explanation="The container was started without the NVIDIA runtime or without a "
                        "GPU request, so neither the device nodes nor the driver libraries "
                        "are inside it.",
            fix="docker run --gpus all ...   (Docker with the NVIDIA Container Toolkit; in "
                "Kubernetes request nvidia.com/gpu)",
            evidence={"NVIDIA_VISIBLE_DEVICES": visible or "", "devices": " ".join(devices or ())},
        )
    elif devices:
        yield Finding(
            id="container-has-devices-but-no-driver-library",
            category="no_gpu_in_container",
            severity=severity,
            summary=f"The container has {len(devices)} /dev/nvidia* devices but the NVIDIA "
                    f"driver library is not usable: {snapshot.driver.detail or ''}".rstrip(": "),
            explanation="The devices were passed through (for example with --device) but the "
                        "driver's user-space libraries were not mounted by the NVIDIA runtime.",
            fix="docker run --gpus all ...   instead of passing /dev/nvidia* by hand",
        )


def _knows_container(snapshot: Snapshot) -> bool:
    return snapshot.system.in_container is not None and (
        snapshot.system.in_container is False or snapshot.system.nvidia_devices is not None)


def _shm(snapshot: Snapshot) -> Disk | None:
    return next((d for d in snapshot.system.disks if d.role == "shm"), None)


def check_shm(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    shm = _shm(snapshot)
    if shm is None or not snapshot.system.in_container or not _wants_gpu(snapshot):
        return
    size_mib = round(shm.total_gib * 1024)
    if size_mib >= thresholds.min_shm_mib:
        return
    several = len(snapshot.gpus) > 1
    yield Finding(
        id="small-shm-in-container",
        category="nccl",
        severity="error" if several else "warning",
        summary=f"/dev/shm is {size_mib} MiB in this container"
                + (f" with {len(snapshot.gpus)} GPUs" if several else ""),
        explanation="NCCL moves data between GPUs through shared memory, and DataLoader "
                    "workers pass batches through it; Docker's default 64 MiB makes NCCL fail "
                    "('unhandled system error', 'Error while creating shared-memory segment') "
                    "and workers die with bus errors.",
        fix="docker run --shm-size=16g ...   (or --ipc=host)",
        evidence={"shm_mib": str(size_mib)},
    )


def check_gpu_health(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    for gpu in snapshot.gpus:
        label = f"GPU {gpu.index} ({gpu.name})"
        if gpu.temperature_c is not None and gpu.temperature_c >= thresholds.max_temp_c:
            yield Finding(
                id="gpu-hot",
                category="gpu_health",
                severity="warning",
                summary=f"{label} is at {gpu.temperature_c} °C before the run starts "
                        f"(threshold {thresholds.max_temp_c} °C)",
                explanation="A card this hot at idle or under another job will throttle its "
                            "clocks for the whole run, and may shut down.",
                fix="check airflow and fans: nvidia-smi -q -d TEMPERATURE,PERFORMANCE",
                evidence={"temperature_c": str(gpu.temperature_c)},
            )
        thermal = [r for r in gpu.throttle_reasons if r in THERMAL_THROTTLES]
        if thermal:
            yield Finding(
                id="gpu-thermal-throttling",
                category="gpu_health",
                severity="warning",
                summary=f"{label} is throttling its clocks: {', '.join(thermal)}",
                explanation="Thermal or hardware slowdown lowers clocks well below normal: "
                            "the run will be slower than on a healthy card.",
                fix="nvidia-smi -q -d PERFORMANCE   # then check cooling and power delivery",
                evidence={"throttle_reasons": " ".join(gpu.throttle_reasons)},
            )
        if "hw_power_brake_slowdown" in gpu.throttle_reasons:
            yield Finding(
                id="gpu-power-brake",
                category="gpu_health",
                severity="warning",
                summary=f"{label} has the hardware power brake engaged",
                explanation="The power supply or board asserted the power brake; clocks drop "
                            "sharply until it clears.",
                fix="check the PSU and power cables of this GPU",
            )
        foreign = sum(p.used_mib or 0 for p in gpu.processes)
        if gpu.memory_total_mib and foreign > thresholds.foreign_memory_fraction * (
                gpu.memory_total_mib):
            pids = ", ".join(f"{p.pid} ({p.name or '?'}, {p.used_mib} MiB)"
                             for p in gpu.processes)
            free = gpu.memory_total_mib - max(gpu.memory_used_mib or 0, foreign)
            yield Finding(
                id="gpu-memory-held-by-other-processes",
                category="gpu_health",
                severity="warning",
                summary=f"{label}: other processes hold {foreign:,} of "
                        f"{gpu.memory_total_mib:,} MiB ({pids}); about {free:,} MiB are free",
                explanation="The run competes for this memory and will hit 'CUDA out of "
                            "memory' earlier than on an idle card.",
                fix=f"pick another GPU (CUDA_VISIBLE_DEVICES=...), or stop them: kill "
                    f"{' '.join(str(p.pid) for p in gpu.processes)}",
                evidence={"foreign_mib": str(foreign)},
            )
        if gpu.ecc_uncorrected:
            yield Finding(
                id="gpu-uncorrected-ecc-errors",
                category="gpu_health",
                severity="error",
                summary=f"{label} reports {gpu.ecc_uncorrected} uncorrected ECC errors",
                explanation="Uncorrected memory errors corrupt results and crash kernels "
                            "('uncorrectable ECC error encountered'); the GPU needs a reset "
                            "and, if they recur, replacement.",
                fix=f"sudo nvidia-smi -r -i {gpu.index}   # reset; drain the node if it recurs",
                evidence={"ecc_uncorrected": str(gpu.ecc_uncorrected)},
            )
        if gpu.mig_mode:
            yield Finding(
                id="gpu-mig-enabled",
                category="gpu_health",
                severity="info",
                summary=f"{label} has MIG enabled: CUDA sees its MIG instances, not the whole "
                        "GPU",
                explanation="A job gets one MIG slice (a fraction of memory and SMs) unless "
                            "MIG is disabled.",
                fix="nvidia-smi -L   # lists the MIG-... UUIDs for CUDA_VISIBLE_DEVICES",
            )


def check_allocator(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    if not _wants_gpu(snapshot):
        return
    config = (snapshot.system.env.get("PYTORCH_CUDA_ALLOC_CONF")
              or snapshot.system.env.get("PYTORCH_ALLOC_CONF") or "")
    if "expandable_segments" in config:
        return
    tight = [g for g in snapshot.gpus if g.memory_total_mib
             and g.memory_total_mib <= thresholds.tight_memory_gib * 1024]
    if tight:
        names = ", ".join(f"GPU {g.index} ({g.memory_total_mib:,} MiB)" for g in tight)
        yield Finding(
            id="allocator-advice-for-small-cards",
            category="memory",
            severity="info",
            summary=f"Memory-tight card{'s' if len(tight) > 1 else ''}: {names}; "
                    "PYTORCH_CUDA_ALLOC_CONF does not enable expandable segments",
            explanation="Fragmentation makes 'CUDA out of memory' appear while memory is "
                        "reserved but unallocated; expandable segments let the caching "
                        "allocator grow blocks instead.",
            fix="export PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True",
        )


def check_disk(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    seen: set[tuple[float, float]] = set()
    for disk in snapshot.system.disks:
        if disk.role not in ("cwd", "hf_cache", "home"):
            continue
        if disk.free_gib >= thresholds.min_free_disk_gib:
            continue
        identity = (disk.total_gib, disk.free_gib)
        if identity in seen:
            continue  # the same filesystem under another role
        seen.add(identity)
        critical = disk.free_gib < thresholds.critical_free_disk_gib
        what = {"cwd": "the working directory (checkpoints)", "hf_cache":
                "the Hugging Face cache", "home": "the home directory"}[disk.role]
        yield Finding(
            id="low-disk-space",
            category="disk",
            severity="error" if critical else "warning",
            summary=f"Only {disk.free_gib:.1f} GiB free where {what} lives ({disk.path})",
            explanation="Checkpoints and downloaded models fail to save with 'No space left "
                        "on device', often hours into a run.",
            fix="free space, or point HF_HOME / the checkpoint directory at a larger disk",
            evidence={"path": disk.path, "free_gib": f"{disk.free_gib:.1f}"},
        )


RULES = (
    Rule(id="container-sees-gpu", category="no_gpu_in_container", check=check_container_gpu,
         knows=_knows_container, needs="whether this is a container and its NVIDIA devices"),
    Rule(id="shm-large-enough", category="nccl", check=check_shm,
         knows=lambda s: _shm(s) is not None and s.system.in_container is not None,
         needs="the size of /dev/shm"),
    Rule(id="gpus-healthy", category="gpu_health", check=check_gpu_health,
         knows=lambda s: bool(s.gpus) and all(g.temperature_c is not None for g in s.gpus),
         needs="GPU temperatures, throttling, processes and ECC counters"),
    Rule(id="allocator-config", category="memory", check=check_allocator,
         knows=lambda s: bool(s.gpus) and all(g.memory_total_mib for g in s.gpus),
         needs="each GPU's memory"),
    Rule(id="disk-space", category="disk", check=check_disk,
         knows=lambda s: bool(s.system.disks), needs="free disk space"),
)
