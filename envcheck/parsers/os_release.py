"""Parse /etc/os-release (os-release(5)) and /proc/meminfo."""

from __future__ import annotations

import re

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MEMINFO_LINE = re.compile(r"^(\w+):\s+(\d+)\s*kB\s*$", re.MULTILINE)


def parse_os_release(text: str) -> dict[str, str]:
    """KEY=value assignments, with shell-style quotes and backslash escapes removed."""
    fields: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        if not sep or not _KEY.fullmatch(key):
            continue
        fields[key] = _unquote(raw)
    return fields


def _unquote(raw: str) -> str:
    """One shell word: quotes removed, and the backslash escapes os-release(5) requires
    ($ " \\ ` inside double quotes) undone; an unbalanced quote keeps the text as is."""
    word: list[str] = []
    quote: str | None = None
    chars = iter(raw.strip())
    for char in chars:
        if quote is None and char in "\"'":
            quote = char
        elif char == quote:
            quote = None
        elif char == "\\" and quote != "'":
            escaped = next(chars, "")
            if quote == '"' and escaped not in '$"\\`':
                word.append(char)
            word.append(escaped)
        else:
            word.append(char)
    return raw.strip() if quote is not None else "".join(word)


def parse_meminfo(text: str) -> tuple[int | None, int | None]:
    """(MemTotal, MemAvailable) in MiB; MemAvailable is missing before Linux 3.14."""
    kib = {match.group(1): int(match.group(2)) for match in _MEMINFO_LINE.finditer(text)}
    total = kib.get("MemTotal")
    available = kib.get("MemAvailable")
    return (
        None if total is None else total // 1024,
        None if available is None else available // 1024,
    )
