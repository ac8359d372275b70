"""Fingerprints of the example project's matrix (examples/trainer: targets cu126, cu128,
cu130 on runners gpu-4090, gpu-a100, gpu-t4), built from records with realistic values, for
the `envcheck report` tests."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from packaging.version import Version

from envcheck.fingerprint_model import (
    EngineFacts,
    Fingerprint,
    ImageFacts,
    WorkloadResult,
    WorkloadStats,
)
from envcheck.snapshot import (
    Driver,
    DriverVersion,
    Gpu,
    Package,
    PythonEnv,
    Snapshot,
    System,
    Torch,
)

# runner -> (GPU, compute capability, driver, memory MiB, seconds scale against the A100)
RUNNERS = {
    "gpu-4090": ("NVIDIA GeForce RTX 4090", "8.9", "550.54.15", 24564, 0.83),
    "gpu-a100": ("NVIDIA A100-SXM4-80GB", "8.0", "580.65.06", 81920, 1.0),
    "gpu-t4": ("Tesla T4", "7.5", "535.104.05", 15360, 4.12),
}
# runner -> relative deviation of its TF32/bf16/fp16 outputs from the A100's
SHIFT = {"gpu-4090": 1.2e-6, "gpu-a100": 0.0, "gpu-t4": -3.1e-6}
# target -> (torch, CUDA build, cuDNN, NCCL)
TARGETS = {
    "cu126": ("2.7.1", "12.6", "9.5.1", "2.21.5"),
    "cu128": ("2.10.0", "12.8", "9.10.2", "2.27.3"),
    "cu130": ("2.14.1", "13.0", "9.13.0", "2.27.7"),
}
# workload -> (dtype, seconds on the A100, sum, max_abs, samples)
WORKLOADS = {
    "matmul_fp32": ("float32", 0.0412, 1834.2197, 312.84906,
                    (-41.218, 12.90713, 88.1652, -3.30417, 57.0091)),
    "matmul_tf32": ("tf32", 0.0128, 1834.3012, 312.85547,
                    (-41.2211, 12.9063, 88.1683, -3.30501, 57.0112)),
    "matmul_bf16": ("bfloat16", 0.0071, 1833.0, 312.75, (-41.25, 12.875, 88.0, -3.3125, 57.0)),
    "conv2d": ("float32", 0.0233, -92.61184, 17.40311, (0.51762, -2.20931, 4.0175, 0.0, 1.33)),
    "sdpa": ("float16", 0.0095, 211.375, 3.9277, (0.1229, -0.4062, 0.9453, 0.0215, -0.2686)),
}


def _sha256(label: str) -> str:
    """A digest in the form envcheck writes (the reader checks it), named by `label`."""
    return "sha256:" + hashlib.sha256(label.encode()).hexdigest()


def _digest(name: str, runner: str, exact: bool) -> str:
    return _sha256(f"{name}-{'same' if exact else runner}")


def matrix_fingerprint(target: str, runner: str, *, perturb: float = 0.0,
                       label_target: bool = True) -> Fingerprint:
    """`target`'s image fingerprinted on `runner`. fp32 and conv2d give the same bits
    everywhere; TF32, bf16 and fp16 outputs differ a little between architectures (by about 1e-6
    relative); `perturb` adds a relative error to matmul_fp32's last sample."""
    gpu, capability, driver, memory, scale = RUNNERS[runner]
    torch, cuda, cudnn, nccl = TARGETS[target]
    snapshot = Snapshot(
        envcheck_version="0.9.0", taken_at="2026-11-20T14:02:11+00:00", source="container",
        system=System(os="Ubuntu 24.04.2 LTS", arch="x86_64", cpu_count=32,
                      in_container=True),
        driver=Driver(status="ok", version=DriverVersion(driver)),
        gpus=(Gpu(index=0, name=gpu, compute_capability=capability,
                  memory_total_mib=memory),),
        python=PythonEnv(status="ok", version=Version("3.11.13"), kind="venv",
                         executable="/opt/venv/bin/python"),
        torch=Torch(status="ok", version=Version(torch), cuda=Version(cuda),
                    cudnn=Version(cudnn), nccl=Version(nccl), cuda_available=True,
                    device_capabilities=(capability,)),
        packages=(Package(name="torch", version=torch), Package(name="numpy",
                                                                version="2.2.6")))
    behaviour = []
    for name, (dtype, seconds, total, max_abs, samples) in WORKLOADS.items():
        exact = dtype in ("float32",) and not (perturb and name == "matmul_fp32")
        shift = 0.0 if exact else SHIFT[runner]
        moved = tuple(s * (1 + shift) for s in samples)
        if perturb and name == "matmul_fp32":
            moved = (*moved[:-1], moved[-1] * (1 + perturb))
        behaviour.append(WorkloadResult(
            name=name, status="ok", device="cuda:0", dtype=dtype,
            digest=_digest(name, runner, exact), seconds=round(seconds * scale, 5),
            stats=WorkloadStats(sum=total * (1 + shift), max_abs=max_abs * (1 + shift),
                                samples=moved)))
    lock = hashlib.sha256(f"lockfiles/{target}.txt".encode()).hexdigest()
    venv = hashlib.sha256(f"venv of {target}".encode()).hexdigest()
    labels = {"org.envcheck.lock-sha256": lock, "org.envcheck.venv-sha256": venv}
    if label_target:
        labels["org.envcheck.target"] = target
    return Fingerprint(
        envcheck_version="0.9.0", taken_at="2026-11-20T14:02:11+00:00", where="container",
        image=ImageFacts(id=f"sha256:{runner}-{target}", labels=labels),
        engine=EngineFacts(server_version="28.3.2", runtime="nvidia", gpus_requested="all"),
        snapshot=snapshot, packages_sha256=_sha256(f"{target}-packages"), venv_sha256=venv,
        behaviour=tuple(behaviour))


def with_problem(fingerprint: Fingerprint, problem: str) -> Fingerprint:
    return replace(fingerprint, problems=(*fingerprint.problems, problem))
