"""The CUDA stack around torch: the toolkit that builds extensions, and library copies that
shadow the ones torch's wheels ship."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.knowledge.nvcc_targets import nvcc_reach, nvcc_targets, targets_for
from envcheck.rules.context import Thresholds
from envcheck.rules.facts import gpu_capability, torch_build
from envcheck.rules.registry import Rule
from envcheck.snapshot import CudaLibrary, Snapshot, Toolkit
from envcheck.versions import version_or_none

# Libraries whose duplicate copies change behaviour; the driver's own (cuda, nvidia-ml)
# come from the driver and are not torch's to choose.
_SHADOWABLE = frozenset({"cudart", "cudnn", "cublas", "cublasLt", "nccl", "nvjitlink", "nvrtc",
                         "cufft", "curand", "cusparse", "cusolver"})


def build_toolkit(snapshot: Snapshot) -> Toolkit | None:
    """The toolkit torch.utils.cpp_extension would use: the first one with an nvcc."""
    return next((t for t in snapshot.toolkits if t.nvcc_version is not None), None)


_ONLY_FOR_BUILDS = (" This matters only when something compiles CUDA code against torch "
                    "(pip building flash-attn, apex or DeepSpeed ops, torch.utils.cpp_extension, "
                    "nvcc, CMake's CUDA language); torch's own wheels bring their CUDA runtime "
                    "and run whatever toolkit is installed.")


def _where(toolkit: Toolkit) -> str:
    """" (/usr/local/cuda-12.4, via CUDA_HOME)", or nothing for a pasted nvcc banner, which
    names neither."""
    parts = [toolkit.path] if toolkit.path else []
    if toolkit.sources:
        parts.append("via " + ", ".join(toolkit.sources))
    return f" ({', '.join(parts)})" if parts else ""


def check_toolkit(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    build = torch_build(snapshot)
    toolkit = build_toolkit(snapshot)
    if build is None or build.cuda is None or toolkit is None or toolkit.nvcc_version is None:
        return
    nvcc, cuda = toolkit.nvcc_version, build.cuda
    same_minor = (nvcc.major, nvcc.minor) == (cuda.major, cuda.minor)
    if same_minor:
        return
    matching = next((t for t in snapshot.toolkits if t.nvcc_version is not None
                     and (t.nvcc_version.major, t.nvcc_version.minor)
                     == (cuda.major, cuda.minor)), None)
    fix = (f"export CUDA_HOME={matching.path}" if matching else
           f"install the CUDA {cuda.major}.{cuda.minor} toolkit (or `conda install -c nvidia "
           f"cuda-nvcc={cuda.major}.{cuda.minor}`) and point CUDA_HOME at it")
    builds = thresholds.builds_cuda_code
    evidence = {"nvcc": str(nvcc), "torch_cuda": str(cuda), "toolkit": toolkit.path,
                "builds_cuda_code": "yes" if builds else "no"}
    if nvcc.major != cuda.major:
        yield Finding(
            id="nvcc-major-differs-from-torch-cuda",
            category="toolkit_torch_cuda_mismatch",
            # Only a build fails: a cu126 torch runs fine next to a CUDA 13 toolkit.
            severity="error" if builds else "warning",
            summary=f"nvcc {nvcc}{_where(toolkit)} is CUDA {nvcc.major} but torch "
                    f"{build.version} is built with CUDA {cuda}",
            explanation="Extensions compiled against torch (flash-attn, apex, DeepSpeed ops, "
                        "custom CUDA ops) must use the CUDA major torch was built with; "
                        "torch.utils.cpp_extension refuses the build ('The detected CUDA "
                        "version mismatches the version that was used to compile PyTorch')."
                        + ("" if builds else _ONLY_FOR_BUILDS),
            fix=fix,
            evidence=evidence,
        )
    else:
        yield Finding(
            id="nvcc-minor-differs-from-torch-cuda",
            category="toolkit_torch_cuda_mismatch",
            severity="warning" if builds else "info",
            summary=f"nvcc {nvcc}{_where(toolkit)} differs from torch {build.version}'s CUDA "
                    f"{cuda} in the minor version",
            explanation="torch.utils.cpp_extension builds across minor versions with a "
                        "warning; most extensions work, but ones that use newer CUDA APIs or "
                        "architectures may not." + ("" if builds else _ONLY_FOR_BUILDS),
            fix=fix,
            evidence=evidence,
        )


def check_toolkit_targets(snapshot: Snapshot, thresholds: Thresholds) -> Iterator[Finding]:
    """Can the build toolkit's nvcc produce code for each GPU? From nvcc's own target range,
    whatever torch is installed (nvcc 13.0 cannot build for a GTX 1080 Ti at all)."""
    toolkit = build_toolkit(snapshot)
    if toolkit is None or toolkit.nvcc_version is None:
        return
    targets = targets_for(toolkit.nvcc_version)
    if targets is None:
        return
    builds = thresholds.builds_cuda_code
    span = f"sm_{targets.lowest} to sm_{targets.highest}"
    for gpu in snapshot.gpus:
        capability = gpu_capability(gpu)
        if capability is None:
            continue
        reach = nvcc_reach(targets, capability)
        if reach == "machine-code":
            continue
        sm = "sm_" + capability.replace(".", "")
        evidence = {"gpu": gpu.name, "compute_capability": capability,
                    "nvcc": str(toolkit.nvcc_version), "nvcc_targets": " ".join(
                        targets.arch_names), "builds_cuda_code": "yes" if builds else "no"}
        if reach == "none":
            yield Finding(
                id="nvcc-cannot-target-gpu",
                category="toolkit_torch_cuda_mismatch",
                severity="error" if builds else "warning",
                summary=f"nvcc {toolkit.nvcc_version}{_where(toolkit)} cannot compile for GPU "
                        f"{gpu.index} ({gpu.name}, {sm}): it targets {span}",
                explanation=f"CUDA {targets.cuda.major}.{targets.cuda.minor}'s nvcc has no "
                            f"target at or below {sm}, and PTX never runs on an older GPU, so "
                            "every kernel it builds fails there with 'no kernel image is "
                            "available for execution on the device' (or nvcc rejects "
                            f"-arch={sm} as unsupported)."
                            + ("" if builds else _ONLY_FOR_BUILDS),
                fix=_toolkit_fix(capability, sm),
                evidence=evidence,
            )
        else:
            yield Finding(
                id="nvcc-only-ptx-for-gpu",
                category="toolkit_torch_cuda_mismatch",
                severity="warning" if builds else "info",
                summary=f"nvcc {toolkit.nvcc_version}{_where(toolkit)} has no machine-code "
                        f"target for GPU {gpu.index} ({gpu.name}, {sm}): it targets {span}, so "
                        "only PTX the driver JIT-compiles",
                explanation="Kernels built with it start slowly (the driver compiles them at "
                            "first launch) and any that need the newer architecture's features "
                            "do not build." + ("" if builds else _ONLY_FOR_BUILDS),
                fix="use a newer CUDA toolkit that targets this GPU and point CUDA_HOME at it",
                evidence=evidence,
            )


def _knows_toolkit_targets(snapshot: Snapshot) -> bool:
    toolkit = build_toolkit(snapshot)
    if toolkit is None or toolkit.nvcc_version is None:
        return False
    return (targets_for(toolkit.nvcc_version) is not None and bool(snapshot.gpus)
            and all(gpu_capability(g) for g in snapshot.gpus))


def _knows_toolkit(snapshot: Snapshot) -> bool:
    build = torch_build(snapshot)
    return build is not None and (build.cuda is None or build_toolkit(snapshot) is not None)


def _version_key(library: CudaLibrary) -> tuple[int, ...]:
    version = version_or_none(library.version or "")
    return version.release if version else ()


def check_shadowing(snapshot: Snapshot, _t: Thresholds) -> Iterator[Finding]:
    by_name: dict[str, list[CudaLibrary]] = defaultdict(list)
    for library in snapshot.cuda_libraries:
        if library.name in _SHADOWABLE:
            by_name[library.name].append(library)
    torch_is_cuda = snapshot.torch.status == "ok" and snapshot.torch.cuda is not None
    for name, copies in sorted(by_name.items()):
        wheel = [c for c in copies if c.origin == "pip"]
        ahead = [c for c in copies if "LD_LIBRARY_PATH" in c.found_via and c.origin != "pip"]
        if torch_is_cuda and wheel and ahead:
            ours = wheel[0]
            for other in ahead:
                if other.version is None or ours.version is None:
                    continue
                older = _version_key(other) < _version_key(ours)
                other_major = _version_key(other)[:1] != _version_key(ours)[:1]
                if not (older or other_major):
                    continue
                yield Finding(
                    id="ld-library-path-shadows-wheel-library",
                    category="lib_shadowing",
                    severity="error",
                    summary=f"LD_LIBRARY_PATH puts {name} {other.version} ({other.path}) "
                            f"ahead of the {ours.version} that torch's wheels ship "
                            f"({ours.distribution or ours.path})",
                    explanation="The dynamic loader searches LD_LIBRARY_PATH before the "
                                "wheels' own folders, so torch loads the older copy and fails "
                                "with undefined symbols (for example "
                                "'__nvJitLinkAddData_12_1') or cuDNN/cuBLAS status errors.",
                    fix=f"remove {other.path.rsplit('/', 1)[0]} from LD_LIBRARY_PATH for this "
                        "job (unset LD_LIBRARY_PATH, or set it without the CUDA toolkit's "
                        "lib64)",
                    evidence={"library": name, "shadowing": other.path,
                              "shadowing_version": other.version or "",
                              "wheel_version": ours.version or ""},
                )
        versions = {c.version for c in copies if c.version}
        system = [c for c in copies if c.origin != "pip"]
        if not wheel and len(system) > 1 and len({_version_key(c)[:2] for c in system}) > 1:
            listed = "; ".join(f"{c.version} at {c.path}" for c in system)
            yield Finding(
                id="several-system-copies-of-cuda-library",
                category="lib_shadowing",
                severity="warning",
                summary=f"{len(system)} different {name} copies are visible: {listed}",
                explanation="Which one a program loads depends on LD_LIBRARY_PATH order and the "
                            "loader cache; two shells can load different versions.",
                fix="keep one CUDA installation on the loader path (check `ldconfig -p | grep "
                    f"lib{name}` and LD_LIBRARY_PATH)",
                evidence={"library": name, "versions": " ".join(sorted(versions))},
            )


def _knows_shadowing(snapshot: Snapshot) -> bool:
    # A report shows some library copies, never all that the loader can see (a paste of
    # collect_env's cuDNN list says nothing of LD_LIBRARY_PATH): it cannot rule shadowing out.
    return snapshot.source != "report"


RULES = (
    Rule(id="toolkit-matches-torch", category="toolkit_torch_cuda_mismatch",
         check=check_toolkit, knows=_knows_toolkit,
         needs="the CUDA toolkit (nvcc) and torch's CUDA build"),
    Rule(id="toolkit-targets-gpu", category="toolkit_torch_cuda_mismatch",
         check=check_toolkit_targets, knows=_knows_toolkit_targets,
         needs="the CUDA toolkit (nvcc) and each GPU's compute capability"),
    Rule(id="no-shadowed-libraries", category="lib_shadowing", check=check_shadowing,
         knows=_knows_shadowing, needs="the CUDA libraries visible to the loader"),
)


def _toolkit_fix(capability: str, sm: str) -> str:
    """No toolkit in the table compiling for the GPU (sm_12, under CUDA 10 to 13) is said so,
    rather than pointing at a CUDA 12 that does not target it either."""
    rows = nvcc_targets()
    if not any(nvcc_reach(row, capability) == "machine-code" for row in rows):
        return (f"no CUDA toolkit from {rows[0].cuda} to {rows[-1].cuda} compiles for {sm}: "
                "use a newer GPU, or a toolkit older than those that still targets it")
    return (f"use a CUDA toolkit whose nvcc still targets {sm} (CUDA 12.x for Maxwell, "
            "Pascal and Volta; see `envcheck compat cuda`) and point CUDA_HOME at it")
