"""Packages a report names without a package list:

- the fields of TensorFlow's issue template ("### TensorFlow version" and its answer a few
  lines below; Python, the OS and the CUDA installed for it likewise);
- what the text says is installed ("I had installed both onnxruntime and onnxruntime-gpu");
- the torch release it tries to install ("but can not install pytorch 2.4.1"), which
  envcheck.reports.wanted_torch judges when no torch is installed.

Only distributions envcheck's framework table knows (envcheck/knowledge/frameworks.py) are
read from a sentence: a name there is a package for certain, and the rules that use them
(envcheck/rules/framework_rules.py) say what two of them installed together do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache

from packaging.version import Version

from envcheck.knowledge.frameworks import normalized, shared_modules
from envcheck.reports.line_facts import CudaMention, LineFacts
from envcheck.reports.word_filters import may_hold, search_needing
from envcheck.snapshot import Package
from envcheck.versions import version_or_none

# TensorFlow's bug-report form renders each field as a "### <label>" heading with the answer
# after a blank line (tensorflow/tensorflow issues 60237, 64536).
_HEADING = re.compile(
    r"^\s*#{2,4}\s*(?P<field>tensorflow version|python version|os platform and distribution|"
    r"cuda/cudnn version)\s*$", re.IGNORECASE)
_LOOK_AHEAD = 4
_VERSION = re.compile(r"(?<![\d.])(\d{1,2}\.\d{1,3}(?:\.\d{1,4})?)(?![\d.])")
_CUDA = re.compile(r"(?:cuda[_ -]?)?(?<![\d.])(\d{1,2}\.\d)(?:\.\d{1,3})?(?![\d])",
                   re.IGNORECASE)
# "win10", "Win 11", "windows10": the shorthand the prose OS reader does not take.
_WINDOWS = re.compile(r"^\s*win(?:dows)?[\s-]*(\d{1,2})\b", re.IGNORECASE)

_INSTALLED = re.compile(r"\binstalled\b", re.IGNORECASE)
_NEGATED = re.compile(r"(?:\bnot|\bnever|n't|\bwithout)\b[^.;!?]{0,20}$", re.IGNORECASE)
# The clause of what was installed ends at the sentence, or where it turns to something else
# ("installed onnxruntime-gpu and uninstalled onnxruntime", "... but not onnxruntime").
_SENTENCE_END = re.compile(r"[.;!?](?:\s|$)|\b(?:but|then|instead|rather|except|without|not|"
                           r"uninstall\w*|remov\w*|replac\w*)\b|$", re.IGNORECASE)
_TOKEN = re.compile(r"(?<![\w.-])([A-Za-z][\w.-]*[A-Za-z0-9])")
# Texts one of which every match holds (envcheck.reports.word_filters).
_NEGATED_NEEDS = ("not", "never", "n't", "without")


def read_package_mentions(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    line = lines[index]
    if heading := _HEADING.match(line):
        return _template_field(lines, index, heading.group("field").lower())
    if len(line) > 2_000:
        return None
    installed = _installed(line)
    wanted = _wanted_torch(line)
    if not installed and not wanted:
        return None
    return 1, LineFacts(listed=installed, requested=wanted)


def _template_field(lines: Sequence[str], index: int,
                    field: str) -> tuple[int, LineFacts] | None:
    for offset in range(1, _LOOK_AHEAD + 1):
        if index + offset >= len(lines):
            return None
        value = lines[index + offset].strip()
        if not value or value.startswith("```"):
            continue
        if value.startswith("#") or value in ("-", "_No response_"):
            return None
        facts = _field_facts(field, value)
        return (offset + 1, facts) if facts is not None else None
    return None


def _field_facts(field: str, value: str) -> LineFacts | None:
    if field == "tensorflow version":
        versions = _VERSION.findall(value)
        # "v2.12.0-rc1-12-g0db597d0d75 2.12.0": the git describe, then the release
        return LineFacts(listed=(Package(name="tensorflow", version=versions[-1]),)) \
            if versions else None
    if field == "python version":
        python = _version(_VERSION.findall(value)[:1])
        return LineFacts(python_version=python) if python else None
    if field == "os platform and distribution":
        windows = _WINDOWS.match(value)
        return LineFacts(os=f"Windows {windows.group(1)}") if windows else None
    cuda = _CUDA.search(value)
    version = _version([cuda.group(1)]) if cuda else None
    # The template asks which CUDA and cuDNN the user installed for TensorFlow: the toolkit.
    return LineFacts(cuda_mentions=(CudaMention(version=version, role="toolkit"),)) \
        if version else None


# "but can not install pytorch 2.4.1", "trying to install torch 2.1": the release asked for,
# in words (an install command is read by envcheck.reports.install_logs).
_INSTALL_TORCH = re.compile(
    r"\binstall(?:ing)?\s+(?:the\s+)?(?:py)?torch\s*(?:version\s*)?v?"
    r"(?P<version>\d{1,2}\.\d{1,3}(?:\.\d{1,3})?)(?!\d)", re.IGNORECASE)


def _wanted_torch(line: str) -> tuple[Package, ...]:
    match = _INSTALL_TORCH.search(line) if "torch" in line.lower() else None
    return (Package(name="torch", version=match.group("version")),) if match else ()


def _version(found: list[str]) -> Version | None:
    return version_or_none(found[0]) if found else None


def _installed(line: str) -> tuple[Package, ...]:
    found: dict[str, Package] = {}
    if not may_hold(("installed",), line):
        return ()
    for match in _INSTALLED.finditer(line):
        if search_needing(_NEGATED, _NEGATED_NEEDS, line, max(0, match.start() - 30),
                          match.start()):
            continue
        end = _SENTENCE_END.search(line, match.end())
        clause = line[match.end():end.start() if end else len(line)]
        for token in _TOKEN.findall(clause):
            name = normalized(token)
            if _is_framework(name):
                found.setdefault(name, Package(name=name, version=""))
    return tuple(found.values())


@lru_cache(maxsize=4096)  # a clause's words: a paste's prose repeats its vocabulary
def _is_framework(name: str) -> bool:
    return name in _known_names() or any(row.is_gpu(name) for row in shared_modules())


@cache
def _known_names() -> frozenset[str]:
    return frozenset(name for row in shared_modules() for name in (*row.cpu, *row.gpu))
