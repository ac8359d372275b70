"""Version text from the outside world, parsed without raising."""

from __future__ import annotations

from functools import lru_cache

from packaging.version import InvalidVersion, Version


def version_or_none(value: object, *, max_length: int | None = None) -> Version | None:
    """A PEP 440 version, or None for anything else (None, garbage, a non-string).

    `max_length` refuses longer text up front: pasted reports can hold any text, and a
    version with thousands of digits would make int() raise rather than return None.
    """
    if not isinstance(value, str):
        return None
    if max_length is not None and len(value) > max_length:
        return None
    return _parse(value)


@lru_cache(maxsize=8192)
def _parse(value: str) -> Version | None:
    """Kept: a long paste names the same few versions again and again, and a Version is
    never changed once made, so one can be shared."""
    try:
        return Version(value)
    except InvalidVersion:
        return None
