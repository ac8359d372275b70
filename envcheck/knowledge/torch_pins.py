"""The torch release each release of a package pins (vLLM 0.7.3 requires torch==2.5.1), from
data/torch_pins.toml, which scripts/refresh_torch_pins.py generates from the wheels' METADATA
on PyPI. Installing such a release installs that torch, with the CUDA build PyPI has of it.

The file is validated at first use: a malformed row is a bug in envcheck's package, reported as
KnowledgeError.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file
from envcheck.knowledge.model import Source

PINS_FILE = "torch_pins.toml"
_FIELDS = frozenset({"package", "version", "torch", "source"})


@dataclass(frozen=True, kw_only=True)
class TorchPin:
    package: str
    version: Version
    torch: SpecifierSet
    """The torch requirement of the release's wheel; empty when it names no torch."""
    source: Source

    @property
    def exact(self) -> Version | None:
        """The one torch release the requirement allows (`==2.5.1`), else None."""
        specifiers = list(self.torch)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            return None
        return Version(specifiers[0].version)


@cache
def torch_pins() -> tuple[TorchPin, ...]:
    return parse_torch_pins(read_data_file(PINS_FILE))


def pinned_packages() -> frozenset[str]:
    return frozenset(pin.package for pin in torch_pins())


def pins_of(package: str) -> tuple[TorchPin, ...]:
    return tuple(pin for pin in torch_pins() if pin.package == package)


def pin_for(package: str, version: Version) -> TorchPin | None:
    return next((pin for pin in pins_of(package) if pin.version == version), None)


def parse_torch_pins(document: Mapping[str, Any]) -> tuple[TorchPin, ...]:
    sources = dict(zip((str(entry.get("id")) for entry in document.get("sources", [])),
                       load_sources(PINS_FILE, dict(document)), strict=True))
    rows = []
    for index, entry in enumerate(document.get("pin", [])):
        where = f"knowledge file {PINS_FILE}: pin[{index}]"
        if not isinstance(entry, dict) or not entry.keys() >= _FIELDS:
            raise KnowledgeError(f"{where} needs package, version, torch and source")
        if entry["source"] not in sources:
            raise KnowledgeError(f"{where} cites an unknown source {entry['source']!r}")
        try:
            version = Version(str(entry["version"]))
            torch = SpecifierSet(str(entry["torch"]))
        except (InvalidVersion, InvalidSpecifier) as e:
            raise KnowledgeError(f"{where}: not a version or specifier set: {e}") from e
        rows.append(TorchPin(package=str(entry["package"]), version=version, torch=torch,
                             source=sources[entry["source"]]))
    if not rows:
        raise KnowledgeError(f"knowledge file {PINS_FILE} has no pin rows")
    return tuple(rows)
