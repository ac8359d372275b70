"""Parse what nvcc says about itself: `nvcc --version` and the TOP line of `nvcc --dryrun`."""

from __future__ import annotations

import posixpath
import re

from packaging.version import Version

from envcheck.errors import ParseError

_RELEASE = re.compile(r"Cuda compilation tools, release (\d+(?:\.\d+)*)(?:,\s*(V[0-9][\w.]*))?")
# `nvcc --dryrun` prints its environment as "#$ NAME=value" lines; TOP is the toolkit root
# seen from the nvcc binary, e.g. "/usr/local/cuda-13.0/bin/..".
_TOP = re.compile(r"^#\$ TOP=(.*)$", re.MULTILINE)


def parse_nvcc_version(text: str) -> tuple[Version, str | None]:
    """(release, build) from `nvcc --version`, e.g. (Version("13.0"), "V13.0.88")."""
    match = _RELEASE.search(text)
    if match is None:
        raise ParseError(
            "expected `nvcc --version` output with a line like "
            "'Cuda compilation tools, release 13.0, V13.0.88', "
            f"got {text.strip()[:80]!r}",
            hint="Run the nvcc of the toolkit in question with --version.",
        )
    return Version(match.group(1)), match.group(2)


def parse_nvcc_top(text: str) -> str | None:
    """The toolkit root from `nvcc --dryrun` output, normalised; None without a TOP line."""
    match = _TOP.search(text)
    if match is None or not match.group(1).strip():
        return None
    return posixpath.normpath(match.group(1).strip())
