"""Reading the knowledge data files shipped inside the package.

TOML for people (comments, one fact a line); `tomllib` where Python has it (3.11+),
tomlkit on 3.10. Every file must carry a `sources` list; `load_sources` checks it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from envcheck.errors import EnvcheckError
from envcheck.knowledge.model import Source


class KnowledgeError(EnvcheckError):
    """A shipped data file is malformed: a bug in envcheck's package, not the user's input."""


def read_data_file(name: str) -> dict[str, Any]:
    """Parse envcheck/knowledge/data/<name> into plain Python values."""
    text = (files("envcheck.knowledge") / "data" / name).read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise KnowledgeError(f"knowledge file {name} is not valid TOML: {e}") from e
    import tomlkit

    try:
        return tomlkit.parse(text).unwrap()
    except tomlkit.exceptions.ParseError as e:
        raise KnowledgeError(f"knowledge file {name} is not valid TOML: {e}") from e


def load_sources(name: str, document: dict[str, Any]) -> tuple[Source, ...]:
    raw = document.get("sources")
    if not isinstance(raw, list) or not raw:
        raise KnowledgeError(f"knowledge file {name} has no `sources` list")
    sources = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict) or not {"title", "url", "retrieved"} <= entry.keys():
            raise KnowledgeError(
                f"knowledge file {name}: sources[{index}] needs title, url and retrieved"
            )
        sources.append(Source(title=str(entry["title"]), url=str(entry["url"]),
                              retrieved=str(entry["retrieved"]), note=entry.get("note")))
    return tuple(sources)


def data_error(name: str, where: str, problem: str) -> KnowledgeError:
    """A row of a shipped data file is wrong: `where` names the row, `problem` what is."""
    return KnowledgeError(f"knowledge file {name}: {where}: {problem}",
                          hint="This is a bug in envcheck's shipped data; please report it.")


def source_urls(document: Mapping[str, Any]) -> dict[str, str]:
    """The file's sources by `id`, each to its URL (a source without an id is cited by none)."""
    return {str(entry["id"]): str(entry.get("url", "")) for entry in document.get("sources", [])
            if isinstance(entry, dict) and "id" in entry}
