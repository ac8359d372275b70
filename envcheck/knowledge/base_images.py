"""The default base image per torch CUDA variant: an nvidia/cuda runtime tag, cited, and
where one was read, the digest of a known-good image of that tag, cited too.

Loaded once from data/cuda_base_images.toml and validated: every entry cites a source, a
variant appears once, and a tag names its CUDA version, which must be the variant's. A
digest is sha256 and 64 lowercase hex digits, and is backed by the files it was read in:
two or more, or one showing a registry resolving it; each names where it was read and
quotes text holding the digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal, get_args

from envcheck.knowledge.data_files import (
    KnowledgeError,
    data_error,
    load_sources,
    read_data_file,
    source_urls,
)
from envcheck.knowledge.model import Source
from envcheck.knowledge.torch_tables import parse_variant_name

BASE_IMAGES_FILE = "cuda_base_images.toml"

_TAG = re.compile(r"^(?P<cuda>\d+\.\d+)\.\d+-runtime-(?P<os>[a-z]+\d+(?:\.\d+)?)$")
_MINOR = re.compile(r"^\d+\.\d+$")
_DIGEST = re.compile(r"^sha256:(?P<hex>[0-9a-f]{64})$")

DigestEvidence = Literal["pin", "registry-resolution"]
"""What a cited file shows: a repository pinning the digest, or a registry resolving the tag
to it (a BuildKit resolve line, docker pull's Digest:, a registry look-up record)."""


@dataclass(frozen=True, kw_only=True)
class DigestSource:
    """One public file a default digest was read in."""

    shows: DigestEvidence
    read: str
    """The text as read; it holds the digest's 64 hex digits."""
    retrieved: str
    """The day it was read (YYYY-MM-DD)."""
    repository: str | None = None
    """owner/name, where the code index named it."""
    path: str | None = None
    commit: str | None = None
    index_id: str | None = None
    """The stored file's id in the public code index, where it named no repository."""
    note: str | None = None

    @property
    def where(self) -> str:
        if self.repository is not None:
            at = f" at {self.commit}" if self.commit else ""
            return f"{self.repository} {self.path}{at}"
        return f"code index file {self.index_id}"


UNSUPPORTED_TAGS_SOURCE = "unsupported-tags"
"""The table's source id for NVIDIA's doc/unsupported-tags.md."""


@dataclass(frozen=True, kw_only=True)
class CudaBaseImage:
    variant: str
    """The torch variant it serves ("cu130")."""
    image: str
    """The repository ("nvidia/cuda")."""
    tag: str
    os: str
    """The distribution inside ("ubuntu22.04")."""
    os_python: str
    """The CPython minor the distribution packages as python3 ("3.10")."""
    digest: str | None = None
    """"sha256:<hex>" of a known-good image of the tag; None where none was read."""
    digest_sources: tuple[DigestSource, ...] = ()
    digest_note: str | None = None
    source: str = ""
    """The id of the NVIDIA list the tag was read in."""

    @property
    def unsupported_tag(self) -> bool:
        """NVIDIA lists the tag as unsupported: it gets no more rebuilds (security fixes).
        Chosen only where a cited digest of it exists and none of the newer update's does."""
        return self.source == UNSUPPORTED_TAGS_SOURCE

    @property
    def tagged(self) -> str:
        return f"{self.image}:{self.tag}"

    @property
    def reference(self) -> str:
        """The default base: tag@digest where a digest is recorded, else the tag alone."""
        return f"{self.tagged}@{self.digest}" if self.digest else self.tagged


def _fail(where: str, problem: str) -> KnowledgeError:
    return data_error(BASE_IMAGES_FILE, where, problem)


def parse_base_images(document: dict[str, Any]) -> tuple[CudaBaseImage, ...]:
    load_sources(BASE_IMAGES_FILE, document)
    ids = source_urls(document).keys()
    raw = document.get("base")
    if not isinstance(raw, list) or not raw:
        raise _fail("base", "needs a non-empty list of [[base]] entries")
    images: list[CudaBaseImage] = []
    for index, entry in enumerate(raw):
        where = f"base[{index}]"
        if not isinstance(entry, dict):
            raise _fail(where, "is not a table")
        values = {key: entry.get(key) for key in
                  ("variant", "image", "tag", "os", "os_python", "source")}
        missing = [key for key, value in values.items()
                   if not isinstance(value, str) or not value]
        if missing:
            raise _fail(where, f"needs the strings {', '.join(missing)}")
        where = f"base[{index}] ({values['variant']})"
        if values["source"] not in ids:
            raise _fail(where, f"cites source {values['source']!r}, which is not in `sources`")
        cuda = parse_variant_name(str(values["variant"]))
        if cuda is None:
            raise _fail(where, "variant must be cuNNN")
        match = _TAG.match(str(values["tag"]))
        if match is None:
            raise _fail(where, f"tag {values['tag']!r} is not <cuda>-runtime-<os>")
        if match.group("cuda") != f"{cuda.major}.{cuda.minor}":
            raise _fail(where, f"tag {values['tag']!r} is not CUDA {cuda}")
        if match.group("os") != values["os"]:
            raise _fail(where, f"tag {values['tag']!r} is not os {values['os']}")
        if not _MINOR.match(str(values["os_python"])):
            raise _fail(where, f"os_python {values['os_python']!r} is not like \"3.10\"")
        if any(image.variant == values["variant"] for image in images):
            raise _fail(where, "variant listed twice")
        digest, digest_sources, digest_note = _parse_digest(where, entry)
        images.append(CudaBaseImage(variant=str(values["variant"]), image=str(values["image"]),
                                    tag=str(values["tag"]), os=str(values["os"]),
                                    os_python=str(values["os_python"]), digest=digest,
                                    digest_sources=digest_sources, digest_note=digest_note,
                                    source=str(values["source"])))
    return tuple(images)


def _optional_string(where: str, entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _fail(where, f"{key} must be a non-empty string")
    return value


def _parse_digest(where: str, entry: dict[str, Any]
                  ) -> tuple[str | None, tuple[DigestSource, ...], str | None]:
    digest = _optional_string(where, entry, "digest")
    raw = entry.get("digest_sources")
    note = _optional_string(where, entry, "digest_note")
    if digest is None:
        if raw is not None or note is not None:
            raise _fail(where, "digest_sources or digest_note without a digest")
        return None, (), None
    match = _DIGEST.match(digest)
    if match is None:
        raise _fail(where, f"digest {digest!r} is not sha256:<64 lowercase hex>")
    if not isinstance(raw, list) or not raw:
        raise _fail(where, "a digest needs [[base.digest_sources]]: where it was read")
    sources = tuple(_parse_digest_source(f"{where} digest_sources[{index}]", item,
                                         match.group("hex"))
                    for index, item in enumerate(raw))
    if len({source.where for source in sources}) != len(sources):
        raise _fail(where, "digest_sources cites one file twice")
    # One pin alone could be a typo or a private rebuild; a registry's own answer, or two
    # repositories agreeing, is what makes it a real image of the tag.
    if len(sources) < 2 and sources[0].shows != "registry-resolution":
        raise _fail(where, "a digest needs two sources, or one showing a registry resolving it")
    return digest, sources, note


def _parse_digest_source(where: str, item: object, hex_digits: str) -> DigestSource:
    if not isinstance(item, dict):
        raise _fail(where, "is not a table")
    shows = item.get("shows")
    if shows not in get_args(DigestEvidence):
        raise _fail(where, f"shows must be one of {', '.join(get_args(DigestEvidence))}")
    read = _optional_string(where, item, "read")
    if read is None or hex_digits not in read:
        raise _fail(where, "read must quote the text read, holding the digest's hex digits")
    repository = _optional_string(where, item, "repository")
    path = _optional_string(where, item, "path")
    commit = _optional_string(where, item, "commit")
    index_id = _optional_string(where, item, "index_id")
    if (repository is None) != (path is None):
        raise _fail(where, "repository and path go together")
    if repository is None and index_id is None:
        raise _fail(where, "needs repository + path, or index_id: where the digest was read")
    if commit is not None and not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise _fail(where, f"commit {commit!r} is not 40 hex digits")
    retrieved = _optional_string(where, item, "retrieved")
    if retrieved is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", retrieved):
        raise _fail(where, "retrieved must be the day it was read, YYYY-MM-DD")
    evidence: DigestEvidence = "pin" if shows == "pin" else "registry-resolution"
    return DigestSource(shows=evidence, read=read, retrieved=retrieved,
                        repository=repository, path=path,
                        commit=commit, index_id=index_id,
                        note=_optional_string(where, item, "note"))


@cache
def _document() -> dict[str, Any]:
    return read_data_file(BASE_IMAGES_FILE)


@cache
def cuda_base_images() -> tuple[CudaBaseImage, ...]:
    return parse_base_images(_document())


@cache
def base_image_sources() -> tuple[Source, ...]:
    return load_sources(BASE_IMAGES_FILE, _document())


def base_image_for_variant(variant: str) -> CudaBaseImage | None:
    """The cited runtime image for a torch variant; None for cpu or an unlisted variant."""
    return next((image for image in cuda_base_images() if image.variant == variant), None)
