"""torchvision for the torch releases older than the torch tables (1.0 to 1.12), from
torchvision's README compatibility table (envcheck/knowledge/data/companion_pairs.toml)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from packaging.version import Version

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file, source_urls
from envcheck.versions import version_or_none

DATA_FILE = "companion_pairs.toml"


@dataclass(frozen=True, kw_only=True)
class CompanionPair:
    torch: Version
    """major.minor; 1.0 stands for every release up to 1.0."""
    torchvision: tuple[Version, ...]
    """Version prefixes: 0.4.2 matches 0.4.2 only, 0.10 any 0.10.x."""
    source: str

    def accepts(self, version: Version) -> bool:
        return any(version.release[:len(p.release)] == p.release for p in self.torchvision)


@cache
def companion_pairs() -> tuple[CompanionPair, ...]:
    document = read_data_file(DATA_FILE)
    load_sources(DATA_FILE, document)
    urls = source_urls(document)
    pairs = []
    for index, entry in enumerate(document.get("pair") or []):
        where = f"knowledge file {DATA_FILE}: pair[{index}]"
        torch = version_or_none(str(entry.get("torch", "")))
        visions = [version_or_none(str(v)) for v in entry.get("torchvision") or []]
        if torch is None or not visions or None in visions:
            raise KnowledgeError(f"{where}: torch and torchvision must be versions")
        if entry.get("source") not in urls:
            raise KnowledgeError(f"{where}: source is not one of the file's sources")
        pairs.append(CompanionPair(torch=torch, torchvision=tuple(v for v in visions if v),
                                   source=urls[str(entry["source"])]))
    if [p.torch for p in pairs] != sorted({p.torch for p in pairs}):
        raise KnowledgeError(f"knowledge file {DATA_FILE}: pairs not sorted or duplicated")
    return tuple(pairs)


def pair_for(torch: Version) -> CompanionPair | None:
    """The row for this torch release: its major.minor, or 1.0's for anything older."""
    minor = Version(".".join(str(p) for p in (*torch.release, 0)[:2]))
    pairs = companion_pairs()
    if pairs and minor < pairs[0].torch:
        return pairs[0]
    return next((p for p in pairs if p.torch == minor), None)
