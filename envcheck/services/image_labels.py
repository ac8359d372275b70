"""The facts a training image carries as OCI labels, and reading them back.

Written from the lock and the knowledge tables when the Dockerfile is rendered, read by
`envcheck image inspect` to judge an image against a machine without running it. Values
are always strings; "unknown" and "none" are said in words, never left empty.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from envcheck import __version__
from envcheck.dockerfile import IMAGE_SCHEMA, ImageReference
from envcheck.errors import UsageError
from envcheck.knowledge.cuda_tables import min_driver_for_cuda
from envcheck.lockfile_model import Lockfile
from envcheck.project_model import Target
from envcheck.services.gate import torch_from_lock
from envcheck.snapshot import Torch

PREFIX = "org.envcheck."
SCHEMA = PREFIX + "schema"
TARGET = PREFIX + "target"
LOCK_SHA256 = PREFIX + "lock-sha256"
TORCH = PREFIX + "torch"
CUDA = PREFIX + "cuda"
MIN_DRIVER = PREFIX + "min-driver"
COMPUTE_CAPABILITIES = PREFIX + "compute-capabilities"
PYTHON = PREFIX + "python"
PLATFORM = PREFIX + "platform"
VARIANT = PREFIX + "variant"
ENVCHECK_VERSION = PREFIX + "envcheck-version"
CONTENT_SHA256 = PREFIX + "venv-sha256"
"""Added after the build (the hash is measured in it): see services/image.py."""

NOT_RECORDED = "not recorded (envcheck's torch table has no arch list for this build)"
NO_GPU_CODE = "none (cpu build)"
NO_CUDA = "none"
UNKNOWN = "unknown"


def lock_sha256(lock_text: str) -> str:
    return hashlib.sha256(lock_text.encode("utf-8")).hexdigest()


def _capability(arch: str) -> str:
    """"sm_90" -> "9.0"; "sm_120" -> "12.0"; "compute_90" -> "9.0+PTX"."""
    kind, _, digits = arch.partition("_")
    text = f"{digits[:-1]}.{digits[-1]}"
    return f"{text}+PTX" if kind == "compute" else text


def capabilities_value(torch: Torch, variant: str) -> str:
    if variant == "cpu":
        return NO_GPU_CODE
    if torch.status != "ok" or not torch.arch_list:
        return NOT_RECORDED
    return ",".join(_capability(arch) for arch in torch.arch_list)


def nvidia_require_cuda(torch: Torch) -> str | None:
    """The NVIDIA container toolkit's requirement ("cuda>=13.0"): the toolkit refuses to
    start the container on a driver whose CUDA is older, instead of the first kernel failing."""
    if torch.status != "ok" or torch.cuda is None:
        return None
    return f"cuda>={torch.cuda.major}.{torch.cuda.minor}"


def image_labels(*, target: Target, lock: Lockfile, lock_text: str,
                 base: ImageReference) -> dict[str, str]:
    torch = torch_from_lock(lock)
    cuda = torch.cuda if torch.status == "ok" else None
    minimum = min_driver_for_cuda(cuda) if cuda is not None else None
    min_driver = NO_CUDA if cuda is None else str(minimum) if minimum else UNKNOWN
    torch_value = str(torch.version) if torch.status == "ok" and torch.version else "none"
    digest = lock_sha256(lock_text)
    return {
        "org.opencontainers.image.title": f"{target.name}",
        "org.opencontainers.image.description":
            f"envcheck training image of target {target.name} (lock {digest[:12]})",
        "org.opencontainers.image.version": digest[:12],
        "org.opencontainers.image.base.name": base.tagged,
        "org.opencontainers.image.base.digest": base.digest or "unpinned",
        SCHEMA: IMAGE_SCHEMA,
        TARGET: target.name,
        LOCK_SHA256: digest,
        PYTHON: target.python,
        PLATFORM: target.platform,
        VARIANT: lock.header.cuda,
        TORCH: torch_value,
        CUDA: f"{cuda.major}.{cuda.minor}" if cuda is not None else NO_CUDA,
        MIN_DRIVER: min_driver,
        COMPUTE_CAPABILITIES: capabilities_value(torch, lock.header.cuda),
        ENVCHECK_VERSION: __version__,
    }


# --- reading labels back ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ImageFacts:
    """What an image's labels say, parsed."""

    target: str
    python: str
    platform: str
    variant: str
    torch: Version | None
    lock_sha256: str
    content_sha256: str | None


def facts_from_labels(labels: Mapping[str, str], *, image: str) -> ImageFacts:
    missing = [key for key in (SCHEMA, TARGET, PYTHON, PLATFORM, VARIANT, TORCH, LOCK_SHA256)
               if key not in labels]
    if missing:
        raise UsageError(f"image {image} lacks the labels {', '.join(missing)}",
                         hint="only images built by `envcheck image build` carry them")
    if labels[SCHEMA] != IMAGE_SCHEMA:
        raise UsageError(f"image {image} has {SCHEMA}={labels[SCHEMA]!r}, not {IMAGE_SCHEMA!r}",
                         hint="rebuild it with this envcheck")
    torch: Version | None = None
    if labels[TORCH] != "none":
        try:
            torch = Version(labels[TORCH])
        except InvalidVersion as e:
            raise UsageError(f"image {image}: {TORCH}={labels[TORCH]!r} is not a version") from e
    return ImageFacts(target=labels[TARGET], python=labels[PYTHON], platform=labels[PLATFORM],
                      variant=labels[VARIANT], torch=torch, lock_sha256=labels[LOCK_SHA256],
                      content_sha256=labels.get(CONTENT_SHA256))
