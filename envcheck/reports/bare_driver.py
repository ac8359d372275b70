"""A driver version on a line of its own: the answer to "what does nvidia-smi say?" or
"which driver?" written as just the number ("410.48,,", "535.104.05").

Only a driver-shaped number counts (a three-digit branch, then two or three digits, then
optionally two): "2.1.0" or "12.4" are not drivers, and a number in a sentence is left to the
prose reader, which needs the word "driver" before it."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from envcheck.snapshot import DriverVersion

_BARE_DRIVER = re.compile(r"\s*(?P<version>[2-9]\d{2}\.\d{2,3}(?:\.\d{2})?)[\s,.;]*")


def bare_driver_versions(lines: Sequence[str]) -> Iterator[tuple[int, DriverVersion]]:
    """(1-based line, driver version) of each line that holds nothing else."""
    for index, line in enumerate(lines):
        if len(line) > 32 or (not line[:1].strip(" ").isdigit() and not line.strip()[:1].isdigit()):
            continue
        match = _BARE_DRIVER.fullmatch(line)
        if match is None:
            continue
        try:
            yield index + 1, DriverVersion(match.group("version"))
        except ValueError:
            continue
