"""NCCL_* settings in a paste: the environment NCCL ran with, as a live Snapshot keeps it.

A live host's Snapshot keeps every NCCL_* variable (envcheck.probes.system); a paste shows
them in three shapes, and only these count:

- NCCL's own INFO line, the one that says what it read: "NCCL INFO NCCL_SOCKET_IFNAME set by
  environment to en,eth,em,bond" (the authority: NCCL printed it);
- a command that sets it: `export NCCL_P2P_DISABLE=1`, `NCCL_DEBUG=INFO torchrun ...`,
  `os.environ["NCCL_IB_DISABLE"] = "1"`, `ENV NCCL_...=` in a Dockerfile, `-e NCCL_...=` of a
  docker run;
- not a name in a sentence ("Tried `export NCCL_IB_DISABLE=1` ..., both didnt work"): what
  someone tried is envcheck.reports.remedies' business, not the environment's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from envcheck.reports.line_facts import LineFacts

_VALUE = r"""(?P<value>"[^"\n]{0,200}"|'[^'\n]{0,200}'|[^\s"'`;&|]{1,200})"""
_FROM_NCCL = re.compile(r"NCCL INFO (?P<name>NCCL_[A-Z0-9_]{2,60}) set by environment to "
                        r"(?P<value>\S{1,200}?)\.?$")
_COMMAND = re.compile(
    r"^\s*(?:[$#>%]\s+|\(\S{1,40}\)\s*\$?\s*)?(?:export\s+|set\s+|ENV\s+|env\s+)?"
    r"(?P<name>NCCL_[A-Z0-9_]{2,60})=" + _VALUE)
_PYTHON = re.compile(r"""os\.environ\[\s*["'](?P<name>NCCL_[A-Z0-9_]{2,60})["']\s*\]\s*=\s*"""
                     r"""["'](?P<value>[^"'\n]{0,200})["']""")
_DOCKER_ENV = re.compile(r"(?:^|\s)(?:-e|--env)[ =](?P<name>NCCL_[A-Z0-9_]{2,60})=" + _VALUE)


def read_nccl_setting(lines: Sequence[str], index: int) -> tuple[int, LineFacts] | None:
    """The NCCL_* variables one line sets (or NCCL says it read)."""
    line = lines[index]
    if "NCCL_" not in line or len(line) > 2_000:
        return None
    settings: dict[str, str] = {}
    found = _FROM_NCCL.search(line.rstrip())
    if found is not None:
        settings[found.group("name")] = found.group("value")
    else:
        command = _COMMAND.match(line)
        if command is not None:
            # `NCCL_A=1 NCCL_B=2 python ...` sets both: read the assignments that lead the line.
            rest = line
            while (command := _COMMAND.match(rest)) is not None:
                settings[command.group("name")] = _unquoted(command.group("value"))
                rest = rest[command.end():]
        for pattern in (_PYTHON, _DOCKER_ENV):
            for match in pattern.finditer(line):
                settings[match.group("name")] = _unquoted(match.group("value"))
    if not settings:
        return None
    return 1, LineFacts(nccl_env=tuple(settings.items()))


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value
