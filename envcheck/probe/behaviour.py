"""envcheck's behaviour probe: a fixed suite of numerical workloads with fixed seeds.

Standard library plus torch or numpy (whichever the environment has; torch first), Python
3.8+: it is copied into the container like envprobe.py, never imported from the target.
Each workload runs in its own process under its own time limit, so a hung cuBLAS call or a
crashed import costs that workload only. It prints one JSON object on stdout:
{"probe": "envcheck.behaviour/1", "backend": ..., "workloads": [...]}.

Usage: python behaviour.py [--timeout SECONDS]        run the suite
       python behaviour.py --workload NAME             run one workload (used by the suite)

ENVCHECK_BEHAVIOUR_PERTURB=NAME:FACTOR scales the named workload's input by (1 + FACTOR):
it exists so the tests can make a real numerical difference; never set it otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import time
from typing import Any, Callable

PROBE_SCHEMA = "envcheck.behaviour/1"
SEED = 20240617
SAMPLE_POSITIONS = 5
_LIBRARY_MARKERS = ("cublas", "cudnn", "nccl", "openblas", "mkl", "blas", "lapack")

NUMPY_WORKLOADS = ("matmul_fp32", "matmul_fp64", "solve_fp64", "svd_fp32", "mlp_steps")
TORCH_WORKLOADS = ("matmul_fp32", "matmul_tf32", "matmul_bf16", "conv2d", "sdpa",
                   "mlp_steps", "allreduce")


def _perturbation(name: str) -> float:
    wanted = os.environ.get("ENVCHECK_BEHAVIOUR_PERTURB", "")
    target, _, factor = wanted.partition(":")
    return 1.0 + float(factor) if target == name and factor else 1.0


def loaded_libraries() -> list[str]:
    """The numerical libraries this process has mapped (what really ran, not what is there)."""
    found = set()
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if path.startswith("/") and any(m in base for m in _LIBRARY_MARKERS):
                    found.add(path)
    except OSError:
        pass
    return sorted(found)


def _summary(flat: list[float], raw: bytes) -> dict[str, Any]:
    count = len(flat)
    positions = sorted({(count - 1) * i // (SAMPLE_POSITIONS - 1) for i in
                        range(SAMPLE_POSITIONS)}) if count else []
    return {
        "digest": "sha256:" + hashlib.sha256(raw).hexdigest(),
        "stats": {"sum": float(sum(flat)), "max_abs": max((abs(v) for v in flat), default=0.0),
                  "samples": [float(flat[p]) for p in positions]},
    }


def _float32_bytes(values: list[float]) -> bytes:
    # torch without numpy cannot hand out its buffer; the float32 bytes are the same ones.
    return struct.pack("<%df" % len(values), *values)


# --- numpy ---------------------------------------------------------------------------------

def _numpy_workload(name: str) -> dict[str, Any]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    scale = _perturbation(name)
    if name in ("matmul_fp32", "matmul_fp64"):
        dtype = np.float32 if name == "matmul_fp32" else np.float64
        a = (rng.standard_normal((256, 256)) * scale).astype(dtype)
        b = rng.standard_normal((256, 256)).astype(dtype)
        out = a @ b
    elif name == "solve_fp64":
        a = rng.standard_normal((128, 128)) * scale + 128 * np.eye(128)
        out = np.linalg.solve(a, rng.standard_normal((128, 8)))
    elif name == "svd_fp32":
        a = (rng.standard_normal((128, 64)) * scale).astype(np.float32)
        out = np.linalg.svd(a, compute_uv=False)
    elif name == "mlp_steps":
        x = (rng.standard_normal((64, 32)) * scale).astype(np.float32)
        y = rng.standard_normal((64, 4)).astype(np.float32)
        w1 = (rng.standard_normal((32, 64)) * 0.1).astype(np.float32)
        w2 = (rng.standard_normal((64, 4)) * 0.1).astype(np.float32)
        for _ in range(5):
            hidden = np.maximum(x @ w1, 0)
            grad_out = 2 * (hidden @ w2 - y) / len(x)
            grad_w2 = hidden.T @ grad_out
            grad_w1 = x.T @ ((grad_out @ w2.T) * (hidden > 0))
            w1 = w1 - np.float32(0.05) * grad_w1
            w2 = w2 - np.float32(0.05) * grad_w2
        out = np.concatenate([w1.ravel(), w2.ravel()])
    else:
        raise ValueError("unknown workload %s" % name)
    out = np.ascontiguousarray(out)
    result = _summary([float(v) for v in out.ravel()], out.tobytes())
    result.update({"device": "cpu", "dtype": str(out.dtype)})
    return result


# --- torch ---------------------------------------------------------------------------------

def _torch_workload(name: str) -> dict[str, Any]:
    import torch

    torch.use_deterministic_algorithms(True, warn_only=True)
    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    generator = torch.Generator().manual_seed(SEED)
    scale = _perturbation(name)

    def normal(*shape: int) -> Any:
        # Drawn on the CPU, so both hosts start from the same bits whatever their device.
        return (torch.randn(*shape, generator=generator) * scale).to(device)

    dtype_name = "float32"
    torch.backends.cuda.matmul.allow_tf32 = name == "matmul_tf32"
    torch.backends.cudnn.allow_tf32 = False
    if name in ("matmul_fp32", "matmul_tf32"):
        out = normal(256, 256) @ normal(256, 256)
        dtype_name = "tf32" if name == "matmul_tf32" else "float32"
    elif name == "matmul_bf16":
        out = (normal(256, 256).bfloat16() @ normal(256, 256).bfloat16()).float()
        dtype_name = "bfloat16"
    elif name == "conv2d":
        out = torch.nn.functional.conv2d(normal(2, 3, 32, 32), normal(8, 3, 3, 3), padding=1)
    elif name == "sdpa":
        out = torch.nn.functional.scaled_dot_product_attention(
            normal(2, 4, 64, 32), normal(2, 4, 64, 32), normal(2, 4, 64, 32))
    elif name == "mlp_steps":
        torch.manual_seed(SEED)
        model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 4)).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = normal(64, 32), normal(64, 4)
        for _ in range(5):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            optimizer.step()
        out = torch.cat([p.detach().flatten() for p in model.parameters()])
    elif name == "allreduce":
        return _torch_allreduce()
    else:
        raise ValueError("unknown workload %s" % name)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    values = out.detach().float().cpu().flatten().tolist()
    result = _summary(values, _float32_bytes(values))
    result.update({"device": device, "dtype": dtype_name})
    return result


def _torch_allreduce() -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return {"status": "absent", "detail": "fewer than two GPUs: no NCCL all-reduce"}
    count = torch.cuda.device_count()
    tensors = [torch.full((1024,), float(i + 1), device="cuda:%d" % i) for i in range(count)]
    torch.cuda.nccl.all_reduce(tensors)
    torch.cuda.synchronize()
    values = tensors[0].cpu().tolist()
    result = _summary(values, _float32_bytes(values))
    result.update({"device": "cuda:0-%d" % (count - 1), "dtype": "float32"})
    return result


# --- the suite -----------------------------------------------------------------------------

def _backend() -> str | None:
    import importlib.util

    for name in ("torch", "numpy"):
        spec = importlib.util.find_spec(name)
        # A folder without __init__.py (a namespace package) is not an installed library.
        if spec is not None and spec.origin is not None:
            return name
    return None


def run_one(name: str) -> dict[str, Any]:
    backend = _backend()
    work: Callable[[str], dict[str, Any]] = (
        _torch_workload if backend == "torch" else _numpy_workload)
    started = time.perf_counter()
    result: dict[str, Any] = {"name": name, "status": "ok"}
    result.update(work(name))
    result["seconds"] = round(time.perf_counter() - started, 6)
    result["libraries"] = loaded_libraries()
    return result


def run_suite(timeout: float) -> dict[str, Any]:
    backend = _backend()
    report: dict[str, Any] = {"probe": PROBE_SCHEMA, "backend": backend, "workloads": []}
    if backend is None:
        report["detail"] = "neither torch nor numpy is installed: no behaviour to measure"
        return report
    names = TORCH_WORKLOADS if backend == "torch" else NUMPY_WORKLOADS
    for name in names:
        argv = [sys.executable, os.path.abspath(__file__), "--workload", name]
        try:
            completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            report["workloads"].append({"name": name, "status": "error",
                                        "detail": "did not finish within %g s" % timeout})
            continue
        lines = completed.stdout.decode("utf-8", "replace").strip().splitlines()
        try:
            result = json.loads(lines[-1]) if lines else None
        except (ValueError, RecursionError):
            result = None
        if completed.returncode != 0 or not isinstance(result, dict):
            tail = completed.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
            report["workloads"].append({
                "name": name, "status": "error",
                "detail": "exited %d: %s" % (completed.returncode, " | ".join(tail))})
            continue
        report["workloads"].append(result)
    return report


def main(argv: list[str]) -> int:
    if "--workload" in argv:
        report = run_one(argv[argv.index("--workload") + 1])
    else:
        timeout = float(argv[argv.index("--timeout") + 1]) if "--timeout" in argv else 120.0
        report = run_suite(timeout)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
