"""What install commands and their logs say was installed.

- pip commands: "pip install torch==1.10.0+cu113 torchvision==0.11.1+cu113 -f
  https://download.pytorch.org/whl/cu113/torch_stable.html", "pip3 install torch
  --extra-index-url https://download.pytorch.org/whl/cu113", `uv pip install`; a
  download.pytorch.org/whl/<variant> index names the CUDA variant of an unpinned torch.
  A command is what was asked for, the weakest evidence of what is installed.
- pip's log: "Successfully installed torch-1.7.1", "Found existing installation: torch 2.8.0",
  "Successfully uninstalled torch-2.8.0", "Requirement already satisfied: numpy in c:\\...
  (from torch===1.7.1) (1.20.1)".
- wheel file names, in pip's "Downloading"/"Using cached" lines or in a URL:
  "torch-2.5.1%2Bcu121-cp312-cp312-win_amd64.whl": the build (local label) and, from the tags,
  the interpreter and platform pip chose it for.
- `pip show`: "Name: torch" over "Version: 1.11.0+cu113".
- Debian packages (`dpkg -l` rows, `apt list --installed`, /var/log/apt/history.log, `apt-get
  install name=version` pins) of the NVIDIA driver, cuDNN and NCCL.
- "torch 2.0.1+cu118" written in a log line or in prose: a full build label names one build;
  so does libtorch's archive name ("libtorch-shared-with-deps-2.0.1%2Bcu118.zip").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

from packaging.version import Version

from envcheck.reports.line_facts import LineFacts, WheelFile
from envcheck.snapshot import Package
from envcheck.versions import version_or_none

_PIP_COMMAND = re.compile(
    r"(?:^|[\s$>`(])(?:uv\s+)?pip3?(?:\.exe)?\s+install\s+(?P<args>[^\n]{1,500})"
)
_COMMAND_LINE = re.compile(
    r"^\s*(?:[$>#!`]|\(\S{1,80}\)|PS |sudo |\S{0,200}python\S{0,10} |uv |pip)"
)
_OPTION_WITH_VALUE = frozenset({
    "-f", "--find-links", "-i", "--index-url", "--extra-index-url", "-r", "--requirement",
    "-c", "--constraint", "--target", "-t", "--python", "--prefix", "--root",
})
_REQUIREMENT = re.compile(
    r"^(?P<name>[A-Za-z][A-Za-z0-9._-]{0,80})(?:\[[^\]]{0,80}\])?(?:===?(?P<version>[^\s,;]{1,60}))?$"
)
_VARIANT_INDEX = re.compile(r"download\.pytorch\.org/whl/(?:nightly/|test/)?cu(?P<cuda>\d{2,3})\b")
_INSTALLED = re.compile(r"Successfully installed (?P<list>[^\n]{1,5000})")
_UNINSTALLED = re.compile(r"Successfully uninstalled (?P<name>[A-Za-z0-9._-]{1,80}?)-\d")
_EXISTING = re.compile(
    r"Found existing installation: (?P<name>[A-Za-z0-9._-]{1,80}) (?P<version>\d[^\s]{0,60})\s*$"
)
_SATISFIED = re.compile(
    r"Requirement already satisfied: (?P<name>[A-Za-z0-9._-]{1,80})(?:\[[^\]]{0,80}\])?"
    r"(?:[<>=!~][^\s]{0,60})? in [^\n]{1,300}? \((?P<version>\d[^)\s]{0,60})\)\s*$"
)
_DISTRIBUTION = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,80}?)-(?P<version>\d[^\s-]{0,60})$"
)
_WHEEL = re.compile(
    r"(?P<name>[A-Za-z0-9][A-Za-z0-9_.]{0,80})-(?P<version>\d[^-\s/]{0,60})"
    r"-(?P<python>(?:cp|py)\d{1,3}[a-z]?)-(?P<abi>[A-Za-z0-9_.]{1,40})"
    r"-(?P<platform>[A-Za-z0-9_.]{1,80})\.whl\b"
)
_PIP_PROGRESS = re.compile(
    r"\b(?:Downloading|Using cached|Collecting|Processing|Saved|Created wheel|Stored in|"
    r"File was already downloaded)\b"
)
_PIP_SHOW_NAME = re.compile(r"^\s*Name: (?P<name>[A-Za-z0-9][A-Za-z0-9._-]{0,80})\s*$")
_PIP_SHOW_VERSION = re.compile(r"^\s*Version: (?P<version>\d[^\s]{0,60})\s*$")
_DPKG_ROW = re.compile(
    r"^\s*(?P<state>[uirph][ncufhwit])\s+(?P<name>[a-z0-9][a-z0-9.+-]{1,80})(?::[a-z0-9]{1,10})?"
    r"\s+(?P<version>\d[^\s]{0,80})\s+(?:amd64|arm64|i386|all|ppc64el|armhf)\s"
)
_APT_LIST_ROW = re.compile(
    r"^\s*(?P<name>[a-z0-9][a-z0-9.+-]{1,80})/\S{1,80}\s+(?P<version>\d[^\s]{0,80})\s+"
    r"(?:amd64|arm64|i386|all|ppc64el|armhf)\s+\[installed"
)
_APT_HISTORY = re.compile(r"^\s*(?:Install|Upgrade|Reinstall|Downgrade): (?P<list>[^\n]{1,5000})$")
_APT_HISTORY_ENTRY = re.compile(
    r"(?P<name>[a-z0-9][a-z0-9.+-]{1,80})(?::[a-z0-9]{1,10})? \((?P<versions>[^()]{1,200})\)"
)
_APT_PINS = re.compile(
    r"^\s*(?:(?:sudo\s+)?apt(?:-get)?\s+install\s+(?:-\S{1,20}\s+){0,5})?"
    r"(?P<pins>(?:[a-z0-9][a-z0-9.+-]{1,80}=\d[^\s=]{0,80}\s*){1,20})\\?\s*$"
)
_APT_PIN = re.compile(r"(?P<name>[a-z0-9][a-z0-9.+-]{1,80})=(?P<version>\d[^\s=]{0,80})")
_NVIDIA_DEB = re.compile(r"nvidia|^libcudnn|^libnccl|^libcuda|^cuda")
_MENTION = re.compile(
    r"(?<![\w.-])(?:py)?torch(?: v?|: ?)(?P<version>\d{1,2}\.\d{1,3}(?:\.\d{1,3})?"
    r"\+(?:cu\d{2,3}|cpu|rocm\d{1,2}(?:\.\d{1,2}){0,2}))(?![\w.])",
    re.IGNORECASE,
)


# libtorch's archive names its build: libtorch-cxx11-abi-shared-with-deps-2.0.1%2Bcu118.zip
_LIBTORCH = re.compile(
    r"libtorch-(?:cxx11-abi-)?(?:shared|static)-with(?:out)?-deps-(?P<version>\d{1,2}\.\d{1,3}"
    r"(?:\.\d{1,3})?)\+(?P<variant>cu\d{2,3}|cpu)\.zip")


def read_pip_command(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _PIP_COMMAND.search(lines[index])
    if match is None:
        return None
    requested: list[Package] = []
    index_cuda: Version | None = None
    tokens = [token.strip("`'\"") for token in match.group("args").split()]
    skip = False
    for token in tokens:
        if skip:
            skip = False
            if variant := _VARIANT_INDEX.search(token):
                cuda = variant.group("cuda")
                index_cuda = Version(f"{int(cuda[:-1])}.{cuda[-1]}")
            continue
        if token in _OPTION_WITH_VALUE:
            skip = True
            continue
        if token.startswith("-"):
            continue
        requirement = _REQUIREMENT.match(token)
        if requirement:
            requested.append(Package(name=requirement.group("name"),
                                     version=requirement.group("version") or ""))
    # "pip install the latest version" in a sentence is not a command.
    command_like = (index_cuda is not None or any(p.version for p in requested)
                    or _COMMAND_LINE.match(lines[index]) is not None)
    if not requested or not command_like:
        return None
    return 1, LineFacts(requested=tuple(requested), requested_index_cuda=index_cuda)


def read_pip_log(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if match := _INSTALLED.search(line):
        installed = []
        for token in match.group("list").split():
            distribution = _DISTRIBUTION.match(token)
            if distribution:
                installed.append(Package(name=distribution.group("name"),
                                         version=distribution.group("version")))
        return (1, LineFacts(installed=tuple(installed))) if installed else None
    if match := _UNINSTALLED.search(line):
        return 1, LineFacts(uninstalled=(match.group("name"),))
    if match := _EXISTING.search(line) or _SATISFIED.search(line):
        return 1, LineFacts(installed=(Package(name=match.group("name"),
                                               version=match.group("version")),))
    return None


def read_wheel_file(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if ".whl" not in line:
        return None
    in_pip_log = _PIP_PROGRESS.search(line) is not None
    wheels = tuple(
        WheelFile(name=match.group("name"), version=match.group("version"),
                  python_tag=match.group("python"), platform_tag=match.group("platform"),
                  in_pip_log=in_pip_log)
        for match in _WHEEL.finditer(unquote(line))
    )
    return (1, LineFacts(wheels=wheels)) if wheels else None


def read_pip_show(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    name = _PIP_SHOW_NAME.match(lines[index])
    if name is None or index + 1 >= len(lines):
        return None
    version = _PIP_SHOW_VERSION.match(lines[index + 1])
    if version is None:
        return None
    return 2, LineFacts(installed=(Package(name=name.group("name"),
                                           version=version.group("version")),))


def read_debian_packages(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    found: list[tuple[str, str]] = []
    dpkg = _DPKG_ROW.match(line)
    if row := (dpkg if dpkg and dpkg.group("state") in ("ii", "hi") else
               _APT_LIST_ROW.match(line)):
        found.append((row.group("name"), row.group("version")))
    elif history := _APT_HISTORY.match(line):
        for entry in _APT_HISTORY_ENTRY.finditer(history.group("list")):
            versions = [v.strip() for v in entry.group("versions").split(",")
                        if v.strip() and v.strip() != "automatic"]
            if versions:
                found.append((entry.group("name"), versions[-1]))
    elif pins := _APT_PINS.match(line):
        found += [(pin.group("name"), pin.group("version"))
                  for pin in _APT_PIN.finditer(pins.group("pins"))]
    relevant = tuple((name, version) for name, version in found if _NVIDIA_DEB.search(name))
    return (1, LineFacts(deb_packages=relevant)) if relevant else None


def read_torch_mention(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if "libtorch" in line and (libtorch := _LIBTORCH.search(unquote(line))):
        version = _version(f"{libtorch.group('version')}+{libtorch.group('variant')}")
        return (1, LineFacts(torch_mention=version)) if version else None
    mentions = [_version(m.group("version")) for m in _MENTION.finditer(line)]
    versions = [v for v in mentions if v is not None]
    return (1, LineFacts(torch_mention=versions[-1])) if versions else None


def debian_version(text: str) -> str | None:
    """The upstream part of a Debian version: "525.85.12-1" -> "525.85.12",
    "2.7.3-1+cuda10.1" -> "2.7.3", "7.6.0.64-1+cuda10.1" -> "7.6.0.64"."""
    match = re.match(r"^(?:\d{1,3}:)?(?P<upstream>\d{1,6}(?:\.\d{1,6}){0,3})(?:[-~+]|$)", text)
    return match.group("upstream") if match else None


def _version(text: str | None) -> Version | None:
    return version_or_none(text)
