"""Parse /proc/driver/nvidia/version: the version of the loaded kernel module.

Its first line comes in three shapes (samples in tests/data/proc-*):

    NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.173.02  Tue Jun 23 08:38:17 UTC 2026
    NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  565.57.01  Release Build  (...)
    NVRM version: NVIDIA UNIX Open Kernel Module for aarch64  35.3.1  Release Build  (...)

The open module inserts "for <arch>" before the version (nix-community/nixGL#186), so the
version is read as the first dotted number after "Kernel Module" and an optional "for <arch>".
"""

from __future__ import annotations

import re

from envcheck.errors import ParseError
from envcheck.snapshot import DriverVersion

_NVRM_LINE = re.compile(
    r"^NVRM version:.*?Kernel Module(?:\s+for\s+\S+)?\s+(\d+(?:\.\d+)+)(?:\s|$)", re.MULTILINE
)


def parse_proc_driver_version(text: str) -> DriverVersion:
    """The kernel module version in /proc/driver/nvidia/version text."""
    match = _NVRM_LINE.search(text)
    if match is None:
        first_line = text.strip().splitlines()[0][:80] if text.strip() else ""
        raise ParseError(
            "expected /proc/driver/nvidia/version text with a line like "
            "'NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  ...', "
            f"got {first_line!r}",
            hint="Give the file as the running kernel wrote it (cat /proc/driver/nvidia/version).",
        )
    return DriverVersion(match.group(1))
