"""GPU models: compute capability, architecture, segment and memory of every listed variant,
and the matching of GPU names as tools print them and people write them.

The facts live in gpus.toml, each row citing its sources; this module validates the file once,
caches the records and answers lookups. A malformed file raises KnowledgeError naming the file
and the entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal, get_args

from envcheck.knowledge.data_files import KnowledgeError, data_error, load_sources, read_data_file
from envcheck.knowledge.model import GpuModel, GpuSegment, Source

Architecture = Literal[
    "Tesla", "Kepler", "Maxwell", "Pascal", "Volta", "Turing", "Ampere", "Ada Lovelace", "Hopper",
    "Blackwell",
]

GPU_FILE = "gpus.toml"

_ARCHITECTURES: frozenset[str] = frozenset(get_args(Architecture))
_SEGMENTS: frozenset[str] = frozenset(get_args(GpuSegment))
_CAPABILITY = re.compile(r"\d+\.\d+")


# --- reading and validating -------------------------------------------------------------------


def _fail(where: str, problem: str) -> KnowledgeError:
    return data_error(GPU_FILE, where, problem)


def _text(where: str, entry: Mapping[str, Any], field: str) -> str:
    value = entry.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, f"`{field}` must be a non-empty string, got {value!r}")
    return value


def _cited(where: str, entry: Mapping[str, Any], field: str, ids: frozenset[str]) -> str | None:
    cited = entry.get(field)
    if cited is not None and cited not in ids:
        raise _fail(where, f"cites source {cited!r}, which is not in `sources`")
    return None if cited is None else str(cited)


@cache
def _gpu_document() -> dict[str, Any]:
    return read_data_file(GPU_FILE)


@cache
def gpu_sources() -> tuple[Source, ...]:
    return load_sources(GPU_FILE, _gpu_document())


@cache
def gpu_source_ids() -> frozenset[str]:
    """The ids of gpus.toml's `sources` entries (what a row's `source` may cite)."""
    return _source_ids(_gpu_document())


def _source_ids(document: Mapping[str, Any]) -> frozenset[str]:
    load_sources(GPU_FILE, dict(document))  # raises when the file cites nothing
    return frozenset(
        str(entry["id"]) for entry in document["sources"]
        if isinstance(entry, dict) and "id" in entry
    )


def _segment(text: str) -> GpuSegment:
    match text:
        case "datacenter" | "workstation" | "consumer" | "jetson":
            return text
    raise AssertionError(text)  # _gpu checked membership first


def _memory(where: str, entry: Mapping[str, Any], ids: frozenset[str]) -> tuple[float | None,
                                                                                 str | None]:
    memory = entry.get("memory_gib")
    cited = _cited(where, entry, "memory_source", ids)
    if memory is None:
        if cited is not None:
            raise _fail(where, "`memory_source` without `memory_gib`")
        return None, None
    if isinstance(memory, bool) or not isinstance(memory, int | float) or memory <= 0:
        raise _fail(where, f"`memory_gib` must be a positive number, got {memory!r}")
    if cited is None:
        raise _fail(where, "`memory_gib` needs a `memory_source` naming where it was read")
    return float(memory), cited


def _gpu(where: str, entry: Mapping[str, Any], ids: frozenset[str]) -> GpuModel:
    name = _text(where, entry, "name")
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        raise _fail(where, f"`aliases` must be a list of names, got {aliases!r}")
    capability = _text(where, entry, "compute_capability")
    if not _CAPABILITY.fullmatch(capability):
        raise _fail(where, f"compute capability must be N.N, got {capability!r}")
    architecture = _text(where, entry, "architecture")
    if architecture not in _ARCHITECTURES:
        raise _fail(where, f"unknown architecture {architecture!r}; known: "
                    f"{', '.join(sorted(_ARCHITECTURES))}")
    segment = _text(where, entry, "segment")
    if segment not in _SEGMENTS:
        raise _fail(where, f"unknown segment {segment!r}")
    memory, memory_source = _memory(where, entry, ids)
    return GpuModel(
        name=name, aliases=tuple(aliases), compute_capability=capability,
        architecture=architecture, segment=_segment(segment), memory_gib=memory,
        source=_cited(where, entry, "source", ids), memory_source=memory_source,
    )


@cache
def gpu_models() -> tuple[GpuModel, ...]:
    """Every GPU model in the table, in file order."""
    return parse_gpu_models(_gpu_document())


def parse_gpu_models(document: dict[str, Any]) -> tuple[GpuModel, ...]:
    """The gpu entries of a gpus.toml document, validated: no two read the same."""
    ids = _source_ids(document)
    raw = document.get("gpu")
    if not isinstance(raw, list) or not raw:
        raise _fail("gpu", "needs a non-empty list of gpu entries")
    models = []
    owner_of_key: dict[str, str] = {}
    for index, entry in enumerate(raw):
        where = f"gpu[{index}] ({entry.get('name')!r})" if isinstance(entry, dict) else \
            f"gpu[{index}]"
        if not isinstance(entry, dict):
            raise _fail(where, "is not a table")
        model = _gpu(where, entry, ids)
        for spelling in (model.name, *model.aliases):
            key = _normalize(spelling).key
            if not key:
                raise _fail(where, f"{spelling!r} is only brand words")
            owner = owner_of_key.setdefault(key, model.name)
            if owner != model.name:
                raise _fail(where, f"{spelling!r} reads the same as {owner!r}")
        models.append(model)
    return tuple(models)


# --- GPU name matching ------------------------------------------------------------------------

# "GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-...)" from collect_env / nvidia-smi -L, the
# "|   0  NVIDIA GeForce RTX 4090 ...Off |" cell of the nvidia-smi table and the "0, NVIDIA ..."
# of --query-gpu=index,name. A bare index needs the table's pipe, a comma, two spaces or a brand
# word after it, so "3070 Laptop" keeps its model number.
_REPORT_PREFIX = re.compile(
    r"^\s*(?:GPU\s+\d+\s*:\s*|\|\s*\d+\s+(?=\D)|\|\s*|\d{1,2}\s*,\s*|\d{1,2}\s{2,}(?=\D)"
    r"|\d{1,2}\s+(?=(?:nvidia|geforce|tesla|quadro)\b))", re.IGNORECASE)
_ID_SUFFIX = re.compile(r"\s*\((?:UUID|S/N)\s*:[^)]*\)\s*\|?\s*$", re.IGNORECASE)
_TRUNCATION = re.compile(r"\.\.\.|\u2026")
_SEPARATORS = re.compile(r"[\s\-_|]+")
# "2x A6000", "8 x H100", "A6000 x2": a count of GPUs around the name.
_COUNT_BEFORE = re.compile(r"^\s*(\d+)\s*[x\u00d7*]\s*(?=\S)(.*)$", re.IGNORECASE)
_COUNT_AFTER = re.compile(r"^(.*\S)\s+[x\u00d7*]\s*(\d+)\s*$", re.IGNORECASE)
_BRAND_WORDS = frozenset({"nvidia", "geforce", "tesla", "quadro", "gpu"})
_PERSISTENCE_WORDS = frozenset({"on", "off"})
# Series words written glued to the number ("RTX3060", "GTX1080Ti") and the suffix glued to it.
_GLUED_SERIES = re.compile(r"^(rtx|gtx)(\d.*)$")
_GLUED_SUFFIX = re.compile(r"^(\d{3,4})(ti|super)$")
# Words that tell boards of one GPU apart (memory size, package, laptop part) but never its
# compute capability, so dropping them leads from "A100-PCIE-80GB" to the A100 family.
_VARIANT_WORD = re.compile(r"\d+gb|hbm\d*e?|sxm\d*|pcie|nvl\d*|laptop")
_MEMORY_WORD = re.compile(r"(\d+)gb")
# A series word before a model number ("RTX 3090", "RTX A6000"): people leave it out.
_SERIES_WORDS = frozenset({"rtx", "gtx", "gt"})
_MODEL_NUMBER = re.compile(r"[a-z]?\d.*")


@dataclass(frozen=True, kw_only=True)
class _Normalized:
    key: str
    """The comparable words of the name, space-separated."""
    truncated: bool
    """The name was cut short ("...") by nvidia-smi."""


def split_gpu_count(text: str) -> tuple[int, str]:
    """("2x A6000" -> (2, "A6000")): how many GPUs a written name stands for, and the name."""
    before = _COUNT_BEFORE.match(text)
    if before is not None and before.group(2).strip():
        return int(before.group(1)), before.group(2).strip()
    after = _COUNT_AFTER.match(text)
    if after is not None:
        return int(after.group(2)), after.group(1).strip()
    return 1, text.strip()


def _words(text: str) -> list[str]:
    words: list[str] = []
    for word in _SEPARATORS.split(text.lower()):
        glued = _GLUED_SERIES.match(word)
        parts = [glued.group(1), glued.group(2)] if glued else [word]
        for part in parts:
            suffix = _GLUED_SUFFIX.match(part)
            words.extend([suffix.group(1), suffix.group(2)] if suffix else [part])
    # NVML says "Laptop GPU" where spec sheets say "Mobile".
    return ["laptop" if w == "mobile" else w for w in words if w]


def _normalize(text: str) -> _Normalized:
    cleaned = _ID_SUFFIX.sub("", text)
    cleaned = _REPORT_PREFIX.sub("", cleaned)
    parts = _TRUNCATION.split(cleaned, maxsplit=1)
    truncated = len(parts) > 1
    words = _words(parts[0])
    while words and not truncated and words[-1] in _PERSISTENCE_WORDS:
        words.pop()
    return _Normalized(key=" ".join(w for w in words if w not in _BRAND_WORDS),
                       truncated=truncated)


def _family(key: str) -> str:
    return " ".join(w for w in key.split() if not _VARIANT_WORD.fullmatch(w))


def _short(key: str) -> str | None:
    """The key without its leading series word ("rtx 3090" -> "3090"), when it has one."""
    words = key.split()
    if len(words) > 1 and words[0] in _SERIES_WORDS and _MODEL_NUMBER.fullmatch(words[1]):
        return " ".join(words[1:])
    return None


@dataclass(frozen=True, kw_only=True)
class _GpuIndex:
    exact: Mapping[str, GpuModel]
    family: Mapping[str, tuple[GpuModel, ...]]
    short: Mapping[str, tuple[GpuModel, ...]]
    short_family: Mapping[str, tuple[GpuModel, ...]]
    keys: Mapping[str, frozenset[str]]
    """Every normalized spelling of each model, by model name."""


def _add(index: dict[str, list[GpuModel]], key: str, model: GpuModel) -> None:
    members = index.setdefault(key, [])
    if model not in members:
        members.append(model)


def _frozen(index: dict[str, list[GpuModel]]) -> dict[str, tuple[GpuModel, ...]]:
    return {key: tuple(models) for key, models in index.items()}


@cache
def _gpu_index() -> _GpuIndex:
    exact: dict[str, GpuModel] = {}
    family: dict[str, list[GpuModel]] = {}
    short: dict[str, list[GpuModel]] = {}
    short_family: dict[str, list[GpuModel]] = {}
    keys: dict[str, set[str]] = {}
    for model in gpu_models():
        for spelling in (model.name, *model.aliases):
            key = _normalize(spelling).key
            exact[key] = model
            keys.setdefault(model.name, set()).add(key)
            _add(family, _family(key), model)
            without_series = _short(key)
            if without_series is not None:
                _add(short, without_series, model)
                _add(short_family, _family(without_series), model)
    return _GpuIndex(exact=exact, family=_frozen(family), short=_frozen(short),
                     short_family=_frozen(short_family),
                     keys={name: frozenset(k) for name, k in keys.items()})


def _narrowed(key: str, candidates: Sequence[GpuModel],
              index: _GpuIndex) -> tuple[list[GpuModel], bool]:
    """The candidates the name's variant words ("80gb", "sxm5", "pcie") pick out, and whether
    every such word picked some. A word that picks none leaves the candidates as they were:
    the table cannot tell which variant is meant, so no memory is answered for it."""
    kept = list(candidates)
    all_matched = True
    for word in key.split():
        if not _VARIANT_WORD.fullmatch(word):
            continue
        size = _MEMORY_WORD.fullmatch(word)
        picked = [
            m for m in kept
            if any(word in k.split() for k in index.keys[m.name])
            or (size is not None and m.memory_gib == float(size.group(1)))
        ]
        if picked:
            kept = picked
        else:
            all_matched = False
    return kept, all_matched


def _fallback(key: str, index: _GpuIndex) -> list[GpuModel] | None:
    """The listed variants a name stands for when it is no listed spelling, or None."""
    for candidates in (index.family.get(_family(key)), index.short.get(key),
                       index.short_family.get(_family(key))):
        if candidates:
            kept, all_matched = _narrowed(key, candidates, index)
            if not all_matched:
                # "V100S-PCIE-16GB": the family is known, that board is not.
                kept = [replace(m, memory_gib=None, memory_source=None) for m in kept]
            return kept
    return None


def _common_name(models: Sequence[GpuModel]) -> str:
    """The words all candidates' names begin with ("NVIDIA A100" for the A100 boards)."""
    split = [[w for w in re.split(r"[\s\-]+", m.name) if w] for m in models]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if any(w.lower() != words[0].lower() for w in words):
            break
        common.append(words[0])
    name = " ".join(common) or models[0].name
    return f"{name} family" if any(m.name == name for m in models) else name


def _agreed(candidates: Sequence[GpuModel]) -> GpuModel | None:
    """One model standing for the candidates when all share one compute capability: the
    candidate itself when there is one, else the family (its common name, memory only when
    every variant has the same); None when they disagree (ambiguous) or there are none."""
    if not candidates:
        return None
    if len({(m.compute_capability, m.architecture) for m in candidates}) != 1:
        return None
    if len(candidates) == 1:
        return candidates[0]
    sizes = {(m.memory_gib, m.memory_source) for m in candidates}
    memory, memory_source = next(iter(sizes)) if len(sizes) == 1 else (None, None)
    return replace(candidates[0], name=_common_name(candidates), aliases=(),
                   memory_gib=memory, memory_source=memory_source)


def find_gpu(name: str) -> GpuModel | None:
    """The GPU model a reported or written name refers to, or None when it is unknown or
    ambiguous.

    Accepts the spellings of NVML, `nvidia-smi -L` and collect_env ("GPU 0: ...", "(UUID:
    ...)"), nvidia-smi's table cell (long names end in "..." and a persistence column), and
    what people write: "RTX3060", "3090", "2x A6000", "3070 Laptop", "Tesla T4". Brand words
    (NVIDIA, GeForce, Tesla, Quadro), case, dashes and spaces do not count. A name that
    matches no model exactly falls back to its family once memory size, package and laptop
    words are dropped ("A100-PCIE-80GB" -> A100), and only when every model of that family has
    one compute capability. A name that stands for several listed variants returns a model
    for the family: its common name, and memory only when every variant has the same. A
    different model ("RTX 4090 Ti") is not a variant and stays None: the answer is never a
    neighbour's.
    """
    normalized = _normalize(split_gpu_count(name)[1])
    key = normalized.key
    if not key:
        return None
    index = _gpu_index()
    if normalized.truncated:
        return _agreed([m for k, m in index.exact.items() if k.startswith(key)])
    if key in index.exact:
        return index.exact[key]
    candidates = _fallback(key, index)
    return None if candidates is None else _agreed(candidates)


def gpu_memory_gib(name: str) -> float | None:
    """The memory of one GPU of the named variant ("RTX 4060 Ti 16GB" -> 16.0); None when
    the name is unknown, or stands for variants of different sizes ("A100", "RTX 3060")."""
    model = find_gpu(name)
    return None if model is None else model.memory_gib


def gpu_variants(name: str) -> tuple[GpuModel, ...]:
    """The listed variants a family name stands for ("RTX 4060 Ti" -> the 8GB and 16GB
    rows), to say what to choose from; () when the name is exact, unknown or ambiguous."""
    normalized = _normalize(split_gpu_count(name)[1])
    index = _gpu_index()
    if not normalized.key or normalized.truncated or normalized.key in index.exact:
        return ()
    candidates = _fallback(normalized.key, index)
    if candidates is None or len(candidates) < 2 or _agreed(candidates) is None:
        return ()
    return tuple(candidates)


def gpus_with_capability(compute_capability: str) -> tuple[GpuModel, ...]:
    """Every GPU model of the given compute capability ("8.9"), in file order."""
    wanted = compute_capability.strip()
    return tuple(m for m in gpu_models() if m.compute_capability == wanted)
