"""Read the output of `python -m torch.utils.collect_env`, in every shape it has had.

torch 1.0-1.4 print "Yes"/"No" for booleans, "[pip] numpy==1.15.4" lines and the GPU list on
lines after "GPU models and configuration:"; 1.5-1.13 add "ROCM used to build PyTorch",
"Libc version", "Python platform", "HIP/MIOpen runtime version"; 2.x add
"CUDA_MODULE_LOADING set to", "Is XNNPACK available" and an lscpu "CPU:" block. Samples of each
era are in tests/data/report_formats/ (SOURCES.md).

What collect_env's words mean, from its source:

- "Could not collect": the value was None (the command failed or printed nothing).
- "No CUDA": torch imported, `torch.cuda.is_available()` was False and nvidia-smi and nvcc
  gave nothing; printed for the runtime, GPU, driver and cuDNN fields.
- "N/A": torch could not be imported (or, for CUDA fields, a ROCm build).
- "CUDA runtime version" is the V-number of `nvcc --version` on PATH, not a library.
- "cuDNN version" lists libcudnn files found by `ldconfig -p` (or cudnn*.dll on Windows).
- "GPU models and configuration" is `nvidia-smi -L` with the UUIDs removed, or on torch
  1.0-1.1 the name of the current device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from envcheck.reports.segments import COLLECT_ENV_KEY

NOT_COLLECTED = frozenset({"Could not collect", "No CUDA", "N/A", "None", ""})

# What collect_env prints in place of a package list it could not get or found empty.
_NO_PACKAGES = frozenset({"Could not collect", "No relevant packages"})
_GPU_LINE = re.compile(r"^GPU (\d{1,4}):\s*(.+?)\s*$")
_PIP_LINE = re.compile(r"^\[(pip3?|conda)\]\s+(.*)$")
_CPU_COUNT = re.compile(r"^CPU\(s\):\s+(\d{1,6})\s*$")


@dataclass(frozen=True, kw_only=True)
class CollectEnvReport:
    """The raw values collect_env printed, by key, plus its multi-line sections."""

    fields: dict[str, str]
    gpu_lines: tuple[str, ...] = ()
    """Lines after "GPU models and configuration:" (the value itself, when on the key line,
    comes first)."""
    cudnn_lines: tuple[str, ...] = ()
    pip_lines: tuple[str, ...] = ()
    """The text after "[pip]"/"[pip3]", e.g. "numpy==1.26.4"."""
    conda_lines: tuple[str, ...] = ()
    cpu_lines: tuple[str, ...] = ()

    def value(self, key: str) -> str | None:
        """The value of `key`, or None when collect_env did not print it."""
        return self.fields.get(key)

    def collected(self, key: str) -> str | None:
        """The value of `key` when it holds a fact, None for "Could not collect" and kin."""
        value = self.fields.get(key)
        if value is None or value.strip() in NOT_COLLECTED:
            return None
        return value.strip()


@dataclass
class _Builder:
    fields: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[str]] = field(default_factory=dict)
    pip: list[str] = field(default_factory=list)
    conda: list[str] = field(default_factory=list)


def parse_collect_env(lines: tuple[str, ...]) -> CollectEnvReport:
    """Read one collect_env piece; keys it does not print are simply absent from `fields`."""
    builder = _Builder()
    current: str | None = None
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        key_match = COLLECT_ENV_KEY.match(line)
        if key_match:
            key = key_match.group("key")
            value = key_match.group("value").strip()
            builder.fields.setdefault(key, value)
            current = key
            if value and key in ("GPU models and configuration", "cuDNN version"):
                builder.sections.setdefault(key, []).append(value)
            continue
        prefixed = _PIP_LINE.match(line)
        if prefixed:
            target = builder.conda if prefixed.group(1) == "conda" else builder.pip
            entry = prefixed.group(2).strip()
            if entry not in _NO_PACKAGES:
                target.append(entry)
            continue
        if current in ("GPU models and configuration", "cuDNN version", "CPU"):
            builder.sections.setdefault(current, []).append(line)
        elif current is not None and current in builder.fields:
            # A wrapped line (mail clients break long "Python version" values).
            builder.fields[current] = f"{builder.fields[current]} {line}"
    return CollectEnvReport(
        fields=builder.fields,
        gpu_lines=tuple(builder.sections.get("GPU models and configuration", ())),
        cudnn_lines=tuple(builder.sections.get("cuDNN version", ())),
        pip_lines=tuple(builder.pip),
        conda_lines=tuple(builder.conda),
        cpu_lines=tuple(builder.sections.get("CPU", ())),
    )


def gpu_names(report: CollectEnvReport) -> list[tuple[int, str]]:
    """(index, name) for each GPU listed; [] for "Could not collect", "No CUDA", ..."""
    gpus: list[tuple[int, str]] = []
    lines = report.gpu_lines
    for line in lines:
        match = _GPU_LINE.match(line)
        if match:
            gpus.append((int(match.group(1)), match.group(2)))
    if not gpus and len(lines) == 1 and lines[0] not in NOT_COLLECTED:
        # torch 1.0-1.1 printed only the current device's name, without "GPU 0:".
        gpus.append((0, lines[0]))
    return gpus


def cudnn_candidates(report: CollectEnvReport) -> list[str]:
    """The file paths collect_env listed for cuDNN (one, or "Probably one of the following")."""
    return [
        line for line in report.cudnn_lines
        if line.startswith("/") or re.match(r"^[A-Za-z]:\\", line)
    ]


def cpu_count(report: CollectEnvReport) -> int | None:
    for line in report.cpu_lines:
        match = _CPU_COUNT.match(line)
        if match:
            return int(match.group(1))
    return None


def is_yes(value: str | None) -> bool | None:
    """collect_env's booleans: "Yes"/"No" before torch 1.7, "True"/"False" after."""
    if value is None:
        return None
    word = value.strip()
    if word in ("Yes", "True"):
        return True
    if word in ("No", "False"):
        return False
    return None
