"""What torch prints about itself, read from warnings, errors, build logs and REPL sessions.

Each message below is printed by torch (or by a build script reading torch) while running, so
its values are measured, not inferred:

- torch/cuda/__init__.py `_check_cubins`: "NVIDIA GeForce RTX 5090 with CUDA capability sm_120
  is not compatible with the current PyTorch installation." then "The current PyTorch install
  supports CUDA capabilities sm_50 ... sm_90." (the GPU's capability and
  `torch.cuda.get_arch_list()`); torch only runs this check on CUDA builds.
- `_check_capability` (torch < 1.13): "Found GPU0 GeForce GTX 770 which is of cuda capability
  3.0."
- c10/cuda: "The NVIDIA driver on your system is too old (found version 11040)": the driver's
  CUDA API version, 1000 * major + 10 * minor.
- torch/utils/cpp_extension.py: "The detected CUDA version (12.1) mismatches the version that
  was used to compile PyTorch (11.7)" (nvcc's version, torch.version.cuda); apex's setup.py:
  "Pytorch binaries were compiled with Cuda 10.0.130".
- torch/backends/cudnn: "cuDNN version incompatibility: PyTorch was compiled  against (8, 5, 0)
  but found runtime version (8, 4, 1)" ("linked against" before torch 1.13).
- `torch.__version__`, `torch.version.cuda`, `torch.cuda.is_available()` with their output on
  the same line ("torch.__version__  = 2.0.1+cu117", "print(torch.__version__) # 1.9.1+cu102",
  "torch.cuda.is_available() -> False") or on the next (`>>> torch.__version__` / `'1.3.0'`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import fields, replace

from packaging.version import InvalidVersion, Version

from envcheck.reports.line_facts import LineFacts, ReportedGpu

_ARCH_WARNING = re.compile(
    r" with CUDA capability sm_(?P<sm>\d{2,3})[a-z]? is not compatible with the current PyTorch "
    r"installation"
)
_ARCH_SUPPORTED = re.compile(
    r"The current PyTorch install supports CUDA capabilities (?P<archs>(?:sm|compute)_\d{2,3}[a-z]?"
    r"(?:\s+(?:sm|compute)_\d{2,3}[a-z]?){0,40})"
)
_NAME_PREFIX = re.compile(r"^.*(?:[:`'\"]|Warning)\s*")
_OLD_GPU = re.compile(
    r"Found GPU(?P<index>\d{1,3}) (?P<name>[^\n]{1,100}?) which is of cuda capability "
    r"(?P<major>\d{1,2})\.(?P<minor>\d{1,2})"
)
_DRIVER_API = re.compile(
    r"The NVIDIA driver on your system is too old ?\(found version (?P<api>\d{4,6})\)"
)
_CPP_EXTENSION = re.compile(
    r"The detected CUDA version \((?P<nvcc>\d{1,3}\.\d{1,3})\) mismatches the version that was "
    r"used to compile\s+PyTorch \((?P<torch>\d{1,3}\.\d{1,3})\)"
)
_APEX = re.compile(r"Pytorch binaries were compiled with Cuda (?P<cuda>\d{1,3}\.\d{1,3})")
_TRIPLE = r"\((\d{1,3}), (\d{1,3}), (\d{1,3})\)"
_CUDNN = re.compile(
    r"cuDNN version (?:incompatibility|mismatch): PyTorch was compiled\s+against "
    + _TRIPLE + r" but (?:found runtime version|linked against) " + _TRIPLE
)
# "torch.__version__  =  1.2.0", "print(torch.__version__) # 1.9.1+cu102", with the value
# quoted or not; the expression alone on a line takes its value from the next line.
_EXPRESSIONS = {
    "version": r"torch\.__version__",
    "cuda": r"torch\.version\.cuda",
    "available": r"torch\.cuda\.is_available\(\)",
}
_QUOTES = "`'\""
_VALUE = r"[`'\"]{0,2}(?P<value>[0-9][0-9A-Za-z.+]{0,40}|True|False|None)[`'\"]{0,2}"
_SAME_LINE = {
    key: re.compile(
        rf"{expression}[`'\")]*\s*(?:=|:|->|=>|#|returns?|gives)\s*[`'\"]?\s*{_VALUE}(?:\W|$)"
    )
    for key, expression in _EXPRESSIONS.items()
}
_ALONE = {
    key: re.compile(rf"^\s*(?:>>>\s*|In \[\d+\]:\s*)?[`'\"]?(?:print\()?{expression}\)?[`'\"]?\s*$")
    for key, expression in _EXPRESSIONS.items()
}
_OUTPUT = re.compile(rf"^\s*(?:Out\[\d+\]:\s*)?{_VALUE}\s*$")


def read_torch_message(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """torch's warnings and errors that carry facts (GPU capability, arch list, driver API,
    the CUDA and cuDNN it was built with)."""
    line = lines[index]
    if match := _ARCH_WARNING.search(line):
        return _arch_warning(lines, index, match)
    if match := _OLD_GPU.search(line):
        capability = f"{int(match.group('major'))}.{int(match.group('minor'))}"
        gpu = ReportedGpu(index=int(match.group("index")), name=match.group("name").strip(),
                          compute_capability=capability)
        return 1, LineFacts(gpus=(gpu,))
    if match := _DRIVER_API.search(line):
        api = int(match.group("api"))
        return 1, LineFacts(cuda_driver_api=Version(f"{api // 1000}.{api % 1000 // 10}"))
    joined = line if index + 1 >= len(lines) else f"{line} {lines[index + 1].strip()}"
    if match := _CPP_EXTENSION.search(joined):
        used = 1 if match.end() <= len(line) else 2
        return used, LineFacts(detected_nvcc=Version(match.group("nvcc")),
                               torch_cuda=Version(match.group("torch")))
    if match := _APEX.search(line):
        return 1, LineFacts(torch_cuda=Version(match.group("cuda")))
    if match := _CUDNN.search(line):
        numbers = [int(group) for group in match.groups()]
        compiled = Version(".".join(str(n) for n in numbers[:3]))
        runtime = Version(".".join(str(n) for n in numbers[3:]))
        return 1, LineFacts(cudnn_compiled=compiled, cudnn_runtime=runtime)
    return None


def read_torch_repl(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """`torch.__version__`, `torch.version.cuda` and `torch.cuda.is_available()` with the
    value torch returned."""
    line = lines[index]
    if "print(" in line and (printed := _printed(lines, index)) is not None:
        return printed
    for key in _EXPRESSIONS:
        if match := _SAME_LINE[key].search(line):
            facts = _value_facts(key, match.group("value"))
            return (1, facts) if facts else None
        if _ALONE[key].match(line):
            following = _next_nonblank(lines, index)
            if following is None:
                return None
            output = _OUTPUT.match(lines[following])
            facts = _value_facts(key, output.group("value")) if output else None
            return (following - index + 1, facts) if facts else None
    return None


# `python -c "import torch; print(torch.__version__, torch.version.cuda)"` and, on the next
# line, what it printed: print() separates its arguments with a space, so the n-th word is
# the n-th argument's value.
_PRINT = re.compile(r"print\((?P<args>(?:[^()]|\(\))*)\)")


def _printed(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    match = _PRINT.search(lines[index])
    if match is None:
        return None
    arguments = [argument.strip() for argument in match.group("args").split(",")]
    keys = [next((key for key, expression in _EXPRESSIONS.items()
                  if re.fullmatch(expression, argument)), None) for argument in arguments]
    if not any(keys):
        return None
    following = _next_nonblank(lines, index)
    if following is None:
        return None
    words = lines[following].split()
    if len(words) != len(arguments):
        return None
    found = [_value_facts(key, word) for key, word in zip(keys, words, strict=True) if key]
    if any(facts is None for facts in found):
        return None
    merged, empty = LineFacts(), LineFacts()
    for facts in found:
        assert facts is not None
        merged = replace(merged, **{field.name: getattr(facts, field.name)
                                    for field in fields(facts)
                                    if getattr(facts, field.name) != getattr(empty, field.name)})
    return following - index + 1, merged


def _arch_warning(lines: Sequence[str], index: int,
                  match: re.Match[str]) -> tuple[int, LineFacts]:
    name = _NAME_PREFIX.sub("", lines[index][:match.start()][-200:]).strip(" " + _QUOTES)
    sm = match.group("sm")
    capability = f"{int(sm[:-1])}.{sm[-1]}"
    gpus = (ReportedGpu(index=None, name=name, compute_capability=capability),) if name else ()
    for offset in range(3):
        if index + offset >= len(lines):
            break
        supported = _ARCH_SUPPORTED.search(lines[index + offset])
        if supported:
            return offset + 1, LineFacts(gpus=gpus, arch_list=tuple(supported.group("archs")
                                                                    .split()))
    return 1, LineFacts(gpus=gpus)


def _value_facts(key: str, value: str) -> LineFacts | None:
    if key == "available":
        if value in ("True", "False"):
            return LineFacts(cuda_available=value == "True")
        return None
    if key == "cuda":
        if value == "None":
            return LineFacts(torch_cpu_build=True)
        cuda = _version(value)
        return LineFacts(torch_cuda=cuda) if cuda and len(cuda.release) >= 2 else None
    version = _version(value)
    return LineFacts(torch_version=version) if version else None


def _next_nonblank(lines: Sequence[str], index: int) -> int | None:
    for following in range(index + 1, min(index + 3, len(lines))):
        if lines[following].strip():
            return following
    return None


def _version(text: str) -> Version | None:
    try:
        return Version(text.strip(_QUOTES))
    except InvalidVersion:
        return None
