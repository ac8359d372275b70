"""The error-signature table: messages users paste, and the causes that produce them.

`envcheck doctor --error TEXT` runs `match_error` over the pasted text and `ranked_categories`
over the matches; the rules then confirm or rule out each category against the Snapshot.
The table lives in envcheck/knowledge/data/error_signatures.toml and is validated once, at
first use: a malformed entry is a bug in envcheck's package, reported as KnowledgeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeGuard, get_args

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file
from envcheck.knowledge.model import Category, ErrorSignature, Source

DATA_FILE = "error_signatures.toml"

_FIELDS = frozenset({"id", "pattern", "example", "categories", "explanation", "source"})
# `decides = true`: the message itself states its first category (torch comparing its own
# CUDA with the driver's, the loader naming the glibc it lacks), so reading it is a fact.
_OPTIONAL = frozenset({"decides"})
_KEBAB_CASE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CATEGORIES: frozenset[str] = frozenset(get_args(Category))
# Pasted errors come in any capitalisation ("CUDA Error:", "cuda error:").
_FLAGS = re.IGNORECASE

_Table = tuple[tuple[ErrorSignature, "re.Pattern[str]"], ...]


@dataclass(frozen=True, kw_only=True)
class SignatureMatch:
    signature: ErrorSignature
    matched_text: str
    """The part of the input that matched the signature's pattern (its first occurrence)."""


@cache
def error_signatures() -> tuple[ErrorSignature, ...]:
    """Every signature in the table, in file order."""
    return tuple(signature for signature, _ in _compiled_table())


@cache
def deciding_signatures() -> frozenset[str]:
    """Ids of the signatures whose message states its cause (`decides = true`)."""
    raw = read_data_file(DATA_FILE).get("signature")
    entries = raw if isinstance(raw, list) else []
    error_signatures()  # validates the table first
    return frozenset(str(entry["id"]) for entry in entries
                     if isinstance(entry, Mapping) and entry.get("decides") is True)


@cache
def signature_sources() -> tuple[Source, ...]:
    return load_sources(DATA_FILE, read_data_file(DATA_FILE))


@lru_cache(maxsize=8)
def match_error(text: str) -> tuple[SignatureMatch, ...]:
    """All signatures whose pattern occurs in `text`, ordered by where they first occur.

    A traceback often holds several messages (a warning, the error, the error raised while
    handling it), so every matching signature is returned, each once. Signatures that start
    at the same place keep the table's order. The last few answers are kept: the doctor asks
    about the same pasted text while reading it, judging it and raising what it states.
    """
    found: list[tuple[int, int, SignatureMatch]] = []
    lowered = text.lower()
    # lower() keeps offsets only when it keeps the length (true for almost every paste).
    same_offsets = len(lowered) == len(text)
    # No literal or required text holds a line break, so whether one is in the paste is
    # answered by its distinct lines: a long paste repeats lines, and most texts are absent.
    distinct = "\n".join(dict.fromkeys(lowered.split("\n")))
    held = _Held(distinct)
    for index, (signature, pattern) in enumerate(_compiled_table()):
        literals = _literals()[index]
        if literals is None:
            hit = pattern.search(text)
        else:
            # A 5 MB paste: 100 case-insensitive regexes over it take seconds; a substring
            # test each, and the regex only around where its literal occurs, milliseconds.
            if not any(held(literal) for literal in literals) or not all(
                    any(all(held(part) for part in texts) for texts in alternatives)
                    for alternatives in _required()[index]):
                continue
            anchors = _anchors()[index]
            positions = [p for p in (lowered.find(anchor) for anchor in anchors if held(anchor))
                         if p != -1]
            if not positions:
                continue  # every match holds one of the anchors
            hit = (_search_near(pattern, text, lowered, anchors, min(positions),
                                required=_required()[index])
                   if same_offsets else pattern.search(text))
        if hit is not None:
            match = SignatureMatch(signature=signature, matched_text=hit.group(0))
            found.append((hit.start(), index, match))
    found.sort(key=lambda item: (item[0], item[1]))
    return tuple(match for _, _, match in found)


def ranked_categories(matches: Iterable[SignatureMatch]) -> tuple[Category, ...]:
    """The categories behind `matches`, most likely first, each once.

    Each match votes for its signature's categories with weight 1, 1/2, 1/3, ... by their
    position, and the votes add up across matches, so a cause that several messages point to
    outranks one that a single message names second. Ties go to the category named earliest:
    by the earlier match, then by its position within that signature.
    """
    score: dict[Category, float] = {}
    first_named: dict[Category, tuple[int, int]] = {}
    for match_index, match in enumerate(matches):
        for position, category in enumerate(match.signature.categories):
            score[category] = score.get(category, 0.0) + 1.0 / (position + 1)
            first_named.setdefault(category, (match_index, position))
    return tuple(sorted(score, key=lambda category: (-score[category], first_named[category])))


# How far before its literal a match may start (patterns bound their gaps to 200 characters).
_LOOKBEHIND = 2_000
_LITERAL_CHARS = re.compile(r"[A-Za-z0-9 _,;:'\"/=<>!@%&`~-]")
_QUANTIFIERS = frozenset("?*+{")


_NEAR_TRIES = 20


def _search_near(pattern: re.Pattern[str], text: str, lowered: str, literals: tuple[str, ...],
                 first: int, *, required: tuple[tuple[tuple[str, ...], ...], ...] = (),
                 ) -> re.Match[str] | None:
    """The first match of `pattern`, which contains one of `literals`: tried in a window
    around each occurrence of them in turn; after a few misses, in the regions around the
    rest, windows that overlap merged into one region (searched once). A window without
    the `required` texts (which every match holds) holds no match, and is not searched."""
    position = first
    for _ in range(_NEAR_TRIES):
        window_start = max(0, position - _LOOKBEHIND)
        window_end = min(len(text), position + _LOOKBEHIND)
        hit = (pattern.search(text, window_start, window_end) if _holds_required(
            required, lowered[window_start:window_end]) else None)
        if hit is not None:
            return hit
        following = _next_occurrence(lowered, literals, position)
        if following is None:
            return None
        position = following
    # A message repeated through a 5 MB paste without ever matching: the whole rest would be
    # searched; its occurrences lie in a few places (where the log printed it).
    start, end = max(0, position - _LOOKBEHIND), position + _LOOKBEHIND
    while True:
        following = _next_occurrence(lowered, literals, position)
        if following is not None and following - _LOOKBEHIND <= end:
            position, end = following, following + _LOOKBEHIND
            continue
        region_end = min(len(text), end)
        hit = (pattern.search(text, start, region_end) if _holds_required(
            required, lowered[start:region_end]) else None)
        if hit is not None or following is None:
            return hit
        position = following
        start, end = following - _LOOKBEHIND, following + _LOOKBEHIND


# Every ASCII digit as 0: a text's digits so mapped are in a paste's digits so mapped
# whenever the text is in the paste (the map changes each character alone).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


class _Held:
    """Whether a text (lower case, no line break) is in a paste's distinct lowered lines,
    each text asked once. A long log's lines differ mostly in their numbers (a step, a loss,
    a time): with every digit as 0 they are a few distinct lines, a few kilobytes where the
    paste is megabytes, and a text absent there is absent from the paste, found so without
    a search through it. A text found there is looked for in the paste itself."""

    def __init__(self, distinct: str) -> None:
        self._distinct = distinct
        shapes = b"\n".join(dict.fromkeys(_digits_as_zero(distinct).split(b"\n")))
        # Lines that stay distinct with their digits as 0 (prose): one search, not two.
        self._shapes = shapes if 2 * len(shapes) < len(distinct) else None
        self._known: dict[str, bool] = {}

    def __call__(self, text: str) -> bool:
        known = self._known.get(text)
        if known is None:
            known = self._known[text] = (
                self._shapes is None or _digits_as_zero(text) in self._shapes) and (
                    text in self._distinct)
        return known


def _digits_as_zero(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass").translate(_DIGITS_AS_ZERO)


def _next_occurrence(lowered: str, literals: tuple[str, ...], position: int) -> int | None:
    found = [p for p in (lowered.find(literal, position + 1) for literal in literals)
             if p != -1]
    return min(found) if found else None


def _holds_required(required: tuple[tuple[tuple[str, ...], ...], ...], lowered: str) -> bool:
    return all(any(all(text in lowered for text in texts) for texts in alternatives)
               for alternatives in required)


@cache
def _required() -> tuple[tuple[tuple[tuple[str, ...], ...], ...], ...]:
    return tuple(required_texts(signature.pattern) for signature in error_signatures())


def required_texts(pattern: str) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """What every match of `pattern` contains (lower case), beyond its one literal: each item
    is a choice of alternatives, and every text of one of them is in any match. Read from the
    top level: each literal text of 4 or more characters outside groups, classes and
    quantifiers is one item; a group not under a quantifier whose every alternative has such
    texts is another. A 5 MB paste that holds the literal but not the rest is answered by
    testing these texts, where the pattern would be searched through the whole paste."""
    if len(_top_level_branches(pattern)) > 1:
        return ()
    runs, groups = _top_level_pieces(pattern)
    required: list[tuple[tuple[str, ...], ...]] = [((run,),) for run in runs]
    for group in groups:
        alternatives = tuple(tuple(_top_level_pieces(branch)[0]) if len(
            _top_level_branches(branch)) == 1 else () for branch in _top_level_branches(group))
        if all(alternatives):
            required.append(alternatives)
    return tuple(required)


def _top_level_pieces(pattern: str) -> tuple[list[str], list[str]]:
    """The literal texts (lower case, >= 4 characters) outside groups, classes and
    quantifiers, and the contents of the groups (not lookarounds) not under a quantifier."""
    runs: list[str] = []
    groups: list[str] = []
    current: list[str] = []
    depth = 0
    group_start: int | None = None
    index = 0

    def end_run() -> None:
        if len(current) >= 4:
            runs.append("".join(current).lower())
        current.clear()

    while index < len(pattern):
        char = pattern[index]
        following = pattern[index + 1] if index + 1 < len(pattern) else ""
        if char == "\\":
            escaped = pattern[index + 1:index + 2]
            index += 2
            quantified = pattern[index:index + 1] in _QUANTIFIERS
            if depth == 0 and escaped and not escaped.isalnum() and not quantified:
                current.append(escaped)
            else:
                end_run()
            continue
        if char == "[":
            end_run()
            close = pattern.find("]", index + 2)
            index = close + 1 if close != -1 else len(pattern)
            continue
        if char == "{":  # a counted quantifier: its numbers are not text
            end_run()
            close = pattern.find("}", index)
            index = close + 1 if close != -1 else len(pattern)
            continue
        if char == "(":
            if depth == 0:
                end_run()
                group_start = _group_content_start(pattern, index)
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                if group_start is not None and following not in _QUANTIFIERS:
                    groups.append(pattern[group_start:index])
                group_start = None
        elif depth == 0 and _LITERAL_CHARS.fullmatch(char) and following not in _QUANTIFIERS:
            current.append(char)
        elif depth == 0:
            end_run()
        index += 1
    end_run()
    return runs, groups


def _group_content_start(pattern: str, index: int) -> int | None:
    """Where the content of the group opened at `index` starts; None for a lookaround or an
    inline flag, whose content a match need not hold."""
    if pattern.startswith("(?:", index):
        return index + 3
    if pattern.startswith("(?P<", index):
        close = pattern.find(">", index)
        return close + 1 if close != -1 else None
    if pattern.startswith("(?", index):
        return None
    return index + 1


@cache
def _literals() -> tuple[tuple[str, ...] | None, ...]:
    return tuple(required_literals(signature.pattern) for signature in error_signatures())


@cache
def _anchors() -> tuple[tuple[str, ...], ...]:
    """For each signature with literals, the texts around which its pattern is searched:
    its literals, or the texts of a required group when they are longer (a group of long
    phrases before a short word: "(?:Could not find a version that satisfies the
    requirement|No matching distribution found for) torch" is searched around the phrases,
    not around every " torch" of a paste). Every match holds one of either."""
    return tuple(_anchor_texts(literals, required) if literals is not None else ()
                 for literals, required in zip(_literals(), _required(), strict=True))


def _anchor_texts(literals: tuple[str, ...],
                  required: tuple[tuple[tuple[str, ...], ...], ...]) -> tuple[str, ...]:
    best = literals
    for alternatives in required:
        if not all(alternatives):
            continue
        texts = tuple(max(texts, key=len) for texts in alternatives)
        if min(map(len, texts)) > min(map(len, best)):
            best = texts
    return best


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Texts one of which every match contains: one per top-level alternative (a pattern
    that is one group of alternatives counts as top level); None when one has none."""
    branches = _top_level_branches(pattern)
    if len(branches) == 1 and pattern.startswith("(?:") and pattern.endswith(")") and (
            len(_top_level_branches(pattern[3:-1])) > 1):
        branches = _top_level_branches(pattern[3:-1])
    literals = [required_literal(branch) for branch in branches]
    if any(literal is None for literal in literals):
        return None
    return tuple(literal for literal in literals if literal is not None)


def _top_level_branches(pattern: str) -> list[str]:
    branches: list[str] = []
    depth, start, index = 0, 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            close = pattern.find("]", index + 2)
            index = close + 1 if close != -1 else len(pattern)
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            branches.append(pattern[start:index])
            start = index + 1
        index += 1
    branches.append(pattern[start:])
    return branches


def required_literal(pattern: str) -> str | None:
    """The longest lower-case text every match of `pattern` contains (>= 4 characters), read
    from its top level (outside groups and classes, not under a quantifier); None when the
    pattern has a top-level alternative or no such text."""
    if len(_top_level_branches(pattern)) > 1:
        return None
    runs, _groups = _top_level_pieces(pattern)
    return max(runs, key=len, default=None)


@cache
def _compiled_table() -> _Table:
    return _build_table(read_data_file(DATA_FILE))


def _build_table(document: Mapping[str, Any]) -> _Table:
    load_sources(DATA_FILE, dict(document))
    raw = document.get("signature")
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"knowledge file {DATA_FILE} has no [[signature]] entries")
    table: list[tuple[ErrorSignature, re.Pattern[str]]] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(raw):
        signature, pattern = _parse_signature(index, entry)
        if signature.id in first_index:
            raise _entry_error(f"signature[{index}] {signature.id!r}", "id appears more than "
                               f"once (also signature[{first_index[signature.id]}])")
        first_index[signature.id] = index
        table.append((signature, pattern))
    return tuple(table)


def _parse_signature(index: int, entry: object) -> tuple[ErrorSignature, re.Pattern[str]]:
    if not isinstance(entry, Mapping):
        raise KnowledgeError(f"knowledge file {DATA_FILE}: signature[{index}] is not a table")
    name = f"signature[{index}] {entry.get('id')!r}"
    missing = _FIELDS - entry.keys()
    unknown = entry.keys() - _FIELDS - _OPTIONAL
    if missing:
        raise _entry_error(name, f"missing fields {sorted(missing)}")
    if unknown:
        raise _entry_error(name, f"unknown fields {sorted(unknown)} "
                                 f"(allowed: {sorted(_FIELDS | _OPTIONAL)})")
    if not isinstance(entry.get("decides", False), bool):
        raise _entry_error(name, "decides must be true or false")
    signature_id = _text(name, entry, "id")
    if not _KEBAB_CASE.fullmatch(signature_id):
        raise _entry_error(name, "id must be kebab-case (lower-case words joined by '-')")
    pattern_text = _text(name, entry, "pattern")
    try:
        pattern = re.compile(pattern_text, _FLAGS)
    except re.error as e:
        raise _entry_error(name, f"pattern does not compile: {e}") from e
    example = _text(name, entry, "example")
    if pattern.search(example) is None:
        raise _entry_error(name, "the example does not match the pattern")
    source = _text(name, entry, "source")
    if not source.startswith(("https://", "http://")):
        raise _entry_error(name, f"source must be the URL where the example was seen, "
                                 f"got {source!r}")
    signature = ErrorSignature(
        id=signature_id,
        pattern=pattern_text,
        example=example,
        categories=_categories(name, entry["categories"]),
        explanation=_text(name, entry, "explanation"),
        source=source,
    )
    return signature, pattern


def _categories(name: str, raw: Any) -> tuple[Category, ...]:
    if not isinstance(raw, list) or not raw:
        raise _entry_error(name, "categories must be a non-empty list")
    categories: list[Category] = []
    for value in raw:
        if not _is_category(value):
            raise _entry_error(name, f"category {value!r} is not one of {sorted(_CATEGORIES)}")
        if value in categories:
            raise _entry_error(name, f"category {value!r} is listed twice")
        categories.append(value)
    return tuple(categories)


def _is_category(value: object) -> TypeGuard[Category]:
    return isinstance(value, str) and value in _CATEGORIES


def _text(name: str, entry: Mapping[str, Any], field: str) -> str:
    value = entry[field]
    if not isinstance(value, str) or not value.strip():
        raise _entry_error(name, f"{field} must be a non-empty string")
    return value


def _entry_error(name: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge file {DATA_FILE}: {name}: {problem}")
