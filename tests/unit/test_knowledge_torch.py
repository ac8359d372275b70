"""The torch release table, its lookups, and the pure half of its refresh script."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import tomlkit
from packaging.version import Version

from envcheck.knowledge import torch_tables
from envcheck.knowledge.data_files import KnowledgeError
from envcheck.knowledge.torch_tables import (
    find_release,
    find_variant,
    newest_release,
    parse_variant_name,
    torch_releases,
    torch_sources,
    variant_for_cuda,
)
from tests.refresh_scripts import load_script

ROOT = Path(__file__).resolve().parents[2]
PYPI = ROOT / "tests/data/pypi"


@cache
def refresh() -> ModuleType:
    return load_script("refresh_torch_releases")


def recorded_json(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PYPI / f"{name}-project.json").read_text())
    return document


def recorded_metadata(stem: str) -> str:
    return (PYPI / f"{stem}.METADATA").read_text()


def raw_document() -> dict[str, Any]:
    text = (files("envcheck.knowledge") / "data" / "torch_releases.toml").read_text("utf-8")
    return parse_toml(text)


def parse_toml(text: str) -> dict[str, Any]:
    # tomlkit, not tomllib: the project still supports Python 3.10.
    return tomlkit.parse(text).unwrap()


# --- the data file ---------------------------------------------------------------------------


def test_the_file_loads_from_1_13_to_the_newest() -> None:
    releases = torch_releases()
    assert releases[0].version == Version("1.13.0")
    assert newest_release() is releases[-1]
    assert torch_sources()


def test_releases_are_sorted_and_unique() -> None:
    versions = [release.version for release in torch_releases()]
    assert versions == sorted(set(versions))


def test_every_entry_cites_sources_the_file_lists() -> None:
    document = raw_document()
    ids = {source["id"] for source in document["sources"]}
    for release in document["release"]:
        assert release["sources"], release["version"]
        assert set(release["sources"]) <= ids
        for variant in release["variant"]:
            assert variant["sources"], (release["version"], variant["name"])
            assert set(variant["sources"]) <= ids


def test_every_release_has_its_pypi_default_and_shape() -> None:
    for release in torch_releases():
        names = [variant.name for variant in release.variants]
        assert release.pypi_default in names
        assert release.python == tuple(sorted(release.python, key=Version))
        for variant in release.variants:
            assert (variant.cuda is None) == (variant.name == "cpu")
            if variant.cuda is not None:
                assert parse_variant_name(variant.name) == variant.cuda


def test_2_5_1_is_cu124_with_cudnn_9_1_0_70_and_pairs_with_torchvision_0_20_1() -> None:
    found = find_variant(Version("2.5.1"))
    assert found is not None
    release, variant = found
    assert release.pypi_default == "cu124"
    assert variant.cuda == Version("12.4")
    assert variant.cudnn == Version("9.1.0.70")
    assert variant.arch_list == ("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")
    assert release.torchvision == Version("0.20.1")
    assert release.torchaudio == Version("2.5.1")
    assert release.python == ("3.9", "3.10", "3.11", "3.12", "3.13")
    assert release.manylinux_glibc == Version("2.5")


def test_2_14_1_is_the_cu130_build_measured_on_this_machine() -> None:
    found = find_variant(Version("2.14.1+cu130"))
    assert found is not None
    release, variant = found
    assert variant.cudnn == Version("9.24.0.43")
    assert variant.arch_list == ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")
    assert release.manylinux_glibc == Version("2.28")
    # torchvision 0.29.1 only requires torch>=2.14.0 and no torchaudio pins 2.14.1.
    assert release.torchvision is None
    assert release.torchaudio is None


def test_release_md_variants_of_2_3() -> None:
    release = find_release(Version("2.3.0"))
    assert release is not None
    cu118 = variant_for_cuda(release, Version("11.8"))
    assert cu118 is not None
    assert cu118.name == "cu118"
    assert cu118.cudnn == Version("8.7.0.84")
    # Neither measured (download.pytorch.org is out of reach) nor read from a build script.
    assert cu118.arch_list == ()
    assert cu118.arch_source == "bounded"


def _names(version: str) -> list[str]:
    release = find_release(Version(version))
    assert release is not None
    return [variant.name for variant in release.variants]


def test_download_pytorch_org_variants_from_the_previous_versions_page() -> None:
    # PyTorchKR/pytorch.kr _get_started/previous-versions.md @1c9bf47 (a copy of
    # pytorch.org/get-started/previous-versions): the "Linux and Windows" pip commands of each
    # release, --index-url https://download.pytorch.org/whl/<variant>.
    assert _names("2.4.1") == ["cu118", "cu121", "cu124", "cpu"]
    assert _names("2.5.1") == ["cu118", "cu121", "cu124", "cpu"]
    assert _names("2.6.0") == ["cu118", "cu124", "cu126", "cpu"]
    assert _names("2.7.1") == ["cu118", "cu126", "cu128", "cpu"]
    assert _names("2.8.0") == ["cu126", "cu128", "cu129", "cpu"]
    assert _names("2.9.1") == ["cu126", "cu128", "cu130", "cpu"]
    assert _names("2.11.0") == ["cu126", "cu128", "cu130", "cpu"]
    assert _names("2.12.1") == ["cu126", "cu130", "cu132", "cpu"]
    found = find_variant(Version("2.7.1+cu118"))
    assert found is not None
    release, cu118 = found
    assert release.pypi_default == "cu126"  # adding variants leaves PyPI's default alone
    assert cu118.cuda == Version("11.8")
    # The page names builds only; the cuDNN is RELEASE.md's 2.7 row (CUDA 11.8, CUDNN
    # 9.1.0.70), and no arch list is claimed for it.
    assert cu118.cudnn == Version("9.1.0.70")
    assert cu118.arch_list == ()


def test_cpu_builds_of_older_releases_from_pytorch_github_io() -> None:
    # pytorch/pytorch.github.io _get_started/previous-versions.md @e3f009bb: "# CPU only" pip
    # commands for v1.13.0 to v2.3.1, index https://download.pytorch.org/whl/cpu.
    for version in ("1.13.1+cpu", "2.0.1+cpu", "2.3.1+cpu"):
        found = find_variant(Version(version))
        assert found is not None, version
        assert found[1].name == "cpu"
        assert found[1].cuda is None
    assert _names("1.13.0") == ["cu116", "cu117", "cpu"]


def test_release_md_rows_for_2_13_and_2_14() -> None:
    # pytorch/pytorch PR #187075 (2.13: CUDA 12.6 CUDNN 9.10.2.21, 13.0 and 13.2 CUDNN 9.20.0.48)
    # and PR #194367 (2.14 from release/2.14: 12.6 CUDNN 9.10.2.21, 13.0 and 13.2 9.24.0.43).
    assert _names("2.13.0") == ["cu126", "cu130", "cu132", "cpu"]
    assert _names("2.14.1") == ["cu126", "cu130", "cu132"]
    release = find_release(Version("2.14.1"))
    assert release is not None
    assert release.pypi_default == "cu130"
    cu132 = variant_for_cuda(release, Version("13.2"))
    assert cu132 is not None
    assert cu132.cudnn == Version("9.24.0.43")
    assert cu132.nccl == Version("2.30.7")
    # RELEASE.md's CUDA Support Matrix for 2.12 to 2.14 (13.2.1: Turing to Blackwell).
    assert cu132.arch_list == ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120")
    assert cu132.arch_source == "release-matrix"
    cu126 = find_variant(Version("2.13.0+cu126"))
    assert cu126 is not None
    assert cu126[1].cudnn == Version("9.10.2.21")


def test_variants_are_ordered_by_cuda_with_cpu_last() -> None:
    for release in torch_releases():
        cuda = [variant.cuda for variant in release.variants if variant.cuda is not None]
        assert cuda == sorted(cuda), release.version
        names = [variant.name for variant in release.variants]
        if "cpu" in names:
            assert names[-1] == "cpu", release.version


def test_page_only_variants_claim_no_cudnn_or_arch_list() -> None:
    # The previous-versions pages list pip commands; a cuDNN or an arch list on a variant that
    # cites only them would be invented.
    pages = {"pytorch-previous-versions", "pytorchkr-previous-versions",
             "pytorch-published-versions"}
    document = raw_document()
    checked = 0
    for release in document["release"]:
        for variant in release["variant"]:
            if set(variant["sources"]) <= pages:
                checked += 1
                assert "cudnn" not in variant, (release["version"], variant["name"])
                assert not variant.get("arch_list"), (release["version"], variant["name"])
    assert checked > 0


# --- lookups ---------------------------------------------------------------------------------


def test_find_release_ignores_the_local_label() -> None:
    release = find_release(Version("2.5.1+cu124"))
    assert release is not None
    assert release.version == Version("2.5.1")
    assert find_release(Version("1.12.1")) is None


def test_find_variant_follows_the_local_label() -> None:
    cpu = find_variant(Version("2.13.0+cpu"))
    assert cpu is not None
    assert cpu[1].name == "cpu"
    assert cpu[1].cuda is None
    default = find_variant(Version("2.13.0"))
    assert default is not None
    assert default[1].name == "cu130"
    assert find_variant(Version("2.13.0+cu999")) is None
    assert find_variant(Version("0.4.1")) is None


def test_variant_for_cuda_matches_major_minor() -> None:
    release = find_release(Version("2.0.1"))
    assert release is not None
    variant = variant_for_cuda(release, Version("11.7"))
    assert variant is not None
    assert variant.name == "cu117"
    assert variant_for_cuda(release, Version("12.4")) is None


@pytest.mark.parametrize(
    ("name", "cuda"),
    [("cu128", Version("12.8")), ("cu130", Version("13.0")), ("cu118", Version("11.8")),
     ("cpu", None), ("rocm6.2", None), ("cu1", None)],
)
def test_parse_variant_name(name: str, cuda: Version | None) -> None:
    assert parse_variant_name(name) == cuda


# --- validation ------------------------------------------------------------------------------


def _document(**release_changes: Any) -> dict[str, Any]:
    release = {
        "version": "2.5.1", "python": ["3.12"], "pypi_default": "cu124", "torchvision": "0.20.1",
        "torchaudio": "2.5.1", "manylinux_glibc": "2.5", "sources": ["s"],
        "variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                     "arch_list": ["sm_80", "sm_90", "compute_90"], "arch_from": "measured"}],
    }
    release.update(release_changes)
    return {"sources": [{"id": "s", "title": "t", "url": "u", "retrieved": "2026-11-22"}],
            "release": [release]}


def test_a_valid_document_loads() -> None:
    (release,) = torch_tables._load(_document())
    assert release.variants[0].arch_list == ("sm_80", "sm_90", "compute_90")
    assert release.variants[0].arch_source == "measured"


def test_a_variant_without_arch_list_is_bounded_and_cpu_is_none() -> None:
    (release,) = torch_tables._load(_document(pypi_default="cu124", variant=[
        {"name": "cu124", "cuda": "12.4", "sources": ["s"]},
        {"name": "cpu", "sources": ["s"]}]))
    assert [(v.name, v.arch_source, v.arch_list) for v in release.variants] == [
        ("cu124", "bounded", ()), ("cpu", "none", ())]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"pypi_default": "cu121"}, "pypi_default"),
        ({"sources": ["nope"]}, "unknown sources"),
        ({"variant": [{"name": "cu124", "cuda": "12.1", "sources": ["s"]}]}, "does not match"),
        ({"variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                       "arch_list": ["sm_90", "sm_80"]}]}, "sorted"),
        ({"variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                       "arch_list": ["sm80"]}]}, "sm_NN"),
        ({"version": "2.5.1+cu124"}, "local label"),
        ({"variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                       "arch_list": ["sm_80"]}]}, "arch_from"),
        ({"variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                       "arch_list": ["sm_80"], "arch_from": "guessed"}]}, "arch_from"),
        ({"variant": [{"name": "cu124", "cuda": "12.4", "sources": ["s"],
                       "arch_from": "measured"}]}, "without an arch_list"),
    ],
)
def test_validation_names_the_entry(changes: Mapping[str, Any], message: str) -> None:
    with pytest.raises(KnowledgeError, match=message) as caught:
        torch_tables._load(_document(**changes))
    assert "torch_releases.toml" in str(caught.value)
    assert "2.5.1" in str(caught.value)


def test_releases_out_of_order_are_refused() -> None:
    document = _document()
    later = dict(document["release"][0], version="2.5.0")
    document["release"].append(later)
    with pytest.raises(KnowledgeError, match="sorted ascending"):
        torch_tables._load(document)


# --- the refresh script's pure functions on recorded PyPI responses --------------------------


def test_manylinux_tags_to_glibc() -> None:
    glibc = refresh().manylinux_glibc
    assert glibc("manylinux1_x86_64") == Version("2.5")
    assert glibc("manylinux2014_x86_64") == Version("2.17")
    assert glibc("manylinux_2_28_x86_64") == Version("2.28")
    assert glibc("macosx_11_0_arm64") is None


def test_python_minors_count_cp37m_and_skip_free_threaded() -> None:
    module = refresh()
    project = recorded_json("torch")
    old = module.linux_x86_64_wheels(project["releases"]["1.13.0"])
    assert module.python_minors(old) == ("3.7", "3.8", "3.9", "3.10", "3.11")
    new = module.linux_x86_64_wheels(project["releases"]["2.14.1"])
    assert module.python_minors(new) == ("3.10", "3.11", "3.12", "3.13", "3.14")


def test_the_highest_build_tag_wins() -> None:
    module = refresh()
    wheels = module.newest_build(
        module.linux_x86_64_wheels(recorded_json("torch")["releases"]["2.10.0"]))
    assert {wheel.build for wheel in wheels} == {3}
    assert all(wheel.url.startswith("https://files.pythonhosted.org/packages/") for wheel in wheels)


def test_default_variant_from_requires_dist() -> None:
    module = refresh()
    old = module.default_variant(module.requires_dist(recorded_metadata("torch-1.13.0")))
    assert (old.name, old.cuda, old.cudnn) == ("cu117", Version("11.7"), Version("8.5.0.96"))
    assert old.nccl is None  # 1.13's wheel bundles NCCL: no nvidia-nccl pin
    pinned = module.default_variant(module.requires_dist(recorded_metadata("torch-2.5.1")))
    assert (pinned.name, pinned.cudnn, pinned.nccl) == (
        "cu124", Version("9.1.0.70"), Version("2.21.5"))
    toolkit = module.default_variant(module.requires_dist(recorded_metadata("torch-2.14.1")))
    assert (toolkit.name, toolkit.cuda, toolkit.cudnn) == (
        "cu130", Version("13.0"), Version("9.24.0.43"))
    assert module.default_variant(["filelock", "sympy>=1.13.3"]).name == "cpu"


def test_companions_pair_by_exact_torch_pin() -> None:
    module = refresh()
    assert module.torch_pin(module.requires_dist(recorded_metadata("torchvision-0.20.1"))) == (
        Version("2.5.1"))
    assert module.torch_pin(module.requires_dist(recorded_metadata("torchvision-0.29.1"))) is None
    assert module.torch_pin(module.requires_dist(recorded_metadata("torchaudio-2.11.0"))) is None
    pins = {Version("0.20.0"): Version("2.5.0"), Version("0.20.1"): Version("2.5.1"),
            Version("0.29.1"): None}
    assert module.companion_for(Version("2.5.1"), pins) == Version("0.20.1")
    assert module.companion_for(Version("2.14.1"), pins) is None


def _recorded_facts() -> list[Any]:
    module = refresh()
    pins: dict[str, dict[Version, Version | None]] = {"torchvision": {}, "torchaudio": {}}
    for stem in ("torchvision-0.20.1", "torchvision-0.29.1", "torchaudio-2.11.0"):
        name, version = stem.split("-")
        pins[name][Version(version)] = module.torch_pin(
            module.requires_dist(recorded_metadata(stem)))
    metadata = {Version(v): recorded_metadata(f"torch-{v}") for v in ("2.5.1", "2.14.1")}
    project = recorded_json("torch")
    project["releases"] = {v: project["releases"][v] for v in ("2.5.1", "2.14.1")}
    facts: list[Any] = module.index_facts(
        torch_project=project, torch_metadata=metadata, companion_pins=pins)
    return facts


def test_index_facts_agree_with_the_data_file() -> None:
    facts = _recorded_facts()
    assert [fact.version for fact in facts] == [Version("2.5.1"), Version("2.14.1")]
    first = facts[0]
    assert first.default.name == "cu124"
    assert first.torchvision == Version("0.20.1")
    assert first.manylinux_glibc == Version("2.5")
    # The recorded excerpt has no torchaudio 2.5.1 METADATA, so no pairing: the only diff.
    document = raw_document()
    document["release"] = [r for r in document["release"] if r["version"] in ("2.5.1", "2.14.1")]
    assert refresh().diff_releases(document, facts) == [
        "~ 2.5.1 torchaudio: file '2.5.1', PyPI None"]


def test_apply_facts_keeps_hand_sourced_fields_and_adds_releases() -> None:
    module = refresh()
    facts = _recorded_facts()
    text = (
        "# a comment that must survive\n"
        'sources = [{ id = "pypi-json", title = "t", url = "u", retrieved = "2026-11-22" }]\n\n'
        '[[release]]\nversion = "2.5.1"\npython = ["3.9"]\npypi_default = "cu121"\n'
        'sources = ["pypi-json"]\n\n'
        '[[release.variant]]\nname = "cu124"\nsources = ["x"]\ncuda = "12.4"\n'
        'arch_list = ["sm_90"]\n'
    )
    updated = module.apply_facts(text, facts)
    assert "# a comment that must survive" in updated
    document = parse_toml(updated)
    old, new = document["release"]
    assert old["python"] == ["3.9", "3.10", "3.11", "3.12", "3.13"]
    assert old["pypi_default"] == "cu124"
    assert old["variant"][0]["arch_list"] == ["sm_90"]
    assert old["variant"][0]["cudnn"] == "9.1.0.70"
    assert old["variant"][0]["nccl"] == "2.21.5"
    assert new["version"] == "2.14.1"
    assert "torchvision" not in new
    assert new["variant"] == [{"name": "cu130", "sources": ["pypi-metadata"], "cuda": "13.0",
                               "cudnn": "9.24.0.43", "nccl": "2.30.7"}]
    assert module.diff_releases(document, facts) == []


def test_cuda_from_local_label_reads_old_and_new_labels() -> None:
    from envcheck.knowledge.torch_tables import cuda_from_local_label

    assert cuda_from_local_label("cu92") == Version("9.2")
    assert cuda_from_local_label("cu124") == Version("12.4")
    assert cuda_from_local_label("cu130") == Version("13.0")
    assert cuda_from_local_label("cpu") is None
    assert cuda_from_local_label("rocm6.2") is None
