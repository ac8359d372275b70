"""Which lines of a paste hold a word: a 5 MB paste has ~100,000 lines, and a regex or a
lower() on each costs a tenth of a second; one find() per word over the joined text does not.
One LineSearch serves every reader of the same lines (the text is joined and lowered once).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property


class LineSearch:
    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = lines

    @cached_property
    def _joined(self) -> str | None:
        joined = "\n".join(self.lines).lower()
        # lower() changed the length (a few non-ASCII letters do): no offsets to share.
        return joined if len(joined) == sum(map(len, self.lines)) + len(self.lines) - 1 else None

    def holding(self, words: Sequence[str]) -> list[int]:
        """The indexes of the lines that hold one of `words` (lower case), in order."""
        joined = self._joined
        if joined is None:
            return [index for index, line in enumerate(self.lines)
                    if any(word in line.lower() for word in words)]
        hits: set[int] = set()
        for word in words:
            position = joined.find(word)
            while position != -1:
                end = joined.find("\n", position)
                hits.add(position)
                position = -1 if end == -1 else joined.find(word, end)
        found: list[int] = []
        index, counted = 0, 0
        for position in sorted(hits):
            # the line number of each hit, counting the newlines once from the previous one
            index += joined.count("\n", counted, position)
            counted = position
            if not found or found[-1] != index:
                found.append(index)
        return found


def lines_holding(lines: Sequence[str] | LineSearch, words: Sequence[str]) -> list[int]:
    search = lines if isinstance(lines, LineSearch) else LineSearch(lines)
    return search.holding(words)
