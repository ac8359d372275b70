"""envcheck's probe, run *inside* the target interpreter (a venv, a conda env, a container).

Standard library only, Python 3.8+, so it runs in any environment without envcheck
installed: it is copied or passed by path, never imported from the target. It reports raw
facts as JSON on stdout; envcheck interprets them. It never imports torch unless asked with
`--deep`, because importing torch costs seconds and can crash or hang on a broken driver;
envcheck runs the deep part as a separate process with a time limit so that a crash there
loses only the deep facts.

Usage: python envprobe.py [--deep | --verify-records [--quick] | --host-facts]

`--host-facts` (for `envcheck fingerprint --image`) also records the raw facts envcheck's
host probes would read on this machine (files, folder listings, `ldconfig -p`,
`nvidia-smi -q -x`, `nvcc --version`, NVML through ctypes), so that envcheck, outside the
container, can replay them through the same probes instead of a second implementation.

`--verify-records` re-hashes every file each distribution's RECORD lists (the wheel spec's
sha256, urlsafe base64 without padding), so a file edited after installation shows; `--quick`
reports the distributions and versions only (hashing a CUDA torch install reads gigabytes).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import mmap
import os
import platform
import struct
import sys
import sysconfig
from typing import Any

PROBE_SCHEMA = "envcheck.envprobe/1"

# Files whose names say they are a CUDA library worth reporting (matched by prefix).
_LIBRARY_PREFIXES = (
    "libcudart", "libcudnn", "libcublas", "libnccl", "libnvjitlink", "libnvJitLink",
    "libnvrtc", "libcufft", "libcurand", "libcusparse", "libcusolver", "libcupti",
    "libnvToolsExt", "libcuda.", "libnvidia-ml",
)

# ELF and CUDA fatbinary layout. The fatbinary container header and entry header offsets
# are not documented by NVIDIA; they were read off binaries built with nvcc 13.0 (see
# tests/integration/test_fatbin_nvcc.py, which checks them against a fresh nvcc build).
_FATBIN_MAGIC = 0xBA55ED50
_FATBIN_KIND_PTX = 1
_FATBIN_KIND_CUBIN = 2


def _normalize(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def python_facts() -> dict[str, Any]:
    prefix = sys.prefix
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        kind = "conda"
    elif prefix != getattr(sys, "base_prefix", prefix):
        kind = "venv"
    else:
        kind = "system"
    libc_name, libc_version = platform.libc_ver()
    return {
        "executable": sys.executable,
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": sysconfig.get_platform(),
        "machine": platform.machine(),
        "prefix": prefix,
        "kind": kind,
        "libc": libc_name or None,
        "libc_version": libc_version or None,
    }


def _distributions() -> list[Any]:
    from importlib import metadata

    seen = set()
    found = []
    # sys.path order decides which copy of a distribution is imported; keep the first.
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if not name or _normalize(name) in seen:
            continue
        seen.add(_normalize(name))
        found.append(dist)
    return found


def package_facts(dists: list[Any]) -> list[dict[str, Any]]:
    packages = [
        {"name": d.metadata["Name"], "version": d.version, "requires": list(d.requires or ())}
        for d in dists
    ]
    return sorted(packages, key=lambda p: _normalize(p["name"]))


def _is_library_file(filename: str) -> bool:
    return filename.startswith(_LIBRARY_PREFIXES) and ".so" in filename


def wheel_library_files(dists: list[Any]) -> list[dict[str, str]]:
    """Shared libraries shipped by the nvidia-* wheels (cuDNN, cuBLAS, NCCL...)."""
    found = []
    for dist in dists:
        name = dist.metadata["Name"]
        if not _normalize(name).startswith("nvidia-"):
            continue
        for entry in dist.files or ():
            filename = os.path.basename(str(entry))
            if _is_library_file(filename):
                found.append({
                    "path": os.path.realpath(str(dist.locate_file(entry))),
                    "distribution": name,
                    "distribution_version": dist.version,
                })
    return found


def conda_library_files(prefix: str) -> list[dict[str, str]]:
    """CUDA libraries that conda packages installed into this prefix (conda-meta records)."""
    meta_dir = os.path.join(prefix, "conda-meta")
    found: list[dict[str, str]] = []
    try:
        records = sorted(f for f in os.listdir(meta_dir) if f.endswith(".json"))
    except OSError:
        return found
    for record_name in records:
        try:
            with open(os.path.join(meta_dir, record_name), encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            continue
        for rel in record.get("files", ()):
            if _is_library_file(os.path.basename(rel)):
                found.append({
                    "path": os.path.join(prefix, rel),
                    "distribution": str(record.get("name")),
                    "distribution_version": str(record.get("version")),
                })
    return found


def parse_torch_version_py(text: str) -> dict[str, str | None]:
    """Read torch/version.py's assignments without importing torch."""
    wanted = {"__version__": "version", "cuda": "cuda", "hip": "hip", "git_version": "git"}
    facts: dict[str, str | None] = {}
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in wanted:
            try:
                literal = ast.literal_eval(value)
            except ValueError:
                continue
            facts[wanted[target.id]] = None if literal is None else str(literal)
    return facts


def _elf_section(mapped: Any, wanted: bytes) -> tuple[int, int] | None:
    """(offset, size) of a section in a 64-bit little-endian ELF file, or None."""
    if mapped[:4] != b"\x7fELF" or mapped[4] != 2 or mapped[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", mapped, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", mapped, 0x3A)
    if shoff == 0 or shnum == 0 or shstrndx >= shnum:
        return None
    str_offset, = struct.unpack_from("<Q", mapped, shoff + shstrndx * shentsize + 24)
    for index in range(shnum):
        header = shoff + index * shentsize
        name_offset, = struct.unpack_from("<I", mapped, header)
        start = str_offset + name_offset
        if mapped[start:start + len(wanted) + 1] == wanted + b"\0":
            offset, size = struct.unpack_from("<QQ", mapped, header + 24)
            return int(offset), int(size)
    return None


def fatbin_architectures(path: str) -> list[str]:
    """The GPU code a CUDA library carries: sm_XX for machine code, compute_XX for PTX.

    Walks the containers in the ELF `.nv_fatbin` section reading only entry headers, so a
    1 GB libtorch_cuda.so costs milliseconds, not a full read.
    """
    archs = set()
    with open(path, "rb") as handle:
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            section = _elf_section(mapped, b".nv_fatbin")
            if section is None:
                return []
            position, end = section[0], section[0] + section[1]
            while position + 16 <= end:
                magic, _version, header_size, fat_size = struct.unpack_from(
                    "<IHHQ", mapped, position)
                if magic != _FATBIN_MAGIC:
                    # Containers are 8-byte aligned; skip padding between them.
                    position += 8
                    continue
                entry = position + header_size
                container_end = min(entry + fat_size, end)
                while entry + 32 <= container_end:
                    kind, _v, entry_header, payload = struct.unpack_from("<HHIQ", mapped, entry)
                    arch, = struct.unpack_from("<I", mapped, entry + 28)
                    if kind == _FATBIN_KIND_CUBIN:
                        archs.add(("sm", arch))
                    elif kind == _FATBIN_KIND_PTX:
                        archs.add(("compute", arch))
                    if entry_header == 0:
                        break
                    entry += entry_header + payload
                position = container_end
    return ["%s_%d" % pair for pair in sorted(archs, key=lambda p: (p[1], p[0] == "compute"))]


def torch_facts(dists: list[Any]) -> dict[str, Any]:
    dist = next((d for d in dists if _normalize(d.metadata["Name"]) == "torch"), None)
    if dist is None:
        return {"status": "absent", "detail": "torch is not installed in this environment"}
    facts: dict[str, Any] = {"status": "ok", "distribution_version": dist.version}
    location = os.path.realpath(str(dist.locate_file("torch")))
    facts["location"] = location
    version_py = os.path.join(location, "version.py")
    try:
        with open(version_py, encoding="utf-8") as handle:
            facts.update(parse_torch_version_py(handle.read()))
    except (OSError, SyntaxError, ValueError) as e:
        facts["status"] = "error"
        facts["detail"] = "cannot read %s: %s" % (version_py, e)
        return facts
    lib_dir = os.path.join(location, "lib")
    try:
        lib_files = sorted(os.listdir(lib_dir))
    except OSError:
        lib_files = []
    facts["bundled_libraries"] = [
        os.path.join(lib_dir, f) for f in lib_files if _is_library_file(f)
    ]
    # torch 1.x split the CUDA code into two libraries; 2.x has one.
    cuda_libs = [f for f in ("libtorch_cuda.so", "libtorch_cuda_cu.so") if f in lib_files]
    archs: list[str] = []
    for name in cuda_libs:
        lib_path = os.path.join(lib_dir, name)
        try:
            archs.extend(a for a in fatbin_architectures(lib_path) if a not in archs)
        except (OSError, ValueError, struct.error) as e:
            facts["arch_error"] = "cannot read the GPU code in %s: %s" % (lib_path, e)
    facts["arch_list"] = archs
    facts["cuda_library"] = [os.path.join(lib_dir, n) for n in cuda_libs]
    return facts


def _cudnn_version(number: int) -> str:
    # cuDNN 9 encodes major*10000 + minor*100 + patch; cuDNN 8 and older major*1000 + ...
    if number >= 90000:
        return "%d.%d.%d" % (number // 10000, number // 100 % 100, number % 100)
    return "%d.%d.%d" % (number // 1000, number // 100 % 10, number % 100)


def deep_torch_facts() -> dict[str, Any]:
    """Import torch and ask it: only called under a time limit in its own process."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import torch

        facts: dict[str, Any] = {
            "version": str(torch.__version__),
            "cuda": torch.version.cuda,
            "arch_list": list(torch.cuda.get_arch_list()),
        }
        cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
        facts["cudnn"] = _cudnn_version(int(cudnn)) if cudnn else None
        try:
            nccl = torch.cuda.nccl.version()
            facts["nccl"] = ".".join(str(p) for p in nccl) if isinstance(nccl, tuple) else None
        except Exception:
            facts["nccl"] = None
        facts["cuda_available"] = bool(torch.cuda.is_available())
        facts["cuda_error"] = None
        if torch.version.cuda is not None and not facts["cuda_available"]:
            try:
                torch.cuda.init()
            except Exception as e:
                facts["cuda_error"] = str(e)
        capabilities = []
        if facts["cuda_available"]:
            for index in range(torch.cuda.device_count()):
                major, minor = torch.cuda.get_device_capability(index)
                capabilities.append("%d.%d" % (major, minor))
        facts["device_capabilities"] = capabilities
    facts["warnings"] = [str(w.message) for w in caught][:10]
    if facts["cuda_error"] is None and facts["warnings"] and not facts["cuda_available"]:
        # torch reports driver problems as a warning from is_available(), not an exception.
        cuda_warnings = [w for w in facts["warnings"] if "CUDA" in w]
        facts["cuda_error"] = cuda_warnings[0] if cuda_warnings else None
    return facts


def _file_digest(path: str, algorithm: str) -> str:
    """The RECORD form of a file's hash: urlsafe base64 without the `=` padding."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
    return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode("ascii")


def record_check(dist: Any) -> dict[str, Any]:
    """Every hashed RECORD entry of one distribution, re-hashed.

    Entries without a hash (RECORD itself, .pyc caches written after installation) cannot
    be checked and are skipped; so are hashes in an algorithm this Python lacks.
    """
    entries = dist.files
    result: dict[str, Any] = {
        "name": dist.metadata["Name"], "version": dist.version, "record": "absent",
        "files_checked": 0, "modified": [], "missing": [], "unreadable": [],
    }
    if entries is None:
        return result
    result["record"] = "no-hashes"
    for entry in entries:
        file_hash = entry.hash
        if file_hash is None or not file_hash.value:
            continue
        result["record"] = "ok"
        algorithm = file_hash.mode.lower()
        if algorithm not in hashlib.algorithms_available:
            continue
        path = str(dist.locate_file(entry))
        try:
            actual = _file_digest(path, algorithm)
        except FileNotFoundError:
            result["missing"].append(str(entry))
            continue
        except OSError as e:
            result["unreadable"].append({"path": str(entry), "error": str(e)})
            continue
        result["files_checked"] += 1
        if actual != file_hash.value:
            result["modified"].append(str(entry))
    return result


def marker_environment() -> dict[str, str]:
    """PEP 508's environment markers of this interpreter (what packaging computes, by hand:
    the probe may import nothing outside the standard library)."""
    implementation = sys.implementation
    info = implementation.version
    full = "%d.%d.%d" % (info.major, info.minor, info.micro)
    if info.releaselevel != "final":
        full += info.releaselevel[0] + str(info.serial)
    return {
        "implementation_name": implementation.name,
        "implementation_version": full,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def verify_report(quick: bool) -> dict[str, Any]:
    dists = _distributions()
    report: dict[str, Any] = {
        "probe": PROBE_SCHEMA,
        "python": python_facts(),
        "markers": marker_environment(),
        "packages": package_facts(dists),
        "records": None,
    }
    if not quick:
        report["records"] = sorted((record_check(d) for d in dists),
                                   key=lambda r: _normalize(r["name"]))
    return report


# What envcheck's probes read (envcheck/probes/system.py, driver.py, toolkits.py,
# cuda_libraries.py); a path asked for outside these answers "absent" when replayed.
_HOST_FILES = (
    "/proc/driver/nvidia/version", "/etc/os-release", "/proc/meminfo",
    "/proc/sys/kernel/osrelease", "/proc/cpuinfo", "/proc/1/cgroup",
)
_HOST_PATHS = ("/.dockerenv", "/run/.containerenv", "/dev/dxg", "/dev/shm", "/tmp")
_TOOLKIT_ROOTS = ("/usr/local/cuda", "/opt/cuda")
_PROGRAMS = ("python3", "nvcc", "ldconfig", "nvidia-smi")
_COMMAND_TIMEOUT = 20.0
# nvml.h error codes the driver probe tells apart.
_NVML_ERRORS = {
    1: "NVML_ERROR_UNINITIALIZED", 2: "NVML_ERROR_INVALID_ARGUMENT",
    3: "NVML_ERROR_NOT_SUPPORTED", 9: "NVML_ERROR_DRIVER_NOT_LOADED",
    12: "NVML_ERROR_LIBRARY_NOT_FOUND", 13: "NVML_ERROR_FUNCTION_NOT_FOUND",
    18: "NVML_ERROR_LIB_RM_VERSION_MISMATCH", 999: "NVML_ERROR_UNKNOWN",
}


def _run_command(argv: list[str]) -> dict[str, Any]:
    import subprocess

    try:
        completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=_COMMAND_TIMEOUT, check=False)
    except (FileNotFoundError, PermissionError):
        return {"found": False}
    except subprocess.TimeoutExpired:
        return {"found": True, "timeout": True}
    return {"found": True, "returncode": completed.returncode,
            "stdout": completed.stdout.decode("utf-8", "replace"),
            "stderr": completed.stderr.decode("utf-8", "replace")[-4000:]}


def nvml_facts() -> dict[str, Any]:
    """The driver and each GPU's basics through NVML with ctypes (no pynvml here)."""
    import ctypes

    try:
        nvml = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError as e:
        return {"error": "NVML_ERROR_LIBRARY_NOT_FOUND", "detail": str(e)}

    def failed(code: int) -> dict[str, Any]:
        return {"error": _NVML_ERRORS.get(code, "NVML_ERROR_%d" % code), "code": code}

    init = getattr(nvml, "nvmlInit_v2", None) or nvml.nvmlInit
    code = init()
    if code != 0:
        return failed(code)
    try:
        text = ctypes.create_string_buffer(96)
        code = nvml.nvmlSystemGetDriverVersion(text, ctypes.c_uint(96))
        if code != 0:
            return failed(code)
        facts: dict[str, Any] = {"driver_version": text.value.decode(), "devices": []}
        cuda = ctypes.c_int(0)
        facts["cuda_driver_version"] = (
            cuda.value if nvml.nvmlSystemGetCudaDriverVersion(ctypes.byref(cuda)) == 0 else None)
        count = ctypes.c_uint(0)
        code = nvml.nvmlDeviceGetCount_v2(ctypes.byref(count))
        if code != 0:
            return failed(code)
        for index in range(count.value):
            handle = ctypes.c_void_p()
            if nvml.nvmlDeviceGetHandleByIndex_v2(ctypes.c_uint(index), ctypes.byref(handle)):
                continue
            device: dict[str, Any] = {"index": index}
            if nvml.nvmlDeviceGetName(handle, text, ctypes.c_uint(96)) == 0:
                device["name"] = text.value.decode()
            if nvml.nvmlDeviceGetUUID(handle, text, ctypes.c_uint(96)) == 0:
                device["uuid"] = text.value.decode()
            major, minor = ctypes.c_int(0), ctypes.c_int(0)
            if nvml.nvmlDeviceGetCudaComputeCapability(
                    handle, ctypes.byref(major), ctypes.byref(minor)) == 0:
                device["compute_capability"] = [major.value, minor.value]
            memory = (ctypes.c_ulonglong * 3)()  # nvmlMemory_t: total, free, used
            if nvml.nvmlDeviceGetMemoryInfo(handle, ctypes.byref(memory)) == 0:
                device["memory_total_bytes"] = int(memory[0])
                device["memory_used_bytes"] = int(memory[2])
            facts["devices"].append(device)
        return facts
    finally:
        nvml.nvmlShutdown()


def _path_facts(paths: list[str]) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for path in sorted(set(paths)):
        if not os.path.lexists(path):
            facts[path] = None
            continue
        entry: dict[str, Any] = {"dir": os.path.isdir(path), "real": os.path.realpath(path)}
        if entry["dir"]:
            try:
                entry["entries"] = sorted(os.listdir(path))
            except OSError:
                entry["entries"] = []
        try:
            usage = os.statvfs(path)
            entry["disk"] = [usage.f_blocks * usage.f_frsize, usage.f_bavail * usage.f_frsize]
        except OSError:
            pass
        facts[path] = entry
    return facts


def _read_files(paths: list[str]) -> dict[str, Any]:
    texts: dict[str, Any] = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                texts[path] = handle.read(1 << 20).decode("utf-8", "replace")
        except OSError:
            texts[path] = None
    return texts


def host_facts(python_report: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ)
    path_dirs = [d for d in env.get("PATH", "").split(":") if d]
    lib_dirs = [d for d in env.get("LD_LIBRARY_PATH", "").split(":") if d]
    home = env.get("HOME")
    paths = list(_HOST_PATHS) + list(_TOOLKIT_ROOTS) + ["/dev", "/usr/local", os.getcwd()]
    paths += [os.path.join(d, p) for d in path_dirs for p in _PROGRAMS]
    paths += ["/sbin/ldconfig", "/usr/sbin/ldconfig"] + lib_dirs
    for variable in ("VIRTUAL_ENV", "CONDA_PREFIX", "CUDA_HOME", "CUDA_PATH", "HF_HOME",
                     "HF_HUB_CACHE"):
        if env.get(variable):
            paths += [env[variable], os.path.join(env[variable], "bin", "python")]
    if home:
        paths += [home, os.path.join(home, ".cache"), os.path.join(home, ".cache", "huggingface"),
                  os.path.join(home, ".cache", "huggingface", "hub")]
    roots = list(_TOOLKIT_ROOTS) + [env[v] for v in ("CUDA_HOME", "CUDA_PATH") if env.get(v)]
    try:
        roots += [os.path.join("/usr/local", n) for n in os.listdir("/usr/local")
                  if n.startswith("cuda-")]
    except OSError:
        pass
    nvcc_paths = [os.path.join(d, "nvcc") for d in path_dirs]
    nvcc_paths += [os.path.join(r, "bin", "nvcc") for r in roots]
    for nvcc in list(nvcc_paths):
        if os.path.exists(nvcc):
            roots.append(os.path.dirname(os.path.dirname(os.path.realpath(nvcc))))
    files = list(_HOST_FILES)
    for root in roots:
        paths += [root, os.path.join(root, "bin", "nvcc"), os.path.join(root, "include/cuda.h"),
                  os.path.join(root, "version.json")]
        files += [os.path.join(root, "version.json"), os.path.join(root, "version.txt")]
        nvcc_paths.append(os.path.join(root, "bin", "nvcc"))
    commands: dict[str, Any] = {}
    for program in ("ldconfig", "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        commands[program + " -p"] = _run_command([program, "-p"])
    commands["nvidia-smi -q -x"] = _run_command(["nvidia-smi", "-q", "-x"])
    for nvcc in sorted(set(nvcc_paths)):
        if os.path.exists(nvcc):
            commands[nvcc + " --version"] = _run_command([nvcc, "--version"])
            # A wrapper script hides the toolkit root; nvcc's dry run names it.
            dryrun = [nvcc, "--dryrun", "-c", "-x", "cu", "/dev/null", "-o", "/dev/null"]
            commands[" ".join(dryrun)] = _run_command(dryrun)
            paths.append(os.path.realpath(nvcc))
    libraries = [line.rsplit("=>", 1)[1].strip()
                 for line in (commands["ldconfig -p"].get("stdout") or "").splitlines()
                 if "=>" in line and _is_library_file(line.strip().split(" ", 1)[0])]
    for entry in python_report.get("wheel_libraries", ()) + python_report.get(
            "conda_libraries", ()):
        libraries.append(entry["path"])
    libraries += python_report.get("torch", {}).get("bundled_libraries", ())
    for directory in lib_dirs:
        try:
            libraries += [os.path.join(directory, n) for n in os.listdir(directory)]
        except OSError:
            pass
    return {
        "env": env,
        "cwd": os.getcwd(),
        "files": _read_files(files),
        "paths": _path_facts(paths + libraries),
        "commands": commands,
        "nvml": nvml_facts(),
    }


def main(argv: list[str]) -> int:
    if "--verify-records" in argv:
        report: dict[str, Any] = verify_report(quick="--quick" in argv)
    elif "--deep" in argv:
        report = {"probe": PROBE_SCHEMA, "deep": deep_torch_facts()}
    else:
        dists = _distributions()
        report = {
            "probe": PROBE_SCHEMA,
            "python": python_facts(),
            "packages": package_facts(dists),
            "wheel_libraries": wheel_library_files(dists),
            "conda_libraries": conda_library_files(sys.prefix),
            "torch": torch_facts(dists),
        }
        if "--host-facts" in argv:
            report["host"] = host_facts(report)
    sys.stdout.write(json.dumps(report))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
