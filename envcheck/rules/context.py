"""What a rule may look at besides the Snapshot: thresholds the user can change, and what the
run is about to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Thresholds:
    max_temp_c: int = 85
    """At or above this, a GPU is reported hot before the run."""
    foreign_memory_fraction: float = 0.10
    """Other processes holding more than this share of a GPU's memory are reported."""
    min_free_disk_gib: float = 20.0
    """Below this, checkpoints and the Hugging Face cache are at risk (warning)."""
    critical_free_disk_gib: float = 5.0
    """Below this, a run will fail to save (error)."""
    min_shm_mib: int = 1024
    """Docker's default /dev/shm is 64 MiB; NCCL and DataLoader workers need far more."""
    tight_memory_gib: float = 16.0
    """Cards with at most this much memory get the allocator advice."""
    builds_cuda_code: bool = False
    """Something in this run compiles CUDA code (an extension build, nvcc, cpp_extension, CMake's
    CUDA language, a planned package that compiles): only then does the toolkit's CUDA have to
    match torch's build. torch wheels bring their own CUDA runtime for everything else."""
