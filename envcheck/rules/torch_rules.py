"""The torch build against this machine: CPU-only, GPU architectures, companions, cuDNN,
and the platform the wheel needs (glibc, Python)."""

from __future__ import annotations

from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.knowledge.cuda_tables import cudnn_support
from envcheck.knowledge.gpu_tables import find_gpu
from envcheck.knowledge.nvcc_targets import nvcc_reach
from envcheck.knowledge.torch_tables import newest_release
from envcheck.rules.context import Thresholds
from envcheck.rules.facts import (
    arch_covers,
    arch_span,
    gpu_capability,
    install_command,
    package,
    public_version,
    python_minor,
    recommend_cuda_build,
    torch_build,
)
from envcheck.rules.registry import Rule
from envcheck.snapshot import Snapshot
from envcheck.versions import version_or_none


def _has_nvidia_gpu(snapshot: Snapshot) -> bool:
    return bool(snapshot.gpus) or (snapshot.driver.status == "ok" and snapshot.driver.version
                                   is not None)


def check_cpu_only(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    torch = snapshot.torch
    if torch.status != "ok" or torch.cuda is not None or torch.hip:
        return
    if "cuda" not in torch.provenance:
        return  # a package list says "torch==2.1.0" without saying which build
    if not _has_nvidia_gpu(snapshot):
        return
    build = torch_build(snapshot)
    count = len(snapshot.gpus)
    gpus = f"{count} NVIDIA GPU{'s' if count != 1 else ''}" if count else "an NVIDIA driver"
    recommended = recommend_cuda_build(snapshot, build.release if build else None)
    fix = (install_command(*recommended) if recommended
           else "pip install torch --index-url https://download.pytorch.org/whl/<cuXYZ>")
    yield Finding(
        id="cpu-only-torch-on-gpu-machine",
        category="cpu_only_wheel",
        severity="error",
        summary=f"{f'torch {torch.version}' if torch.version else 'the installed torch'} is a "
                f"CPU-only build, but this machine has {gpus}",
        explanation="A CPU build has no CUDA code at all: torch.cuda.is_available() is False "
                    "and .cuda() raises 'Torch not compiled with CUDA enabled'. It usually "
                    "comes from a +cpu index, a conda cpuonly package, or a platform with no "
                    "CUDA wheels.",
        fix=fix,
        evidence={"torch": str(torch.version or "version not known"), "gpus": str(count)},
    )


def _knows_cpu_only(snapshot: Snapshot) -> bool:
    return (snapshot.torch.status == "ok" and snapshot.torch.version is not None
            and "cuda" in snapshot.torch.provenance
            and snapshot.driver.status in ("ok", "absent"))


def _compiled_for(snapshot: Snapshot) -> tuple[str, tuple[str, ...], str] | None:
    """(what, arch list, where the list came from) of the CUDA code torch carries.

    torch prints its arch list (the "not compatible" warning) only for CUDA builds, so a
    measured list counts even when the report names neither torch's version nor its CUDA."""
    build = torch_build(snapshot)
    torch = snapshot.torch
    if build is not None:
        if build.arch_list and (build.cuda is not None or build.arch_source == "measured"):
            return f"torch {build.version}", build.arch_list, build.arch_source
        return None
    if (torch.status == "ok" and torch.arch_list
            and torch.provenance.get("arch_list") == "measured"):
        return "the installed torch", torch.arch_list, "measured"
    return None


def _check_bounded_arch(snapshot: Snapshot) -> Iterator[Finding]:
    """A build whose arch list nobody recorded still cannot hold code its toolkit does not
    produce: a cu126 build has no sm_120 code, because nvcc 12.6 stops at sm_90."""
    build = torch_build(snapshot)
    if build is None or build.arch_source != "bounded" or build.arch_bound is None:
        return
    targets = build.arch_bound
    cuda = f"{targets.cuda.major}.{targets.cuda.minor}"
    for gpu in snapshot.gpus:
        capability = gpu_capability(gpu)
        if capability is None or nvcc_reach(targets, capability) == "machine-code":
            continue
        sm = "sm_" + capability.replace(".", "")
        recommended = recommend_cuda_build(snapshot, build.release)
        fix = (install_command(*recommended) if recommended else
               "no known torch build covers this GPU with this driver; upgrade the driver")
        yield Finding(
            id="gpu-arch-beyond-torch-build-toolkit",
            category="arch_not_in_wheel",
            severity="error",
            summary=f"GPU {gpu.index} ({gpu.name}, {sm}) cannot have machine code in torch "
                    f"{build.version}: CUDA {cuda} builds compile for sm_{targets.lowest} to "
                    f"sm_{targets.highest} at most",
            explanation=f"This build's arch list is not recorded (bounded, not read), but nvcc "
                        f"{cuda} cannot produce {sm} code, so the build has none. At best it "
                        "ships PTX of an older architecture for the driver to JIT-compile, "
                        "which PyTorch's release builds add only for their newest "
                        "architecture, if at all; torch reports the GPU as 'not compatible "
                        "with the current PyTorch installation' and kernels fail with 'no "
                        "kernel image is available for execution on the device'.",
            fix=fix,
            evidence={"gpu": gpu.name, "compute_capability": capability,
                      "torch_cuda": cuda, "toolkit_targets": " ".join(targets.arch_names),
                      "arch_list": "bounded"},
        )


def check_arch(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    compiled = _compiled_for(snapshot)
    if compiled is None:
        yield from _check_bounded_arch(snapshot)
        return
    what, arch_list, arch_source = compiled
    build = torch_build(snapshot)
    machine_code = tuple(a for a in arch_list if a.startswith("sm_"))
    for gpu in snapshot.gpus:
        capability = gpu_capability(gpu)
        if capability is None or arch_covers(machine_code, capability):
            continue
        sm = "sm_" + capability.replace(".", "")
        recommended = recommend_cuda_build(snapshot, build.release if build else None)
        fix = (install_command(*recommended) if recommended else
               "no known torch build covers this GPU with this driver; upgrade the driver "
               "or build torch from source with TORCH_CUDA_ARCH_LIST="
               f"{capability}")
        evidence = {"gpu": gpu.name, "compute_capability": capability,
                    "arch_list": " ".join(arch_list)}
        if arch_covers(arch_list, capability):
            ptx = " ".join(a for a in arch_list if a.startswith("compute_"))
            yield Finding(
                id="gpu-arch-only-ptx-in-torch-build",
                category="arch_not_in_wheel",
                severity="warning",
                summary=f"GPU {gpu.index} ({gpu.name}, {sm}) has no machine code in {what}: "
                        f"only PTX ({ptx}) that the driver must JIT-compile for it",
                explanation="torch warns that such a GPU is 'not compatible with the current "
                            "PyTorch installation'. The first launch of each kernel compiles "
                            "it (minutes), and PTX from a much older architecture is often "
                            "not usable at all. "
                            f"(Architecture list {arch_source}.)",
                fix=fix,
                evidence=evidence,
            )
            continue
        yield Finding(
            id="gpu-arch-not-in-torch-build",
            category="arch_not_in_wheel",
            severity="error",
            summary=f"GPU {gpu.index} ({gpu.name}, {sm}) is not covered by {what}'s "
                    f"compiled architectures: {arch_span(arch_list)}",
            explanation="The build carries machine code for other GPU generations and no "
                        "PTX this GPU could compile, so every kernel launch fails with "
                        "'no kernel image is available for execution on the device'. "
                        f"(Architecture list {arch_source}.)",
            fix=fix,
            evidence=evidence,
        )


def _knows_arch(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    if build is not None and build.cuda is None and "cuda" in snapshot.torch.provenance:
        return True  # a CPU build: no GPU code to check
    return _compiled_for(snapshot) is not None and bool(snapshot.gpus) and all(
        gpu_capability(g) for g in snapshot.gpus)


def check_companions(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    if build is None:
        return
    torch_local = build.version.local
    for name, expected in (("torchvision", build.release.torchvision if build.release
                            else None),
                           ("torchaudio", build.release.torchaudio if build.release else None)):
        installed = package(snapshot, name)
        if installed is None:
            continue
        version = version_or_none(installed.version)
        if version is None:
            continue
        if expected is not None and public_version(version) != expected:
            yield Finding(
                id=f"{name}-not-paired-with-torch",
                category="torchvision_mismatch",
                severity="error",
                summary=f"{name} {version} is not the release built for torch "
                        f"{build.version} (that is {name} {expected})",
                explanation=f"{name} ships compiled operators linked against one torch "
                            "release; with another one they fail to load ('operator "
                            "torchvision::nms does not exist') or crash.",
                fix=f"pip install {name}=={expected}" + (
                    f" --index-url https://download.pytorch.org/whl/{torch_local}"
                    if torch_local else ""),
                evidence={name: str(version), "torch": str(build.version)},
            )
        elif version.local and torch_local and version.local != torch_local:
            yield Finding(
                id=f"{name}-other-cuda-variant",
                category="torchvision_mismatch",
                severity="error",
                summary=f"{name} {version} is the {version.local} build but torch "
                        f"{build.version} is {torch_local}",
                explanation="torch and its companions must come from the same CUDA variant; "
                            "mixed majors fail at import ('compiled with different CUDA "
                            "major versions').",
                fix=f"pip install {name}=={public_version(version)} "
                    f"--index-url https://download.pytorch.org/whl/{torch_local}",
                evidence={name: str(version), "torch": str(build.version)},
            )


def _knows_companions(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    if build is None or build.release is None or not snapshot.packages:
        return False
    if snapshot.source == "report":
        # A paste may list a single package (a wheel URL, one pip line): only a listed
        # companion can be checked, a missing one is not known to be absent.
        return any(package(snapshot, name) for name in ("torchvision", "torchaudio"))
    return True


def check_cudnn(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    cudnn = snapshot.torch.cudnn
    if build is None or build.cuda is None or cudnn is None:
        return
    expected = build.variant.cudnn if build.variant else None
    if expected is not None and expected.major != cudnn.major:
        yield Finding(
            id="cudnn-major-differs-from-torch-build",
            category="cudnn_mismatch",
            severity="error",
            summary=f"cuDNN {cudnn} is installed but torch {build.version} was built with "
                    f"cuDNN {expected}",
            explanation="cuDNN's major versions are not interchangeable: torch fails to load "
                        "its convolution libraries (libcudnn_cnn_infer.so) or reports "
                        "CUDNN_STATUS_NOT_INITIALIZED.",
            fix=f"pip install 'nvidia-cudnn-cu{build.cuda.major}=={expected}'",
            evidence={"cudnn": str(cudnn), "torch_cudnn": str(expected)},
        )
        return
    support = next((s for s in cudnn_support()
                    if (s.cudnn.major, s.cudnn.minor) == (cudnn.major, cudnn.minor)), None)
    if support is not None and build.cuda.major not in support.cuda_majors:
        majors = ", ".join(str(m) for m in support.cuda_majors)
        yield Finding(
            id="cudnn-not-built-for-torch-cuda",
            category="cudnn_mismatch",
            severity="error",
            summary=f"cuDNN {cudnn} supports CUDA {majors}.x, not torch's CUDA {build.cuda}",
            explanation="A cuDNN built for another CUDA major cannot be loaded by this torch.",
            fix=f"pip install nvidia-cudnn-cu{build.cuda.major}",
            evidence={"cudnn": str(cudnn), "torch_cuda": str(build.cuda)},
        )


def _knows_cudnn(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    return build is not None and (build.cuda is None or snapshot.torch.cudnn is not None)


def check_python(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    minor = python_minor(snapshot)
    if build is None or build.release is None or minor is None or not build.release.python:
        return
    if minor not in build.release.python:
        supported = ", ".join(build.release.python)
        yield Finding(
            id="python-not-supported-by-torch",
            category="python_unsupported",
            severity="error",
            summary=f"Python {minor} has no torch {build.release.version} wheels (it supports "
                    f"{supported})",
            explanation="pip finds no wheel ('No matching distribution found for torch') or "
                        "falls back to an old release or a source build.",
            fix=f"use Python {build.release.python[-1]}, e.g. uv venv --python "
                f"{build.release.python[-1]}",
            evidence={"python": minor, "torch": str(build.release.version)},
        )


def _knows_python(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    return build is not None and build.release is not None and python_minor(snapshot) is not None


def check_glibc(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    glibc = snapshot.system.glibc
    if build is None or build.release is None or glibc is None:
        return
    needed = build.release.manylinux_glibc
    if needed is not None and glibc < needed:
        yield Finding(
            id="glibc-older-than-torch-wheel",
            category="glibc",
            severity="error",
            summary=f"glibc {glibc} is older than the {needed} torch "
                    f"{build.release.version}'s Linux wheels need",
            explanation="The wheel's manylinux tag promises only glibc "
                        f"{needed} or newer; on older systems its libraries fail with "
                        f"'GLIBC_{needed}' not found', or pip refuses the wheel.",
            fix="use a newer base system (for example a recent Ubuntu or Debian image) or an "
                "older torch release",
            evidence={"glibc": str(glibc), "needed": str(needed)},
        )


def _knows_glibc(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    return build is not None and build.release is not None and snapshot.system.glibc is not None


def check_knowledge_age(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    torch = snapshot.torch
    newest = newest_release()
    if torch.status == "ok" and torch.version is not None and (
            public_version(torch.version) > newest.version):
        yield Finding(
            id="torch-newer-than-knowledge",
            category="other",
            severity="info",
            summary=f"torch {torch.version} is newer than envcheck's knowledge "
                    f"(newest known: {newest.version})",
            explanation="Checks that need the release's facts (companions, cuDNN, Python, "
                        "glibc) are skipped for it rather than guessed.",
            fix="pip install -U envcheck   # newer envcheck releases carry newer torch tables",
        )
    for gpu in snapshot.gpus:
        if gpu.compute_capability is None and find_gpu(gpu.name) is None:
            yield Finding(
                id="gpu-unknown-to-knowledge",
                category="other",
                severity="info",
                summary=f"GPU {gpu.index} ({gpu.name}) is not in envcheck's GPU table and its "
                        "compute capability was not measured",
                explanation="Architecture checks are skipped for it rather than guessed.",
                fix="envcheck inspect on the machine itself measures it through NVML",
            )


RULES = (
    Rule(id="torch-has-cuda", category="cpu_only_wheel", check=check_cpu_only,
         knows=_knows_cpu_only, needs="the torch build and whether the machine has a GPU"),
    Rule(id="gpu-arch-in-build", category="arch_not_in_wheel", check=check_arch,
         knows=_knows_arch, needs="each GPU's compute capability and torch's arch list"),
    Rule(id="companions-paired", category="torchvision_mismatch", check=check_companions,
         knows=_knows_companions, needs="torch's release and the installed packages"),
    Rule(id="cudnn-matches", category="cudnn_mismatch", check=check_cudnn,
         knows=_knows_cudnn, needs="the installed cuDNN and torch's CUDA build"),
    Rule(id="python-supported", category="python_unsupported", check=check_python,
         knows=_knows_python, needs="the Python version and torch's release"),
    Rule(id="glibc-new-enough", category="glibc", check=check_glibc,
         knows=_knows_glibc, needs="the glibc version and torch's release"),
    Rule(id="knowledge-current", category="other", check=check_knowledge_age,
         knows=lambda _s: False, needs="envcheck's knowledge tables"),
)
