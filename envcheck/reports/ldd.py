"""Read `ldd` output: which shared libraries a binary needs and where the loader found them.

    libcudart.so.12 => /usr/local/cuda/lib64/libcudart.so.12 (0x00007f...)
    libcudnn.so.8 => not found
    linux-vdso.so.1 =>  (0x00007ffd566d7000)          (old glibc: empty path)

A "not found" line is a fact a report does prove: that binary will fail to load here.
"""

from __future__ import annotations

from dataclasses import dataclass

from envcheck.reports.segments import LDD_LINE


@dataclass(frozen=True, kw_only=True)
class LddEntry:
    soname: str
    path: str | None
    """Where the loader resolved it; None when ldd said "not found"."""


def parse_ldd(lines: tuple[str, ...]) -> list[LddEntry]:
    entries = []
    for line in lines:
        match = LDD_LINE.match(line)
        if match is None:
            continue
        if match.group("missing"):
            entries.append(LddEntry(soname=match.group("soname"), path=None))
        elif match.group("path"):
            entries.append(LddEntry(soname=match.group("soname"), path=match.group("path")))
    return entries
