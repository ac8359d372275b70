"""A version requirement the paste states, against the version it shows installed.

"InternLM3模型要求transformers版本>=4.47.1" (InternLM3 requires transformers>=4.47.1) next to
the `llamafactory-cli env` line "- Transformers version: 4.46.1": the installed release is
outside the range the text says is needed, a broken requirement decided by two facts read.

The installed versions are the snapshot's packages (pip list, pip freeze, conda list, pip's
log) and the "- <name> version: <version>" lines that `transformers-cli env` and
`llamafactory-cli env` print. A requirement counts only in a clause that says it is one
("requires", "needs", "要求", "需要"), written as a PEP 440 specifier right after the name;
pip's own resolver and version-check messages are read elsewhere (error_signatures.toml), and
the torch stack (torch, torchvision, torchaudio) is judged by the companion rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from envcheck.findings import Finding
from envcheck.reports.line_search import LineSearch, lines_holding
from envcheck.reports.package_lists import normalize_name
from envcheck.snapshot import Snapshot
from envcheck.versions import version_or_none

# "- Transformers version: 4.46.1", "- `transformers` version: 4.46.1": one word, then
# "version:" (transformers' and LLaMA-Factory's `env` commands).
_ENV_LINE = re.compile(
    r"^\s*[-*]\s*`?(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,40})`?\s+version\s*:\s*"
    r"(?P<version>\d[A-Za-z0-9.+-]{0,40})\s*(?:\(|$)", re.IGNORECASE)
# Names in those lists that are no Python distribution (the system's parts, read elsewhere).
_NOT_PACKAGES = frozenset({"python", "pytorch", "torch", "cuda", "cudnn", "os", "nvidia",
                           "driver", "platform", "gpu", "kernel", "gcc", "clang", "cmake",
                           "glibc", "nccl", "rocm", "hip", "nvcc", "bios", "firmware"})
_OPERATOR = r"(?:>=|==|<=|~=|!=|>|<)\s*\d[0-9a-z.*+]*"
# The name right before the specifier ("transformers版本>=4.47.1", "peft >= 0.12.0"), the
# specifier possibly a range ("accelerate>=0.34.0,<=1.0.1").
_REQUIREMENT = re.compile(
    r"(?<![A-Za-z0-9_.-])(?P<name>[A-Za-z][A-Za-z0-9_.-]{0,40}?)\s*(?:版本|的版本|version)?\s*"
    rf"(?P<spec>{_OPERATOR}(?:\s*,\s*{_OPERATOR})*)", re.IGNORECASE)
_REQUIRES = re.compile(r"\brequires?\b|\brequired\b|\bneeds?\b|要求|需要", re.IGNORECASE)
# Clause breaks, full-width ones included (\uff0c \uff1b \uff01 \uff1f: , ; ! ?), and the
# words that turn to another subject ("but", "while", 而, 但).
_CLAUSE_BREAK = re.compile(r"[\uff0c,;\uff1b。!?\uff01\uff1f]|\. |\b(?:but|while)\b|而|但")
_TOOL_MESSAGE = re.compile(r"but you have|is required for a normal functioning|"
                           r"Could not find a version|from versions:|No matching distribution",
                           re.IGNORECASE)
_TORCH_STACK = frozenset({"torch", "torchvision", "torchaudio", "pytorch", "python", "cuda"})


@dataclass(frozen=True, kw_only=True)
class StatedRequirement:
    package: str
    specifier: SpecifierSet
    line: int
    """1-based."""
    text: str


@dataclass(frozen=True, kw_only=True)
class EnvVersion:
    """A package version an `env` command printed."""

    package: str
    version: Version
    line: int


def read_env_versions(lines: Sequence[str],
                      search: LineSearch | None = None) -> tuple[EnvVersion, ...]:
    found: list[EnvVersion] = []
    for index in lines_holding(search or lines, ("version",)):
        line = lines[index]
        if len(line) > 300:
            continue
        match = _ENV_LINE.match(line)
        if match is None:
            continue
        name = normalize_name(match.group("name"))
        version = version_or_none(match.group("version"))
        if name not in _NOT_PACKAGES and version is not None:
            found.append(EnvVersion(package=name, version=version, line=index + 1))
    return tuple(found)


# Literals one of which a line with a requirement holds: a 5 MB paste is searched for them
# once, and the patterns run only on the lines that hold one.
_REQUIRES_WORDS = ("requir", "need", "要求", "需要")


def read_stated_requirements(lines: Sequence[str],
                             search: LineSearch | None = None) -> tuple[StatedRequirement, ...]:
    found: list[StatedRequirement] = []
    for index in lines_holding(search or lines, _REQUIRES_WORDS):
        line = lines[index]
        if len(line) > 2_000 or not _REQUIRES.search(line) or _TOOL_MESSAGE.search(line):
            continue
        for match in _REQUIREMENT.finditer(line):
            if not _said_to_be_required(line, match.start()):
                continue
            name = normalize_name(match.group("name"))
            try:
                specifier = SpecifierSet(re.sub(r"\s+", "", match.group("spec")))
            except InvalidSpecifier:
                continue
            if name in _TORCH_STACK:
                continue
            found.append(StatedRequirement(package=name, specifier=specifier, line=index + 1,
                                           text=line.strip()[:200]))
    return tuple(found)


def _said_to_be_required(line: str, start: int) -> bool:
    """A requirement word in the same clause, before the name."""
    before = line[max(0, start - 60):start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    clause = before[breaks[-1].end():] if breaks else before
    return _REQUIRES.search(clause) is not None


def stated_requirement_findings(requirements: Sequence[StatedRequirement],
                                env_versions: Sequence[EnvVersion],
                                snapshot: Snapshot) -> list[Finding]:
    installed: dict[str, tuple[Version, str]] = {}
    for package in snapshot.packages:
        version = version_or_none(package.version)
        if version is not None:
            installed[normalize_name(package.name)] = (version, "the package list")
    for env in env_versions:
        installed[env.package] = (env.version, f"line {env.line}")
    findings: list[Finding] = []
    for requirement in requirements:
        have = installed.get(requirement.package)
        if have is None or requirement.specifier.contains(have[0], prereleases=True):
            continue
        version, where = have
        wanted = f"{requirement.package}{requirement.specifier}"
        findings.append(Finding(
            id="installed-version-outside-stated-requirement", category="broken_requirements",
            severity="error",
            summary=f"{requirement.package} {version} is installed ({where}), but the paste "
                    f"says {wanted} is required (line {requirement.line})",
            explanation="What runs needs a release of this package the environment does not "
                        f"have: {requirement.text!r}. Another package's pin may hold it back; "
                        "pip check lists such conflicts.",
            fix=f"pip install '{wanted}'   # then pip check; a package that pins the old "
                "release needs a release that allows it, or its own version check disabled",
            evidence={"package": requirement.package, "installed": str(version),
                      "required": str(requirement.specifier), "line": str(requirement.line)},
            rule="report-stated-requirement"))
        break  # one is the answer; the others say the same
    return findings
