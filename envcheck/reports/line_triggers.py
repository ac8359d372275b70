"""Which line readers each line of a paste is given to: the readers' trigger words.

A 5 MB paste has ~130,000 lines, and envcheck.reports.segments has some thirty line readers
(LINE_READERS); running every reader on every line takes seconds. So each reader declares,
in `segments.LINE_TRIGGERS`, the words without one of which it cannot read a line, and a
line is given only to the readers whose words it holds. All readers' words are searched for
at once: one regular expression (the words as a prefix tree, so the engine tries only the
words that start with the character at hand, the longest first) over each lower-cased line;
a word found stands for the words inside it, and a word that starts inside one found and
ends after it is tested for on its own.

Adding a line reader (tests/unit/test_line_triggers.py checks each point on the recorded
reports):

1. append `(kind, reader)` to `segments.LINE_READERS` (and the kind to `SegmentKind`);
2. declare its words in `segments.LINE_TRIGGERS[kind]`:
   - lower case, looked for as substrings of the lower-cased line, anywhere in it: "torch"
     also triggers on "PyTorch" and "torchvision", "torch " only where a space follows;
   - a necessary condition: whenever the reader returns a reading for a line, that line
     holds one of them. A word too broad only costs time; a word missing hides readings
     (the test runs every reader on every line and compares);
   - on the line where the reading starts (a reader of that line and the next two is given
     the first one);
   - the narrowest text the reader needs ("nvrm version:" rather than "nvrm", "torch-"
     rather than "torch" for a banner that prints "torch-2.0.1"): fewer lines, fewer calls;
3. read at most `segments.READ_WINDOW` lines (the line and the next two), as a pure
   function of them: find_line_facts reads each distinct window once and reuses the answer
   wherever the window repeats. A reader of a run of any length (nccl-tests' device lines)
   goes in `segments.READS_RUNS` instead, and is run at every line it is given.

The result is the same as running each reader on every line: readers run on a line in
LINE_READERS order, and lines in paste order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence

_MEMO_LIMIT = 100_000


class TriggerIndex:
    """For a line, the positions (in reader order) of the readers whose words it holds."""

    def __init__(self, triggers: Sequence[tuple[str, ...]]) -> None:
        """`triggers`: each reader's words, in reader order."""
        words = sorted({word for words in triggers for word in words})
        # At each place the longest word is found; the words inside it are in the line too.
        self._pattern = re.compile(_prefix_tree(words))
        # The search finds the occurrences that do not overlap; a word that starts inside
        # another one found and ends after it ("pid" in "pipid") is looked for explicitly.
        self._overlapping = _overlapping(words)
        self._readers_of: Mapping[str, frozenset[int]] = {
            word: frozenset(position for position, reader_words in enumerate(triggers)
                            if any(inner in word for inner in reader_words))
            for word in words}
        # Memos: the words found in a line (as found, and as a set) -> its readers.
        self._by_words: dict[tuple[str, ...], tuple[tuple[int, ...], tuple[str, ...]]] = {}
        self._by_set: dict[frozenset[str], tuple[int, ...]] = {}

    def readers(self, line: str) -> tuple[int, ...]:
        """The readers `line` is given to, in reader order (empty when none)."""
        lowered = line.lower()
        found = self._pattern.findall(lowered)
        if not found:
            return ()
        key = tuple(found)
        known = self._by_words.get(key)
        if known is None:
            if len(self._by_words) >= _MEMO_LIMIT:  # a long-running process reads many pastes
                self._by_words.clear()
            words = frozenset(found)
            partners = tuple(sorted({other for word in words
                                     for other in self._overlapping.get(word, ())} - words))
            known = self._by_words[key] = (self._positions(words), partners)
        positions, partners = known
        if partners:
            # Every word the search skipped starts inside one it found: a partner of it.
            skipped = tuple(word for word in partners if word in lowered)
            if skipped:
                return self._positions(frozenset((*found, *skipped)))
        return positions

    def _positions(self, words: frozenset[str]) -> tuple[int, ...]:
        positions = self._by_set.get(words)
        if positions is None:
            if len(self._by_set) >= _MEMO_LIMIT:
                self._by_set.clear()
            positions = self._by_set[words] = tuple(sorted(
                set().union(*(self._readers_of[word] for word in words))))
        return positions

    def lines(self, lines: Sequence[str], skip: frozenset[int] = frozenset()
              ) -> Iterator[tuple[int, tuple[int, ...]]]:
        """(line index, readers) for each line given to at least one reader, in order;
        lines in `skip` are given to none."""
        readers = self.readers
        seen: dict[str, tuple[int, ...]] = {}  # a long paste repeats lines
        for index, line in enumerate(lines):
            if not line or index in skip:
                continue
            positions = seen.get(line)
            if positions is None:
                positions = seen[line] = readers(line)
            if positions:
                yield index, positions


def _overlapping(words: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """For each word, the words that can start inside it and end after it: a proper suffix
    of it is a proper prefix of theirs ("pip" and "pid": "pipid")."""
    overlapping: dict[str, tuple[str, ...]] = {}
    for word in words:
        others = tuple(other for other in words
                       if any(other.startswith(word[start:]) and len(word) - start < len(other)
                              for start in range(1, len(word))))
        if others:
            overlapping[word] = others
    return overlapping


def _prefix_tree(words: Sequence[str]) -> str:
    """An alternation of `words` as a prefix tree, the longest word first at each place."""
    by_first: dict[str, list[str]] = {}
    ends_here = False
    for word in words:
        if not word:
            ends_here = True
            continue
        by_first.setdefault(word[0], []).append(word[1:])
    branches = []
    for first, rests in sorted(by_first.items()):
        if rests == [""]:
            branches.append(re.escape(first))
        elif len(rests) == 1:
            branches.append(re.escape(first + rests[0]))
        else:
            branches.append(re.escape(first) + _group(_prefix_tree(rests)))
    tree = "|".join(branches)
    return _group(tree) + "?" if ends_here else tree


def _group(pattern: str) -> str:
    return "(?:" + pattern + ")"
