"""A driver version on a line of its own: the answer to "what does nvidia-smi say?" or
"which driver?" written as just the number ("410.48,,", "535.104.05").

Only a driver-shaped number counts (a three-digit branch, then two or three digits, then
optionally two): "2.1.0" or "12.4" are not drivers, and a number in a sentence is left to the
prose reader, which needs the word "driver" before it. And only as an answer: one of the
three lines before it names the driver or nvidia-smi, and it is not one of a column of numbers
(epoch times "312.45 / 298.71 / 301.02" are driver-shaped too)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from envcheck.snapshot import DriverVersion

_BARE_DRIVER = re.compile(r"\s*(?P<version>[2-9]\d{2}\.\d{2,3}(?:\.\d{2})?)[\s,.;]*")


_ASKED = re.compile(r"nvidia-smi|driver|驱动|ドライバ|драйвер", re.IGNORECASE)


def bare_driver_versions(lines: Sequence[str]) -> Iterator[tuple[int, DriverVersion]]:
    """(1-based line, driver version) of each line that holds nothing else."""
    for index, line in enumerate(lines):
        match = _bare(line)
        if match is None:
            continue
        if any(_bare(lines[i]) for i in (index - 1, index + 1) if 0 <= i < len(lines)):
            continue
        if not any(_ASKED.search(earlier) for earlier in lines[max(0, index - 3):index]):
            continue
        try:
            yield index + 1, DriverVersion(match.group("version"))
        except ValueError:
            continue


def _bare(line: str) -> re.Match[str] | None:
    if len(line) > 32 or (not line[:1].strip(" ").isdigit() and not line.strip()[:1].isdigit()):
        return None
    return _BARE_DRIVER.fullmatch(line)
