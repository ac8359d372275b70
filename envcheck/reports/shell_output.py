"""Facts in shell output pasted among prose: each reader knows one tool's line.

- the Python REPL banner: "Python 3.8.12 | packaged by conda-forge | (default, Jan 30 2022,
  23:42:07)" / "Python 3.8.7 (tags/v3.8.7:6503f05, ...) [MSC v.1928 64 bit (AMD64)] on win32",
  `python --version` ("Python 3.10.12") and uv's "Using Python 3.12.7 environment at: venv";
- `ldd --version`: "ldd (GNU libc) 2.12", "ldd (Ubuntu GLIBC 2.35-0ubuntu3.1) 2.35";
- /etc/redhat-release ("CentOS release 6.8 (Final)") and `lsb_release -a`'s "Description:";
- LD_LIBRARY_PATH: "LD_LIBRARY_PATH=/a:/b" (an environment listing) or `echo $LD_LIBRARY_PATH`
  followed by its output; a value that refers to another variable is not a value;
- /proc/driver/nvidia/version's "NVRM version:" line (envcheck.parsers.proc_driver_version);
- nvidia-smi's "Failed to initialize NVML: Driver/library version mismatch";
- a library path in a loader error: "Error: /usr/local/cuda-12.3/lib64/libcudnn_cnn_train.so.8:
  undefined symbol: ..." (the loader did load that file);
- nccl-tests' device lines: "#   Rank  0 Pid   1688 on    fastmoe device  0 [0x18] GeForce RTX
  2080 Ti";
- site-packages paths in tracebacks: ".../lib/python3.6/site-packages/torch/__init__.py" (the
  interpreter's minor version);
- the bullet list of PyTorch's old issue template: "- PyTorch Version (e.g., 1.0): 1.9.0",
  "- OS (e.g., Linux):", "- Python version:"; a value written inside the parentheses instead of
  after the colon ("- PyTorch Version (1.9.0+cu102):") is the user's value.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence

from packaging.version import Version

from envcheck.errors import ParseError
from envcheck.parsers.ldconfig import identify_cuda_library
from envcheck.parsers.proc_driver_version import parse_proc_driver_version
from envcheck.reports.line_facts import LineFacts, ReportedGpu
from envcheck.snapshot import DriverVersion
from envcheck.versions import version_or_none

_BANNER = re.compile(
    r"^\s*Python (?P<version>\d{1,2}\.\d{1,3}\.\d{1,4}(?:(?:a|b|rc)\d{1,3})?\+?)"
    r"(?P<rest> [|(].*|\s*$)"
)
_UV_PYTHON = re.compile(
    r"^\s*Using (?:C?Python) (?P<version>\d{1,2}\.\d{1,3}\.\d{1,4}) (?:environment|interpreter)"
)
_MSC = re.compile(r"\[MSC v\.\d{1,5} (?P<bits>32|64) bit \((?P<cpu>[A-Za-z0-9]{1,10})\)\] on win32")
_LDD_VERSION = re.compile(
    r"ldd \((?:GNU libc|[^()\n]{0,40}GLIBC[^()\n]{0,40})\) (?P<glibc>\d{1,2}\.\d{1,3})\b"
)
_REDHAT = re.compile(
    r"(?P<os>(?:CentOS(?: Linux| Stream)?|Red Hat Enterprise Linux(?: Server| Workstation)?|"
    r"Scientific Linux|Rocky Linux|AlmaLinux|Fedora) release \d{1,2}(?:\.\d{1,4}){0,2}"
    r"(?: \([A-Za-z ]{1,30}\))?)"
)
_LSB_DESCRIPTION = re.compile(
    r"^\s*Description:\s+(?P<os>(?:Ubuntu|Debian GNU/Linux|CentOS|Rocky|AlmaLinux|Fedora)"
    r"[^\n]{0,60}?)\s*$"
)
_PATH_LIST = r"(?P<value>(?:/[^\s:$`'\"]*)?(?::(?:/[^\s:$`'\"]*)?){0,40})"
_LD_ASSIGNMENT = re.compile(r"(?:^|[\s;])(?:export\s+)?LD_LIBRARY_PATH=[\"']?" + _PATH_LIST
                            + r"[\"']?(?:\s|$)")
_LD_ECHO = re.compile(r"echo\s+[\"']?\$\{?LD_LIBRARY_PATH\}?[\"']?`?\s*$")
_LD_VALUE = re.compile(r"^\s*" + _PATH_LIST + r"\s*$")
_NVML_FAILED = re.compile(r"Failed to initialize NVML: (?P<reason>[^\n]{1,100}?)\s*$")
_NVRM_API_MISMATCH = re.compile(
    r"NVRM: API mismatch: the client has the version (?P<client>\d{2,4}(?:\.\d{1,4}){1,2}), but"
    r"\s+(?:\S{0,40}\s+)?(?:NVRM:\s+)?this kernel module has the version "
    r"(?P<module>\d{2,4}(?:\.\d{1,4}){1,2})")
_NVML_CODES = {"Driver/library version mismatch": "NVML_ERROR_LIB_RM_VERSION_MISMATCH"}
_LOADER_PATH = re.compile(
    r"(?P<path>/[^\s:'\"`]{1,300}?\.so(?:\.\d{1,6}){0,4}): (?:undefined symbol|cannot open shared "
    r"object file|version `)"
)
_NCCL_TESTS_DEVICE = re.compile(
    r"Rank\s+\d{1,5}\s+(?:Group\s+\d{1,5}\s+)?Pid\s+\d{1,10}\s+on\s+\S{1,100}\s+device\s+"
    r"(?P<index>\d{1,3})\s+\[0x[0-9a-fA-F]{1,4}\]\s+(?P<name>\S[^\n]{0,80}?)\s*$"
)
_SITE_PACKAGES = re.compile(r"/lib/python(?P<minor>\d\.\d{1,2})/(?:site|dist)-packages/")
_TEMPLATE = re.compile(
    r"^\s*[-*]\s*(?P<key>PyTorch [Vv]ersion|OS|Python [Vv]ersion)\s*"
    r"(?:\((?P<paren>[^()\n]{0,60})\))?\s*:\s*(?P<value>[^\n]{0,100}?)\s*$"
)


def read_python_banner(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    match = _BANNER.match(line) or _UV_PYTHON.match(line)
    if match is None:
        return None
    version = _version(match.group("version").rstrip("+"))
    if version is None:
        return None
    used = 1
    text = line
    if index + 1 < len(lines) and lines[index + 1].lstrip().startswith("["):
        used, text = 2, f"{line} {lines[index + 1]}"
    msc = _MSC.search(text)
    platform = None
    if msc:
        platform = "win32" if msc.group("bits") == "32" else f"win-{msc.group('cpu').lower()}"
    return used, LineFacts(python_version=version, python_platform=platform)


def read_glibc_version(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _LDD_VERSION.search(lines[index])
    glibc = _version(match.group("glibc")) if match else None
    return (1, LineFacts(glibc=glibc)) if glibc else None


def read_os_release(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _REDHAT.search(lines[index]) or _LSB_DESCRIPTION.match(lines[index])
    return (1, LineFacts(os=match.group("os").strip())) if match else None


def read_ld_library_path(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if match := _LD_ASSIGNMENT.search(line):
        value = match.group("value")
        return (1, LineFacts(ld_library_path=value)) if value.strip(":") else None
    if _LD_ECHO.search(line):
        for following in range(index + 1, min(index + 3, len(lines))):
            if not lines[following].strip():
                continue
            value_match = _LD_VALUE.match(lines[following])
            if value_match and value_match.group("value").strip(":"):
                return following - index + 1, LineFacts(
                    ld_library_path=value_match.group("value"))
            return None
    return None


def read_proc_driver_version(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if "NVRM version:" not in line or len(line) > 300:
        return None
    try:
        version = parse_proc_driver_version(line.strip())
    except (ParseError, ValueError):
        return None
    if len(version) > 32:
        return None
    return 1, LineFacts(kernel_module_version=version)


def read_nvml_error(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """nvidia-smi's NVML errors, and the kernel log's "NVRM: API mismatch" (dmesg,
    journalctl), which names both versions."""
    line = lines[index]
    if "NVRM: API mismatch" in line:
        joined = " ".join(part.strip() for part in lines[index:index + 2])
        api = _NVRM_API_MISMATCH.search(joined)
        if api is None:
            return None
        used = 1 if api.end() <= len(line.strip()) else 2
        try:
            client, module = DriverVersion(api.group("client")), DriverVersion(api.group("module"))
        except ValueError:
            return None
        return used, LineFacts(
            nvml_error_code=_NVML_CODES["Driver/library version mismatch"],
            nvml_detail=f"kernel log: NVRM API mismatch, driver library {client}, kernel module "
                        f"{module}", driver_version=client, kernel_module_version=module)
    match = _NVML_FAILED.search(line)
    if match is None:
        return None
    reason = match.group("reason")
    return 1, LineFacts(nvml_error_code=_NVML_CODES.get(reason),
                        nvml_detail=f"nvidia-smi: Failed to initialize NVML: {reason}")


def read_loader_error(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    paths = []
    for match in _LOADER_PATH.finditer(lines[index]):
        path = posixpath.normpath(match.group("path"))
        if identify_cuda_library(path) is not None:
            paths.append(path)
    return (1, LineFacts(library_paths=tuple(paths))) if paths else None


def read_nccl_tests(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    gpus = []
    end = index
    while end < len(lines) and (match := _NCCL_TESTS_DEVICE.search(lines[end])):
        gpus.append(ReportedGpu(index=int(match.group("index")), name=match.group("name")))
        end += 1
    return (end - index, LineFacts(gpus=tuple(gpus))) if gpus else None


def read_python_path(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _SITE_PACKAGES.search(lines[index])
    minor = _version(match.group("minor")) if match else None
    return (1, LineFacts(python_minor_from_path=minor)) if minor else None


def read_issue_template(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _TEMPLATE.match(lines[index])
    if match is None:
        return None
    value = match.group("value").strip("` ")
    paren = (match.group("paren") or "").strip("` ")
    if not value and paren and "e.g" not in paren and "," not in paren:
        value = paren
    if not value:
        return None
    key = match.group("key").lower()
    if key == "os":
        return 1, LineFacts(os=value)
    version = _version(value.split()[0])
    if version is None:
        return None
    if key.startswith("python"):
        return 1, LineFacts(python_version=version)
    return 1, LineFacts(torch_mention=version)


def _version(text: str | None) -> Version | None:
    return version_or_none(text, max_length=40)
