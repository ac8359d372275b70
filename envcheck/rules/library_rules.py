"""Rules over the library facts a paste states (envcheck.reports.library_facts):

- a framework's GPU build (the ONNX Runtime and Paddle tables, or the framework's own
  message) against the cuDNN major the machine has (cudnn_mismatch);
- a cuDNN other than the installed one being loaded (lib_shadowing);
- a libstdc++ without the symbol version a binary needs: a conda environment's copy
  (lib_shadowing) or the system's (glibc);
- a library LD_DEBUG shows LD_LIBRARY_PATH putting ahead of the wheel that ships it
  (lib_shadowing);
- a release pip found no file of, whose wheels need a newer glibc than the OS has (glibc);
- a CUDA library not found while the paste's LD_LIBRARY_PATH names its directory (a warning:
  the paste cannot show whether the setting was in effect or the directory lacks it).

Each rule raises an error only when the facts it compares were all read; a paste that does
not say one of them gets nothing from it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from envcheck.findings import Finding
from envcheck.knowledge.framework_builds import (
    builds_for,
    gcc_for_glibcxx,
    glibc_needed,
    glibc_of_os,
)
from envcheck.reports.library_facts import (
    CudnnMention,
    FrameworkMention,
    LibraryFacts,
    LibstdcxxFailure,
)
from envcheck.snapshot import System
from envcheck.versions import version_or_none


def library_findings(facts: LibraryFacts, system: System | None = None) -> tuple[Finding, ...]:
    found: dict[str, Finding] = {}
    for finding in (*_framework_cudnn(facts), *_other_cudnn_loaded(facts),
                    *_libstdcxx(facts), *_ld_library_path_ahead_of_wheel(facts),
                    *_wheel_needs_newer_glibc(facts, system or System()),
                    *_ld_library_path_not_in_effect(facts),
                    *_stated_cudnn_requirement(facts)):
        found.setdefault(finding.id, finding)
    return tuple(found.values())


def machine_cudnn(facts: LibraryFacts) -> tuple[CudnnMention, ...]:
    """The cuDNN the paste says the machine has: the mentions it ties to the machine, else
    those it ties to nothing (never a build's or a requirement's)."""
    machine = tuple(m for m in facts.cudnn if m.role == "machine")
    return machine or tuple(m for m in facts.cudnn if m.role == "unclear")


def _framework_cudnn(facts: LibraryFacts) -> Iterator[Finding]:
    machine = machine_cudnn(facts)
    majors = {m.version.major for m in machine}
    if len(majors) != 1:
        return  # none stated, or the paste names two majors: it does not say which loads
    machine_major = majors.pop()
    for mention in facts.frameworks:
        rows = builds_for(mention.framework, mention.version, cuda_major=mention.cuda_major,
                          tag=mention.tag)
        needed = {row.cudnn_major for row in rows}
        if len(needed) != 1:
            continue  # not in the table, or its builds differ and the name does not say which
        needed_major = needed.pop()
        if needed_major == machine_major:
            continue
        row = rows[0]
        stated = machine[0]
        yield Finding(
            id="framework-build-needs-other-cudnn", category="cudnn_mismatch",
            severity="error",
            summary=f"{_named(mention)} is built with cuDNN {needed_major}.x (CUDA {row.cuda}), "
                    f"but the machine has cuDNN {stated.version} ({stated.text!r})",
            explanation="cuDNN's major versions are not interchangeable: the framework's GPU "
                        f"library links libcudnn {needed_major}, so with only cuDNN "
                        f"{machine_major} installed it fails to load (Windows: LoadLibrary "
                        "error 126) or crashes in its first convolution. Source: "
                        f"{row.source.title} ({row.source.url}).",
            fix=f"install cuDNN {needed_major}.x for CUDA {row.cuda_major} next to this build, "
                f"or install a build of {mention.framework} made for cuDNN {machine_major}",
            evidence={"framework": mention.framework, "version": str(mention.version),
                      "build_cudnn_major": str(needed_major),
                      "machine_cudnn": str(stated.version), "source": row.source.url},
            rule="framework-cudnn-matches")


def _named(mention: FrameworkMention) -> str:
    return mention.text if mention.tag or mention.cuda_major else (
        f"{mention.framework} {mention.version}")


def _other_cudnn_loaded(facts: LibraryFacts) -> Iterator[Finding]:
    """The framework says it loaded cuDNN 7.3 where the user installed 7.6.5: another copy
    comes first on the loader's path."""
    installed = [m for m in facts.cudnn if m.role == "machine" and len(m.version.release) >= 2]
    for loaded in facts.loaded_cudnn:
        for mention in installed:
            if mention.version.release[:2] == loaded.loaded.release[:2]:
                break
        else:
            if not installed:
                return
            stated = installed[0]
            yield Finding(
                id="loaded-cudnn-is-not-the-installed-one", category="lib_shadowing",
                severity="error",
                summary=f"cuDNN {loaded.loaded} is loaded ({loaded.text!r}), but the cuDNN "
                        f"installed is {stated.version} ({stated.text!r}): another copy comes "
                        "first on the loader's path",
                explanation="The framework reports the cuDNN it actually loaded; when that is "
                            "not the version installed, an older copy elsewhere (a second "
                            "CUDA install, a conda environment, a directory on "
                            "LD_LIBRARY_PATH) is found before it.",
                fix="find the copies (ldconfig -p | grep libcudnn; echo $LD_LIBRARY_PATH) and "
                    f"remove the cuDNN {loaded.loaded} one, or put the {stated.version} "
                    "directory first on LD_LIBRARY_PATH",
                evidence={"loaded": str(loaded.loaded), "installed": str(stated.version),
                          "compiled": str(loaded.compiled)},
                rule="loaded-cudnn-is-installed")


_CONDA_PREFIX = re.compile(r"/(?:ana|mini)conda\d?/|/miniforge\d?/|/mambaforge/|/envs/[^/]+/",
                           re.IGNORECASE)
_SYSTEM_LIB = re.compile(r"^/(?:usr/)?lib(?:64|32)?/")


def _libstdcxx(facts: LibraryFacts) -> Iterator[Finding]:
    conda = set(facts.conda_libstdcxx)
    for failure in facts.libstdcxx_failures:
        path = failure.path or (next(iter(conda)) if len(conda) == 1 else None)
        if path is None:
            continue
        row = gcc_for_glibcxx(failure.glibcxx, label=failure.label)
        needs = (f"the libstdc++ of GCC {row.gcc} or newer" if row is not None
                 else "a newer libstdc++")
        symbol = f"{failure.label}_{failure.glibcxx}"
        evidence = {"library": path, "glibcxx": symbol,
                    **({"gcc": str(row.gcc), "source": row.source.url} if row else {})}
        if _CONDA_PREFIX.search(path):
            yield _conda_libstdcxx(failure, path, needs, evidence)
        elif _SYSTEM_LIB.match(path):
            yield Finding(
                id="system-libstdcxx-too-old", category="glibc", severity="error",
                summary=f"the system's {path} lacks {symbol}: the binary needs {needs}",
                explanation="The binary was built with a newer GCC than the one this "
                            "operating system's C++ runtime comes from (GCC's libstdc++ ABI "
                            "table); the OS is too old for it.",
                fix="use a newer OS (or its container image), a build of the package made "
                    "for this OS, or a newer libstdc++ found first (in a conda environment: "
                    "conda install -c conda-forge libstdcxx-ng)",
                evidence=evidence, rule="libstdcxx-new-enough")


def _conda_libstdcxx(failure: LibstdcxxFailure, path: str, needs: str,
                     evidence: dict[str, str]) -> Finding:
    named = "the loader names it" if failure.path else "the paste names it"
    return Finding(
        id="conda-libstdcxx-shadows-system", category="lib_shadowing", severity="error",
        summary=f"the conda environment's own {path} is the libstdc++ loaded ({named}) and it "
                f"lacks {evidence['glibcxx']}: the binary needs {needs}",
        explanation="A conda environment's Python finds its environment's lib/ first (its "
                    "RPATH), so the environment's older libstdc++.so.6 is loaded instead of "
                    "a newer one elsewhere (the system's); the binary was built with a newer "
                    "GCC than the one that libstdc++ comes from (GCC's libstdc++ ABI table).",
        fix="conda install -c conda-forge 'libstdcxx-ng>=" + evidence.get("gcc", "12") + "'   "
            "# in that environment; or remove the environment's libstdc++.so.6 so the "
            "system's newer one is found",
        evidence=evidence, rule="libstdcxx-new-enough")


# Library file name -> the NVIDIA wheel that ships it (nvidia-<name>-cuXX).
_WHEEL_OF = (("libnvJitLink", "nvidia-nvjitlink"), ("libcusparse", "nvidia-cusparse"),
             ("libcublasLt", "nvidia-cublas"), ("libcublas", "nvidia-cublas"),
             ("libcudnn", "nvidia-cudnn"), ("libcudart", "nvidia-cuda-runtime"),
             ("libnvrtc", "nvidia-cuda-nvrtc"), ("libnccl", "nvidia-nccl"),
             ("libcufft", "nvidia-cufft"), ("libcurand", "nvidia-curand"),
             ("libcusolver", "nvidia-cusolver"), ("libcupti", "nvidia-cuda-cupti"))


def _ld_library_path_ahead_of_wheel(facts: LibraryFacts) -> Iterator[Finding]:
    for loaded in facts.loaded:
        if not loaded.via_ld_library_path or "site-packages" in loaded.path:
            continue
        prefix = next((wheel for name, wheel in _WHEEL_OF
                       if loaded.soname.startswith(name + ".")), None)
        wheel = next((w for w in facts.wheels if prefix is not None
                      and w.distribution.startswith(prefix + "-cu")), None)
        if wheel is None:
            continue
        directory = loaded.path.rsplit("/", 1)[0]
        needed = f", needed by {loaded.needed_by}" if loaded.needed_by else ""
        yield Finding(
            id="ld-library-path-shadows-wheel-library", category="lib_shadowing",
            severity="error",
            summary=f"the loader took {loaded.path} from LD_LIBRARY_PATH{needed}, not the "
                    f"{wheel.distribution} {wheel.version} wheel's copy (LD_DEBUG's trace)",
            explanation="The dynamic loader searches LD_LIBRARY_PATH before the wheels' own "
                        "RUNPATH folders, so a CUDA toolkit's older copy of the library is "
                        "loaded by the wheel libraries built against the newer one, which then "
                        "fail on missing symbols.",
            fix=f"remove {directory} from LD_LIBRARY_PATH for this job (or unset "
                "LD_LIBRARY_PATH)",
            evidence={"library": loaded.soname, "loaded": loaded.path,
                      "wheel": f"{wheel.distribution}=={wheel.version}"},
            rule="ld-debug-library-origin")


_OS_RELEASE = re.compile(r"\b(?P<name>CentOS)(?: Linux)?(?: release)?\s*(?P<major>\d{1,2})\b",
                         re.IGNORECASE)


def _wheel_needs_newer_glibc(facts: LibraryFacts, system: System) -> Iterator[Finding]:
    """pip found no file of a release whose Linux wheels need a newer glibc than the OS has."""
    for name, version in facts.unresolved:
        needed = glibc_needed(name, version)
        if needed is None:
            continue
        glibc, whence = system.glibc, "read from the report"
        if glibc is None and system.os:
            release = _OS_RELEASE.search(system.os)
            row = glibc_of_os(release.group("name"), int(release.group("major"))) if (
                release) else None
            if row is not None:
                glibc, whence = row.glibc, f"{row.name} {row.major}'s, {row.source.url}"
        if glibc is None or glibc >= needed.glibc:
            continue
        yield Finding(
            id="wheel-needs-newer-glibc", category="glibc", severity="error",
            summary=f"{name} {version}'s Linux wheels need glibc {needed.glibc} "
                    f"(manylinux_{needed.glibc.major}_{needed.glibc.minor}), but "
                    f"{system.os or 'this system'} has glibc {glibc}",
            explanation="pip installs only wheels whose manylinux tag the system's glibc "
                        "satisfies (PEP 600), so on an older glibc it finds no file of this "
                        f"release ('No matching distribution found'). Wheel tags: "
                        f"{needed.source.url}; the system's glibc: {whence}.",
            fix=f"use an OS with glibc >= {needed.glibc} (or its container image), or an "
                f"older {name} whose wheels still support glibc {glibc}",
            evidence={"package": f"{name}=={version}", "wheel_glibc": str(needed.glibc),
                      "system_glibc": str(glibc), "os": system.os or ""},
            rule="wheel-glibc-fits")


# CUDA toolkit libraries whose soname carries the toolkit's version: libcudart.so.9.0 (CUDA
# 9.0), libcublas.so.10 ... up to CUDA 10.2 with major.minor, from CUDA 11 the major alone.
_TOOLKIT_SONAME = re.compile(
    r"^lib(?:cudart|cublas|cublasLt|cufft|curand|cusparse|cusolver|nvrtc)\.so\."
    r"(?P<version>\d{1,2}(?:\.\d{1,2})?)$")
_CUDA_DIRECTORY = re.compile(r"/cuda-(?P<version>\d{1,2}\.\d{1,2})(?:/|$)")


def _ld_library_path_not_in_effect(facts: LibraryFacts) -> Iterator[Finding]:
    """The loader found no libcudart.so.9.0 while the paste's LD_LIBRARY_PATH names a CUDA
    9.0 directory: that setting is not the one the process ran with, or the directory does
    not hold the library. A warning: the paste cannot show which."""
    for soname in facts.missing_libraries:
        library = _TOOLKIT_SONAME.match(soname)
        wanted = version_or_none(library.group("version")) if library else None
        if wanted is None:
            continue
        for directory in facts.ld_library_path:
            named = _CUDA_DIRECTORY.search(directory)
            cuda = version_or_none(named.group("version")) if named else None
            if cuda is None or cuda.major != wanted.major or (
                    wanted.major < 11 and len(wanted.release) > 1 and cuda.minor != wanted.minor):
                continue
            yield Finding(
                id="ld-library-path-not-in-effect", category="lib_shadowing", severity="warning",
                summary=f"the loader found no {soname}, yet the LD_LIBRARY_PATH in the paste "
                        f"names {directory} (CUDA {cuda}, where it belongs)",
                explanation="A directory on LD_LIBRARY_PATH is searched for every library, so "
                            "with that setting in effect the library would be found: the process "
                            "ran without it (set in another shell, not exported, dropped by sudo "
                            "or a service manager), or the directory does not hold the file.",
                fix=f"ls {directory}/{soname}; then, in the shell that runs the program, "
                    f"export LD_LIBRARY_PATH={directory}:$LD_LIBRARY_PATH",
                evidence={"library": soname, "directory": directory},
                rule="ld-library-path-in-effect")
            break


def _stated_cudnn_requirement(facts: LibraryFacts) -> Iterator[Finding]:
    """The framework's message names the cuDNN major its build needs; the paste names
    another as the machine's."""
    machine = machine_cudnn(facts)
    majors = {m.version.major for m in machine}
    if len(majors) != 1:
        return
    machine_major = majors.pop()
    for requirement in facts.stated_requirements:
        if requirement.cudnn_major == machine_major:
            continue
        yield Finding(
            id="framework-says-it-needs-other-cudnn", category="cudnn_mismatch",
            severity="error",
            summary=f"{requirement.framework} says its GPU build needs cuDNN "
                    f"{requirement.cudnn_major}.x ({requirement.text!r}), but the machine has "
                    f"cuDNN {machine[0].version} ({machine[0].text!r})",
            explanation="cuDNN's major versions are not interchangeable: the build's CUDA "
                        f"provider links libcudnn {requirement.cudnn_major} and cannot load with "
                        f"cuDNN {machine_major}.",
            fix=f"install cuDNN {requirement.cudnn_major}.x for CUDA {requirement.cuda_major} "
                f"(pip install nvidia-cudnn-cu{requirement.cuda_major}=={requirement.cudnn_major}"
                ".*), or a build of the framework made for cuDNN "
                f"{machine_major}",
            evidence={"framework": requirement.framework,
                      "required_cudnn_major": str(requirement.cudnn_major),
                      "machine_cudnn": str(machine[0].version)},
            rule="framework-cudnn-matches")
