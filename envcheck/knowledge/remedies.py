"""The remedy table: changes reporters try, and the cause a change that worked points at.

The table lives in envcheck/knowledge/data/remedies.toml (each row cites the maintainers'
reading of the change); envcheck/reports/remedies.py finds the rows in a paste.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeGuard, get_args

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file
from envcheck.knowledge.model import Category, Source

DATA_FILE = "remedies.toml"

_REQUIRED = frozenset({"id", "pattern", "words", "example", "category", "summary",
                       "explanation", "fix", "source"})
_OPTIONAL = frozenset({"context", "seen"})
_KEBAB_CASE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CATEGORIES: frozenset[str] = frozenset(get_args(Category))


@dataclass(frozen=True, kw_only=True)
class Remedy:
    id: str
    pattern: re.Pattern[str]
    words: tuple[str, ...]
    """Lower-case texts one of which every match of `pattern` contains."""
    context: re.Pattern[str] | None
    """The paste must also match this for the change to tell anything."""
    example: str
    category: Category
    summary: str
    explanation: str
    fix: str
    source: str


@cache
def remedies() -> tuple[Remedy, ...]:
    """Every remedy in the table, in file order (validated once)."""
    document = read_data_file(DATA_FILE)
    load_sources(DATA_FILE, document)
    raw = document.get("remedy")
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"knowledge file {DATA_FILE} has no [[remedy]] entries")
    table = [_parse(index, entry) for index, entry in enumerate(raw)]
    ids = [remedy.id for remedy in table]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise KnowledgeError(f"knowledge file {DATA_FILE}: ids appear twice: {duplicated}")
    return tuple(table)


@cache
def remedy_sources() -> tuple[Source, ...]:
    return load_sources(DATA_FILE, read_data_file(DATA_FILE))


def _parse(index: int, entry: object) -> Remedy:
    if not isinstance(entry, Mapping):
        raise KnowledgeError(f"knowledge file {DATA_FILE}: remedy[{index}] is not a table")
    name = f"remedy[{index}] {entry.get('id')!r}"
    missing = _REQUIRED - entry.keys()
    unknown = entry.keys() - _REQUIRED - _OPTIONAL
    if missing or unknown:
        raise _error(name, f"missing fields {sorted(missing)}, unknown fields {sorted(unknown)}")
    words = entry["words"]
    if not isinstance(words, list) or not words or not all(
            isinstance(word, str) and word and word == word.lower() for word in words):
        raise _error(name, "words must be a non-empty list of lower-case texts")
    text = {key: _text(name, entry, key)
            for key in (_REQUIRED - {"words"}) | (_OPTIONAL & entry.keys())}
    if not _KEBAB_CASE.fullmatch(text["id"]):
        raise _error(name, "id must be kebab-case")
    category = text["category"]
    if not _is_category(category):
        raise _error(name, f"category {category!r} is not one of {sorted(_CATEGORIES)}")
    for url in (text["source"], text.get("seen", "https://")):
        if not url.startswith("https://"):
            raise _error(name, f"sources are URLs, got {url!r}")
    pattern = _compile(name, text["pattern"])
    if pattern.search(text["example"]) is None:
        raise _error(name, "the example does not match the pattern")
    if not any(word in text["example"].lower() for word in words):
        raise _error(name, "the example holds none of its words")
    context = _compile(name, text["context"]) if "context" in text else None
    return Remedy(id=text["id"], pattern=pattern, words=tuple(words), context=context,
                  example=text["example"], category=category, summary=text["summary"],
                  explanation=text["explanation"], fix=text["fix"], source=text["source"])


def _compile(name: str, pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as e:
        raise _error(name, f"pattern does not compile: {e}") from e


def _is_category(value: str) -> TypeGuard[Category]:
    return value in _CATEGORIES


def _text(name: str, entry: Mapping[str, Any], key: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value.strip():
        raise _error(name, f"{key} must be a non-empty string")
    return value


def _error(name: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge file {DATA_FILE}: {name}: {problem}")
