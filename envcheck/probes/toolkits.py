"""Every CUDA toolkit on the machine, in the order an extension build would pick them.

torch.utils.cpp_extension takes CUDA_HOME (or CUDA_PATH), then the nvcc on PATH, then
/usr/local/cuda; the first toolkit listed here is the one `pip install flash-attn` uses.
"""

from __future__ import annotations

import json
import posixpath
import re

from packaging.version import InvalidVersion, Version

from envcheck.errors import CommandNotFoundError, CommandTimeoutError, ParseError
from envcheck.host import Host
from envcheck.parsers.nvcc_version import parse_nvcc_top, parse_nvcc_version
from envcheck.snapshot import Toolkit, ToolkitSource

_DEFAULT_ROOTS = ("/usr/local/cuda", "/opt/cuda")


def which(host: Host, program: str) -> str | None:
    """Where PATH (from the Host's environment) finds `program`, through the Host's fs."""
    for directory in host.env.get("PATH", "").split(":"):
        if not directory:
            continue
        candidate = posixpath.join(directory, program)
        if host.fs.exists(candidate) and not host.fs.is_dir(candidate):
            return candidate
    return None


def probe_toolkits(host: Host) -> tuple[Toolkit, ...]:
    candidates: list[tuple[str, ToolkitSource]] = []
    for variable in ("CUDA_HOME", "CUDA_PATH"):
        value = host.env.get(variable)
        if value:
            candidates.append((value, "CUDA_HOME" if variable == "CUDA_HOME" else "CUDA_PATH"))
    nvcc_on_path = which(host, "nvcc")
    if nvcc_on_path is not None:
        candidates.append((_root_of_nvcc(host, nvcc_on_path), "PATH"))
    candidates.extend((root, "default") for root in _default_roots(host))

    roots: dict[str, list[ToolkitSource]] = {}
    for root, source in candidates:
        resolved = host.fs.resolve(root) if host.fs.exists(root) else posixpath.normpath(root)
        sources = roots.setdefault(resolved, [])
        if source not in sources:
            sources.append(source)
    return tuple(_describe(host, root, tuple(sources)) for root, sources in roots.items())


def _default_roots(host: Host) -> list[str]:
    found = [root for root in _DEFAULT_ROOTS if host.fs.is_dir(root)]
    found.extend(
        f"/usr/local/{name}"
        for name in host.fs.list_dir("/usr/local")
        if re.fullmatch(r"cuda-\d+(\.\d+)*", name) and host.fs.is_dir(f"/usr/local/{name}")
    )
    return found


def _root_of_nvcc(host: Host, nvcc: str) -> str:
    resolved = host.fs.resolve(nvcc)
    root = posixpath.dirname(posixpath.dirname(resolved))
    if host.fs.exists(posixpath.join(root, "include/cuda.h")) or host.fs.exists(
        posixpath.join(root, "version.json")
    ):
        return root
    # A wrapper script (distribution packages, module systems) hides the real root; nvcc
    # itself prints it when asked for a dry run.
    try:
        result = host.runner.run(
            [nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null", "-o", "/dev/null"],
            timeout=host.limits.nvcc,
            env=host.env,
        )
    except (CommandNotFoundError, CommandTimeoutError):
        return root
    top = parse_nvcc_top(result.stdout + result.stderr)
    return top if top is not None else root


def _describe(host: Host, root: str, sources: tuple[ToolkitSource, ...]) -> Toolkit:
    nvcc = posixpath.join(root, "bin/nvcc")
    if not host.fs.exists(nvcc):
        version = _version_from_files(host, root)
        detail = "no bin/nvcc here (a runtime-only install cannot build extensions)"
        if not host.fs.is_dir(root):
            detail = "this folder does not exist"
        return Toolkit(path=root, nvcc_version=version, sources=sources, detail=detail)
    try:
        result = host.runner.run([nvcc, "--version"], timeout=host.limits.nvcc, env=host.env)
    except (CommandNotFoundError, CommandTimeoutError) as e:
        return Toolkit(path=root, nvcc_version=None, sources=sources, detail=e.message)
    if not result.ok:
        return Toolkit(
            path=root, nvcc_version=None, sources=sources, detail=result.describe_failure()
        )
    try:
        version, build = parse_nvcc_version(result.stdout)
    except ParseError as e:
        return Toolkit(path=root, nvcc_version=None, sources=sources, detail=str(e))
    return Toolkit(path=root, nvcc_version=version, nvcc_build=build, sources=sources)


def _version_from_files(host: Host, root: str) -> Version | None:
    text = host.fs.read_text(posixpath.join(root, "version.json"))
    if text:
        try:
            release = json.loads(text)["cuda"]["version"]
            parts = str(release).split(".")
            return Version(".".join(parts[:2]))
        except (ValueError, KeyError, TypeError, InvalidVersion, RecursionError):
            pass
    text = host.fs.read_text(posixpath.join(root, "version.txt"))
    if text:
        match = re.search(r"CUDA Version (\d+\.\d+)", text)
        if match:
            return Version(match.group(1))
    return None
