"""Case-insensitive searches answered by substring tests where they give the same answer.

A 5 MB paste without repeated lines puts some 25,000 lines of prose through the readers'
case-insensitive patterns (issue 11), and Python's regex engine tries such a pattern at every
character. Most lines hold none of the words the pattern needs, and a substring test says so
much faster. On ASCII text, lower() is exactly what a case-insensitive search compares, so
"the lower-cased text holds none of the words" proves that the pattern cannot match; other
text (where four non-ASCII letters also match ASCII ones) is searched as before.
tests/unit/test_reports_fast_paths.py checks each pattern's words on the recorded reports and
on generated text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache


def may_hold(words: Sequence[str], text: str) -> bool:
    """False only when a case-insensitive match that holds one of `words` (lower case)
    cannot be in `text`."""
    if not text.isascii():
        return True
    lowered = text.lower()
    return any(word in lowered for word in words)


def search_needing(pattern: re.Pattern[str], words: Sequence[str], text: str,
                   pos: int = 0, endpos: int | None = None) -> re.Match[str] | None:
    """`pattern.search(text, pos, endpos)`, where every match of the case-insensitive
    `pattern` holds one of `words` (lower case)."""
    end = len(text) if endpos is None else endpos
    if not may_hold(words, text[pos:end]):
        return None
    return pattern.search(text, pos, end)


@lru_cache(maxsize=2)
def lower_cased(text: str) -> str:
    """`text.lower()`, made once for the readers of the whole paste (a 5 MB paste: 25 ms each
    time). The last two are kept: the paste and its error text."""
    return text.lower()
