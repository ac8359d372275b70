"""The default base image per torch CUDA variant: an nvidia/cuda runtime tag, cited.

Loaded once from data/cuda_base_images.toml and validated: every entry cites a source, a
variant appears once, and a tag names its CUDA version, which must be the variant's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from envcheck.knowledge.data_files import KnowledgeError, load_sources, read_data_file
from envcheck.knowledge.model import Source
from envcheck.knowledge.torch_tables import parse_variant_name

BASE_IMAGES_FILE = "cuda_base_images.toml"

_TAG = re.compile(r"^(?P<cuda>\d+\.\d+)\.\d+-runtime-(?P<os>[a-z]+\d+(?:\.\d+)?)$")
_MINOR = re.compile(r"^\d+\.\d+$")


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

    @property
    def reference(self) -> str:
        return f"{self.image}:{self.tag}"


def _fail(where: str, problem: str) -> KnowledgeError:
    return KnowledgeError(f"knowledge file {BASE_IMAGES_FILE}: {where}: {problem}",
                          hint="This is a bug in envcheck's shipped data; please report it.")


def parse_base_images(document: dict[str, Any]) -> tuple[CudaBaseImage, ...]:
    load_sources(BASE_IMAGES_FILE, document)
    ids = {str(s["id"]) for s in document["sources"] if isinstance(s, dict) and "id" in s}
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
        images.append(CudaBaseImage(variant=str(values["variant"]), image=str(values["image"]),
                                    tag=str(values["tag"]), os=str(values["os"]),
                                    os_python=str(values["os_python"])))
    return tuple(images)


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
