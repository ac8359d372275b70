"""The target Python environment: the interpreter, its distributions, torch and its wheels.

Facts come from envcheck/probe/envprobe.py run *in* the target interpreter, because that
interpreter (not envcheck's own) is what the training job will use. This path never
imports torch; envcheck/probes/deep_torch.py does.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from envcheck.errors import CommandNotFoundError, CommandTimeoutError
from envcheck.host import Host
from envcheck.parsers.ldconfig import identify_cuda_library
from envcheck.probes.toolkits import which
from envcheck.snapshot import LibraryFoundVia, Package, Provenance, PythonEnv, Torch
from envcheck.versions import version_or_none

PROBE_SCHEMA = "envcheck.envprobe/1"


@dataclass(frozen=True, kw_only=True)
class RawLibrary:
    """A shared library the target environment ships, before it is identified."""

    path: str
    via: LibraryFoundVia
    distribution: str | None = None
    distribution_version: str | None = None


@dataclass(frozen=True, kw_only=True)
class PythonFacts:
    python: PythonEnv
    torch: Torch
    packages: tuple[Package, ...] = ()
    libraries: tuple[RawLibrary, ...] = ()
    libc_version: str | None = None
    machine: str | None = None


def select_python(host: Host, requested: str | None) -> tuple[str | None, str]:
    """The interpreter to inspect, and why it was chosen."""
    if requested:
        # Relative to where the user typed it, not to the filesystem root.
        return posixpath.normpath(posixpath.join(host.cwd, requested)), "--python"
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        prefix = host.env.get(variable)
        if prefix:
            candidate = posixpath.join(prefix, "bin", "python")
            if host.fs.exists(candidate):
                return candidate, variable
    on_path = which(host, "python3")
    if on_path is not None:
        return on_path, "PATH"
    return host.own_python, "envcheck's own interpreter"


def _error_facts(executable: str | None, selected_by: str, detail: str) -> PythonFacts:
    return PythonFacts(
        python=PythonEnv(
            status="error", detail=detail, executable=executable, selected_by=selected_by
        ),
        torch=Torch(status="error", detail="the target Python could not be inspected"),
    )


def probe_python(host: Host, executable: str | None, selected_by: str) -> PythonFacts:
    """Facts about the interpreter `select_python` chose."""
    if executable is None:
        return PythonFacts(
            python=PythonEnv(status="absent", detail="no Python interpreter found",
                             selected_by=selected_by),
            torch=Torch(status="absent", detail="no Python interpreter to look in"),
        )
    if host.probe_script is None:
        return _error_facts(executable, selected_by, "envcheck's probe script is missing")
    if selected_by == "--python" and not host.fs.exists(executable):
        return _error_facts(
            executable, selected_by,
            f"--python {executable} does not exist; give the path of a python executable "
            "(for a venv: path/to/venv/bin/python)",
        )
    report = run_probe_script(host, executable, [], host.limits.python_probe)
    if isinstance(report, str):
        return _error_facts(executable, selected_by, report)
    return facts_from_probe_report(report, selected_by=selected_by)


def run_probe_script(
    host: Host, executable: str, args: list[str], timeout: float
) -> dict[str, Any] | str:
    """The probe's JSON report, or a sentence saying why there is none."""
    assert host.probe_script is not None
    # -I would also drop user site-packages, which the training job does see; -E -s would
    # drop PYTHONPATH, which it sees too. Run it the way the job runs, from a neutral folder.
    argv = [executable, str(host.probe_script), *args]
    try:
        result = host.runner.run(argv, timeout=timeout, env=host.env)
    except CommandNotFoundError as e:
        return f"{e.message}; is {executable} a Python interpreter?"
    except CommandTimeoutError as e:
        return e.message
    last_line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    try:
        report = json.loads(last_line)
    # RecursionError: a garbage-printing interpreter's "[[[[..." nests past Python's limit.
    except (json.JSONDecodeError, RecursionError):
        report = None
    if not isinstance(report, dict) or report.get("probe") != PROBE_SCHEMA:
        if "SyntaxError" in result.stderr:
            return f"{executable} is not a Python 3.8 or newer interpreter"
        if result.ok:
            return f"{executable} did not answer like a Python interpreter"
        return result.describe_failure()
    return report


def facts_from_probe_report(report: Mapping[str, Any], *, selected_by: str) -> PythonFacts:
    py = report.get("python") or {}
    kind = py.get("kind")
    python = PythonEnv(
        status="ok",
        executable=py.get("executable"),
        version=version_or_none(py.get("version")),
        implementation=py.get("implementation"),
        platform=py.get("platform"),
        prefix=py.get("prefix"),
        kind=kind if kind in ("venv", "conda", "system") else None,
        selected_by=selected_by,
    )
    packages = tuple(
        Package(name=str(p["name"]), version=str(p["version"]),
                requires=tuple(str(r) for r in p.get("requires", ())))
        for p in report.get("packages", ())
    )
    libraries = [
        RawLibrary(
            path=str(entry["path"]),
            via="wheel",
            distribution=entry.get("distribution"),
            distribution_version=entry.get("distribution_version"),
        )
        for entry in report.get("wheel_libraries", ())
    ]
    libraries.extend(
        RawLibrary(
            path=str(entry["path"]),
            via="conda-meta",
            distribution=entry.get("distribution"),
            distribution_version=entry.get("distribution_version"),
        )
        for entry in report.get("conda_libraries", ())
    )
    raw_torch = report.get("torch") or {}
    libraries.extend(
        RawLibrary(path=str(path), via="torch-bundled", distribution="torch",
                   distribution_version=raw_torch.get("distribution_version"))
        for path in raw_torch.get("bundled_libraries", ())
    )
    return PythonFacts(
        python=python,
        torch=torch_from_probe(raw_torch, libraries),
        packages=packages,
        libraries=tuple(libraries),
        libc_version=py.get("libc_version"),
        machine=py.get("machine"),
    )


def _wheel_version(libraries: list[RawLibrary], prefixes: tuple[str, ...]) -> Version | None:
    for library in libraries:
        name = (library.distribution or "").lower().replace("_", "-")
        if library.via == "wheel" and name.startswith(prefixes):
            return version_or_none(library.distribution_version)
    return None


def _bundled_version(libraries: list[RawLibrary], short_name: str) -> Version | None:
    """Older wheels (torch 1.x) carry cuDNN and NCCL inside torch/lib; the file name has
    at least the major version."""
    for library in libraries:
        if library.via != "torch-bundled":
            continue
        identity = identify_cuda_library(posixpath.basename(library.path))
        if identity is not None and identity[0] == short_name and identity[1]:
            return version_or_none(identity[1])
    return None


def torch_from_probe(raw: Mapping[str, Any], libraries: list[RawLibrary]) -> Torch:
    status = raw.get("status")
    if status == "absent":
        return Torch(status="absent", detail=raw.get("detail"))
    if status != "ok":
        return Torch(status="error", detail=raw.get("detail") or "the probe said nothing")
    provenance: dict[str, Provenance] = {"version": "derived", "cuda": "derived"}
    if is_cpu_build(raw):
        # torch.version.cuda is None, no HIP, no libtorch_cuda: CUDA can never be available,
        # there is no GPU code, and nvidia-* wheels that happen to be installed are not
        # torch's. Facts, not unknowns (issue 13).
        for name in ("cuda_available", "arch_list", "device_capabilities", "cudnn", "nccl",
                     "cublas"):
            provenance[name] = "derived"
        return Torch(
            status="ok", detail=raw.get("arch_error"),
            version=version_or_none(raw.get("version") or raw.get("distribution_version")),
            cuda=None, hip=None, arch_list=(), cuda_available=False, device_capabilities=(),
            location=raw.get("location"), provenance=provenance)
    cudnn = _wheel_version(libraries, ("nvidia-cudnn",)) or _bundled_version(libraries, "cudnn")
    nccl = _wheel_version(libraries, ("nvidia-nccl",)) or _bundled_version(libraries, "nccl")
    cublas = _wheel_version(libraries, ("nvidia-cublas",))
    for name, value in (("cudnn", cudnn), ("nccl", nccl), ("cublas", cublas)):
        if value is not None:
            provenance[name] = "derived"
    arch_list = tuple(str(a) for a in raw.get("arch_list", ()))
    if arch_list:
        provenance["arch_list"] = "derived"
    detail = raw.get("arch_error")
    return Torch(
        status="ok",
        detail=detail,
        version=version_or_none(raw.get("version") or raw.get("distribution_version")),
        cuda=version_or_none(raw.get("cuda")),
        hip=raw.get("hip"),
        cudnn=cudnn,
        nccl=nccl,
        cublas=cublas,
        arch_list=arch_list,
        location=raw.get("location"),
        provenance=provenance,
    )


def is_cpu_build(raw: Mapping[str, Any]) -> bool:
    """The probe read torch/version.py and it says cuda = None and hip = None, and torch/lib
    holds no libtorch_cuda: a build without GPU support. A key the probe did not report
    (an older or replayed report) leaves it unknown."""
    return ("cuda" in raw and raw["cuda"] is None and "hip" in raw and raw["hip"] is None
            and "cuda_library" in raw and not raw["cuda_library"])
