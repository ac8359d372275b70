"""The default nvidia/cuda base per CUDA variant: shipped digests have the right shape and
cite where they were read, the validation refuses what would make a default unfounded, and
the default base is tag@digest where one is recorded, the tag (refused unpinned) elsewhere."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from envcheck.adapters.engine import ContainerEngine
from envcheck.dockerfile import render_dockerfile
from envcheck.errors import UsageError
from envcheck.knowledge.base_images import (
    BASE_IMAGES_FILE,
    base_image_for_variant,
    cuda_base_images,
    parse_base_images,
)
from envcheck.knowledge.data_files import KnowledgeError, read_data_file
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.project_model import Project, Target
from envcheck.services.image import ImageOptions, choose_base, dockerfile_spec, pin_base
from tests.fakes import FakeRegistry
from tests.golden import assert_golden

HEX64 = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG_ONLY = "nvidia/cuda:12.4.1-runtime-ubuntu22.04"
CU124 = Target(name="train", python="3.11", platform="linux/x86_64", cuda="cu124")


def _pinned() -> list[Any]:
    return [image for image in cuda_base_images() if image.digest is not None]


def test_the_shipped_table_pins_some_variants_and_every_digest_is_sha256_hex() -> None:
    pinned = _pinned()
    assert pinned, "no variant has a default digest"
    for image in pinned:
        assert image.digest is not None
        assert HEX64.match(image.digest), image
        assert image.reference == f"{image.image}:{image.tag}@{image.digest}"


def test_every_shipped_digest_cites_files_that_show_it() -> None:
    for image in _pinned():
        assert image.digest is not None
        hex_digits = image.digest.removeprefix("sha256:")
        assert image.digest_sources, image.variant
        assert (len(image.digest_sources) >= 2
                or image.digest_sources[0].shows == "registry-resolution"), image.variant
        for source in image.digest_sources:
            assert hex_digits in source.read, (image.variant, source)
            assert (source.repository and source.path) or source.index_id, source
            assert source.where  # a printable citation


def test_a_variant_without_a_digest_keeps_the_tag_alone() -> None:
    unpinned = [image for image in cuda_base_images() if image.digest is None]
    assert unpinned  # the table records only digests that could be read
    for image in unpinned:
        assert image.reference == image.tagged
        assert not image.digest_sources


def _document() -> dict[str, Any]:
    return copy.deepcopy(read_data_file(BASE_IMAGES_FILE))


def _entry(document: dict[str, Any], variant: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(b for b in document["base"] if b["variant"] == variant)
    return entry


GOOD_HEX = "0123456789abcdef" * 4


def _with_digest(digest: str, sources: list[dict[str, Any]]) -> dict[str, Any]:
    document = _document()
    entry = _entry(document, "cu130")
    entry["digest"] = digest
    entry["digest_sources"] = sources
    return document


def _pin(**fields: str) -> dict[str, Any]:
    return {"shows": "pin", "read": f"FROM nvidia/cuda:x@sha256:{GOOD_HEX}",
            "index_id": "1", "retrieved": "2026-12-03", **fields}


def test_a_well_formed_digest_parses() -> None:
    document = _with_digest(f"sha256:{GOOD_HEX}", [_pin(), _pin(index_id="2")])
    [image] = [i for i in parse_base_images(document) if i.variant == "cu130"]
    assert image.reference == f"nvidia/cuda:13.0.3-runtime-ubuntu22.04@sha256:{GOOD_HEX}"
    assert [s.where for s in image.digest_sources] == ["code index file 1",
                                                      "code index file 2"]


@pytest.mark.parametrize(("digest", "sources", "problem"), [
    (f"sha256:{GOOD_HEX.upper()}", [_pin(), _pin(index_id="2")], "64 lowercase hex"),
    (f"sha256:{GOOD_HEX[:-2]}", [_pin(), _pin(index_id="2")], "64 lowercase hex"),
    (GOOD_HEX, [_pin(), _pin(index_id="2")], "64 lowercase hex"),
    (f"sha256:{GOOD_HEX}", [], "digest_sources"),
    (f"sha256:{GOOD_HEX}", [_pin()], "two sources"),
    (f"sha256:{GOOD_HEX}", [_pin(), _pin()], "one file twice"),
    (f"sha256:{GOOD_HEX}", [_pin(read="FROM nvidia/cuda:x@sha256:<pin>"), _pin()],
     "holding the digest"),
    (f"sha256:{GOOD_HEX}", [_pin(shows="guess"), _pin()], "shows must be"),
    (f"sha256:{GOOD_HEX}", [{"shows": "pin", "read": GOOD_HEX}, _pin()], "index_id"),
    (f"sha256:{GOOD_HEX}", [_pin(retrieved="today"), _pin()], "YYYY-MM-DD"),
    (f"sha256:{GOOD_HEX}", [_pin(repository="a/b"), _pin()], "repository and path"),
    (f"sha256:{GOOD_HEX}", [_pin(repository="a/b", path="Dockerfile", commit="main"),
                            _pin()], "40 hex"),
])
def test_an_unfounded_digest_is_refused(digest: str, sources: list[dict[str, Any]],
                                        problem: str) -> None:
    with pytest.raises(KnowledgeError, match=problem):
        parse_base_images(_with_digest(digest, sources))


def test_one_registry_resolution_is_enough() -> None:
    document = _with_digest(f"sha256:{GOOD_HEX}", [_pin(shows="registry-resolution")])
    assert any(i.digest for i in parse_base_images(document) if i.variant == "cu130")


def test_sources_without_a_digest_are_refused() -> None:
    document = _document()
    _entry(document, "cu130")["digest_sources"] = [_pin()]
    with pytest.raises(KnowledgeError, match="without a digest"):
        parse_base_images(document)


def test_a_pinned_variant_is_the_default_base_without_allow_unpinned() -> None:
    image = base_image_for_variant("cu124")
    assert image is not None
    assert image.digest is not None
    reference, source = choose_base(CU124, ImageOptions())
    assert reference.pinned
    assert str(reference) == image.reference
    assert reference.tagged == TAG_ONLY
    assert source == "distribution"  # the nvidia/cuda runtime images have no Python


def test_an_unpinned_variant_is_still_refused_with_how_to_pin() -> None:
    image = base_image_for_variant("cu130")
    assert image is not None
    assert image.digest is None
    target = Target(name="t", python="3.11", platform="linux/x86_64", cuda="cu130")
    with pytest.raises(UsageError, match="not pinned by digest") as raised:
        choose_base(target, ImageOptions())
    assert "envcheck image pin-base t" in str(raised.value)


def test_pin_base_re_resolves_the_tag_not_the_shipped_digest(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "0"\n\n[tool.envcheck.targets.train]\n'
        'python = "3.11"\ncuda = "cu124"\n')
    project = Project(root=tmp_path, pyproject=tmp_path / "pyproject.toml",
                      targets={"train": CU124})
    registry = FakeRegistry()
    engine: ContainerEngine = registry  # type: ignore[assignment]
    pinned = pin_base(tmp_path, project, "train", None, engine)
    assert registry.asked == [TAG_ONLY]
    assert pinned.reference == f"{TAG_ONLY}@sha256:{'cd' * 32}"


def test_dockerfile_on_the_default_pinned_base_golden() -> None:
    """A cu124 target with no base_image and no --base: FROM is the shipped tag@digest."""
    target = Target(name="train", python="3.11", platform="linux/x86_64", cuda="cu124",
                    torch="==2.6.0")
    project = Project(root=Path("/p"), pyproject=Path("/p/pyproject.toml"),
                      targets={"train": target})
    header = LockHeader(schema="envcheck.lock/1", target="train", python="3.11",
                        platform="linux/x86_64", cuda="cu124", resolver="uv",
                        resolver_version="0.13.9", inputs_sha256="0" * 64)
    lock = Lockfile(header=header, packages=tuple(
        LockedPackage(name=n, version=v, hashes=("sha256:" + "1" * 64,))
        for n, v in (("torch", "2.6.0+cu124"), ("nvidia-cudnn-cu12", "9.1.0.70"))))
    text = render_dockerfile(dockerfile_spec(project, target, lock, "train lock\n",
                                             ImageOptions()))
    image = base_image_for_variant("cu124")
    assert image is not None
    assert f"FROM {image.reference} AS base\n" in text
    assert_golden("dockerfiles/train-cu124-default-base.Dockerfile", text)


def test_docs_name_the_variants_that_have_a_default_digest() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "images.md").read_text(encoding="utf-8")
    paragraph = docs[docs.index("**Default digests.**"):]
    paragraph = paragraph[:paragraph.index("\n\n")]
    pinned_part, unpinned_part = paragraph.split("A variant with no digest", maxsplit=1)
    for image in cuda_base_images():
        if image.digest is not None:
            assert f"{image.variant} ({image.tag.split('-')[0]})" in pinned_part, image.variant
        else:
            assert image.variant in unpinned_part, image.variant


def test_every_tag_is_named_by_the_source_it_cites() -> None:
    """A tag's CUDA update is in the cited NVIDIA list as read (its `note`): a variant moved to
    an older update for the sake of a digest (cu128: 12.8.1) must cite a list that has it."""
    document = _document()
    notes = {source["id"]: source["note"] for source in document["sources"]}
    for entry in document["base"]:
        update = entry["tag"].split("-")[0]
        assert re.search(rf"(?<![\d.]){re.escape(update)}(?![\d])", notes[entry["source"]]), \
            (entry["variant"], update)
