"""Facts about the libraries a framework loads, as a paste states them: the GPU build of a
framework other than torch (an ONNX Runtime package, a Paddle "postXY" wheel), the cuDNN
a user says the machine has, the cuDNN a framework says it loaded, the libstdc++ the loader
found lacking, and the library LD_DEBUG shows being loaded.

Each reader is one pattern over the whole paste; none of them looks at where the paste came
from. A cuDNN version written in prose is tagged with the role its clause gives it: the
machine's ("本机安装的是cudnn5", "I have cuDNN 8.9"), a build's, a requirement's or advice
("compiled with CUDNN 7.6", "cudnn 7 to build", "需要 cudnn 8", "try cuDNN 8.x instead"), or
unclear ("with cuda12.4 cudnn9").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from packaging.version import Version

from envcheck.reports.word_filters import lower_cased
from envcheck.versions import version_or_none

CudnnRole = Literal["machine", "build", "unclear"]


@dataclass(frozen=True, kw_only=True)
class FrameworkMention:
    """A GPU build of a framework named with its version."""

    framework: Literal["onnxruntime-gpu", "paddlepaddle-gpu"]
    version: Version
    cuda_major: int | None = None
    """The CUDA major its package name says (onnxruntime-win-x64-cuda12-1.17.1)."""
    tag: str | None = None
    """Paddle's local build tag ("post87")."""
    text: str


@dataclass(frozen=True, kw_only=True)
class CudnnMention:
    version: Version
    role: CudnnRole
    text: str


@dataclass(frozen=True, kw_only=True)
class LoadedCudnn:
    """A framework's own comparison of its build's cuDNN with the one it loaded."""

    compiled: Version
    loaded: Version
    text: str


@dataclass(frozen=True, kw_only=True)
class LibstdcxxFailure:
    """The loader's "libstdc++.so.6: version `GLIBCXX_3.4.30' not found" (or CXXABI_1.3.N)."""

    label: Literal["GLIBCXX", "CXXABI"] = "GLIBCXX"
    glibcxx: Version
    path: str | None
    """The libstdc++.so.6 it names, with its directory; None when it names none."""
    text: str


@dataclass(frozen=True, kw_only=True)
class LoadedLibrary:
    """LD_DEBUG's trace of one library: the file the loader mapped, and how it searched."""

    soname: str
    path: str
    via_ld_library_path: bool
    needed_by: str | None


@dataclass(frozen=True, kw_only=True)
class WheelLibrary:
    """An NVIDIA library wheel named with its version (nvidia-nvjitlink-cu12==12.9.41)."""

    distribution: str
    version: Version


@dataclass(frozen=True, kw_only=True)
class StatedRequirement:
    """ONNX Runtime's "Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA
    12.*": the cuDNN and CUDA majors of the build that failed to load."""

    framework: str
    cudnn_major: int
    cuda_major: int
    text: str


@dataclass(frozen=True, kw_only=True)
class LibraryFacts:
    frameworks: tuple[FrameworkMention, ...] = ()
    cudnn: tuple[CudnnMention, ...] = ()
    loaded_cudnn: tuple[LoadedCudnn, ...] = ()
    libstdcxx_failures: tuple[LibstdcxxFailure, ...] = ()
    conda_libstdcxx: tuple[str, ...] = ()
    """libstdc++.so.6 paths inside a conda environment, wherever the paste names them."""
    loaded: tuple[LoadedLibrary, ...] = ()
    wheels: tuple[WheelLibrary, ...] = ()
    unresolved: tuple[tuple[str, Version], ...] = ()
    """(distribution, version) pip found no installable file of ("No matching distribution
    found for onnxruntime-gpu==1.18.0")."""
    missing_libraries: tuple[str, ...] = ()
    """Sonames the loader could not find ("libcudart.so.9.0: cannot open shared object file",
    or said in words: "找不到libcudart.so.9.0")."""
    ld_library_path: tuple[str, ...] = ()
    """The directories of every LD_LIBRARY_PATH the paste sets or prints, in order."""
    stated_requirements: tuple[StatedRequirement, ...] = ()
    """What a framework's own message says its GPU build needs."""


def read_library_facts(text: str) -> LibraryFacts:
    # A 5 MB paste: each pattern runs only on the lines holding its literal.
    lowered = lower_cased(text)
    if len(lowered) != len(text):
        lowered = text  # lower() changed the length: no offsets to share (never in practice)
    loaded = tuple(_loaded_libraries(text)) if "generating link map" in lowered else ()
    return LibraryFacts(
        frameworks=tuple(_frameworks(text, lowered)),
        cudnn=tuple(_cudnn_mentions(text, lowered)),
        loaded_cudnn=tuple(_loaded_cudnn(text, lowered)),
        libstdcxx_failures=tuple(_libstdcxx_failures(text, lowered)),
        conda_libstdcxx=tuple(dict.fromkeys(_conda_libstdcxx(text, lowered))),
        loaded=loaded, wheels=tuple(_wheels(text, lowered)) if loaded else (),
        unresolved=tuple(dict.fromkeys(_unresolved(text, lowered))),
        missing_libraries=tuple(dict.fromkeys(_missing_libraries(text, lowered))),
        ld_library_path=tuple(dict.fromkeys(_ld_library_path(text, lowered))),
        stated_requirements=tuple(dict.fromkeys(_stated_requirements(text, lowered))))


def _matches(pattern: re.Pattern[str], text: str, lowered: str,
             literal: str) -> Iterator[re.Match[str]]:
    """`pattern`'s matches on the lines that contain `literal` (lower case)."""
    position = lowered.find(literal)
    while position != -1:
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        end = len(text) if end == -1 else end
        yield from pattern.finditer(text, start, end)
        position = lowered.find(literal, end)


# --- framework builds -------------------------------------------------------------------------

# ONNX Runtime's GitHub release packages: onnxruntime-win-x64-cuda12-1.17.1,
# onnxruntime-linux-x64-gpu-cuda12-1.17.1, onnxruntime-linux-x64-gpu-1.16.3.
_ORT_PACKAGE = re.compile(
    r"(?<![A-Za-z0-9_])onnxruntime-(?:win|linux|osx)-(?:x64|x86|arm64|aarch64)-(?P<gpu>gpu[-_])?"
    r"(?:cuda(?P<cuda>\d{2})-)?(?P<version>\d{1,2}\.\d{1,3}\.\d{1,3})\b")
# The pip wheel: "onnxruntime-gpu==1.18.0", "onnxruntime-gpu 1.16.3" (pip list),
# "onnxruntime_gpu-1.18.0-cp310-..." (a wheel file), "onnxruntime_gpu-1.17.0+cu121-..." (a
# build with its CUDA in a local label).
_ORT_WHEEL = re.compile(
    r"(?<![A-Za-z0-9_])onnxruntime[-_]gpu(?:\s*===?\s*|-|[ \t]+)v?"
    r"(?P<version>\d{1,2}\.\d{1,3}\.\d{1,3})(?:\+cu(?P<cu>\d{2})\d)?\b",
    re.IGNORECASE)
# "paddlepaddle_gpu-0.14.0.post87-cp27-...", "paddlepaddle-gpu==2.5.1.post120",
# "paddlepaddle-gpu   2.6.1.post120".
_PADDLE_WHEEL = re.compile(
    r"(?<![A-Za-z0-9_])paddlepaddle[-_]gpu(?:\s*===?\s*|-|[ \t]+)"
    r"(?P<version>\d{1,2}\.\d{1,3}\.\d{1,3})\.(?P<tag>post\d{2,4})\b", re.IGNORECASE)
# pip saying it found no such version: a requested build, not an installed one.
_UNRESOLVED = re.compile(r"No matching distribution found for|Could not find a version that "
                         r"satisfies the requirement|from versions:", re.IGNORECASE)


def _frameworks(text: str, lowered: str) -> list[FrameworkMention]:
    found: list[FrameworkMention] = []
    for match in _matches(_ORT_PACKAGE, text, lowered, "onnxruntime-"):
        version = version_or_none(match.group("version"))
        if version is None or not (match.group("gpu") or match.group("cuda")):
            continue  # onnxruntime-linux-x64-1.17.1 is the CPU package
        cuda = match.group("cuda")
        found.append(FrameworkMention(framework="onnxruntime-gpu", version=version,
                                      cuda_major=int(cuda) if cuda else None,
                                      text=match.group(0)))
    for match in _matches(_ORT_WHEEL, text, lowered, "onnxruntime"):
        version = version_or_none(match.group("version"))
        if version is not None and not _UNRESOLVED.search(_line_of(text, match.start())):
            cu = match.group("cu")  # a local build label: onnxruntime_gpu-1.17.0+cu121
            found.append(FrameworkMention(framework="onnxruntime-gpu", version=version,
                                          cuda_major=int(cu) if cu else None,
                                          text=match.group(0)))
    for match in _matches(_PADDLE_WHEEL, text, lowered, "paddlepaddle"):
        version = version_or_none(match.group("version"))
        if version is not None and not _UNRESOLVED.search(_line_of(text, match.start())):
            found.append(FrameworkMention(framework="paddlepaddle-gpu", version=version,
                                          tag=match.group("tag").lower(), text=match.group(0)))
    return found


# --- cuDNN in prose ---------------------------------------------------------------------------

# "cudnn9", "cuDNN v8.9.1", "cudnn\uff1a8.9.7" (a full-width colon), "CUDNN 7.6",
# "cudnn版本为7.6.5". Not a file or a directory name (libcudnn.so.7, cudnn64_8.dll,
# /cudnn/cudnn_v7/, nvidia-cudnn-cu12), not torch.backends.cudnn.version(), not a
# "cuDNN version:" field (collect_env's, read elsewhere).
_CUDNN = re.compile(
    r"(?<![A-Za-z0-9_/.\\-])cudnn(?:\s*[:\uff1a=]\s*|\s*版本\s*(?:为|是|:|\uff1a)?\s*|"
    r"\s*v(?=\d)|[ \t]+v?)?"
    r"(?P<version>\d{1,2}(?:\.\d{1,3}){0,3})(?![A-Za-z0-9_]|\.\d|\.(?:dll|so|h)\b)",
    re.IGNORECASE)
# Clause breaks, full-width ones included (\uff0c \uff1b \uff08 \uff09: , ; ( )).
_CLAUSE_BREAK = re.compile(r"[\uff0c,;\uff1b。()\uff08\uff09\n]|\. ")
# Words that make a clause about the machine's own copy, or about a build or a requirement.
_MACHINE_WORDS = re.compile(
    r"本机|本地|安装的|装的|装了|系统|机器|\bmy\b|\bI (?:have|had|installed|use)\b|"
    r"\binstalled\b|\bon (?:the|this|my) (?:machine|host|system|server)\b|\blocally\b",
    re.IGNORECASE)
_BUILD_WORDS = re.compile(
    r"编译|下载|安装包|版本要求|需要|要求|支持|建议|应该|\bcompiled\b|\bbuilt\b|\bbuild\b|"
    r"\bwheel\b|\brequires?\b|\brequired\b|\bneeds?\b|\bsupport(?:s|ed)?\b|\bexpects?\b|"
    r"\bshould\b|\btry\b|\bplease\b|\binstead\b|"
    # a clause that starts with an imperative: advice ("Use cuDNN 8.x with ORT 1.17")
    r"^\s*(?:use|install|upgrade|downgrade|switch)\b",
    re.IGNORECASE)


def _cudnn_mentions(text: str, lowered: str) -> list[CudnnMention]:
    found: list[CudnnMention] = []
    for match in _matches(_CUDNN, text, lowered, "cudnn"):
        version = version_or_none(match.group("version"))
        if version is None:
            continue
        clause = _clause(text, match.start(), match.end())
        role: CudnnRole = ("build" if _BUILD_WORDS.search(clause) else
                           "machine" if _MACHINE_WORDS.search(clause) else "unclear")
        found.append(CudnnMention(version=version, role=role, text=clause.strip()[:160]))
    return found


def _clause(text: str, start: int, end: int) -> str:
    before = text[max(0, start - 80):start]
    breaks = list(_CLAUSE_BREAK.finditer(before))
    head = before[breaks[-1].end():] if breaks else before
    after = text[end:end + 80]
    following = _CLAUSE_BREAK.search(after)
    tail = after[:following.start()] if following else after
    return head + text[start:end] + tail


# Paddle's own check: "The installed Paddle is compiled with CUDNN 7.6, but CUDNN version in
# your machine is 7.3" (paddle/fluid/platform/device_context.cc).
_PADDLE_CUDNN_CHECK = re.compile(
    r"compiled with CUDNN (?P<compiled>\d{1,2}\.\d{1,2}), but CUDNN version in your machine is "
    r"(?P<loaded>\d{1,2}\.\d{1,2})", re.IGNORECASE)


def _loaded_cudnn(text: str, lowered: str) -> list[LoadedCudnn]:
    found: list[LoadedCudnn] = []
    for match in _matches(_PADDLE_CUDNN_CHECK, text, lowered, "in your machine is"):
        compiled = version_or_none(match.group("compiled"))
        loaded = version_or_none(match.group("loaded"))
        if compiled is not None and loaded is not None:
            found.append(LoadedCudnn(compiled=compiled, loaded=loaded, text=match.group(0)))
    return found


# --- libstdc++ --------------------------------------------------------------------------------

# What follows "libstdc++.so.6" in the loader's message.
_LIBSTDCXX_FAILURE = re.compile(
    r"(?:\.\d+)*:? version [`'\u2018\"]?(?P<label>GLIBCXX|CXXABI)_"
    r"(?P<version>[13]\.[34]\.\d{1,2})['\u2019`\"]? not found")
# A conda environment's own copy: .../anaconda3/lib, .../envs/NAME/lib, .../miniforge3/bin/../lib.
_CONDA_LIBSTDCXX = re.compile(
    r"(?:/(?:ana|mini)conda\d?|/miniforge\d?|/mambaforge|/envs/[^/\s]+)(?:/bin/\.\.)?/lib/"
    r"libstdc\+\+\.so\.6$", re.IGNORECASE)
_LIBSTDCXX = "libstdc++.so.6"
_PATH_END = re.compile(r"[\s:'\"`()]")


def _libstdcxx_paths(text: str, lowered: str) -> Iterator[tuple[str, int]]:
    """Each "libstdc++.so.6" with the path it ends (back to a space, quote, colon or paren,
    at most 300 characters: a path, not the line), and where the name ends."""
    position = lowered.find(_LIBSTDCXX)
    while position != -1:
        window = text[max(0, position - 300):position]
        breaks = list(_PATH_END.finditer(window))
        head = window[breaks[-1].end():] if breaks else window
        if "/" in head and not head.startswith((".", "/")):
            head = head[head.index("/"):]  # prose glued to the path: "即报错/home/.../lib/"
        end = position + len(_LIBSTDCXX)
        yield head + text[position:end], end
        position = lowered.find(_LIBSTDCXX, end)


def _conda_libstdcxx(text: str, lowered: str) -> Iterator[str]:
    for path, _ in _libstdcxx_paths(text, lowered):
        if path.startswith("/") and _CONDA_LIBSTDCXX.search(path):
            yield path


def _libstdcxx_failures(text: str, lowered: str) -> list[LibstdcxxFailure]:
    found: list[LibstdcxxFailure] = []
    for path, end in _libstdcxx_paths(text, lowered):
        match = _LIBSTDCXX_FAILURE.match(text, end, min(len(text), end + 80))
        version = version_or_none(match.group("version")) if match else None
        if match is not None and version is not None:
            label: Literal["GLIBCXX", "CXXABI"] = (
                "CXXABI" if match.group("label") == "CXXABI" else "GLIBCXX")
            found.append(LibstdcxxFailure(label=label, glibcxx=version,
                                          path=path if path.startswith("/") else None,
                                          text=path + match.group(0)))
    return found


# --- LD_DEBUG=libs ----------------------------------------------------------------------------

_LD_DEBUG_LINE = re.compile(
    r"^\s*\d+:\s*(?:file=(?P<file>\S+) \[\d+\];\s+(?:needed by (?P<needed>\S+)|"
    r"(?P<mapped>generating link map))|(?P<search>search path=\S*\s+\((?P<via>[A-Z_ ]+)\))|"
    r"trying file=(?P<trying>\S+))", re.MULTILINE)


def _loaded_libraries(text: str) -> list[LoadedLibrary]:
    """A library's LD_DEBUG trace ends with the file it tried last before "generating link
    map": the one the loader mapped."""
    found: list[LoadedLibrary] = []
    needed_by: dict[str, str] = {}
    trying: str | None = None
    via: str | None = None
    for match in _LD_DEBUG_LINE.finditer(text):
        if match.group("needed"):
            needed_by[match.group("file")] = match.group("needed")
            trying, via = None, None
        elif match.group("search"):
            via = match.group("via")
        elif match.group("trying"):
            trying = match.group("trying")
        elif match.group("mapped"):
            soname = match.group("file")
            if trying is not None and trying.rsplit("/", 1)[-1] == soname:
                found.append(LoadedLibrary(
                    soname=soname, path=trying, needed_by=needed_by.get(soname),
                    via_ld_library_path=via is not None and "LD_LIBRARY_PATH" in via))
            trying, via = None, None
    return found


_NVIDIA_WHEEL = re.compile(
    r"(?<![\w-])(?P<name>nvidia-[a-z]+(?:-[a-z]+)*-cu\d{2})(?:\s*==\s*|[ \t]+)"
    r"(?P<version>\d{1,3}(?:\.\d{1,4}){1,4})\b", re.IGNORECASE)


def _wheels(text: str, lowered: str) -> list[WheelLibrary]:
    found: dict[str, WheelLibrary] = {}
    for match in _matches(_NVIDIA_WHEEL, text, lowered, "nvidia-"):
        version = version_or_none(match.group("version"))
        if version is not None:
            name = match.group("name").lower()
            found[name] = WheelLibrary(distribution=name, version=version)
    return list(found.values())


_PIP_UNRESOLVED = re.compile(
    r"(?:No matching distribution found for|Could not find a version that satisfies the "
    r"requirement)\s+(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,80})\s*===?\s*"
    r"(?P<version>\d{1,4}(?:\.\d{1,4}){1,3})\b")


def _unresolved(text: str, lowered: str) -> Iterator[tuple[str, Version]]:
    for literal in ("no matching distribution", "satisfies the requirement"):
        for match in _matches(_PIP_UNRESOLVED, text, lowered, literal):
            version = version_or_none(match.group("version"))
            if version is not None:
                yield match.group("name").lower().replace("_", "-"), version


_MISSING_LIBRARY = re.compile(
    r"(?:(?P<soname>lib[A-Za-z0-9_+-]{1,40}\.so(?:\.\d{1,4}){1,3}): cannot open shared object "
    r"file|(?:找不到|无法找到|(?:can ?not|can't|could not|couldn't) find)\s*[`'\"]?"
    r"(?P<said>lib[A-Za-z0-9_+-]{1,40}\.so(?:\.\d{1,4}){1,3}))")


def _missing_libraries(text: str, lowered: str) -> Iterator[str]:
    for literal in ("shared object", "找不到", "无法找到", "find lib", "find `lib", "find 'lib"):
        for match in _matches(_MISSING_LIBRARY, text, lowered, literal):
            yield match.group("soname") or match.group("said")


# LD_LIBRARY_PATH=dir:dir:$LD_LIBRARY_PATH, in an export, a command or `env`'s output; the
# variable references in it (${PWD}, $LD_LIBRARY_PATH) are not directories.
_LD_LIBRARY_PATH = re.compile(r"LD_LIBRARY_PATH=[\"']?(?P<value>[^\s`'\"]{1,4000})")


def _ld_library_path(text: str, lowered: str) -> Iterator[str]:
    for match in _matches(_LD_LIBRARY_PATH, text, lowered, "ld_library_path="):
        for directory in match.group("value").split(":"):
            if directory.startswith("/") and "$" not in directory:
                yield directory.rstrip("/") or "/"


# onnxruntime/python/onnxruntime_pybind_state.cc, when the CUDA provider library fails to load.
_ORT_REQUIRES = re.compile(
    r"Failed to create CUDAExecutionProvider\. Require cuDNN (?P<cudnn>\d{1,2})\.\* and CUDA "
    r"(?P<cuda>\d{1,2})\.\*")


def _stated_requirements(text: str, lowered: str) -> Iterator[StatedRequirement]:
    for match in _matches(_ORT_REQUIRES, text, lowered, "failed to create cudaexecutionprovider"):
        yield StatedRequirement(framework="onnxruntime-gpu", cudnn_major=int(match.group("cudnn")),
                                cuda_major=int(match.group("cuda")), text=match.group(0))


def _line_of(text: str, position: int) -> str:
    start = text.rfind("\n", 0, position) + 1
    end = text.find("\n", position)
    return text[start:end if end != -1 else len(text)]
