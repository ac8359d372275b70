"""Version text from the outside world, parsed without raising."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version


def version_or_none(value: object) -> Version | None:
    """A PEP 440 version, or None for anything else (None, garbage, a non-string)."""
    if not isinstance(value, str):
        return None
    try:
        return Version(value)
    except InvalidVersion:
        return None
